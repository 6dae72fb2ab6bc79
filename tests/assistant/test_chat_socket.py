"""The chat socket, driven through the real ASGI application.

Every test talks to ``config.asgi.application`` with Channels'
``WebsocketCommunicator``. Frames travel through the Redis channel layer,
and answers come from the offline engine on the generation loop of this
process. Setup that needs the ORM or the HTTP API runs in sync fixtures, or
in async code through ``sync_to_async``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import TOKEN_PREFIX, ApiToken
from assistant import streams
from billing.ledger.models import UsageEvent
from config.asgi import application
from organizations.models import Membership
from tests.conftest import PASSWORD, ApiClient, Org, make_org, unique

# Seconds to wait for one frame. A frame normally arrives within
# milliseconds, and the margin is for a loaded test machine.
FRAME_TIMEOUT = 10
# Seconds to wait for a whole answer or a document extraction.
ANSWER_TIMEOUT = 60
# Pause between the offline engine's streamed pieces in the tests that need
# an answer to be still running when the client acts.
SLOW_STREAM_DELAY_MS = 30

# A three-page text file (pages end at form feeds). The question below
# matches sentences on pages 2 and 3.
HARBOR_PAGES = [
    "The harbor lighthouse handbook describes the duties of every keeper. "
    "Keepers work in shifts of twelve hours and write the weather in the log "
    "each evening. Visitors may climb the tower on Sundays when the sea is calm.",
    "The lamp of the harbor lighthouse burns kerosene through the whole night. "
    "Keepers trim the lamp wick every four hours so that the flame stays bright. "
    "Spare lenses are stored in the oak cabinet beside the stairs.",
    "The foghorn sounds twice every minute whenever visibility drops below one "
    "nautical mile. A broken foghorn must be reported to the harbor master "
    "before dawn. The supply boat arrives on the first Monday of each month.",
]
CITATION_FIELDS = ("number", "document_id", "start", "end", "quote", "page")
HARBOR_QUESTION = (
    "How often do keepers trim the lamp wick, and when does the foghorn sound?"
)


def long_report(topic: str, sentences: int = 16) -> str:
    """Return a long text to paste, whose summary streams as many deltas."""
    return " ".join(
        f"Section {number} of the {topic} report explains in patient detail how "
        f"the {topic} committee measured, compared, recorded and finally "
        f"published the {topic} figures for district {number}, so that every "
        f"reader can check the {topic} results against the original ledgers."
        for number in range(1, sentences + 1)
    )


# --- HTTP and ORM helpers (sync) ---------------------------------------------


def paste_document(api: ApiClient, title: str, content: str) -> dict:
    response = api.post("/api/v1/documents/", {"title": title, "content": content})
    assert response.status_code == 201, response.content
    return response.json()


def start_conversation(api: ApiClient, document_ids: list[int]) -> int:
    response = api.post("/api/v1/conversations/", {"document_ids": document_ids})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def ask_over_http(api: ApiClient, conversation_id: int, content: str, action="ask"):
    response = api.post(
        f"/api/v1/conversations/{conversation_id}/messages/",
        {"content": content, "action": action},
    )
    assert response.status_code == 201, response.content
    return response.json()["assistant_message"]["id"]


def stored_message(api: ApiClient, message_id: int) -> dict:
    response = api.get(f"/api/v1/messages/{message_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def stored_document(api: ApiClient, document_id: int) -> dict:
    response = api.get(f"/api/v1/documents/{document_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def wait_for_document(api: ApiClient, document_id: int) -> dict:
    """Poll the document until its extraction has finished, and return it."""
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while time.monotonic() < deadline:
        document = stored_document(api, document_id)
        if document["status"] != "processing":
            return document
        time.sleep(0.1)
    raise AssertionError(f"Document {document_id} still processing after timeout")


def usage_events(schema_name: str, message_id: int) -> list[dict]:
    with schema_context(schema_name):
        return list(
            UsageEvent.objects.filter(message_id=message_id).values(
                "input_tokens",
                "output_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
            )
        )


def session_cookie(host: str, user) -> str:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    return f"{django_settings.SESSION_COOKIE_NAME}={cookie.value}"


def page_of(page_offsets: list[list[int]], offset: int) -> int:
    """Return the 1-based page whose [start, end) range contains ``offset``."""
    for number, (start, end) in enumerate(page_offsets, start=1):
        if start <= offset < end:
            return number
    raise AssertionError(f"Offset {offset} is on no page of {page_offsets}")


# --- Socket helpers (async) -------------------------------------------------


@contextlib.asynccontextmanager
async def chat_socket(
    host: str,
    conversation_id: int,
    *,
    token: str | None = None,
    origin: str | None = None,
    cookie: str | None = None,
) -> AsyncIterator[WebsocketCommunicator]:
    """Open a communicator on the chat socket and disconnect it on exit."""
    headers = [(b"host", host.encode())]
    if token is not None:
        headers.append((b"authorization", f"Token {token}".encode()))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(
        application, f"/ws/conversations/{conversation_id}/", headers=headers
    )
    try:
        yield communicator
    finally:
        # WebsocketCommunicator.disconnect() cancels a consumer that outlives
        # its timeout without saying so, so wait here and report a late stop.
        # A consumer that has already ended (crashed or cancelled by a
        # receive timeout) has reported that to the test.
        if not communicator.future.done():
            await communicator.send_input({"type": "websocket.disconnect"})
            stopped, _ = await asyncio.wait(
                [communicator.future], timeout=FRAME_TIMEOUT
            )
            communicator.stop(exceptions=False)
            assert stopped, "the consumer did not stop after the client disconnected"


async def connect(communicator: WebsocketCommunicator) -> None:
    connected, _ = await communicator.connect(timeout=FRAME_TIMEOUT)
    assert connected


async def receive(communicator: WebsocketCommunicator) -> dict:
    return await communicator.receive_json_from(timeout=FRAME_TIMEOUT)


async def receive_until_done(communicator: WebsocketCommunicator) -> list[dict]:
    """Receive frames up to and including the next ``done`` frame.

    An error frame without a ``message_id`` belongs to no answer (a rejected
    ask or follow), so no ``done`` will follow it and the helper fails fast.
    """
    frames = []
    while True:
        frame = await receive(communicator)
        if frame["type"] == "error":
            assert "message_id" in frame, frame
        frames.append(frame)
        if frame["type"] == "done":
            return frames


async def receive_deltas(communicator: WebsocketCommunicator, count: int) -> list[dict]:
    """Receive frames until ``count`` delta frames have arrived."""
    frames = []
    while sum(frame["type"] == "delta" for frame in frames) < count:
        frame = await receive(communicator)
        assert frame["type"] != "done", "the answer ended before the test acted"
        frames.append(frame)
    return frames


async def expect_rejection(
    communicator: WebsocketCommunicator, close_code: int, error_code: str
) -> dict:
    """Check for one error frame and then the close code, and return the frame."""
    connected, _ = await communicator.connect(timeout=FRAME_TIMEOUT)
    # The consumer accepts only so that the client can read the close code.
    assert connected
    frame = await receive(communicator)
    assert set(frame) == {"type", "code", "message"}
    assert frame["type"] == "error"
    assert frame["code"] == error_code
    closing = await communicator.receive_output(timeout=FRAME_TIMEOUT)
    assert closing == {"type": "websocket.close", "code": close_code}
    return frame


async def wait_until_finished(api: ApiClient, message_id: int) -> dict:
    """Poll the stored message until it is no longer streaming, and return it."""
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while time.monotonic() < deadline:
        message = await sync_to_async(stored_message)(api, message_id)
        if message["status"] != "streaming":
            return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"Message {message_id} still streaming after timeout")


def joined_text(frames: list[dict]) -> str:
    return "".join(frame["text"] for frame in frames if frame["type"] == "delta")


def sequence_numbers(frames: list[dict]) -> list[int]:
    return [frame["seq"] for frame in frames if "seq" in frame]


# --- Fixtures ----------------------------------------------------------------


@dataclass
class FormerMember:
    user: object
    token: str
    conversation_id: int


@pytest.fixture(scope="module")
def chat_org(django_db_setup, django_db_blocker) -> Org:
    """This module's organization.

    Questions are rate-limited per member, so this module's questions use an
    owner of their own and leave the shared organizations' budget alone.
    """
    with django_db_blocker.unblock():
        return make_org("chat")


@pytest.fixture
def chat_api(chat_org) -> ApiClient:
    return ApiClient(chat_org.host, chat_org.owner.token)


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Give each test its own channel layer instance.

    channels-redis 4.3 keeps asyncio locks on the layer instance and can
    leave one behind after a cancelled receive. An asyncio lock binds to the
    first event loop that waits on it, and pytest-asyncio gives each test a
    new loop, so a layer shared between tests fails with "is bound to a
    different event loop".
    """
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    yield
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)


@pytest.fixture
def slow_stream(settings):
    settings.OFFLINE_STREAM_DELAY_MS = SLOW_STREAM_DELAY_MS


@pytest.fixture
def report_conversation(chat_api) -> int:
    """A new conversation of the chat owner about a long pasted report."""
    document = paste_document(chat_api, unique("report"), long_report("harbor"))
    return start_conversation(chat_api, [document["id"]])


@pytest.fixture
def harbor_document(chat_api, celery_worker_thread) -> dict:
    """The three-page handbook, uploaded as a text file and extracted."""
    content = "\f".join(HARBOR_PAGES).encode()
    response = chat_api.upload(
        "/api/v1/documents/", "harbor.txt", content, title=unique("harbor")
    )
    assert response.status_code == 201, response.content
    document = wait_for_document(chat_api, response.json()["id"])
    assert document["status"] == "ready", document
    assert document["pages"] == 3
    return document


@pytest.fixture
def former_member(chat_org) -> FormerMember:
    """A removed member who keeps a conversation and a live token.

    The user started the conversation while a member, so only the
    membership check keeps them out of it.
    """
    user = get_user_model().objects.create_user(
        email=f"{unique('former')}@example.com", password=PASSWORD
    )
    membership = Membership.objects.create(
        user=user, organization=chat_org.organization, role=Membership.Role.MEMBER
    )
    _, key = ApiToken.issue(user, chat_org.organization, name="former member")
    api = ApiClient(chat_org.host, key)
    document = paste_document(api, unique("former"), long_report("harbor"))
    conversation_id = start_conversation(api, [document["id"]])
    membership.delete()
    return FormerMember(user, key, conversation_id)


@pytest.fixture
def revoked_token(chat_org) -> str:
    token, key = ApiToken.issue(
        chat_org.owner.user, chat_org.organization, name="revoked in test"
    )
    token.revoke()
    return key


@pytest.fixture
def second_member(chat_org):
    """Another member of the chat organization, and their API token."""
    user = get_user_model().objects.create_user(
        email=f"{unique('member')}@example.com", password=PASSWORD
    )
    Membership.objects.create(
        user=user, organization=chat_org.organization, role=Membership.Role.MEMBER
    )
    _, key = ApiToken.issue(user, chat_org.organization, name="second member")
    return user, key


@pytest.fixture
def empty_org():
    """A new organization without conversations.

    Conversation ids are per schema, so an id taken from another
    organization names nothing here only when this one has no conversations.
    """
    return make_org("empty")


# --- Asking and following ----------------------------------------------------


async def test_ask_streams_start_deltas_citations_usage_done(
    chat_org, chat_api, harbor_document
):
    conversation_id = await sync_to_async(start_conversation)(
        chat_api, [harbor_document["id"]]
    )

    async with chat_socket(
        chat_org.host, conversation_id, token=chat_org.owner.token
    ) as ws:
        await connect(ws)
        await ws.send_json_to({"type": "ask", "content": HARBOR_QUESTION})
        frames = await receive_until_done(ws)

    kinds = [frame["type"] for frame in frames]
    assert kinds[0] == "start"
    assert kinds[-2:] == ["usage", "done"]
    assert set(kinds[1:-2]) == {"delta", "citation"}
    assert kinds.index("delta") < kinds.index("citation")

    message_id = frames[0]["message_id"]
    assert all(frame["message_id"] == message_id for frame in frames)
    assert frames[0]["conversation_id"] == conversation_id
    assert frames[0]["engine"] == "offline"
    assert sequence_numbers(frames) == list(range(1, len(frames) + 1))

    done = frames[-1]
    assert done["status"] == "complete"
    assert done["stop_reason"] == "end_turn"

    message = await sync_to_async(stored_message)(chat_api, message_id)
    document = await sync_to_async(stored_document)(chat_api, harbor_document["id"])
    assert message["status"] == "complete"
    assert joined_text(frames) == message["content"]

    citations = [frame for frame in frames if frame["type"] == "citation"]
    assert [citation["number"] for citation in citations] == list(
        range(1, len(citations) + 1)
    )
    for citation in citations:
        assert citation["document_id"] == harbor_document["id"]
        assert (
            citation["quote"] == document["text"][citation["start"] : citation["end"]]
        )
        assert citation["page"] == page_of(document["page_offsets"], citation["start"])

        # The marker follows the cited sentence, so it streams after the citation.
        marker_position = joined_text(frames).find(f"[{citation['number']}]")
        text_before_citation = joined_text(frames[: frames.index(citation)])
        assert marker_position >= len(text_before_citation)
    assert {2, 3} <= {citation["page"] for citation in citations}

    sent_citations = [
        {key: citation[key] for key in CITATION_FIELDS} for citation in citations
    ]
    assert sent_citations == message["citations"]

    usage = frames[-2]
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0


async def test_follow_after_http_ask_replays_whole_answer(
    chat_org, chat_api, report_conversation
):
    message_id = await sync_to_async(ask_over_http)(
        chat_api, report_conversation, "What did the committee publish?"
    )

    async with chat_socket(
        chat_org.host, report_conversation, token=chat_org.owner.token
    ) as ws:
        await connect(ws)
        await ws.send_json_to({"type": "follow", "message_id": message_id, "after": 0})
        frames = await receive_until_done(ws)

    assert frames[0]["type"] == "start"
    assert frames[-1]["status"] == "complete"
    assert all(frame["message_id"] == message_id for frame in frames)
    assert sequence_numbers(frames) == list(range(1, len(frames) + 1))
    message = await sync_to_async(stored_message)(chat_api, message_id)
    assert joined_text(frames) == message["content"]
    assert message["content"]


async def test_follow_with_expired_log_replays_stored_answer(
    chat_org, chat_api, report_conversation
):
    message_id = await sync_to_async(ask_over_http)(
        chat_api, report_conversation, "What did the committee publish?"
    )
    message = await wait_until_finished(chat_api, message_id)
    # The row is stored before the usage and done frames are published, so
    # follow the answer to its done frame before deleting its log.
    async with chat_socket(
        chat_org.host, report_conversation, token=chat_org.owner.token
    ) as ws:
        await connect(ws)
        await ws.send_json_to({"type": "follow", "message_id": message_id, "after": 0})
        await receive_until_done(ws)

    # Redis drops an answer's log a day after its last frame. Deleting the key
    # makes the consumer fall back to the stored message.
    await streams.redis_client().delete(streams._log_key(chat_org.schema, message_id))

    async with chat_socket(
        chat_org.host, report_conversation, token=chat_org.owner.token
    ) as ws:
        await connect(ws)
        await ws.send_json_to({"type": "follow", "message_id": message_id, "after": 0})
        frames = await receive_until_done(ws)

        await ws.send_json_to(
            {"type": "follow", "message_id": message_id, "after": message["last_seq"]}
        )
        frames_after_last_seq = await receive_until_done(ws)

    assert joined_text(frames) == message["content"]
    sent_citations = [
        {key: frame[key] for key in CITATION_FIELDS}
        for frame in frames
        if frame["type"] == "citation"
    ]
    assert sent_citations == message["citations"]
    assert frames[-1]["status"] == "complete"
    assert [frame["type"] for frame in frames_after_last_seq] == ["done"]


async def test_reconnect_mid_answer_resumes_after_last_seq(
    chat_org, chat_api, report_conversation, slow_stream
):
    async with chat_socket(
        chat_org.host, report_conversation, token=chat_org.owner.token
    ) as ws:
        await connect(ws)
        await ws.send_json_to({"type": "ask", "content": "", "action": "summarize"})
        first_frames = await receive_deltas(ws, 10)
    message_id = first_frames[0]["message_id"]
    last_seen = first_frames[-1]["seq"]

    async with chat_socket(
        chat_org.host, report_conversation, token=chat_org.owner.token
    ) as ws:
        await connect(ws)
        await ws.send_json_to(
            {"type": "follow", "message_id": message_id, "after": last_seen}
        )
        rest = await receive_until_done(ws)

    assert sequence_numbers(rest) == list(
        range(last_seen + 1, last_seen + 1 + len(rest))
    )
    assert rest[-1]["status"] == "complete"
    message = await sync_to_async(stored_message)(chat_api, message_id)
    assert joined_text(first_frames + rest) == message["content"]


async def test_answer_completes_with_no_client_connected(
    chat_org, chat_api, report_conversation, slow_stream
):
    async with chat_socket(
        chat_org.host, report_conversation, token=chat_org.owner.token
    ) as ws:
        await connect(ws)
        await ws.send_json_to({"type": "ask", "content": "", "action": "summarize"})
        first_frames = await receive_deltas(ws, 10)
    message_id = first_frames[0]["message_id"]
    last_seen = first_frames[-1]["seq"]

    message = await sync_to_async(stored_message)(chat_api, message_id)
    assert message["status"] == "streaming"
    message = await wait_until_finished(chat_api, message_id)
    assert message["status"] == "complete"

    async with chat_socket(
        chat_org.host, report_conversation, token=chat_org.owner.token
    ) as ws:
        await connect(ws)
        await ws.send_json_to(
            {"type": "follow", "message_id": message_id, "after": last_seen}
        )
        rest = await receive_until_done(ws)

    assert sequence_numbers(rest) == list(
        range(last_seen + 1, last_seen + 1 + len(rest))
    )
    assert [frame["type"] for frame in rest[-2:]] == ["usage", "done"]
    assert rest[-1]["status"] == "complete"
    assert joined_text(first_frames + rest) == message["content"]


async def test_stop_interrupts_answer_and_records_usage(
    chat_org, chat_api, report_conversation, slow_stream
):
    async with chat_socket(
        chat_org.host, report_conversation, token=chat_org.owner.token
    ) as ws:
        await connect(ws)
        await ws.send_json_to({"type": "ask", "content": "", "action": "summarize"})
        frames = await receive_deltas(ws, 5)
        message_id = frames[0]["message_id"]
        await ws.send_json_to({"type": "stop", "message_id": message_id})
        frames += await receive_until_done(ws)

    done = frames[-1]
    assert done["status"] == "interrupted"
    assert done["stop_reason"] == "stopped"
    assert sequence_numbers(frames) == list(range(1, len(frames) + 1))

    message = await sync_to_async(stored_message)(chat_api, message_id)
    assert message["status"] == "interrupted"
    assert message["stop_reason"] == "stopped"
    assert message["content"]
    assert message["content"] == joined_text(frames)

    events = await sync_to_async(usage_events)(chat_org.schema, message_id)
    assert len(events) == 1
    usage = frames[-2]
    assert usage["type"] == "usage"
    assert events[0] == {key: usage[key] for key in events[0]}
    assert events[0]["output_tokens"] > 0


# --- Outsiders -----------------------------------------------------------------


async def test_anonymous_client_closes_with_4401(chat_org, report_conversation):
    async with chat_socket(chat_org.host, report_conversation) as ws:
        await expect_rejection(ws, 4401, "not_authenticated")


async def test_revoked_token_closes_with_4401(
    chat_org, report_conversation, revoked_token
):
    async with chat_socket(
        chat_org.host, report_conversation, token=revoked_token
    ) as ws:
        await expect_rejection(ws, 4401, "not_authenticated")


async def test_malformed_authorization_closes_with_4401(chat_org, report_conversation):
    async with chat_socket(chat_org.host, report_conversation, token="") as ws:
        await expect_rejection(ws, 4401, "not_authenticated")


async def test_foreign_token_closes_like_unknown_token(
    chat_org, org_b, report_conversation
):
    """A token opens only its own organization, so elsewhere it is unknown."""
    async with chat_socket(
        chat_org.host, report_conversation, token=org_b.owner.token
    ) as ws:
        foreign_token_frame = await expect_rejection(ws, 4401, "not_authenticated")
    async with chat_socket(
        chat_org.host, report_conversation, token=f"{TOKEN_PREFIX}{uuid.uuid4().hex}"
    ) as ws:
        unknown_token_frame = await expect_rejection(ws, 4401, "not_authenticated")

    assert foreign_token_frame == unknown_token_frame


async def test_removed_members_token_closes_with_4404(chat_org, former_member):
    async with chat_socket(
        chat_org.host, former_member.conversation_id, token=former_member.token
    ) as ws:
        await expect_rejection(ws, 4404, "not_found")


async def test_removed_members_session_closes_with_4404(chat_org, former_member):
    cookie = await sync_to_async(session_cookie)(chat_org.host, former_member.user)

    async with chat_socket(
        chat_org.host, former_member.conversation_id, cookie=cookie
    ) as ws:
        await expect_rejection(ws, 4404, "not_found")


async def test_outside_users_session_closes_with_4404(
    chat_org, org_b, report_conversation
):
    cookie = await sync_to_async(session_cookie)(chat_org.host, org_b.owner.user)

    async with chat_socket(chat_org.host, report_conversation, cookie=cookie) as ws:
        await expect_rejection(ws, 4404, "not_found")


async def test_member_session_with_same_origin_connects(chat_org, report_conversation):
    cookie = await sync_to_async(session_cookie)(chat_org.host, chat_org.owner.user)

    async with chat_socket(
        chat_org.host,
        report_conversation,
        cookie=cookie,
        origin=f"http://{chat_org.host}",
    ) as ws:
        await connect(ws)
        await ws.send_json_to({"type": "ask", "content": "What did they publish?"})
        frames = await receive_until_done(ws)

    assert frames[-1]["status"] == "complete"


async def test_foreign_conversation_id_closes_like_missing_one(empty_org, api_b):
    document = await sync_to_async(paste_document)(
        api_b, unique("secret"), long_report("globex")
    )
    conversation_b = await sync_to_async(start_conversation)(api_b, [document["id"]])

    async with chat_socket(
        empty_org.host, conversation_b, token=empty_org.owner.token
    ) as ws:
        foreign_frame = await expect_rejection(ws, 4404, "not_found")
    async with chat_socket(
        empty_org.host, 2_000_000_000, token=empty_org.owner.token
    ) as ws:
        missing_frame = await expect_rejection(ws, 4404, "not_found")

    assert foreign_frame == missing_frame


async def test_other_members_conversation_closes_with_4404(
    chat_org, report_conversation, second_member
):
    _, key = second_member

    async with chat_socket(chat_org.host, report_conversation, token=key) as ws:
        await expect_rejection(ws, 4404, "not_found")


async def test_unknown_subdomain_closes_with_4404(chat_org, report_conversation):
    host = f"{unique('nosuch')}.{django_settings.BASE_DOMAIN}"

    async with chat_socket(host, report_conversation, token=chat_org.owner.token) as ws:
        await expect_rejection(ws, 4404, "not_found")


async def test_public_site_host_closes_with_4404(chat_org, report_conversation):
    async with chat_socket(
        django_settings.BASE_DOMAIN, report_conversation, token=chat_org.owner.token
    ) as ws:
        await expect_rejection(ws, 4404, "not_found")


async def test_foreign_origin_closes_with_4403(chat_org, org_b, report_conversation):
    for origin in [f"http://{org_b.host}", "https://evil.example.com", "null"]:
        async with chat_socket(
            chat_org.host,
            report_conversation,
            token=chat_org.owner.token,
            origin=origin,
        ) as ws:
            await expect_rejection(ws, 4403, "forbidden_origin")


async def test_follow_of_other_conversations_message_fails(
    chat_org, chat_api, report_conversation, slow_stream
):
    document = await sync_to_async(paste_document)(
        chat_api, unique("other"), long_report("orchard")
    )
    other_conversation = await sync_to_async(start_conversation)(
        chat_api, [document["id"]]
    )
    other_message = await sync_to_async(ask_over_http)(
        chat_api, other_conversation, "", action="summarize"
    )

    async with (
        chat_socket(
            chat_org.host, report_conversation, token=chat_org.owner.token
        ) as ws,
        chat_socket(
            chat_org.host, other_conversation, token=chat_org.owner.token
        ) as owner,
    ):
        await connect(ws)
        await connect(owner)
        await ws.send_json_to(
            {"type": "follow", "message_id": other_message, "after": 0}
        )
        error = await receive(ws)
        await ws.send_json_to({"type": "stop", "message_id": other_message})
        stop_error = await receive(ws)

        # The owner's socket follows the answer to its done frame. A frame
        # leaked to the other socket by then would arrive before the reply to
        # the marker frame below.
        await owner.send_json_to(
            {"type": "follow", "message_id": other_message, "after": 0}
        )
        owner_frames = await receive_until_done(owner)
        await ws.send_json_to({"type": "marker"})
        marker_reply = await receive(ws)
        assert await ws.receive_nothing(timeout=0.2)

    assert error["type"] == "error"
    assert error["code"] == "not_found"
    assert error["message_id"] == other_message
    assert stop_error["code"] == "not_found"
    assert marker_reply["code"] == "invalid_frame"
    assert owner_frames[-1]["status"] == "complete"


# --- Invalid frames ------------------------------------------------------------


async def test_invalid_frames_get_error_and_socket_stays_open(
    chat_org, chat_api, report_conversation
):
    message_id = await sync_to_async(ask_over_http)(
        chat_api, report_conversation, "What did the committee publish?"
    )
    await wait_until_finished(chat_api, message_id)
    cases = [
        ({"type": "dance"}, "invalid_frame"),
        ({"no_type": True}, "invalid_frame"),
        ([1, 2, 3], "invalid_frame"),
        ("just a string", "invalid_frame"),
        ({"type": "follow", "message_id": message_id, "after": -1}, "invalid"),
        ({"type": "follow", "message_id": message_id, "after": "3"}, "invalid"),
        ({"type": "follow", "message_id": str(message_id), "after": 0}, "not_found"),
        ({"type": "follow", "after": 0}, "not_found"),
        ({"type": "ask", "content": "   "}, "invalid"),
        ({"type": "ask", "content": "Hi", "action": "sing"}, "invalid"),
        ({"type": "stop", "message_id": 2_000_000_000}, "not_found"),
    ]

    async with chat_socket(
        chat_org.host, report_conversation, token=chat_org.owner.token
    ) as ws:
        await connect(ws)
        for frame, code in cases:
            await ws.send_json_to(frame)
            reply = await receive(ws)
            assert reply["type"] == "error", frame
            assert reply["code"] == code, frame

        await ws.send_to(text_data="{not json")
        reply = await receive(ws)
        assert reply["type"] == "error"
        assert reply["code"] == "invalid_frame"

        await ws.send_to(bytes_data=b"\x00\x01")
        reply = await receive(ws)
        assert reply["type"] == "error"
        assert reply["code"] == "invalid_frame"

        # The socket still works after all of the above.
        await ws.send_json_to({"type": "follow", "message_id": message_id, "after": 0})
        frames = await receive_until_done(ws)
        assert frames[-1]["status"] == "complete"


# --- Tenancy -------------------------------------------------------------------


@pytest.fixture
def twin_organizations():
    """Two new organizations, each with one document and one conversation.

    Both schemas are new, so their rows get the same ids.
    """
    twins = []
    for prefix, topic in [("twina", "harbor"), ("twinb", "orchard")]:
        org = make_org(prefix)
        api = ApiClient(org.host, org.owner.token)
        document = paste_document(api, f"{topic} report", long_report(topic))
        conversation_id = start_conversation(api, [document["id"]])
        twins.append((org, api, document["id"], conversation_id))
    return twins


async def test_equal_ids_in_two_organizations_do_not_cross(
    twin_organizations, slow_stream
):
    (
        (harbor_org, harbor_api, harbor_document_id, harbor_conversation),
        (orchard_org, orchard_api, orchard_document_id, orchard_conversation),
    ) = twin_organizations
    assert harbor_document_id == orchard_document_id
    assert harbor_conversation == orchard_conversation

    async with (
        chat_socket(
            harbor_org.host, harbor_conversation, token=harbor_org.owner.token
        ) as harbor_socket,
        chat_socket(
            orchard_org.host, orchard_conversation, token=orchard_org.owner.token
        ) as orchard_socket,
    ):
        await connect(harbor_socket)
        await connect(orchard_socket)
        await harbor_socket.send_json_to(
            {"type": "ask", "content": "", "action": "summarize"}
        )
        await orchard_socket.send_json_to(
            {"type": "ask", "content": "", "action": "summarize"}
        )
        harbor_frames, orchard_frames = await asyncio.gather(
            receive_until_done(harbor_socket), receive_until_done(orchard_socket)
        )

        message_id = harbor_frames[0]["message_id"]
        assert orchard_frames[0]["message_id"] == message_id

        # Replaying from the start reads the Redis log, whose key also
        # carries the schema.
        await harbor_socket.send_json_to(
            {"type": "follow", "message_id": message_id, "after": 0}
        )
        harbor_replay = await receive_until_done(harbor_socket)

    harbor_message = await sync_to_async(stored_message)(harbor_api, message_id)
    orchard_message = await sync_to_async(stored_message)(orchard_api, message_id)
    assert "harbor" in harbor_message["content"]
    assert "orchard" not in harbor_message["content"]
    assert "orchard" in orchard_message["content"]

    assert joined_text(harbor_frames) == harbor_message["content"]
    assert joined_text(orchard_frames) == orchard_message["content"]
    assert joined_text(harbor_replay) == harbor_message["content"]
    assert sequence_numbers(harbor_frames) == list(range(1, len(harbor_frames) + 1))
    assert sequence_numbers(orchard_frames) == list(range(1, len(orchard_frames) + 1))
    assert harbor_replay == harbor_frames
