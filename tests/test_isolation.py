"""Every workspace route, tried by a member and by each kind of outsider.

Outsiders: an anonymous client, a revoked token, another organization's
token, and another organization's member signed in by session on this
organization's host. None of them may read or change anything.
"""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import ApiToken
from assistant.models import Message
from documents.models import Document
from tests.conftest import PASSWORD, ApiClient, make_org


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Two organizations, each with a document, a conversation and an answer."""
    with django_db_blocker.unblock():
        a, b = make_org("isoa"), make_org("isob")
        objects = {}
        for org in (a, b):
            client = ApiClient(org.host, org.owner.token)
            document = client.post(
                "/api/v1/documents/",
                {
                    "title": f"{org.organization.slug} notes",
                    "content": "Alpha beta gamma. " * 20,
                },
            ).json()
            conversation = client.post(
                "/api/v1/conversations/", {"document_ids": [document["id"]]}
            ).json()
            asked = client.post(
                f"/api/v1/conversations/{conversation['id']}/messages/",
                {"content": "What about alpha?"},
            ).json()
            objects[org.organization.slug] = {
                "document": document["id"],
                "conversation": conversation["id"],
                "message": asked["assistant_message"]["id"],
            }
        _, revoked_key = ApiToken.issue(a.owner.user, a.organization, name="revoked")
        ApiToken.objects.get(prefix=revoked_key[:12]).revoke()
        return {"a": a, "b": b, "ids": objects, "revoked": revoked_key}


def routes(ids: dict) -> list[tuple[str, str, dict | None]]:
    document, conversation, message = (
        ids["document"],
        ids["conversation"],
        ids["message"],
    )
    return [
        ("get", "/api/v1/documents/", None),
        ("post", "/api/v1/documents/", {"title": "x", "content": "intruder text"}),
        ("get", f"/api/v1/documents/{document}/", None),
        ("get", f"/api/v1/documents/{document}/pages/", None),
        ("patch", f"/api/v1/documents/{document}/", {"title": "renamed"}),
        ("delete", f"/api/v1/documents/{document}/", None),
        ("get", "/api/v1/conversations/", None),
        ("post", "/api/v1/conversations/", {"document_ids": [document]}),
        ("get", f"/api/v1/conversations/{conversation}/", None),
        ("post", f"/api/v1/conversations/{conversation}/messages/", {"content": "hi"}),
        ("get", f"/api/v1/messages/{message}/", None),
        ("post", f"/api/v1/messages/{message}/stop/", None),
        ("get", "/api/v1/usage/", None),
    ]


def _call(client: ApiClient, method: str, path: str, body):
    if method in ("get", "delete"):
        return getattr(client, method)(path)
    return getattr(client, method)(path, body if body is not None else {})


def _assert_untouched(world) -> None:
    a = world["a"]
    slug = a.organization.slug
    from django_tenants.utils import schema_context

    with schema_context(a.schema):
        document = Document.objects.get(pk=world["ids"][slug]["document"])
        assert document.title == f"{slug} notes"
        assert not Document.objects.filter(title="x").exists()
        assert Message.objects.filter(content="hi").count() == 0


def test_anonymous_gets_401_on_every_api_route(world):
    client = ApiClient(world["a"].host)
    for method, path, body in routes(world["ids"][world["a"].organization.slug]):
        response = _call(client, method, path, body)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "not_authenticated", (method, path)
    _assert_untouched(world)


def test_revoked_token_gets_401_on_every_api_route(world):
    client = ApiClient(world["a"].host, world["revoked"])
    for method, path, body in routes(world["ids"][world["a"].organization.slug]):
        response = _call(client, method, path, body)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "authentication_failed"
    _assert_untouched(world)


def test_other_organizations_token_gets_401_on_every_api_route(world):
    client = ApiClient(world["a"].host, world["b"].owner.token)
    for method, path, body in routes(world["ids"][world["a"].organization.slug]):
        response = _call(client, method, path, body)
        assert response.status_code == 401, (method, path)
    _assert_untouched(world)


def test_other_organizations_member_by_session_gets_404_everywhere(world):
    outsider = ApiClient(world["a"].host)
    outsider.client.force_login(world["b"].owner.user)
    for method, path, body in routes(world["ids"][world["a"].organization.slug]):
        response = _call(outsider, method, path, body)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"
    for page in [
        "/",
        f"/documents/{world['ids'][world['a'].organization.slug]['document']}/",
    ]:
        assert outsider.get(page).status_code == 404, page
    _assert_untouched(world)


def test_member_asking_for_other_organizations_ids_gets_404(world):
    a, b = world["a"], world["b"]
    client = ApiClient(a.host, a.owner.token)
    foreign = world["ids"][b.organization.slug]
    # Ids of B's objects that A does not also have under the same number.
    own = world["ids"][a.organization.slug]
    for key, path in [
        ("document", "/api/v1/documents/{}/"),
        ("conversation", "/api/v1/conversations/{}/"),
        ("message", "/api/v1/messages/{}/"),
    ]:
        if foreign[key] != own[key]:
            assert client.get(path.format(foreign[key])).status_code == 404
    missing = client.get("/api/v1/documents/999999/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_same_ids_in_two_organizations_show_each_its_own(world):
    a, b = world["a"], world["b"]
    for org in (a, b):
        slug = org.organization.slug
        data = (
            ApiClient(org.host, org.owner.token)
            .get(f"/api/v1/documents/{world['ids'][slug]['document']}/")
            .json()
        )
        assert data["title"] == f"{slug} notes"


def test_member_reaches_every_api_route(world):
    a = world["a"]
    client = ApiClient(a.host, a.owner.token)
    ids = world["ids"][a.organization.slug]
    for method, path, _ in routes(ids):
        if method != "get":
            continue
        response = client.get(path)
        assert response.status_code == 200, path


def test_anonymous_workspace_pages_redirect_to_sign_in(world):
    client = Client(HTTP_HOST=world["a"].host)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_unknown_subdomain_is_404():
    response = Client(HTTP_HOST="nobody-here.localhost").get("/api/v1/documents/")
    assert response.status_code == 404


def test_token_endpoint_issues_tokens_only_to_members(world):
    a, b = world["a"], world["b"]
    member = ApiClient(a.host).post(
        "/api/v1/auth/token/", {"email": a.owner.email, "password": PASSWORD}
    )
    outsider = ApiClient(a.host).post(
        "/api/v1/auth/token/", {"email": b.owner.email, "password": PASSWORD}
    )
    wrong_password = ApiClient(a.host).post(
        "/api/v1/auth/token/", {"email": a.owner.email, "password": "wrong password!"}
    )

    assert member.status_code == 200
    token = member.json()["token"]
    assert ApiClient(a.host, token).get("/api/v1/usage/").status_code == 200
    assert outsider.status_code == 401
    assert wrong_password.status_code == 401
    assert outsider.json() == wrong_password.json()


def test_tokens_are_stored_hashed(world):
    a = world["a"]
    stored = ApiToken.objects.filter(user=a.owner.user).values_list(
        "key_hash", flat=True
    )
    assert a.owner.token not in list(stored)
    assert all(len(value) == 64 for value in stored)


def test_token_revokes_itself_and_stops_working(world):
    a = world["a"]
    key = (
        ApiClient(a.host)
        .post("/api/v1/auth/token/", {"email": a.owner.email, "password": PASSWORD})
        .json()["token"]
    )
    client = ApiClient(a.host, key)

    revoked = client.delete("/api/v1/auth/token/")
    after = client.get("/api/v1/documents/")

    assert revoked.status_code == 204
    assert after.status_code == 401
    assert ApiToken.objects.get(prefix=key[:12]).revoked_at is not None
    assert ApiClient(a.host).delete("/api/v1/auth/token/").status_code == 401


def test_list_limit_is_capped_and_huge_offsets_are_harmless(world):
    client = ApiClient(world["a"].host, world["a"].owner.token)

    capped = client.get("/api/v1/documents/?limit=99999999999999999999999")
    far = client.get("/api/v1/documents/?offset=99999999999999999999999")

    assert capped.status_code == 200
    assert far.status_code == 200
    assert far.json()["results"] == []
