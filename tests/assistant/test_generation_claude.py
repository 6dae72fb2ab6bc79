"""Answers from Claude end to end: the API, the chat socket and the ledger.

The official ``anthropic`` SDK talks to ``FakeAnthropic`` on 127.0.0.1.
Only settings select it, so the code under test is the production path:
socket or API, ``services.ask``, the generation loop, the stored answer,
its citations, its usage event and the quota counter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection
from django_tenants.utils import schema_context

from assistant.models import Citation, Message
from billing.ledger.models import UsageEvent
from billing.models import QuotaCounter
from billing.services import current_period
from config.asgi import application
from organizations.models import Organization, Plan
from tests.conftest import ApiClient, Org, make_org, unique
from tests.fakes.anthropic_api import (
    Answer,
    FakeAnthropic,
    answer,
    char_citation,
    error_mid_stream,
    status_error,
    stream_events,
)

# A priced model other than the default, so the tests show that the
# configured model reaches the request, the socket and the ledger.
MODEL = "claude-haiku-4-5"
QUESTION = "How long do refunds take, and when is shipping free?"

# A text file with form feeds becomes one page per part.
POLICY_PAGES = [
    "Returns\n\nRefunds are issued within 30 days of purchase. "
    "Items must be unused and in their original packaging.",
    "Shipping\n\nOrders above 50 euros ship free. "
    "Other orders pay a flat fee of 5 euros.",
    "Warranty\n\nThe warranty covers defects for two years. "
    "Batteries are covered for one year.",
]
REFUND_SENTENCE = "Refunds are issued within 30 days of purchase."
SHIPPING_SENTENCE = "Orders above 50 euros ship free."

# Figures that the fake reports, in the API's names.
SCRIPTED_USAGE = {
    "input_tokens": 1234,
    "output_tokens": 56,
    "cache_creation_input_tokens": 789,
    "cache_read_input_tokens": 321,
}

ANSWER_TIMEOUT_SECONDS = 20.0
POLL_SECONDS = 0.05


# --- Fixtures --------------------------------------------------------------


@pytest.fixture(scope="module")
def org(django_db_setup, django_db_blocker) -> Org:
    """An organization of this module only, so other tests cannot move its quota."""
    with django_db_blocker.unblock():
        return make_org("claude")


@pytest.fixture
def api(org: Org) -> ApiClient:
    return ApiClient(org.host, org.owner.token)


@pytest.fixture(scope="module")
def policy(org: Org, celery_worker_thread, django_db_blocker) -> dict:
    """The three-page policy, uploaded as a text file and extracted by Celery."""
    api = ApiClient(org.host, org.owner.token)
    content = "\f".join(POLICY_PAGES).encode()
    with django_db_blocker.unblock():
        response = api.upload(
            "/api/v1/documents/", "policy.txt", content, title="Customer policy"
        )
        assert response.status_code == 201, response.content
        document = wait_for_document(api, response.json()["id"])
    assert document["pages"] == len(POLICY_PAGES)
    return document


@pytest.fixture
def conversation_id(api: ApiClient, policy: dict) -> int:
    return start_conversation(api, policy["id"])


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def claude(settings, fake: FakeAnthropic) -> FakeAnthropic:
    """Select the Claude engine through settings, pointed at the fake API."""
    settings.ANTHROPIC_API_KEY = "test-key"
    settings.ANTHROPIC_BASE_URL = fake.base_url
    settings.ANTHROPIC_MODEL = MODEL
    settings.ANTHROPIC_MAX_RETRIES = 2
    return fake


# --- Helpers ---------------------------------------------------------------


def wait_for_document(api: ApiClient, document_id: int) -> dict:
    """Poll the document until extraction ends, assert it is ready, return it."""
    deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
    while True:
        document = api.get(f"/api/v1/documents/{document_id}/").json()
        if document["status"] != "processing":
            break
        assert time.monotonic() < deadline, "extraction did not finish in time"
        time.sleep(POLL_SECONDS)
    assert document["status"] == "ready", document["error"]
    return document


def paste_document(api: ApiClient, text: str) -> int:
    response = api.post("/api/v1/documents/", {"title": "Pasted", "content": text})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def start_conversation(api: ApiClient, document_id: int) -> int:
    response = api.post("/api/v1/conversations/", {"document_ids": [document_id]})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def messages_url(conversation_id: int) -> str:
    return f"/api/v1/conversations/{conversation_id}/messages/"


def wait_for_answer(api: ApiClient, message_id: int) -> dict:
    """Poll the assistant message until it stops streaming and return it."""
    deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
    while True:
        message = api.get(f"/api/v1/messages/{message_id}/").json()
        if message["status"] != "streaming":
            return message
        assert time.monotonic() < deadline, f"answer {message_id} is still streaming"
        time.sleep(POLL_SECONDS)


def conversation_messages(api: ApiClient, conversation_id: int) -> list[dict]:
    return api.get(f"/api/v1/conversations/{conversation_id}/").json()["messages"]


def span_of(document: dict, sentence: str) -> tuple[int, int]:
    start = document["text"].index(sentence)
    return start, start + len(sentence)


def cite(document: dict, sentence: str) -> dict:
    """Build the API's char_location citation of a sentence of ``document``."""
    start, end = span_of(document, sentence)
    return char_citation(0, document["text"], start, end, title=document["title"])


def page_at(document: dict, offset: int) -> int:
    """Return the 1-based page whose character range contains ``offset``."""
    for number, (start, end) in enumerate(document["page_offsets"], start=1):
        if start <= offset < end:
            return number
    raise AssertionError(f"offset {offset} is on no page of {document['id']}")


def cost_micros(model: str, usage: dict) -> int:
    """Price ``usage`` with the configured table, rounded up to a micro-dollar."""
    price_in, price_out, price_write, price_read = django_settings.MODEL_PRICES[model]
    total = (
        usage["input_tokens"] * price_in
        + usage["output_tokens"] * price_out
        + usage["cache_creation_input_tokens"] * price_write
        + usage["cache_read_input_tokens"] * price_read
    )
    # Prices are per million tokens.
    return -(-total // 1_000_000)


def quota_counter(org: Org) -> tuple[int, int]:
    """Return the organization's (used, reserved) tokens of this month."""
    with schema_context("public"):
        counter = QuotaCounter.objects.filter(
            organization_id=org.organization.pk, period_start=current_period()
        ).first()
    return (counter.used, counter.reserved) if counter else (0, 0)


def stored_answer(
    org: Org, message_id: int
) -> tuple[Message, list[Citation], list[UsageEvent]]:
    with schema_context(org.schema):
        message = Message.objects.get(pk=message_id)
        citations = list(message.citations.order_by("number"))
        usage_events = list(UsageEvent.objects.filter(message_id=message_id))
    return message, citations, usage_events


def org_with_plan(monthly_tokens: int) -> Org:
    """Create an organization on a plan of its own with ``monthly_tokens``."""
    small = make_org("quota")
    plan = Plan.objects.create(
        slug=unique("quota-plan-"), name="Quota test", monthly_tokens=monthly_tokens
    )
    Organization.objects.filter(pk=small.organization.pk).update(plan=plan)
    small.organization.refresh_from_db()
    return small


def open_socket(org: Org, conversation_id: int) -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application,
        f"/ws/conversations/{conversation_id}/",
        headers=[
            (b"host", org.host.encode()),
            (b"authorization", f"Token {org.owner.token}".encode()),
        ],
    )


async def ask_over_socket(
    org: Org, conversation_id: int, content: str = QUESTION
) -> list[dict]:
    """Send a question on the chat socket and return the frames up to ``done``."""
    communicator = open_socket(org, conversation_id)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    try:
        await communicator.send_json_to(
            {"type": "ask", "content": content, "action": "ask"}
        )
        return await receive_until_done(communicator)
    finally:
        await communicator.disconnect()


async def receive_until_done(communicator: WebsocketCommunicator) -> list[dict]:
    """Collect frames until ``done``, or until an error without a message id."""
    frames: list[dict] = []
    deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no done frame in time; frames so far: {frames}"
        frames.append(await communicator.receive_json_from(timeout=remaining))
        last = frames[-1]
        if last["type"] == "done":
            return frames
        if last["type"] == "error" and "message_id" not in last:
            return frames


def frames_of(frames: list[dict], frame_type: str) -> list[dict]:
    return [frame for frame in frames if frame["type"] == frame_type]


def only_frame(frames: list[dict], frame_type: str) -> dict:
    matching = frames_of(frames, frame_type)
    assert len(matching) == 1, f"expected one {frame_type} frame in {frames}"
    return matching[0]


def sent_text(scripted: Answer, events: int) -> str:
    """Return the text of the text deltas among the first ``events`` events."""
    sent = stream_events(scripted, {"model": MODEL}, "msg_test")[:events]
    return "".join(
        data["delta"]["text"]
        for name, data in sent
        if name == "content_block_delta" and data["delta"]["type"] == "text_delta"
    )


# --- Streamed answers over the socket --------------------------------------


async def test_answer_streams_citations_and_usage(
    org: Org, policy: dict, conversation_id: int, claude: FakeAnthropic
) -> None:
    claude.enqueue(
        answer(
            [
                ("Refunds take up to 30 days", [cite(policy, REFUND_SENTENCE)]),
                (", and shipping is free above 50 euros.", []),
                (" Cheaper orders pay 5 euros.", [cite(policy, SHIPPING_SENTENCE)]),
            ],
            usage=SCRIPTED_USAGE,
        )
    )
    used_before, reserved_before = await sync_to_async(quota_counter)(org)

    frames = await ask_over_socket(org, conversation_id)

    start = frames[0]
    assert start["type"] == "start"
    assert start["engine"] == "claude"
    assert start["model"] == MODEL
    message_id = start["message_id"]
    message, citations, usage_events = await sync_to_async(stored_answer)(
        org, message_id
    )
    done = frames[-1]
    assert done["type"] == "done"
    assert done["status"] == "complete"
    assert done["stop_reason"] == "end_turn"
    assert frames_of(frames, "error") == []
    assert message.status == Message.Status.COMPLETE

    deltas = frames_of(frames, "delta")
    sequence_numbers = [frame["seq"] for frame in deltas]
    assert sequence_numbers == sorted(set(sequence_numbers))
    assert "".join(frame["text"] for frame in deltas) == message.content
    assert message.content.startswith("Refunds take up to 30 days")

    citation_frames = frames_of(frames, "citation")
    assert [frame["number"] for frame in citation_frames] == [1, 2]
    for frame in citation_frames:
        assert frame["document_id"] == policy["id"]
        assert frame["quote"] == policy["text"][frame["start"] : frame["end"]]
        assert frame["page"] == page_at(policy, frame["start"])
    assert citation_frames[0]["quote"] == REFUND_SENTENCE
    assert citation_frames[0]["page"] == 1
    assert citation_frames[1]["quote"] == SHIPPING_SENTENCE
    assert citation_frames[1]["page"] == 2
    stored_citations = [
        {
            "number": citation.number,
            "document_id": citation.document_id,
            "start": citation.start,
            "end": citation.end,
            "quote": citation.quote,
            "page": citation.page,
        }
        for citation in citations
    ]
    sent_citations = [
        {key: frame[key] for key in stored_citations[0]} for frame in citation_frames
    ]
    assert stored_citations == sent_citations

    usage = only_frame(frames, "usage")
    assert usage["input_tokens"] == SCRIPTED_USAGE["input_tokens"]
    assert usage["output_tokens"] == SCRIPTED_USAGE["output_tokens"]
    assert usage["cache_read_tokens"] == SCRIPTED_USAGE["cache_read_input_tokens"]
    assert usage["cache_write_tokens"] == SCRIPTED_USAGE["cache_creation_input_tokens"]

    assert len(usage_events) == 1
    event = usage_events[0]
    assert event.engine == "claude"
    assert event.model == MODEL
    assert event.input_tokens == SCRIPTED_USAGE["input_tokens"]
    assert event.output_tokens == SCRIPTED_USAGE["output_tokens"]
    assert event.cache_read_tokens == SCRIPTED_USAGE["cache_read_input_tokens"]
    assert event.cache_write_tokens == SCRIPTED_USAGE["cache_creation_input_tokens"]
    assert event.cost_micros == cost_micros(MODEL, SCRIPTED_USAGE)
    assert event.cost_micros > 0

    used_after, reserved_after = await sync_to_async(quota_counter)(org)
    assert used_after == used_before + sum(SCRIPTED_USAGE.values())
    assert reserved_after == reserved_before


async def test_request_sends_cached_document_before_question(
    org: Org, policy: dict, conversation_id: int, claude: FakeAnthropic
) -> None:
    frames = await ask_over_socket(org, conversation_id)

    assert frames[-1]["status"] == "complete"
    assert len(claude.message_requests) == 1
    body = claude.message_requests[0].body
    assert body["model"] == MODEL
    assert body["stream"] is True
    question_turn = body["messages"][-1]
    assert question_turn["role"] == "user"
    blocks = question_turn["content"]
    assert [block["type"] for block in blocks] == ["document", "text"]
    document = blocks[0]
    assert document["source"] == {
        "type": "text",
        "media_type": "text/plain",
        "data": policy["text"],
    }
    assert document["title"] == policy["title"]
    assert document["citations"] == {"enabled": True}
    assert document["cache_control"] == {"type": "ephemeral"}
    assert blocks[1]["text"] == QUESTION


async def test_citation_not_in_document_is_dropped(
    org: Org,
    policy: dict,
    conversation_id: int,
    claude: FakeAnthropic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    invented = {
        **cite(policy, REFUND_SENTENCE),
        "cited_text": "Refunds are issued within 90 days of purchase.",
    }
    claude.enqueue(
        answer(
            [
                ("Refunds take 90 days.", [invented]),
                (
                    " Shipping is free above 50 euros.",
                    [cite(policy, SHIPPING_SENTENCE)],
                ),
            ]
        )
    )
    caplog.set_level(logging.WARNING, logger="assistant.generation")

    frames = await ask_over_socket(org, conversation_id)

    done = frames[-1]
    assert done["type"] == "done"
    assert done["status"] == "complete"
    message, citations, _ = await sync_to_async(stored_answer)(org, done["message_id"])
    assert message.status == Message.Status.COMPLETE
    citation_frames = frames_of(frames, "citation")
    assert [frame["quote"] for frame in citation_frames] == [SHIPPING_SENTENCE]
    assert citation_frames[0]["number"] == 1
    assert [citation.quote for citation in citations] == [SHIPPING_SENTENCE]
    assert (
        message.content == "Refunds take 90 days. Shipping is free above 50 euros. [1]"
    )
    assert any(
        record.getMessage().startswith("Dropped citation not found in document")
        for record in caplog.records
    )


async def test_rate_limit_is_retried_after_delay(
    org: Org, policy: dict, conversation_id: int, claude: FakeAnthropic
) -> None:
    claude.enqueue(
        status_error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            retry_after=1,
        ),
        answer([("Refunds take up to 30 days.", [])], usage=SCRIPTED_USAGE),
    )

    frames = await ask_over_socket(org, conversation_id)

    done = frames[-1]
    assert done["type"] == "done"
    assert done["status"] == "complete"
    assert frames_of(frames, "error") == []
    message, _, usage_events = await sync_to_async(stored_answer)(
        org, done["message_id"]
    )
    assert message.content == "Refunds take up to 30 days."
    attempts = claude.message_requests
    assert [attempt.wait_for_outcome() for attempt in attempts] == [
        "status_error",
        "stream",
    ]
    assert attempts[1].received_at - attempts[0].received_at >= 0.9
    assert len(usage_events) == 1
    assert usage_events[0].input_tokens == SCRIPTED_USAGE["input_tokens"]


async def test_overloaded_mid_stream_keeps_partial_answer(
    org: Org, policy: dict, conversation_id: int, claude: FakeAnthropic
) -> None:
    scripted = answer(
        [("Refunds are issued within thirty days of purchase, if unused.", [])],
        usage=SCRIPTED_USAGE,
    )
    # message_start, content_block_start, ping and two text deltas.
    events_before_error = 5
    partial = sent_text(scripted, events_before_error)
    assert partial
    claude.enqueue(
        error_mid_stream(
            events_before_error, error_type="overloaded_error", base=scripted
        )
    )
    used_before, reserved_before = await sync_to_async(quota_counter)(org)

    frames = await ask_over_socket(org, conversation_id)

    types = [frame["type"] for frame in frames]
    deltas = frames_of(frames, "delta")
    assert "".join(frame["text"] for frame in deltas) == partial
    assert types[-2:] == ["error", "done"]
    last_delta = max(index for index, kind in enumerate(types) if kind == "delta")
    assert last_delta < types.index("error")
    error = only_frame(frames, "error")
    assert error["code"] == "model_overloaded"
    assert error["message"]
    assert frames[-1]["status"] == "failed"

    message, citations, usage_events = await sync_to_async(stored_answer)(
        org, frames[-1]["message_id"]
    )
    assert message.status == Message.Status.FAILED
    assert message.content == partial
    assert message.error_code == "model_overloaded"
    assert citations == []
    assert len(usage_events) == 1
    event = usage_events[0]
    assert event.input_tokens == SCRIPTED_USAGE["input_tokens"]
    assert event.cache_read_tokens == SCRIPTED_USAGE["cache_read_input_tokens"]
    assert event.cache_write_tokens == SCRIPTED_USAGE["cache_creation_input_tokens"]
    used_after, reserved_after = await sync_to_async(quota_counter)(org)
    assert reserved_after == reserved_before
    assert used_after == used_before + event.total_tokens


async def test_stopped_answer_records_provider_input_tokens(
    org: Org, policy: dict, conversation_id: int, claude: FakeAnthropic
) -> None:
    release = threading.Event()
    scripted = answer(
        [("Refunds are issued within thirty days of purchase, if unused.", [])],
        usage=SCRIPTED_USAGE,
        hold=release,
        hold_after_events=5,
    )
    claude.enqueue(scripted)
    communicator = open_socket(org, conversation_id)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    try:
        await communicator.send_json_to({"type": "ask", "content": QUESTION})
        frames = [await communicator.receive_json_from(timeout=10)]
        while frames[-1]["type"] != "delta":
            frames.append(await communicator.receive_json_from(timeout=10))
        message_id = frames[-1]["message_id"]
        await communicator.send_json_to({"type": "stop", "message_id": message_id})
        frames += await receive_until_done(communicator)
    finally:
        release.set()
        await communicator.disconnect()

    assert frames[-1]["status"] == "interrupted"
    message, _, usage_events = await sync_to_async(stored_answer)(org, message_id)
    assert message.status == Message.Status.INTERRUPTED
    assert message.content
    assert len(usage_events) == 1
    assert usage_events[0].input_tokens == SCRIPTED_USAGE["input_tokens"]
    assert usage_events[0].output_tokens >= 1


async def test_persistent_server_errors_fail_answer(
    org: Org, policy: dict, conversation_id: int, claude: FakeAnthropic, settings
) -> None:
    settings.ANTHROPIC_MAX_RETRIES = 1
    claude.enqueue(
        status_error(500, "api_error", "Internal server error"),
        status_error(500, "api_error", "Internal server error"),
    )
    used_before, reserved_before = await sync_to_async(quota_counter)(org)

    frames = await ask_over_socket(org, conversation_id)

    assert frames_of(frames, "delta") == []
    error = only_frame(frames, "error")
    assert error["code"] == "model_unavailable"
    assert error["message"]
    assert frames[-1]["type"] == "done"
    assert frames[-1]["status"] == "failed"
    assert len(claude.message_requests) == 2

    message, _, usage_events = await sync_to_async(stored_answer)(
        org, frames[-1]["message_id"]
    )
    assert message.status == Message.Status.FAILED
    assert message.content == ""
    assert message.error_code == "model_unavailable"
    # Both error responses reported no usage, so the quota must not grow.
    assert sum(event.total_tokens for event in usage_events) == 0
    assert await sync_to_async(quota_counter)(org) == (used_before, reserved_before)


# --- Actions that write new text -------------------------------------------


def writing_request(action: str, policy: dict) -> dict:
    if action == "rewrite":
        start, end = span_of(policy, REFUND_SENTENCE)
        selection = {"document_id": policy["id"], "start": start, "end": end}
        return {"content": "Make it formal.", "action": action, "selection": selection}
    return {"content": "A reply to a customer who asks for a refund.", "action": action}


@pytest.mark.parametrize("action", ["rewrite", "draft"])
def test_writing_action_runs_on_claude(
    api: ApiClient,
    policy: dict,
    conversation_id: int,
    claude: FakeAnthropic,
    action: str,
) -> None:
    request = writing_request(action, policy)

    response = api.post(messages_url(conversation_id), request)

    assert response.status_code == 201, response.content
    assistant_message = response.json()["assistant_message"]
    assert assistant_message["status"] == "streaming"
    message = wait_for_answer(api, assistant_message["id"])
    assert message["status"] == "complete"
    assert message["engine"] == "claude"
    assert message["action"] == action
    assert message["content"]
    instruction = claude.message_requests[0].body["messages"][-1]["content"][-1]
    assert request["content"] in instruction["text"]
    if action == "rewrite":
        assert REFUND_SENTENCE in instruction["text"]


@pytest.mark.parametrize("action", ["rewrite", "draft"])
def test_writing_action_without_claude_is_422(
    org: Org,
    api: ApiClient,
    policy: dict,
    conversation_id: int,
    settings,
    action: str,
) -> None:
    settings.ANTHROPIC_API_KEY = None
    counter_before = quota_counter(org)

    response = api.post(messages_url(conversation_id), writing_request(action, policy))

    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "claude_required"
    assert "ANTHROPIC_API_KEY" in error["message"]
    assert conversation_messages(api, conversation_id) == []
    assert quota_counter(org) == counter_before


# --- Quota -----------------------------------------------------------------


def test_question_over_quota_is_402(claude: FakeAnthropic) -> None:
    small = org_with_plan(monthly_tokens=100)
    api = ApiClient(small.host, small.owner.token)
    conversation = start_conversation(api, paste_document(api, POLICY_PAGES[0]))

    response = api.post(messages_url(conversation), {"content": QUESTION})

    assert response.status_code == 402, response.content
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert "100 tokens" in error["message"]
    assert conversation_messages(api, conversation) == []
    assert claude.message_requests == []
    assert quota_counter(small) == (0, 0)


def test_concurrent_questions_stay_within_quota(
    claude: FakeAnthropic, settings
) -> None:
    # Each question reserves its counted input plus ANSWER_MAX_TOKENS, and
    # the short document keeps the input small, so three reservations fit.
    limit = settings.ANSWER_MAX_TOKENS * 7 // 2
    askers = 8
    small = org_with_plan(monthly_tokens=limit)
    api = ApiClient(small.host, small.owner.token)
    document_id = paste_document(api, POLICY_PAGES[0])
    conversations = [start_conversation(api, document_id) for _ in range(askers)]
    # Streams wait after message_start, so accepted answers hold their
    # reservations until the checks below are done.
    release = threading.Event()
    claude.enqueue(
        *(
            answer([("Within 30 days.", [])], hold=release, hold_after_events=1)
            for _ in range(askers)
        )
    )
    barrier = threading.Barrier(askers)

    def post_question(conversation: int):
        client = ApiClient(small.host, small.owner.token)
        try:
            barrier.wait(timeout=10)
            return client.post(messages_url(conversation), {"content": QUESTION})
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=askers) as pool:
        responses = list(pool.map(post_question, conversations))

    statuses = [response.status_code for response in responses]
    assert set(statuses) == {201, 402}, statuses
    for response in responses:
        if response.status_code == 402:
            assert response.json()["error"]["code"] == "quota_exceeded"
    accepted = [
        response.json()["assistant_message"]["id"]
        for response in responses
        if response.status_code == 201
    ]
    with schema_context(small.schema):
        reservations = list(
            Message.objects.filter(pk__in=accepted).values_list(
                "reserved_tokens", flat=True
            )
        )
    worst_case = reservations[0]
    assert reservations == [worst_case] * len(accepted)
    assert len(accepted) == limit // worst_case
    used, reserved = quota_counter(small)
    assert used == 0
    assert reserved == sum(reservations)
    assert used + reserved <= limit

    release.set()
    for message_id in accepted:
        assert wait_for_answer(api, message_id)["status"] == "complete"
    used, reserved = quota_counter(small)
    assert reserved == 0
    assert 0 < used <= limit
