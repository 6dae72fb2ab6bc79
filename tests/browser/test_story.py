"""End-to-end tests of the user story in headless Chromium.

A module fixture starts ``manage.py run`` (daphne, a Celery worker and Celery
beat) on a free port against the test database and Redis, so the browser
talks to the same processes a user would. Server output and screenshots go
to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PASSWORD, ApiClient, Org, make_org, unique

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = REPO_ROOT.parent / "shared" / "fixtures" / "documents"
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT_SECONDS = 60
EXTRACTION_TIMEOUT_MS = 60_000
ANSWER_TIMEOUT_MS = 30_000
T = TypeVar("T")
TOKENS_LINE = re.compile(r"^([\d,]+) tokens used this month$")


@dataclass
class Server:
    port: int

    def public_url(self, path: str = "/") -> str:
        return f"http://{settings.BASE_DOMAIN}:{self.port}{path}"

    def workspace_url(self, slug: str, path: str = "/") -> str:
        return f"http://{slug}.{settings.BASE_DOMAIN}:{self.port}{path}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _test_database_url() -> str:
    """Build a DATABASE_URL for the test database that django_db_setup made."""
    database = connection.settings_dict
    credentials = quote(database["USER"], safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "127.0.0.1"
    port = database["PORT"] or 5432
    return f"postgresql://{credentials}@{host}:{port}/{database['NAME']}"


def _answers_health(port: int) -> bool:
    # The public site's Host header, because a bare IP address matches no
    # organization and is not in ALLOWED_HOSTS.
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/health/",
        headers={"Host": f"{settings.BASE_DOMAIN}:{port}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(process: subprocess.Popen) -> None:
    # On SIGTERM `run` stops daphne, the worker and beat, waiting up to 15 s
    # for each, so the process group is killed only after 50 s.
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=50)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory) -> Iterator[Server]:
    """Run the product on a free port until the module's tests finish."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PORT": str(port),
        "DATA_DIR": str(tmp_path_factory.mktemp("server-data")),
        # The tests' own Celery worker consumes from the same broker and may
        # run the server's extraction tasks, so both must read one folder.
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "OFFLINE_STREAM_DELAY_MS": "20",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = ARTIFACTS / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run", "--no-migrate"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not _answers_health(port):
            if process.poll() is not None:
                pytest.fail(
                    f"manage.py run exited with status {process.returncode} "
                    f"before /health/ answered. Output:\n{log_path.read_text()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"/health/ did not answer within {STARTUP_TIMEOUT_SECONDS} s. "
                    f"Output:\n{log_path.read_text()}"
                )
            time.sleep(0.3)
        yield Server(port)
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}; run: apt-get install -y chromium"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _tokens_used(text: str) -> int:
    return int(text.strip().replace(",", ""))


# Records the length of the answer's text each time it changes while the
# bubble still has the `streaming` class, so the test can tell an answer that
# grew in place from one that appeared whole.
RECORD_STREAMING = """() => {
  window.streamedLengths = [];
  const log = document.getElementById("chat-log");
  new MutationObserver(() => {
    const body = log.querySelector("article.message-assistant .message-body.streaming");
    if (!body) return;
    const length = body.textContent.length;
    const lengths = window.streamedLengths;
    if (lengths[lengths.length - 1] !== length) lengths.push(length);
  }).observe(log, { childList: true, subtree: true, characterData: true });
}"""

FETCH_MESSAGE = """async (id) => {
  const response = await fetch(`/api/v1/messages/${id}/`, {
    credentials: "same-origin",
  });
  return { status: response.status, body: await response.json() };
}"""

# True once the first highlight lies inside the document pane's visible box.
HIGHLIGHT_IN_PANE = """() => {
  const mark = document.querySelector("#document-text mark.highlight");
  if (!mark) return false;
  const pane = document.getElementById("document-text").getBoundingClientRect();
  const box = mark.getBoundingClientRect();
  return box.height > 0 && box.top >= pane.top && box.bottom <= pane.bottom;
}"""


# Resolves once the document pane has kept its scroll position for ten
# animation frames, so a screenshot shows where the smooth scroll ended.
WAIT_FOR_SCROLL_TO_SETTLE = """() => new Promise((resolve) => {
  const pane = document.getElementById("document-text");
  let last = pane.scrollTop;
  let steady = 0;
  const check = () => {
    steady = pane.scrollTop === last ? steady + 1 : 0;
    last = pane.scrollTop;
    if (steady >= 10) resolve();
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})"""


def test_signup_upload_ask_and_cite(server: Server, page: Page):
    slug = unique("story")
    email = f"reader@{slug}.example.com"
    organization = f"Story {slug}"
    question = "What is a trace tree?"

    # Sign up on the public site and land in the new workspace.
    page.goto(server.public_url("/signup/"))
    page.fill("#id_email", email)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_organization", organization)
    page.fill("#id_subdomain", slug)
    page.click("#signup-form button[type=submit]")
    page.wait_for_url(server.workspace_url(slug, "/"))
    expect(page.locator(".topbar .who")).to_have_text(email)
    expect(page.locator(".topbar .org-name")).to_have_text(organization)

    # Upload the PDF and watch it go from processing to ready.
    page.set_input_files("#upload-file", DOCUMENTS / "tracemonkey-paper.pdf")
    page.click("#upload-form button[type=submit]")
    row = page.locator("#documents tbody tr[data-id]")
    expect(row).to_have_count(1)
    expect(row.locator(".status")).to_have_text("processing")
    expect(row.locator(".status")).to_have_text("ready", timeout=EXTRACTION_TIMEOUT_MS)
    expect(row.locator(".pages")).to_have_text("14")
    document_id = row.get_attribute("data-id")

    # Open the document, which shows every page with its marker.
    row.locator("a").click()
    page.wait_for_url(server.workspace_url(slug, f"/documents/{document_id}/"))
    markers = page.locator("#document-text .page .page-marker")
    expect(markers).to_have_count(14)
    expect(markers.first).to_have_text("Page 1")
    expect(markers.last).to_have_text("Page 14")
    expect(page.locator("#document-text")).to_contain_text("trace")

    # Ask a question. The answer streams in, then ends with citations.
    page.evaluate(RECORD_STREAMING)
    page.fill("#chat-input", question)
    page.click("#ask-button")
    expect(page.locator("#chat-log article.message-user")).to_have_text(question)
    answer = page.locator("#chat-log article.message-assistant")
    expect(answer).to_have_count(1)
    # The coverage note replaces "answering…" only once the stored answer,
    # with its verified citations, has been fetched and rendered.
    expect(answer.locator(".message-meta")).to_have_text(
        re.compile(r"^offline engine · (read all|searched) .*pages$"),
        timeout=ANSWER_TIMEOUT_MS,
    )
    expect(page.locator("#stop-button")).to_be_hidden()
    answer_body = answer.locator(".message-body")
    expect(answer_body).not_to_have_class(re.compile(r"\bstreaming\b"))
    expect(answer_body.locator("a.cite").first).to_be_visible()
    streamed = page.evaluate("window.streamedLengths")
    assert len(streamed) >= 2, f"answer did not grow while streaming: {streamed}"
    assert streamed == sorted(streamed), f"streamed text shrank: {streamed}"
    final_text = answer_body.inner_text()
    assert len(final_text) > streamed[0]

    # Follow the first citation, which highlights the quoted passage in view.
    message_id = answer.get_attribute("data-message-id")
    citation_link = answer_body.locator("a.cite").first
    number = int(citation_link.get_attribute("data-cite"))
    fetched = page.evaluate(FETCH_MESSAGE, int(message_id))
    assert fetched["status"] == 200
    citations = {c["number"]: c for c in fetched["body"]["citations"]}
    assert number in citations, f"citation [{number}] missing from {citations}"
    citation_link.click()
    highlights = page.locator("#document-text mark.highlight")
    expect(highlights.first).to_be_visible()
    page.wait_for_function(HIGHLIGHT_IN_PANE)
    expect(highlights.first).to_be_in_viewport()
    page.evaluate(WAIT_FOR_SCROLL_TO_SETTLE)
    highlighted = " ".join(highlights.all_text_contents())
    assert _normalise(highlighted) == _normalise(citations[number]["quote"])
    page.screenshot(path=ARTIFACTS / "answered-chat.png")

    # After a reload, the conversation and the usage figure come from the server.
    page.reload()
    expect(page.locator("#chat-log article.message-user")).to_have_text(question)
    reloaded_answer = page.locator("#chat-log article.message-assistant .message-body")
    expect(reloaded_answer).to_have_count(1)
    assert _normalise(reloaded_answer.inner_text()) == _normalise(final_text)
    expect(reloaded_answer.locator("a.cite").first).to_be_visible()
    tokens_line = page.locator("#tokens-line").inner_text()
    match = TOKENS_LINE.match(tokens_line.strip())
    assert match, f"unexpected tokens line: {tokens_line!r}"
    assert _tokens_used(match.group(1)) > 0

    # Back in the workspace, the usage panel counts the answer's tokens.
    page.click(".document-pane .pane-header a")
    page.wait_for_url(server.workspace_url(slug, "/"))
    expect(page.locator("#documents tbody tr[data-id] .status")).to_have_text("ready")
    assert _tokens_used(page.locator("#tokens-used").inner_text()) > 0
    expect(page.locator("#usage-chart rect.bar").first).to_be_attached()
    page.screenshot(path=ARTIFACTS / "workspace.png", full_page=True)


def _create_private_document() -> tuple[Org, Org, int]:
    """Create an organization with one document, and an unrelated organization."""
    owner_org = make_org("owner")
    outsider_org = make_org("outsider")
    created = ApiClient(owner_org.host, owner_org.owner.token).post(
        "/api/v1/documents/",
        {"title": "Quarterly plans", "content": "The launch moves to March."},
    )
    assert created.status_code == 201, created.content
    return owner_org, outsider_org, created.json()["id"]


def _run_outside_event_loop(function: Callable[[], T]) -> T:
    """Call ``function`` in a worker thread and close that thread's connection.

    Playwright's sync API keeps an asyncio loop running in the test thread,
    and Django raises SynchronousOnlyOperation for ORM calls made there.
    """

    def call_and_close() -> T:
        try:
            return function()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(call_and_close).result()


def test_document_hidden_from_visitors_and_outsiders(server: Server, page: Page):
    owner_org, outsider_org, document_id = _run_outside_event_loop(
        _create_private_document
    )
    slug = owner_org.organization.slug
    document_path = f"/documents/{document_id}/"
    document_url = server.workspace_url(slug, document_path)

    # A visitor who is not signed in is sent to the sign-in page.
    page.goto(document_url)
    page.wait_for_url(
        server.workspace_url(slug, f"/accounts/login/?next={document_path}")
    )
    expect(page.locator("input[name=login]")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Quarterly plans")

    # A member of another organization signs in there and gets a 404.
    page.fill("input[name=login]", outsider_org.owner.email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_response(lambda r: r.url == document_url) as response_info:
        page.locator("form button[type=submit]").click()
    assert response_info.value.status == 404
    expect(page.locator("body")).to_contain_text(re.compile("not found", re.IGNORECASE))
    expect(page.locator("body")).not_to_contain_text("Quarterly plans")
    expect(page.locator("body")).not_to_contain_text("launch moves")
