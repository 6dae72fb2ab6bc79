"""The chat socket: ask, follow an answer from a sequence number, stop it.

The consumer finds the organization from the Host header and checks the
member before it accepts; every database call names the schema.
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django_tenants.utils import get_tenant_domain_model, schema_context

from accounts.authentication import user_for_key
from assistant import services, streams
from assistant.api.serializers import CitationSerializer
from assistant.db import in_schema
from assistant.models import Conversation, Message
from config.errors import ServiceError
from config.observability import bind_context
from organizations.models import Membership

logger = logging.getLogger(__name__)

# Close codes, in the range the WebSocket protocol leaves to applications.
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_NOT_FOUND = 4404


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _host_without_port(host: str) -> str:
    return host.rsplit(":", 1)[0].lower() if ":" in host else host.lower()


@database_sync_to_async
def _tenant_for_host(host: str):
    with schema_context("public"):
        domain = (
            get_tenant_domain_model()
            .objects.select_related("tenant__plan")
            .filter(domain=_host_without_port(host))
            .first()
        )
    if domain is None or domain.tenant.schema_name == "public":
        return None
    return domain.tenant


@database_sync_to_async
def _token_user(key: str, schema_name: str):
    with schema_context("public"):
        return user_for_key(key, schema_name)


@database_sync_to_async
def _is_member(user, tenant) -> bool:
    with schema_context("public"):
        return Membership.objects.of(user, tenant).exists()


def _conversation_for(user, conversation_id: int) -> Conversation | None:
    return Conversation.objects.for_member(user).filter(pk=conversation_id).first()


def _message_for(user, message_id) -> Message | None:
    if not isinstance(message_id, int):
        return None
    return Message.objects.for_member(user).filter(pk=message_id).first()


def _snapshot(message: Message) -> list[dict]:
    """Frames that replay a finished answer whose live log has expired.

    The text comes whole in one delta marked ``replace``, because the
    sequence numbers of its pieces are gone: a client that had part of the
    answer replaces its text instead of appending.
    """
    frames = [
        {
            "type": "delta",
            "message_id": message.pk,
            "seq": message.last_seq,
            "text": message.content,
            "replace": True,
        }
    ]
    for citation in message.citations.all():
        frames.append(
            {
                "type": "citation",
                "message_id": message.pk,
                **CitationSerializer(citation).data,
            }
        )
    frames.append(
        {
            "type": "done",
            "message_id": message.pk,
            "stop_reason": message.stop_reason,
            "status": message.status,
        }
    )
    return frames


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.following: dict[int, int] = {}
        self.tenant = await _tenant_for_host(_header(self.scope, b"host"))
        if self.tenant is None:
            await self._refuse(CLOSE_NOT_FOUND, "not_found", "No such organization.")
            return
        self.schema_name = self.tenant.schema_name
        bind_context(organization=self.schema_name)

        origin = _header(self.scope, b"origin")
        if (
            origin
            and urlparse(origin).netloc.lower() != _header(self.scope, b"host").lower()
        ):
            await self._refuse(
                CLOSE_FORBIDDEN_ORIGIN,
                "forbidden_origin",
                "Connections from another site are not allowed.",
            )
            return

        self.user = await self._authenticate()
        if self.user is None:
            await self._refuse(
                CLOSE_NOT_AUTHENTICATED,
                "not_authenticated",
                "Sign in, or send 'Authorization: Token <key>' in the handshake.",
            )
            return
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        conversation = None
        if await _is_member(self.user, self.tenant):
            conversation = await in_schema(
                self.schema_name, _conversation_for, self.user, conversation_id
            )
        if conversation is None:
            await self._refuse(CLOSE_NOT_FOUND, "not_found", "Conversation not found.")
            return
        self.conversation_id = conversation.pk
        bind_context(user=str(self.user.pk))
        await self.accept()

    async def _still_allowed(self) -> bool:
        authorization = _header(self.scope, b"authorization").split()
        if authorization:
            user = await _token_user(authorization[-1], self.schema_name)
            if user is None:
                return False
        return await _is_member(self.user, self.tenant)

    async def _authenticate(self):
        authorization = _header(self.scope, b"authorization").split()
        if authorization:
            if len(authorization) == 2 and authorization[0] == "Token":
                return await _token_user(authorization[1], self.schema_name)
            return None
        user = self.scope.get("user")
        return user if user is not None and user.is_authenticated else None

    async def _refuse(self, close_code: int, code: str, message: str) -> None:
        # The handshake is accepted only to deliver a close code the client
        # can read; nothing else is sent before closing.
        await self.accept()
        await self.send_json({"type": "error", "code": code, "message": message})
        await self.close(code=close_code)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # Channels' JSON consumer raises on binary or malformed frames, which
        # closes the socket. Reply with an error frame and keep it open instead.
        if text_data is None:
            await self._error(
                "invalid_frame", "Binary frames are not supported. Send JSON text."
            )
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self._error(
                "invalid_frame", "The frame is not valid JSON. Send a JSON object."
            )
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs) -> None:
        # Membership or a token may be withdrawn while the socket is open,
        # so every frame checks the credentials again.
        if not await self._still_allowed():
            await self._error(
                "not_authenticated",
                "The token or membership is no longer valid. Sign in again.",
            )
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        kind = content.get("type") if isinstance(content, dict) else None
        handlers = {"ask": self._ask, "follow": self._follow, "stop": self._stop}
        handler = handlers.get(kind)
        if handler is None:
            await self._error(
                "invalid_frame", "Send a frame of type ask, follow or stop."
            )
            return
        await handler(content)

    async def _error(
        self, code: str, message: str, message_id: int | None = None
    ) -> None:
        frame = {"type": "error", "code": code, "message": message}
        if message_id is not None:
            frame["message_id"] = message_id
        await self.send_json(frame)

    async def _ask(self, frame: dict) -> None:
        from assistant.api.serializers import AskSerializer

        serializer = AskSerializer(data=frame)
        if not serializer.is_valid():
            await self._error(
                "invalid", f"Invalid ask frame: {dict(serializer.errors)}"
            )
            return
        data = serializer.validated_data

        def ask():
            conversation = _conversation_for(self.user, self.conversation_id)
            return services.ask(
                conversation,
                self.user,
                data["content"],
                data["action"],
                data.get("selection"),
                organization=self.tenant,
            )

        try:
            _, answer = await in_schema(self.schema_name, ask)
        except ServiceError as error:
            await self._error(error.code, error.message)
            return
        await self._follow({"message_id": answer.pk, "after": 0})

    async def _follow(self, frame: dict) -> None:
        message_id, after = frame.get("message_id"), frame.get("after", 0)
        if not isinstance(after, int) or after < 0:
            await self._error("invalid", "'after' must be a sequence number >= 0.")
            return
        message = await in_schema(self.schema_name, _message_for, self.user, message_id)
        if message is None or message.conversation_id != self.conversation_id:
            await self._error("not_found", "Message not found.", message_id)
            return

        await self.channel_layer.group_add(
            streams.group_name(self.schema_name, message.pk), self.channel_name
        )
        self.following[message.pk] = after
        frames = await streams.read_log(self.schema_name, message.pk, after)
        if not frames and message.status != Message.Status.STREAMING:
            frames = await in_schema(
                self.schema_name,
                lambda: _snapshot(
                    Message.objects.prefetch_related("citations").get(pk=message.pk)
                ),
            )
            if after >= message.last_seq:
                frames = frames[-1:]
        for item in frames:
            await self._relay(item)

    async def _stop(self, frame: dict) -> None:
        message = await in_schema(
            self.schema_name, _message_for, self.user, frame.get("message_id")
        )
        if message is None or message.conversation_id != self.conversation_id:
            await self._error(
                "not_found", "Message not found.", frame.get("message_id")
            )
            return
        await sync_to_async(streams.request_stop)(self.schema_name, message.pk)

    async def answer_frame(self, event: dict) -> None:
        await self._relay(event["frame"])

    async def _relay(self, frame: dict) -> None:
        message_id = frame.get("message_id")
        last = self.following.get(message_id)
        if last is None:
            return
        seq = frame.get("seq")
        if seq is not None:
            if seq <= last:
                return
            self.following[message_id] = seq
        await self.send_json(frame)
        if frame["type"] == "done":
            self.following.pop(message_id, None)
            await self.channel_layer.group_discard(
                streams.group_name(self.schema_name, message_id), self.channel_name
            )

    async def disconnect(self, code: int) -> None:
        for message_id in list(getattr(self, "following", {})):
            await self.channel_layer.group_discard(
                streams.group_name(self.schema_name, message_id), self.channel_name
            )
