"""The documents API: upload, extraction by the Celery worker, paste, rename,
delete, and the callers each route rejects.

Uploads go through a real Celery worker thread, so tests that need a
finished extraction request `celery_worker_thread` and poll the API until
the document leaves `processing`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test.client import MULTIPART_CONTENT
from django_tenants.utils import schema_context

from accounts.models import ApiToken
from documents.models import Chunk, Document
from tests.conftest import ApiClient, Org, make_org, unique

DOCUMENTS = (
    Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "documents"
)
LIST_URL = "/api/v1/documents/"

# The 14-page PDF takes a few seconds to extract. The deadline only stops a
# test whose task never runs or never finishes.
EXTRACTION_DEADLINE_SECONDS = 60.0
POLL_INTERVAL_SECONDS = 0.1

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The start of a typical Windows executable: the MS-DOS "MZ" header.
EXE_HEADER = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"

ROUTES = ["list", "create", "retrieve", "rename", "delete"]
DETAIL_ROUTES = ["retrieve", "rename", "delete"]


# --- Helpers -----------------------------------------------------------------


def detail_url(document_id: int) -> str:
    return f"{LIST_URL}{document_id}/"


def upload_fixture(api: ApiClient, name: str, **fields):
    return api.upload(LIST_URL, name, (DOCUMENTS / name).read_bytes(), **fields)


def paste(api: ApiClient, title: str, content: str) -> dict:
    response = api.post(LIST_URL, {"title": title, "content": content})
    assert response.status_code == 201, response.content
    return response.json()


def wait_until_settled(api: ApiClient, document_id: int) -> dict:
    """Poll the document until it leaves `processing` and return its detail."""
    deadline = time.monotonic() + EXTRACTION_DEADLINE_SECONDS
    while True:
        response = api.get(detail_url(document_id))
        assert response.status_code == 200, response.content
        document = response.json()
        if document["status"] != "processing":
            return document
        if time.monotonic() > deadline:
            pytest.fail(
                f"Document {document_id} is still processing after "
                f"{EXTRACTION_DEADLINE_SECONDS} s. Is the Celery worker running?"
            )
        time.sleep(POLL_INTERVAL_SECONDS)


def document_folder(org: Org, document_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / org.schema / "documents" / str(document_id)


def stored_document_ids(org: Org) -> set[int]:
    with schema_context(org.schema):
        return set(Document.objects.values_list("pk", flat=True))


def stored_folders(org: Org) -> set[str]:
    root = Path(settings.MEDIA_ROOT) / org.schema / "documents"
    if not root.exists():
        return set()
    return {folder.name for folder in root.iterdir()}


def chunks_of(org: Org, document_id: int) -> list[Chunk]:
    with schema_context(org.schema):
        return list(Chunk.objects.filter(document_id=document_id))


def assert_error(response, status: int, code: str) -> None:
    """Check the status and that the body is only the error contract."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def send(client: ApiClient, route: str, document_id: int):
    """Send a request to one route, on `document_id` for the detail routes."""
    if route == "list":
        return client.get(LIST_URL)
    if route == "create":
        return client.post(
            LIST_URL, {"title": unique("outsider-"), "content": "Outsider text."}
        )
    if route == "retrieve":
        return client.get(detail_url(document_id))
    if route == "rename":
        return client.patch(detail_url(document_id), {"title": "Renamed by outsider"})
    if route == "delete":
        return client.delete(detail_url(document_id))
    raise ValueError(f"Unknown route {route!r}")


def session_client(org: Org, user) -> ApiClient:
    """A client on the organization's host, signed in by session cookie."""
    client = ApiClient(org.host)
    client.client.force_login(user)
    return client


# --- Fixtures ----------------------------------------------------------------


@pytest.fixture
def document_a(api_a) -> dict:
    """A new pasted document in org A, the target of the outsider tests."""
    return paste(api_a, unique("target-"), "Confidential plans of org A.")


@pytest.fixture
def untouched_document_a(org_a, document_a):
    """Check, after the test, that no document of org A was changed."""
    ids_before = stored_document_ids(org_a)
    yield document_a
    assert stored_document_ids(org_a) == ids_before
    with schema_context(org_a.schema):
        document = Document.objects.get(pk=document_a["id"])
        assert document.title == document_a["title"]


@pytest.fixture(scope="module")
def twin_orgs(django_db_setup, django_db_blocker) -> tuple[Org, Org]:
    """Two new organizations, each with its own document 1.

    B also has a document 2, an id that does not exist in A.
    """
    with django_db_blocker.unblock():
        org_a, org_b = make_org("twina"), make_org("twinb")
        api_a = ApiClient(org_a.host, org_a.owner.token)
        api_b = ApiClient(org_b.host, org_b.owner.token)
        paste(api_a, unique("a-one-"), "Text of org A's first document.")
        paste(api_b, unique("b-one-"), "Text of org B's first document.")
        paste(api_b, unique("b-two-"), "Text of org B's second document.")
    return org_a, org_b


@pytest.fixture
def revoked_token(org_a) -> str:
    """A token of org A's owner that worked and was then revoked."""
    token, key = ApiToken.issue(org_a.owner.user, org_a.organization, name="revoked")
    assert ApiClient(org_a.host, key).get(LIST_URL).status_code == 200
    token.revoke()
    return key


# --- Upload and extraction ---------------------------------------------------


def test_pdf_upload_is_extracted_into_pages_and_chunks(
    api_a, org_a, celery_worker_thread
):
    title = unique("tracemonkey-")
    pdf_bytes = (DOCUMENTS / "tracemonkey-paper.pdf").read_bytes()

    response = api_a.upload(LIST_URL, "tracemonkey-paper.pdf", pdf_bytes, title=title)

    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "processing"
    assert created["title"] == title
    assert created["kind"] == "pdf"
    assert created["size_bytes"] == len(pdf_bytes)
    stored_file = document_folder(org_a, created["id"]) / "tracemonkey-paper.pdf"
    assert stored_file.read_bytes() == pdf_bytes

    document = wait_until_settled(api_a, created["id"])

    assert document["status"] == "ready"
    assert document["error"] is None
    assert document["pages"] == 14
    text = document["text"]
    assert text.strip()
    offsets = document["page_offsets"]
    assert len(offsets) == 14
    assert offsets[0][0] == 0
    assert offsets[-1][1] == len(text)
    for previous, following in zip(offsets, offsets[1:], strict=False):
        assert previous[1] == following[0], f"gap or overlap at {previous}"

    chunks = chunks_of(org_a, created["id"])
    assert chunks
    assert all(chunk.search_vector is not None for chunk in chunks)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end], f"chunk {chunk.index}"
    with schema_context(org_a.schema):
        best = Chunk.objects.ranked("trace tree", [created["id"]]).first()
    assert best is not None
    assert "trace" in best.text.lower()


@pytest.mark.parametrize(
    ("filename", "content", "expected_text", "expected_pages"),
    [
        pytest.param(
            "tables.docx",
            (DOCUMENTS / "tables.docx").read_bytes(),
            "Above\n\nTop left | Top right\nBottom left | Bottom right\n\nBelow",
            1,
            id="docx",
        ),
        pytest.param(
            "opening-hours.txt",
            "Café opening hours.\n\nMonday to Friday.\fWeekends closed.\n".encode(),
            "Café opening hours.\n\nMonday to Friday.\n\nWeekends closed.",
            2,
            id="txt",
        ),
        pytest.param(
            "release-notes.md",
            b"# Release notes\n\n- Faster uploads\n- Fewer errors\n",
            "# Release notes\n\n- Faster uploads\n- Fewer errors",
            1,
            id="md",
        ),
    ],
)
def test_upload_is_ready_with_expected_text(
    api_a, celery_worker_thread, filename, content, expected_text, expected_pages
):
    response = api_a.upload(LIST_URL, filename, content, title=unique("small-"))
    assert response.status_code == 201, response.content

    document = wait_until_settled(api_a, response.json()["id"])

    assert document["status"] == "ready"
    assert document["text"] == expected_text
    assert document["pages"] == expected_pages
    assert document["page_offsets"][-1][1] == len(expected_text)


@pytest.mark.parametrize(
    ("filename", "reason"),
    [
        ("encrypted-password.pdf", "password"),
        ("images-only-no-text.pdf", "no text layer"),
        ("not-really-a-docx.docx", "not a valid Word document"),
    ],
)
def test_unreadable_upload_ends_failed_with_reason(
    api_a, org_a, celery_worker_thread, filename, reason
):
    response = upload_fixture(api_a, filename, title=unique("unreadable-"))
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "processing"

    document = wait_until_settled(api_a, response.json()["id"])

    assert document["status"] == "failed"
    assert document["error"]["code"] == "unreadable_document"
    assert reason in document["error"]["message"]
    assert document["text"] == ""
    assert document["pages"] == 0
    assert chunks_of(org_a, document["id"]) == []


def test_extraction_runs_in_the_uploading_organization(celery_worker_thread):
    org_a, org_b = make_org("exta"), make_org("extb")
    api_a = ApiClient(org_a.host, org_a.owner.token)
    api_b = ApiClient(org_b.host, org_b.owner.token)
    document_b = paste(api_b, unique("b-notes-"), "Notes that belong to org B.")
    title_a = unique("a-report-")

    response = api_a.upload(
        LIST_URL, "report.txt", b"Quarterly figures of org A.", title=title_a
    )
    assert response.status_code == 201, response.content
    document_a = wait_until_settled(api_a, response.json()["id"])

    # Both organizations have a document 1, so a task that ran in B's schema
    # would have overwritten B's row instead of filling A's.
    assert document_a["id"] == document_b["id"] == 1
    assert document_a["status"] == "ready"
    assert document_a["text"] == "Quarterly figures of org A."
    assert chunks_of(org_a, 1)
    with schema_context(org_b.schema):
        assert not Document.objects.filter(title=title_a).exists()
        row_b = Document.objects.get(pk=1)
        assert row_b.title == document_b["title"]
        assert row_b.text == "Notes that belong to org B."
        assert not Chunk.objects.filter(text__contains="Quarterly").exists()


# --- Rejected uploads --------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        pytest.param("picture.png", PNG_SIGNATURE + b"\x00" * 64, id="png"),
        pytest.param("picture.pdf", PNG_SIGNATURE + b"\x00" * 64, id="png-as-pdf"),
        pytest.param("setup.exe", EXE_HEADER + b"\x00" * 64, id="exe"),
    ],
)
def test_unsupported_file_is_415_and_stores_nothing(api_a, org_a, filename, content):
    ids_before, folders_before = stored_document_ids(org_a), stored_folders(org_a)

    response = api_a.upload(LIST_URL, filename, content)

    assert_error(response, 415, "unsupported_file_type")
    assert stored_document_ids(org_a) == ids_before
    assert stored_folders(org_a) == folders_before


def test_file_over_size_limit_is_413_and_stores_nothing(api_a, org_a, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    ids_before, folders_before = stored_document_ids(org_a), stored_folders(org_a)

    response = api_a.upload(LIST_URL, "long.txt", b"a" * 1001)

    assert_error(response, 413, "file_too_large")
    assert "limit" in response.json()["error"]["message"]
    assert stored_document_ids(org_a) == ids_before
    assert stored_folders(org_a) == folders_before


def test_file_at_size_limit_is_accepted(api_a, settings):
    settings.MAX_UPLOAD_BYTES = 1000

    response = api_a.upload(LIST_URL, "exact.txt", b"a" * 1000)

    assert response.status_code == 201, response.content


def test_empty_file_is_400_and_stores_nothing(api_a, org_a):
    ids_before, folders_before = stored_document_ids(org_a), stored_folders(org_a)

    response = api_a.upload(LIST_URL, "empty.txt", b"")

    assert_error(response, 400, "invalid")
    assert "file" in response.json()["error"]["message"]
    assert stored_document_ids(org_a) == ids_before
    assert stored_folders(org_a) == folders_before


def test_request_without_file_or_content_is_400(api_a, org_a):
    ids_before = stored_document_ids(org_a)

    json_response = api_a.post(LIST_URL, {"title": unique("nothing-")})
    multipart_response = api_a.post(
        LIST_URL, {"title": unique("nothing-")}, content_type=MULTIPART_CONTENT
    )

    assert_error(json_response, 400, "invalid")
    assert_error(multipart_response, 400, "invalid")
    assert stored_document_ids(org_a) == ids_before


# --- Paste, rename, delete and list ------------------------------------------


def test_pasted_text_is_ready_at_once(api_a, org_a):
    title = unique("pasted-")
    content = "Refunds are issued within 30 days.\n\nShipping is free."

    response = api_a.post(LIST_URL, {"title": title, "content": content})

    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "ready"
    assert created["title"] == title
    document = api_a.get(detail_url(created["id"])).json()
    assert document["text"] == content
    assert document["page_offsets"] == [[0, len(content)]]
    assert chunks_of(org_a, created["id"])


def test_rename_changes_the_title(api_a):
    document = paste(api_a, unique("draft-"), "Text to rename.")
    new_title = unique("final-")

    response = api_a.patch(detail_url(document["id"]), {"title": new_title})

    assert response.status_code == 200, response.content
    assert response.json()["title"] == new_title
    assert api_a.get(detail_url(document["id"])).json()["title"] == new_title


def test_rename_to_blank_title_is_400(api_a):
    document = paste(api_a, unique("keep-"), "Text whose title stays.")

    response = api_a.patch(detail_url(document["id"]), {"title": ""})

    assert_error(response, 400, "invalid")
    assert api_a.get(detail_url(document["id"])).json()["title"] == document["title"]


def test_delete_of_pasted_text_removes_document_and_chunks(api_a, org_a):
    document = paste(api_a, unique("doomed-"), "Text to delete.")
    assert chunks_of(org_a, document["id"])

    response = api_a.delete(detail_url(document["id"]))

    assert response.status_code == 204
    assert_error(api_a.get(detail_url(document["id"])), 404, "not_found")
    assert chunks_of(org_a, document["id"]) == []


def test_delete_of_upload_removes_chunks_and_folder(api_a, org_a, celery_worker_thread):
    response = api_a.upload(
        LIST_URL, "minutes.txt", b"Minutes of the meeting.", title=unique("minutes-")
    )
    assert response.status_code == 201, response.content
    document = wait_until_settled(api_a, response.json()["id"])
    assert document["status"] == "ready"
    folder = document_folder(org_a, document["id"])
    assert folder.is_dir()
    assert chunks_of(org_a, document["id"])

    response = api_a.delete(detail_url(document["id"]))

    assert response.status_code == 204
    assert_error(api_a.get(detail_url(document["id"])), 404, "not_found")
    assert chunks_of(org_a, document["id"]) == []
    assert not folder.exists()


def test_list_is_paginated_without_text(api_a):
    first = paste(api_a, unique("listed-"), "First listed text.")
    second = paste(api_a, unique("listed-"), "Second listed text.")

    response = api_a.get(LIST_URL)
    page = api_a.get(f"{LIST_URL}?limit=1")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] >= 2
    listed_ids = [document["id"] for document in body["results"]]
    assert first["id"] in listed_ids
    assert second["id"] in listed_ids
    for document in body["results"]:
        assert "text" not in document
        assert "page_offsets" not in document
    assert page.status_code == 200
    assert len(page.json()["results"]) == 1
    assert page.json()["count"] == body["count"]
    assert page.json()["next"]


# --- Callers that must be rejected -------------------------------------------


def test_member_signed_in_by_session_can_list(org_a, document_a):
    client = session_client(org_a, org_a.owner.user)

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert document_a["id"] in [item["id"] for item in response.json()["results"]]


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_client_gets_401(org_a, untouched_document_a, route):
    response = send(ApiClient(org_a.host), route, untouched_document_a["id"])

    assert_error(response, 401, "not_authenticated")


@pytest.mark.parametrize("route", ROUTES)
def test_revoked_token_gets_401(org_a, untouched_document_a, revoked_token, route):
    client = ApiClient(org_a.host, revoked_token)

    response = send(client, route, untouched_document_a["id"])

    assert_error(response, 401, "authentication_failed")


@pytest.mark.parametrize("route", ROUTES)
def test_token_of_another_organization_gets_401(
    org_a, org_b, untouched_document_a, route
):
    client = ApiClient(org_a.host, org_b.owner.token)

    response = send(client, route, untouched_document_a["id"])

    assert_error(response, 401, "authentication_failed")


@pytest.mark.parametrize("route", ROUTES)
def test_member_of_another_organization_gets_404(
    org_a, org_b, untouched_document_a, route
):
    client = session_client(org_a, org_b.owner.user)

    response = send(client, route, untouched_document_a["id"])

    assert_error(response, 404, "not_found")
    assert untouched_document_a["title"] not in response.content.decode()


@pytest.mark.parametrize("route", DETAIL_ROUTES)
def test_id_only_in_other_organization_is_404(twin_orgs, route):
    org_a, org_b = twin_orgs
    api_a = ApiClient(org_a.host, org_a.owner.token)
    with schema_context(org_b.schema):
        title_b = Document.objects.get(pk=2).title
    assert 2 not in stored_document_ids(org_a)

    response = send(api_a, route, 2)

    assert_error(response, 404, "not_found")
    with schema_context(org_b.schema):
        assert Document.objects.get(pk=2).title == title_b


def test_each_organization_has_its_own_document_1(twin_orgs):
    org_a, org_b = twin_orgs
    api_a = ApiClient(org_a.host, org_a.owner.token)
    with schema_context(org_a.schema):
        title_a = Document.objects.get(pk=1).title
    with schema_context(org_b.schema):
        titles_b = set(Document.objects.values_list("title", flat=True))

    detail = api_a.get(detail_url(1))
    listing = api_a.get(LIST_URL)

    assert detail.status_code == 200
    assert detail.json()["title"] == title_a
    assert detail.json()["text"] == "Text of org A's first document."
    assert [item["title"] for item in listing.json()["results"]] == [title_a]
    for title_b in titles_b:
        assert title_b not in detail.content.decode()
        assert title_b not in listing.content.decode()
