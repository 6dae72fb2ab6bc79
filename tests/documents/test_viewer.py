from __future__ import annotations

from tests.conftest import ApiClient, make_org


def _long_document(client: ApiClient) -> dict:
    pages = [f"Page {number} opens here. " + "word " * 20_000 for number in range(1, 9)]
    return client.post(
        "/api/v1/documents/", {"title": "Long", "content": "\f".join(pages)}
    ).json()


def test_viewer_renders_first_pages_and_defers_the_rest():
    org = make_org("viewer")
    client = ApiClient(org.host, org.owner.token)
    document = _long_document(client)
    browser = ApiClient(org.host)
    browser.client.force_login(org.owner.user)

    page = browser.get(f"/documents/{document['id']}/").content.decode()

    assert "Page 1 opens here." in page
    assert "Page 8 opens here." not in page
    assert page.count('data-lazy="1"') >= 4
    assert len(page) < 600_000


def test_pages_endpoint_returns_requested_pages():
    org = make_org("pages")
    client = ApiClient(org.host, org.owner.token)
    document = _long_document(client)

    response = client.get(f"/api/v1/documents/{document['id']}/pages/?start=7&count=5")
    full = client.get(f"/api/v1/documents/{document['id']}/").json()

    assert response.status_code == 200
    body = response.json()
    assert body["page_count"] == 8
    assert [page["number"] for page in body["pages"]] == [7, 8]
    start, end = full["page_offsets"][6]
    assert body["pages"][0]["start"] == start
    assert body["pages"][0]["text"] == full["text"][start:end]
    assert (
        client.get(f"/api/v1/documents/{document['id']}/pages/?count=500").status_code
        == 400
    )
