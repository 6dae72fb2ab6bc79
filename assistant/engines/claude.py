"""The Claude engine: the Messages API through the official ``anthropic`` SDK.

Documents go as ``document`` content blocks with citations enabled, and the
citations that come back are mapped to character offsets into the stored
document text. The SDK retries 408, 409, 429 and 5xx responses (honouring
``retry-after``) and connection failures before a stream starts; an
``error`` event after the stream started is not retried and ends the answer
with an ``EngineError`` that carries the usage consumed so far.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anthropic

from assistant.engines.base import (
    BlockEnd,
    CitationFound,
    EngineError,
    Event,
    Finished,
    GenerationRequest,
    SourceDocument,
    TextDelta,
    Usage,
    UsageReport,
)

logger = logging.getLogger(__name__)

SYSTEM_PROMPTS: dict[str, str] = {
    "ask": (
        "You answer questions about the documents the user provides. Base every "
        "statement on the documents and cite the passages that support it. If "
        "the documents do not contain the answer, say so instead of guessing."
    ),
    "summarize": (
        "You summarize the documents the user provides. Cover their main points "
        "in the order the documents present them and cite the passages you draw "
        "on. Do not add facts that the documents do not contain."
    ),
    "rewrite": (
        "You rewrite a passage selected from one of the documents the user "
        "provides. Follow the user's instructions, keep the facts of the "
        "passage, and use the rest of the documents only as context. Reply with "
        "the rewritten passage only."
    ),
    "draft": (
        "You write new text that the user requests, using the documents the "
        "user provides as reference. Cite the passages you take facts from, and "
        "do not state facts that the documents do not support."
    ),
}


@dataclass(frozen=True)
class _SentDocument:
    """A document block as sent, for mapping its citations back."""

    source: SourceDocument
    # Stored-text (start, end) of each content block of a "content" source.
    block_ranges: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class _Prompt:
    system: str
    messages: list[dict[str, Any]]
    documents: tuple[_SentDocument, ...]


class ClaudeEngine:
    """An engine that streams answers from Claude with document citations."""

    name = "claude"

    def __init__(
        self,
        api_key: str,
        *,
        model: str,
        base_url: str | None = None,
        max_retries: int = 3,
        timeout: float = 600,
    ) -> None:
        self.model = model
        self.max_retries = max_retries
        self.timeout = timeout
        self._api_key = api_key
        http_client = anthropic.DefaultAsyncHttpxClient(
            event_hooks={"response": [_log_failed_attempt]}
        )
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=max_retries,
            timeout=timeout,
            http_client=http_client,
        )

    def model_for(self, request: GenerationRequest) -> str:
        return request.model or self.model

    async def aclose(self) -> None:
        """Close the HTTP connections of the SDK client."""
        await self._client.close()

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Event]:
        """Stream the answer to ``request`` as engine events.

        Raises ``EngineError`` when the call fails. Events already yielded
        stay valid, so the caller can keep the partial text.
        """
        prompt = build_prompt(request)
        model = self.model_for(request)
        state = _StreamState(prompt.documents)

        try:
            response_stream = await self._client.messages.create(
                model=model,
                max_tokens=request.max_tokens,
                system=prompt.system,
                messages=prompt.messages,
                stream=True,
            )
        except anthropic.APIError as error:
            raise self._engine_error(error, model, state.usage()) from error

        request_id = response_stream.response.headers.get("request-id")
        logger.debug(
            "Claude stream started: model %s, request id %s", model, request_id
        )
        async with response_stream:
            try:
                async for raw_event in response_stream:
                    for event in state.handle(raw_event):
                        yield event
            except anthropic.APIError as error:
                raise self._engine_error(
                    error, model, state.usage(), stream_started=True
                ) from error

        if not state.stopped:
            logger.warning(
                "Claude stream ended without message_stop: model %s, request id %s, "
                "output tokens so far %d",
                model,
                request_id,
                state.output_tokens,
            )
            raise EngineError(
                "model_unavailable",
                "The Claude answer stream ended before the answer was complete. "
                "The partial answer was kept; send the message again to retry.",
                usage=state.usage(),
            )
        yield Finished(stop_reason=state.stop_reason, usage=state.usage())

    async def count_tokens(self, request: GenerationRequest) -> int:
        """Return the input tokens of ``request`` from the count_tokens endpoint."""
        prompt = build_prompt(request)
        model = self.model_for(request)
        try:
            result = await self._client.messages.count_tokens(
                model=model,
                system=prompt.system,
                messages=prompt.messages,
            )
        except anthropic.APIError as error:
            raise self._engine_error(error, model, Usage()) from error
        return result.input_tokens

    def _engine_error(
        self,
        error: anthropic.APIError,
        model: str,
        usage: Usage,
        *,
        stream_started: bool = False,
    ) -> EngineError:
        """Map an SDK error to an ``EngineError`` and log it."""
        status = getattr(error, "status_code", None)
        error_type = _api_error_type(error)
        code = _error_code(error, status, error_type)
        logger.warning(
            "Claude call failed: code %s, HTTP status %s, error type %s, request id "
            "%s, model %s, stream started %s, SDK error %s",
            code,
            status,
            error_type,
            getattr(error, "request_id", None),
            model,
            stream_started,
            type(error).__name__,
        )
        message = self._error_message(error, code, status, error_type, model)
        if stream_started:
            message = (
                "Claude stopped in the middle of the answer, and the partial "
                f"answer was kept. {message}"
            )
        elif code in ("rate_limited", "model_overloaded", "model_unavailable"):
            message = (
                f"{message} (The request was retried up to {self.max_retries} times.)"
            )
        return EngineError(code, message, usage=usage)

    def _error_message(
        self,
        error: anthropic.APIError,
        code: str,
        status: int | None,
        error_type: str | None,
        model: str,
    ) -> str:
        """Say what failed and what to do, without the API key."""
        if isinstance(error, anthropic.APITimeoutError):
            return (
                f"The Claude API did not respond within {self.timeout:g} seconds. "
                "Try again later, or ask for a shorter answer."
            )
        if isinstance(error, anthropic.APIConnectionError):
            return (
                f"The connection to the Claude API at {self._client.base_url} "
                "failed. Check that the server can reach it and try again."
            )

        # An error event inside a stream has no status of its own.
        failure = error_type or "unknown error"
        if status is not None and status >= 400:
            failure = f"HTTP {status} {failure}"
        if code == "rate_limited":
            return (
                f"The Claude API rate limit was exceeded ({failure}). Wait a "
                "minute and send the message again."
            )
        if code == "model_overloaded":
            return f"Claude is overloaded ({failure}). Try again in a few minutes."
        if code == "model_unavailable":
            return (
                f"The Claude API returned a server error ({failure}). Try again "
                "in a few minutes."
            )
        if code == "model_auth_failed":
            return (
                f"The Claude API rejected the API key ({failure}). Check that "
                "ANTHROPIC_API_KEY is a valid key that may use the model "
                f"{model}."
            )
        detail = self._redact(_api_error_message(error) or "no details")
        return (
            f"The Claude API rejected the request as invalid ({failure}: "
            f"{detail}). Check the model id {model} and shorten the documents "
            "or the question."
        )

    def _redact(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, "[API key]")
        return text


def build_prompt(request: GenerationRequest) -> _Prompt:
    """Build the system prompt and messages of ``request``.

    The document blocks open the conversation, in the first user turn, so
    that they form the same cached prefix for every later turn. The history
    follows, and the last user message carries the instruction.
    """
    if request.action not in SYSTEM_PROMPTS:
        raise ValueError(f"Unknown action {request.action!r}")

    blocks, documents = _document_blocks(request.documents)
    if blocks:
        blocks[-1]["cache_control"] = {"type": "ephemeral"}
    instruction = {"type": "text", "text": _instruction(request)}

    turns = [
        {"role": turn.role, "content": [{"type": "text", "text": turn.content}]}
        for turn in request.history
        # The Messages API rejects empty text content.
        if turn.content.strip()
    ]
    if turns and turns[0]["role"] == "user":
        turns[0]["content"] = blocks + turns[0]["content"]
        messages = [*turns, {"role": "user", "content": [instruction]}]
    else:
        messages = [*turns, {"role": "user", "content": [*blocks, instruction]}]
    return _Prompt(SYSTEM_PROMPTS[request.action], messages, documents)


def _document_blocks(
    sources: tuple[SourceDocument, ...],
) -> tuple[list[dict[str, Any]], tuple[_SentDocument, ...]]:
    """Build one document block per source that has text.

    Citations index the documents in the order of these blocks, so sources
    without any text are skipped here and in the returned list alike.
    """
    blocks: list[dict[str, Any]] = []
    sent: list[_SentDocument] = []
    for source in sources:
        if source.passages:
            passages = [p for p in source.passages if p[2]]
            if not passages:
                continue
            content = [{"type": "text", "text": text} for _, _, text in passages]
            block_source: dict[str, Any] = {"type": "content", "content": content}
            ranges = tuple((start, end) for start, end, _ in passages)
            sent.append(_SentDocument(source, ranges))
        elif source.text:
            block_source = {
                "type": "text",
                "media_type": "text/plain",
                "data": source.text,
            }
            sent.append(_SentDocument(source))
        else:
            continue
        blocks.append(
            {
                "type": "document",
                "source": block_source,
                "title": source.title,
                "citations": {"enabled": True},
            }
        )
    return blocks, tuple(sent)


def _instruction(request: GenerationRequest) -> str:
    question = request.question.strip()
    if request.action == "ask":
        return question
    if request.action == "summarize":
        if question:
            return f"Summarize the documents. {question}"
        return "Summarize the documents."
    if request.action == "rewrite":
        title, selected = _selected_text(request)
        instructions = question or "Make it clearer and more concise."
        return (
            f"Rewrite this passage from the document “{title}”:\n\n"
            f"<passage>\n{selected}\n</passage>\n\n{instructions}"
        )
    return f"Write the following, using the documents as reference:\n\n{question}"


def _selected_text(request: GenerationRequest) -> tuple[str, str]:
    """Return the title and the text of the selection to rewrite."""
    if request.selection is None:
        raise EngineError(
            "invalid_selection",
            "A rewrite needs a selected passage. Select the text to rewrite and "
            "try again.",
        )
    document_id, start, end = request.selection
    for source in request.documents:
        if source.document_id != document_id:
            continue
        selected = _text_between(source, start, end)
        if selected:
            return source.title, selected
    raise EngineError(
        "invalid_selection",
        f"The selected passage (document {document_id}, characters {start} to "
        f"{end}) is not in the text sent to the model. Select the text again and "
        "retry.",
    )


def _text_between(source: SourceDocument, start: int, end: int) -> str:
    """Return the stored text between ``start`` and ``end``, or "" if not sent."""
    if start >= end:
        return ""
    if source.text:
        text_end = source.offset + len(source.text)
        if start < source.offset or end > text_end:
            return ""
        return source.text[start - source.offset : end - source.offset]

    pieces: list[str] = []
    covered = 0
    for passage_start, passage_end, passage_text in source.passages:
        low, high = max(start, passage_start), min(end, passage_end)
        if low < high:
            pieces.append(passage_text[low - passage_start : high - passage_start])
            covered += high - low
    # A selection that reaches outside the chosen passages cannot be quoted.
    if covered != end - start:
        return ""
    return "".join(pieces)


@dataclass
class _StreamState:
    """The state of one answer stream: open blocks, usage and stop reason."""

    documents: tuple[_SentDocument, ...]
    block_types: dict[int, str] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    stop_reason: str = ""
    stopped: bool = False

    def usage(self) -> Usage:
        return Usage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
        )

    def handle(self, event: Any) -> list[Event]:
        """Update the state from one SDK stream event; return engine events."""
        if event.type == "message_start":
            self._update_usage(event.message.usage)
            return [UsageReport(self.usage())]
        elif event.type == "content_block_start":
            self.block_types[event.index] = event.content_block.type
        elif event.type == "content_block_delta":
            return self._delta_events(event.delta)
        elif event.type == "content_block_stop":
            if self.block_types.get(event.index) == "text":
                return [BlockEnd()]
        elif event.type == "message_delta":
            self._update_usage(event.usage)
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            return [UsageReport(self.usage())]
        elif event.type == "message_stop":
            self.stopped = True
        return []

    def _update_usage(self, usage: Any) -> None:
        # message_delta reports cumulative figures, and older SDK versions have
        # no input or cache fields on it, so only figures present replace
        # earlier ones.
        if getattr(usage, "input_tokens", None) is not None:
            self.input_tokens = usage.input_tokens
        if getattr(usage, "output_tokens", None) is not None:
            self.output_tokens = usage.output_tokens
        if getattr(usage, "cache_read_input_tokens", None) is not None:
            self.cache_read_tokens = usage.cache_read_input_tokens
        if getattr(usage, "cache_creation_input_tokens", None) is not None:
            self.cache_write_tokens = usage.cache_creation_input_tokens

    def _delta_events(self, delta: Any) -> list[Event]:
        if delta.type == "text_delta":
            return [TextDelta(delta.text)]
        if delta.type == "citations_delta":
            citation = self._citation(delta.citation)
            return [citation] if citation is not None else []
        return []

    def _citation(self, citation: Any) -> CitationFound | None:
        """Map an API citation to offsets into the stored document text."""
        index = citation.document_index
        if not 0 <= index < len(self.documents):
            logger.warning(
                "Claude cited document index %s, but %d documents were sent; "
                "citation dropped",
                index,
                len(self.documents),
            )
            return None
        document = self.documents[index]

        if citation.type == "char_location":
            start = document.source.offset + citation.start_char_index
            end = document.source.offset + citation.end_char_index
        elif citation.type == "content_block_location":
            first = citation.start_block_index
            last = citation.end_block_index - 1
            if not 0 <= first <= last < len(document.block_ranges):
                logger.warning(
                    "Claude cited blocks %s to %s of document %s, which has %d "
                    "blocks; citation dropped",
                    first,
                    last,
                    document.source.document_id,
                    len(document.block_ranges),
                )
                return None
            start = document.block_ranges[first][0]
            end = document.block_ranges[last][1]
        else:
            logger.warning(
                "Claude returned a %s citation, which this engine does not map; "
                "citation dropped",
                citation.type,
            )
            return None

        return CitationFound(
            document_id=document.source.document_id,
            start=start,
            end=end,
            quote=citation.cited_text,
        )


async def _log_failed_attempt(response: Any) -> None:
    """Log each HTTP error response, including those that the SDK retries."""
    if response.status_code < 400:
        return
    logger.info(
        "Claude API returned HTTP %d for %s %s: request id %s, retry count %s",
        response.status_code,
        response.request.method,
        response.request.url.path,
        response.headers.get("request-id"),
        response.request.headers.get("x-stainless-retry-count", "0"),
    )


def _error_code(
    error: anthropic.APIError, status: int | None, error_type: str | None
) -> str:
    """Return the ``EngineError`` code of an SDK error."""
    if isinstance(error, anthropic.APIConnectionError):
        return "model_unavailable"
    if status == 529 or error_type == "overloaded_error":
        return "model_overloaded"
    # An ``error`` event inside a stream arrives with the stream's status, 200,
    # so only its error type identifies the failure.
    if status is None or status < 400:
        return _ERROR_TYPE_CODES.get(error_type or "", "model_unavailable")
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "model_auth_failed"
    if status >= 500:
        return "model_unavailable"
    return "model_bad_request"


_ERROR_TYPE_CODES = {
    "rate_limit_error": "rate_limited",
    "authentication_error": "model_auth_failed",
    "permission_error": "model_auth_failed",
    "invalid_request_error": "model_bad_request",
    "request_too_large": "model_bad_request",
    "api_error": "model_unavailable",
}


def _api_error_body(error: anthropic.APIError) -> dict[str, Any]:
    body = getattr(error, "body", None)
    inner = body.get("error") if isinstance(body, dict) else None
    return inner if isinstance(inner, dict) else {}


def _api_error_type(error: anthropic.APIError) -> str | None:
    """Return ``error.type`` of the API's error body, if any."""
    value = _api_error_body(error).get("type")
    return value if isinstance(value, str) else None


def _api_error_message(error: anthropic.APIError) -> str | None:
    value = _api_error_body(error).get("message")
    return value if isinstance(value, str) else None
