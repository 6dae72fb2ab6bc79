"""A local fake of the Anthropic Messages API on a real socket.

``FakeAnthropic`` serves ``POST /v1/messages`` (JSON, or server-sent events
when the body has ``"stream": true``) and ``POST /v1/messages/count_tokens``
on 127.0.0.1, so the official ``anthropic`` SDK can be pointed at it with
``base_url`` and the code under test is the production code. Tests script
what the next requests receive with ``enqueue``; the scenarios are built by
``answer``, ``status_error``, ``error_mid_stream`` and ``cut_mid_stream``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"

# An upper bound on how long a held stream waits for its release, so that a
# test that forgets to set the event fails instead of hanging the suite.
HOLD_TIMEOUT_SECONDS = 30.0

# The Messages API pairs each error type with one HTTP status.
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}

Citation = dict[str, Any]
Block = tuple[str, list[Citation]]


@dataclass
class Answer:
    """A scripted answer: text blocks with their citations, and the usage.

    ``usage`` overrides the estimated figures key by key (``input_tokens``,
    ``output_tokens``, ``cache_creation_input_tokens``,
    ``cache_read_input_tokens``). When ``hold`` is set, the stream sends
    ``hold_after_events`` events, sets ``holding`` and waits for ``hold``
    before it sends the rest.
    """

    blocks: list[Block]
    usage: dict[str, int] = field(default_factory=dict)
    stop_reason: str = "end_turn"
    delay: float = 0.0
    hold: threading.Event | None = None
    hold_after_events: int = 0
    holding: threading.Event = field(default_factory=threading.Event)


@dataclass
class StatusError:
    """An HTTP error response with the Messages API's error body."""

    status: int
    error_type: str
    message: str
    retry_after: float | None = None


@dataclass
class ErrorMidStream:
    """A stream that sends ``after_events`` events, then an ``error`` event."""

    after_events: int
    error_type: str = "overloaded_error"
    message: str = "Overloaded"
    # The answer whose first events are sent; None uses the default answer.
    base: Answer | None = None


@dataclass
class CutMidStream:
    """A stream whose connection closes after ``after_events`` events."""

    after_events: int
    base: Answer | None = None


Scenario = Answer | StatusError | ErrorMidStream | CutMidStream


def answer(
    blocks: list[Block],
    *,
    usage: dict[str, int] | None = None,
    delay: float = 0.0,
    stop_reason: str = "end_turn",
    hold: threading.Event | None = None,
    hold_after_events: int = 0,
) -> Answer:
    """Build an answer scenario; ``delay`` is in seconds, before each event."""
    return Answer(
        blocks=list(blocks),
        usage=dict(usage or {}),
        stop_reason=stop_reason,
        delay=delay,
        hold=hold,
        hold_after_events=hold_after_events,
    )


def status_error(
    status: int,
    error_type: str,
    message: str,
    *,
    retry_after: float | None = None,
) -> StatusError:
    """Build an HTTP error scenario; ``retry_after`` is in seconds."""
    return StatusError(status, error_type, message, retry_after)


def error_mid_stream(
    after_events: int,
    *,
    error_type: str = "overloaded_error",
    message: str = "Overloaded",
    base: Answer | None = None,
) -> ErrorMidStream:
    """Build a scenario whose stream fails with an ``error`` event."""
    return ErrorMidStream(after_events, error_type, message, base)


def cut_mid_stream(after_events: int, *, base: Answer | None = None) -> CutMidStream:
    """Build a scenario whose connection drops before ``message_stop``."""
    return CutMidStream(after_events, base)


def char_citation(
    document_index: int,
    text: str,
    start: int,
    end: int,
    *,
    title: str | None = None,
) -> Citation:
    """Build a ``char_location`` citation of ``text[start:end]``."""
    return {
        "type": "char_location",
        "cited_text": text[start:end],
        "document_index": document_index,
        "document_title": title,
        "start_char_index": start,
        "end_char_index": end,
    }


def block_citation(
    document_index: int,
    blocks: list[str],
    start: int,
    end: int,
    *,
    title: str | None = None,
) -> Citation:
    """Build a ``content_block_location`` citation of ``blocks[start:end]``.

    ``end`` is exclusive, as in the API.
    """
    return {
        "type": "content_block_location",
        "cited_text": "".join(blocks[start:end]),
        "document_index": document_index,
        "document_title": title,
        "start_block_index": start,
        "end_block_index": end,
    }


@dataclass
class RecordedRequest:
    """One request the fake received; ``headers`` has lower-case names."""

    path: str
    headers: dict[str, str]
    body: Any
    received_at: float  # time.monotonic() when the body was read
    # How the fake answered: "json", "stream", "status_error", "error_event",
    # "cut" or "client_disconnected".
    outcome: str = ""

    def wait_for_outcome(self, timeout: float = 5.0) -> str:
        """Return the outcome once the handler has recorded it.

        A client can read the last event before the server thread records
        how the request ended, so the outcome may lag behind the answer.
        """
        deadline = time.monotonic() + timeout
        while self.outcome == "" and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.outcome


def estimate_tokens(body: Any) -> int:
    """Return a rough token count: characters of all text and documents // 4."""
    return _count_characters(body) // 4


def _count_characters(value: Any) -> int:
    """Count the characters of the text in a request body or a part of one."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_count_characters(item) for item in value)
    if not isinstance(value, dict):
        return 0

    # Text blocks and plain-text document sources are both of type "text",
    # with the text in "text" and "data" respectively.
    for key in ("text", "data"):
        if value.get("type") == "text" and isinstance(value.get(key), str):
            return len(value[key])
    if value.get("type") == "document":
        return _count_characters(value.get("source"))
    # The request body, a message, and a "content" document source.
    return sum(
        _count_characters(value.get(key)) for key in ("system", "messages", "content")
    )


def default_answer(body: Any) -> Answer:
    """Build the answer for an unscripted request.

    It quotes and cites the first sentence of the first document, or is a
    plain sentence when the request contains no document.
    """
    document = _first_document(body)
    if document is None:
        return Answer(blocks=[("This is the fake Messages API's answer.", [])])

    title = document.get("title")
    source = document.get("source") or {}
    if source.get("type") == "content":
        contents = [
            item.get("text", "")
            for item in source.get("content") or []
            if isinstance(item, dict)
        ]
        if not contents:
            return Answer(blocks=[("The document is empty.", [])])
        cited = block_citation(0, contents, 0, 1, title=title)
        return Answer(blocks=[("The document says: ", []), (contents[0], [cited])])

    text = source.get("data") or ""
    match = re.search(r"\S[^.!?]*[.!?]?", text)
    if match is None:
        return Answer(blocks=[("The document is empty.", [])])
    cited = char_citation(0, text, match.start(), match.end(), title=title)
    return Answer(blocks=[("The document says: ", []), (match.group(), [cited])])


def _first_document(body: Any) -> dict[str, Any] | None:
    if not isinstance(body, dict):
        return None
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for block in content:
            if isinstance(block, dict) and block.get("type") == "document":
                return block
    return None


def _split_text(text: str, words_per_delta: int = 3) -> list[str]:
    """Split ``text`` into the pieces of successive ``text_delta`` events."""
    words = re.findall(r"\s*\S+\s*", text) or [text]
    return [
        "".join(words[i : i + words_per_delta])
        for i in range(0, len(words), words_per_delta)
    ]


def _answer_usage(scripted: Answer, body: Any) -> dict[str, int]:
    text = "".join(block_text for block_text, _ in scripted.blocks)
    usage = {
        "input_tokens": estimate_tokens(body),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": max(1, len(text) // 4),
    }
    usage.update(scripted.usage)
    return usage


def stream_events(
    scripted: Answer, body: Any, message_id: str
) -> list[tuple[str, dict[str, Any]]]:
    """Build the server-sent events of ``scripted``, in the API's order.

    The order is message_start, then per text block content_block_start
    (followed by one ping after the first), its text_delta and
    citations_delta events and content_block_stop, then message_delta and
    message_stop.
    """
    usage = _answer_usage(scripted, body)
    model = body.get("model", "") if isinstance(body, dict) else ""
    start_usage = {
        "input_tokens": usage["input_tokens"],
        "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
        "cache_read_input_tokens": usage["cache_read_input_tokens"],
        "output_tokens": 1,
    }
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        )
    ]

    for index, (text, citations) in enumerate(scripted.blocks):
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        if index == 0:
            events.append(("ping", {"type": "ping"}))
        for piece in _split_text(text):
            delta = {"type": "text_delta", "text": piece}
            events.append(("content_block_delta", _delta(index, delta)))
        for citation in citations:
            delta = {"type": "citations_delta", "citation": citation}
            events.append(("content_block_delta", _delta(index, delta)))
        events.append(
            ("content_block_stop", {"type": "content_block_stop", "index": index})
        )

    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": scripted.stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def message_json(scripted: Answer, body: Any, message_id: str) -> dict[str, Any]:
    """Build the non-streaming Message object of ``scripted``."""
    content = [
        {"type": "text", "text": text, "citations": citations or None}
        for text, citations in scripted.blocks
    ]
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": body.get("model", ""),
        "content": content,
        "stop_reason": scripted.stop_reason,
        "stop_sequence": None,
        "usage": _answer_usage(scripted, body),
    }


class _ClientDisconnected(Exception):
    """The client closed the connection while the fake was writing."""


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that streams use chunked encoding, as the real API does: a
    # connection closed before the last chunk is then a transport error.
    protocol_version = "HTTP/1.1"
    server_version = "FakeAnthropic/1.0"
    # Idle keep-alive connections end after this many seconds.
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("Fake Anthropic API: %s", format % args)

    def do_GET(self) -> None:
        self._send_error(404, "not_found_error", f"Not found: GET {self.path}")

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = fake._record(self.path, self.headers.items(), body)
        path = urlsplit(self.path).path

        if path not in (MESSAGES_PATH, COUNT_TOKENS_PATH):
            self._send_error(404, "not_found_error", f"Not found: POST {path}")
            record.outcome = "status_error"
            return
        rejection = self._check_request(body)
        if rejection is not None:
            self._send_error(*rejection)
            record.outcome = "status_error"
            return

        if path == COUNT_TOKENS_PATH:
            self._send_json(200, {"input_tokens": estimate_tokens(body)})
            record.outcome = "json"
            return

        scenario = fake._next_scenario()
        try:
            record.outcome = self._serve_message(scenario, body)
        except _ClientDisconnected:
            logger.debug("Fake Anthropic API: the client disconnected from %s", path)
            record.outcome = "client_disconnected"
            self.close_connection = True

    def _check_request(self, body: Any) -> tuple[int, str, str] | None:
        """Return the error response the real API gives a bad request, if any."""
        fake = self.server.fake
        api_key = self.headers.get("x-api-key")
        authorization = self.headers.get("authorization", "")
        if api_key is None and authorization.startswith("Bearer "):
            api_key = authorization.removeprefix("Bearer ")
        if not api_key:
            return 401, "authentication_error", "x-api-key header is required"
        if fake.api_key is not None and api_key != fake.api_key:
            return 401, "authentication_error", "invalid x-api-key"
        if not self.headers.get("anthropic-version"):
            return (
                400,
                "invalid_request_error",
                "anthropic-version: header is required",
            )
        if not isinstance(body, dict):
            return 400, "invalid_request_error", "The request body is not valid JSON"

        required = ["model", "messages"]
        if urlsplit(self.path).path == MESSAGES_PATH:
            required.append("max_tokens")
        for name in required:
            if name not in body:
                return 400, "invalid_request_error", f"{name}: Field required"
        return None

    def _serve_message(self, scenario: Scenario | None, body: dict[str, Any]) -> str:
        """Answer one /v1/messages request and return the outcome."""
        streaming = bool(body.get("stream"))
        if isinstance(scenario, StatusError):
            self._send_error(
                scenario.status,
                scenario.error_type,
                scenario.message,
                scenario.retry_after,
            )
            return "status_error"

        if isinstance(scenario, ErrorMidStream | CutMidStream) and not streaming:
            # Without a stream the failure can only be a whole response.
            if isinstance(scenario, CutMidStream):
                self.close_connection = True
                return "cut"
            status = ERROR_STATUS.get(scenario.error_type, 500)
            self._send_error(status, scenario.error_type, scenario.message)
            return "status_error"

        base = scenario if isinstance(scenario, Answer) else None
        if isinstance(scenario, ErrorMidStream | CutMidStream):
            base = scenario.base
        scripted = base or default_answer(body)
        message_id = f"msg_fake_{uuid.uuid4().hex[:24]}"

        if not streaming:
            self._send_json(200, message_json(scripted, body, message_id))
            return "json"

        events = stream_events(scripted, body, message_id)
        if isinstance(scenario, ErrorMidStream | CutMidStream):
            events = events[: scenario.after_events]
        self._start_stream()
        self._write_events(scripted, events)

        if isinstance(scenario, CutMidStream):
            # No terminating chunk, so the client sees an incomplete body.
            self.close_connection = True
            return "cut"
        if isinstance(scenario, ErrorMidStream):
            error = {
                "type": "error",
                "error": {"type": scenario.error_type, "message": scenario.message},
            }
            self._write_chunk(_sse("error", error))
            self._end_stream()
            self.close_connection = True
            return "error_event"
        self._end_stream()
        return "stream"

    def _write_events(
        self, scripted: Answer, events: list[tuple[str, dict[str, Any]]]
    ) -> None:
        for number, (name, data) in enumerate(events):
            if scripted.hold is not None and number == scripted.hold_after_events:
                scripted.holding.set()
                self.server.fake._wait_for_release(scripted.hold)
            if scripted.delay:
                time.sleep(scripted.delay)
            self._write_chunk(_sse(name, data))

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("request-id", _request_id())
        self.end_headers()
        self._flush()

    def _write_chunk(self, data: bytes) -> None:
        self._write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_stream(self) -> None:
        self._write(b"0\r\n\r\n")

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError) as error:
            raise _ClientDisconnected from error

    def _flush(self) -> None:
        try:
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError) as error:
            raise _ClientDisconnected from error

    def _send_json(
        self,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self._write(data)

    def _send_error(
        self,
        status: int,
        error_type: str,
        message: str,
        retry_after: float | None = None,
    ) -> None:
        request_id = _request_id()
        headers = {"request-id": request_id}
        if retry_after is not None:
            headers["retry-after"] = f"{retry_after:g}"
        payload = {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": request_id,
        }
        self._send_json(status, payload, headers)


def _sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _request_id() -> str:
    return f"req_fake_{uuid.uuid4().hex[:24]}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeAnthropic) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        # Clients reset idle keep-alive connections, which is no failure.
        if isinstance(error, ConnectionError):
            logger.debug("Fake Anthropic API: %s reset the connection", client_address)
            return
        logger.exception("Fake Anthropic API: a request from %s failed", client_address)


class FakeAnthropic:
    """The fake Messages API server, on a free port of 127.0.0.1.

    With ``api_key`` set, requests with another key get a 401; otherwise any
    key is accepted, and only a missing key is rejected. The SDK sends the
    key as ``x-api-key`` or as ``Authorization: Bearer``, depending on its
    version, and the fake accepts both.
    """

    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        self._lock = threading.Lock()
        self._scenarios: deque[Scenario] = deque()
        self._requests: list[RecordedRequest] = []
        self._pending_holds: set[threading.Event] = set()
        self._stopping = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def message_requests(self) -> list[RecordedRequest]:
        """The requests to ``POST /v1/messages``, oldest first."""
        return [
            record
            for record in self.requests
            if urlsplit(record.path).path == MESSAGES_PATH
        ]

    def enqueue(self, *scenarios: Scenario) -> None:
        """Queue scenarios; each /v1/messages request consumes the oldest one."""
        with self._lock:
            self._scenarios.extend(scenarios)

    def start(self) -> FakeAnthropic:
        if self._server is not None:
            return self
        self._stopping = False
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # stop() waits up to one poll interval, in seconds.
            kwargs={"poll_interval": 0.02},
            name="fake-anthropic-api",
            daemon=True,
        )
        self._thread.start()
        logger.debug("Fake Anthropic API started at %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        with self._lock:
            self._stopping = True
            holds = list(self._pending_holds)
        # Held streams would otherwise keep their threads for
        # HOLD_TIMEOUT_SECONDS.
        for hold in holds:
            hold.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, path: str, headers: Any, body: Any) -> RecordedRequest:
        record = RecordedRequest(
            path=path,
            headers={name.lower(): value for name, value in headers},
            body=body,
            received_at=time.monotonic(),
        )
        with self._lock:
            self._requests.append(record)
        return record

    def _next_scenario(self) -> Scenario | None:
        with self._lock:
            return self._scenarios.popleft() if self._scenarios else None

    def _wait_for_release(self, hold: threading.Event) -> None:
        with self._lock:
            if self._stopping:
                return
            self._pending_holds.add(hold)
        try:
            if not hold.wait(HOLD_TIMEOUT_SECONDS):
                logger.warning(
                    "Fake Anthropic API: a held stream was not released within "
                    "%s s; sending the rest of the answer",
                    HOLD_TIMEOUT_SECONDS,
                )
        finally:
            with self._lock:
                self._pending_holds.discard(hold)
