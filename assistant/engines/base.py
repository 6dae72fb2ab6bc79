"""The interface every language model engine implements.

An engine turns a ``GenerationRequest`` into a stream of events. The
generation service consumes the stream, numbers the citations, stores the
text and publishes every event to the chat socket, so engines never touch
the database or the channel layer themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

Action = Literal["ask", "summarize", "rewrite", "draft"]


@dataclass(frozen=True)
class SourceDocument:
    """A document, or a part of one, that the model may read and cite.

    ``text`` is the stored document text between ``offset`` and
    ``offset + len(text)``. When a document is too long to send whole,
    ``passages`` contains the chosen chunks as ``(start, end)`` ranges into the
    stored text and ``text`` is empty.
    """

    document_id: int
    title: str
    text: str = ""
    offset: int = 0
    passages: tuple[tuple[int, int, str], ...] = ()


@dataclass(frozen=True)
class Turn:
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    """Everything an engine needs to answer one message."""

    action: Action
    question: str
    documents: tuple[SourceDocument, ...] = ()
    history: tuple[Turn, ...] = ()
    max_tokens: int = 1024
    model: str = ""
    # The selection to rewrite, as (document_id, start, end), for ``rewrite``.
    selection: tuple[int, int, int] | None = None
    # PostgreSQL schema of the organization, for engines that query the
    # documents' chunks (the offline engine).
    schema_name: str = ""


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class CitationFound:
    """A cited span: character offsets into the stored document text."""

    document_id: int
    start: int
    end: int
    quote: str


@dataclass(frozen=True)
class BlockEnd:
    """The end of a text block; citations found so far belong to it."""


@dataclass(frozen=True)
class Usage:
    """Token figures of the whole call, as the provider reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class UsageReport:
    """Token figures so far, for recording usage if the call is stopped."""

    usage: Usage


@dataclass(frozen=True)
class Finished:
    stop_reason: str
    usage: Usage = field(default_factory=Usage)


Event = TextDelta | CitationFound | BlockEnd | UsageReport | Finished


class EngineError(Exception):
    """The model call failed; ``code`` goes to the client as is.

    ``usage`` carries the tokens consumed before the failure, if the
    provider reported any.
    """

    def __init__(self, code: str, message: str, *, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.usage = usage or Usage()


class Engine(Protocol):
    name: str  # "claude" or "offline"

    def model_for(self, request: GenerationRequest) -> str: ...

    def stream(self, request: GenerationRequest) -> AsyncIterator[Event]: ...

    async def count_tokens(self, request: GenerationRequest) -> int: ...
