from __future__ import annotations

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.models import ApiToken
from config.asgi import application
from tests.conftest import ApiClient, make_org


def _setup():
    org = make_org("revoke")
    _, key = ApiToken.issue(org.owner.user, org.organization, name="socket")
    conversation = ApiClient(org.host, key).post(
        "/api/v1/conversations/", {"document_ids": []}
    )
    return org, key, conversation.json()["id"]


async def test_token_revoked_while_socket_open_closes_it():
    org, key, conversation_id = await sync_to_async(_setup)()
    communicator = WebsocketCommunicator(
        application,
        f"/ws/conversations/{conversation_id}/",
        headers=[
            (b"host", org.host.encode()),
            (b"authorization", f"Token {key}".encode()),
        ],
    )
    connected, _ = await communicator.connect(timeout=10)
    assert connected

    await sync_to_async(lambda: ApiToken.objects.get(prefix=key[:12]).revoke())()
    await communicator.send_json_to({"type": "ask", "content": "hello?"})

    frame = await communicator.receive_json_from(timeout=10)
    closed = await communicator.receive_output(timeout=10)
    assert frame["type"] == "error"
    assert frame["code"] == "not_authenticated"
    assert closed == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()
