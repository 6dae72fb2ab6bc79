"""ClaudeEngine driving the real anthropic SDK against the local fake API."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from assistant.engines.base import (
    BlockEnd,
    CitationFound,
    EngineError,
    Event,
    Finished,
    GenerationRequest,
    SourceDocument,
    TextDelta,
    Turn,
    Usage,
    UsageReport,
)
from assistant.engines.claude import ClaudeEngine
from tests.fakes.anthropic_api import (
    FakeAnthropic,
    answer,
    block_citation,
    char_citation,
    cut_mid_stream,
    error_mid_stream,
    estimate_tokens,
    status_error,
    stream_events,
)

API_KEY = "sk-ant-test-key-0123456789"
MODEL = "claude-test-model"

HANDBOOK = SourceDocument(
    document_id=12,
    title="Staff handbook",
    text="Staff work remotely on Fridays. Offices close at six.",
)
POLICY_TEXT = "Refunds are issued within 30 days. Shipping is free above 50 euros."
# Part of a longer stored document, starting at character 200.
POLICY = SourceDocument(
    document_id=11, title="Refund policy", text=POLICY_TEXT, offset=200
)


def passages_at(*pieces: tuple[int, str]) -> tuple[tuple[int, int, str], ...]:
    """Build (start, end, text) passages from (start, text) pairs."""
    return tuple((start, start + len(text), text) for start, text in pieces)


MANUAL_PASSAGES = passages_at(
    (1000, "The warranty covers defects in materials. "),
    (2500, "It lasts two years from the date of purchase. "),
    (2546, "Batteries are covered for one year."),
)
MANUAL = SourceDocument(document_id=21, title="Manual", passages=MANUAL_PASSAGES)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
async def engine(fake: FakeAnthropic) -> AsyncIterator[ClaudeEngine]:
    claude = ClaudeEngine(
        API_KEY, model=MODEL, base_url=fake.base_url, max_retries=2, timeout=10
    )
    yield claude
    await claude.aclose()


def ask(*documents: SourceDocument, **fields: object) -> GenerationRequest:
    return GenerationRequest(
        action="ask",
        question="How long do refunds take?",
        documents=documents,
        **fields,  # type: ignore[arg-type]
    )


async def collect(engine: ClaudeEngine, request: GenerationRequest) -> list[Event]:
    return [event async for event in engine.stream(request)]


async def collect_until_error(
    engine: ClaudeEngine, request: GenerationRequest
) -> tuple[list[Event], EngineError]:
    events: list[Event] = []
    with pytest.raises(EngineError) as raised:
        async for event in engine.stream(request):
            events.append(event)
    return events, raised.value


def joined_text(events: list[Event]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


def citations(events: list[Event]) -> list[CitationFound]:
    return [event for event in events if isinstance(event, CitationFound)]


def event_outline(events: list[Event]) -> list[str]:
    """Return the event class names, with runs of TextDelta merged into one."""
    outline: list[str] = []
    for event in events:
        name = type(event).__name__
        if not (name == "TextDelta" and outline and outline[-1] == name):
            outline.append(name)
    return outline


async def test_stream_yields_text_citations_and_usage(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    cited = char_citation(1, POLICY_TEXT, 0, 34, title="Refund policy")
    fake.enqueue(
        answer(
            [
                ("Refunds take at most a month. ", []),
                ("They are issued within 30 days.", [cited]),
            ],
            usage={
                "input_tokens": 1200,
                "output_tokens": 42,
                "cache_creation_input_tokens": 1000,
                "cache_read_input_tokens": 0,
            },
        )
    )

    events = await collect(engine, ask(HANDBOOK, POLICY))

    assert event_outline(events) == [
        "UsageReport",
        "TextDelta",
        "BlockEnd",
        "TextDelta",
        "CitationFound",
        "BlockEnd",
        "UsageReport",
        "Finished",
    ]
    reports = [event.usage for event in events if isinstance(event, UsageReport)]
    assert reports[0].input_tokens == 1200
    assert reports[-1].output_tokens == 42
    deltas = [event for event in events if isinstance(event, TextDelta)]
    assert len(deltas) > 2
    assert joined_text(events) == (
        "Refunds take at most a month. They are issued within 30 days."
    )
    assert citations(events) == [
        CitationFound(
            document_id=11,
            start=200,
            end=234,
            quote="Refunds are issued within 30 days.",
        )
    ]
    assert events[-1] == Finished(
        stop_reason="end_turn",
        usage=Usage(
            input_tokens=1200,
            output_tokens=42,
            cache_read_tokens=0,
            cache_write_tokens=1000,
        ),
    )


async def test_request_opens_with_cached_documents(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    history = (
        Turn(role="user", content="Hello"),
        Turn(role="assistant", content="Hello, what do you need?"),
    )

    await collect(engine, ask(HANDBOOK, POLICY, history=history, max_tokens=300))

    [received] = fake.message_requests
    body = received.body
    assert body["model"] == MODEL
    assert body["max_tokens"] == 300
    assert body["stream"] is True
    assert "cite" in body["system"]
    first, reply, last = body["messages"]
    # The documents open the conversation, so every later turn reuses the
    # same cached prefix.
    assert first["role"] == "user"
    content = first["content"]
    assert [block["type"] for block in content] == ["document", "document", "text"]
    assert content[0]["source"] == {
        "type": "text",
        "media_type": "text/plain",
        "data": HANDBOOK.text,
    }
    assert content[0]["title"] == "Staff handbook"
    assert content[1]["title"] == "Refund policy"
    assert content[0]["citations"] == {"enabled": True}
    assert content[1]["citations"] == {"enabled": True}
    assert "cache_control" not in content[0]
    assert content[1]["cache_control"] == {"type": "ephemeral"}
    assert content[2] == {"type": "text", "text": "Hello"}
    assert reply == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Hello, what do you need?"}],
    }
    assert last == {
        "role": "user",
        "content": [{"type": "text", "text": "How long do refunds take?"}],
    }


async def test_request_without_history_puts_documents_before_question(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    await collect(engine, ask(HANDBOOK, POLICY))

    [received] = fake.message_requests
    [only] = received.body["messages"]
    assert only["role"] == "user"
    kinds = [block["type"] for block in only["content"]]
    assert kinds == ["document", "document", "text"]
    assert only["content"][1]["cache_control"] == {"type": "ephemeral"}
    assert only["content"][2] == {"type": "text", "text": "How long do refunds take?"}


async def test_request_sends_api_key_and_version(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    await collect(engine, ask(POLICY))

    [received] = fake.message_requests
    # SDK 2.x sends the key as a bearer token, earlier versions as x-api-key.
    bearer = received.headers.get("authorization", "").removeprefix("Bearer ")
    assert received.headers.get("x-api-key", bearer) == API_KEY
    assert received.headers.get("anthropic-version")


async def test_passage_citations_map_to_passage_ranges(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    blocks = [text for _, _, text in MANUAL_PASSAGES]
    fake.enqueue(answer([("Two years.", [block_citation(0, blocks, 1, 3)])]))

    events = await collect(engine, ask(MANUAL))

    assert citations(events) == [
        CitationFound(
            document_id=21,
            start=2500,
            end=2581,
            quote=blocks[1] + blocks[2],
        )
    ]
    [received] = fake.message_requests
    document = received.body["messages"][-1]["content"][0]
    assert document["source"] == {
        "type": "content",
        "content": [{"type": "text", "text": text} for text in blocks],
    }
    assert document["citations"] == {"enabled": True}
    assert document["cache_control"] == {"type": "ephemeral"}


async def test_default_answer_cites_first_sentence(engine: ClaudeEngine) -> None:
    events = await collect(engine, ask(POLICY))

    assert citations(events) == [
        CitationFound(
            document_id=11,
            start=200,
            end=234,
            quote="Refunds are issued within 30 days.",
        )
    ]
    assert isinstance(events[-1], Finished)


async def test_rate_limit_retried_after_retry_after(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    fake.enqueue(
        status_error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            retry_after=1,
        ),
        answer([("Within 30 days.", [])]),
    )

    events = await collect(engine, ask(POLICY))

    assert joined_text(events) == "Within 30 days."
    first, second = fake.message_requests
    assert first.wait_for_outcome() == "status_error"
    assert second.wait_for_outcome() == "stream"
    assert second.received_at - first.received_at >= 0.95
    assert second.headers["x-stainless-retry-count"] == "1"


async def test_overloaded_before_stream_retried(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    fake.enqueue(
        status_error(529, "overloaded_error", "Overloaded"),
        answer([("Within 30 days.", [])]),
    )

    events = await collect(engine, ask(POLICY))

    assert joined_text(events) == "Within 30 days."
    assert isinstance(events[-1], Finished)
    assert [record.wait_for_outcome() for record in fake.message_requests] == [
        "status_error",
        "stream",
    ]


async def test_overloaded_event_mid_stream_keeps_partial_text(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    base = answer(
        [("Refunds are issued within thirty days of the request.", [])],
        usage={"input_tokens": 900, "cache_read_input_tokens": 700},
    )
    # message_start, content_block_start, ping and two text deltas.
    after_events = 5
    fake.enqueue(error_mid_stream(after_events, base=base))

    events, error = await collect_until_error(engine, ask(POLICY))

    sent = stream_events(base, {}, "msg_expected")[:after_events]
    expected_text = "".join(
        data["delta"]["text"] for name, data in sent if name == "content_block_delta"
    )
    assert expected_text
    assert joined_text(events) == expected_text
    assert not any(isinstance(event, Finished | BlockEnd) for event in events)
    assert error.code == "model_overloaded"
    assert error.usage.input_tokens == 900
    assert error.usage.cache_read_tokens == 700
    # The SDK does not retry an error event.
    assert len(fake.message_requests) == 1
    assert fake.message_requests[0].wait_for_outcome() == "error_event"


async def test_connection_cut_mid_stream_is_unavailable(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    base = answer([("Refunds are issued within thirty days of the request.", [])])
    fake.enqueue(cut_mid_stream(4, base=base))

    events, error = await collect_until_error(engine, ask(POLICY))

    assert joined_text(events) == "Refunds are issued "
    assert error.code == "model_unavailable"
    assert len(fake.message_requests) == 1


async def test_persistent_server_error_is_unavailable(fake: FakeAnthropic) -> None:
    engine = ClaudeEngine(API_KEY, model=MODEL, base_url=fake.base_url, max_retries=1)
    fake.enqueue(
        status_error(500, "api_error", "Internal server error"),
        status_error(500, "api_error", "Internal server error"),
    )

    try:
        events, error = await collect_until_error(engine, ask(POLICY))
    finally:
        await engine.aclose()

    assert events == []
    assert error.code == "model_unavailable"
    assert "500" in error.message
    assert len(fake.message_requests) == 2


async def test_rejected_key_is_auth_failure(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    fake.api_key = "sk-ant-another-key"

    events, error = await collect_until_error(engine, ask(POLICY))

    assert events == []
    assert error.code == "model_auth_failed"
    assert "ANTHROPIC_API_KEY" in error.message
    assert API_KEY not in error.message
    assert API_KEY not in str(error)
    # The SDK does not retry a 401.
    assert len(fake.message_requests) == 1


async def test_bad_request_message_names_api_error(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    fake.enqueue(
        status_error(400, "invalid_request_error", "prompt is too long: 205351 tokens")
    )

    _, error = await collect_until_error(engine, ask(POLICY))

    assert error.code == "model_bad_request"
    assert "prompt is too long" in error.message


async def test_count_tokens_returns_api_figure(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    count = await engine.count_tokens(ask(HANDBOOK, POLICY))

    [received] = fake.requests
    assert received.path == "/v1/messages/count_tokens"
    assert count == estimate_tokens(received.body)
    # Both documents and the question are counted, at about 4 characters each.
    assert count >= (len(HANDBOOK.text) + len(POLICY_TEXT)) // 4
    assert received.body["model"] == MODEL
    assert received.body["messages"][-1]["content"][1]["cache_control"] == {
        "type": "ephemeral"
    }
    assert fake.message_requests == []


async def test_rewrite_instruction_contains_selection(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    request = GenerationRequest(
        action="rewrite",
        question="Make it friendlier.",
        documents=(POLICY,),
        selection=(11, 235, 267),
    )

    await collect(engine, request)

    [received] = fake.message_requests
    instruction = received.body["messages"][-1]["content"][-1]["text"]
    assert "Shipping is free above 50 euros." in instruction
    assert "Make it friendlier." in instruction
    assert "Refund policy" in instruction


async def test_rewrite_outside_sent_text_is_rejected(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    request = GenerationRequest(
        action="rewrite",
        question="Shorter.",
        documents=(MANUAL,),
        selection=(21, 1500, 1600),
    )

    _, error = await collect_until_error(engine, request)

    assert error.code == "invalid_selection"
    assert fake.requests == []


async def test_closing_stream_drops_upstream_connection(
    fake: FakeAnthropic, engine: ClaudeEngine
) -> None:
    release = threading.Event()
    long_text = "Refunds are issued within thirty days. " * 40
    # message_start, content_block_start, ping and one text delta.
    fake.enqueue(answer([(long_text, [])], hold=release, hold_after_events=4))
    stream = engine.stream(ask(POLICY))

    report = await anext(stream)
    first = await anext(stream)
    await stream.aclose()
    release.set()

    assert isinstance(report, UsageReport)
    assert first == TextDelta("Refunds are issued ")
    deadline = time.monotonic() + 5
    while fake.message_requests[0].outcome == "" and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert fake.message_requests[0].outcome == "client_disconnected"
