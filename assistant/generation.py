"""Server-side generation of one answer.

A generation runs in the background of the process that started it. It
streams from the engine, numbers and verifies citations, publishes every
frame to the answer's event log and channel-layer group, saves the growing
text about once a second and, at the end, stores the answer, its citations
and its usage in one transaction.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from contextlib import aclosing, nullcontext

from django.db import transaction
from django.utils import timezone

from assistant import streams
from assistant.concurrency import model_slot
from assistant.context import build_request
from assistant.db import in_schema
from assistant.engines import get_engine
from assistant.engines.base import (
    BlockEnd,
    CitationFound,
    EngineError,
    Finished,
    TextDelta,
    Usage,
    UsageReport,
)
from assistant.models import Citation, Message
from billing.services import Reservation, current_period, record_usage
from config.observability import bind_context
from documents.models import Document
from organizations.models import Organization

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
STOP_CHECK_SECONDS = 0.25
# Below the sweeper's smallest STALE_ANSWER_SECONDS (10 s), so a live answer
# is never taken for a dead one.
HEARTBEAT_SECONDS = 5.0


@dataclasses.dataclass
class _Prepared:
    message: Message
    organization_id: int
    request: object
    coverage: str
    texts: dict[int, str]
    page_offsets: dict[int, list]


def _prepare(message_id: int) -> _Prepared | None:
    from django.db import connection

    message = (
        Message.objects.select_related("conversation")
        .filter(pk=message_id, status=Message.Status.STREAMING)
        .first()
    )
    if message is None:
        return None
    request, coverage = build_request(message, message.engine, message.model)
    documents = Document.objects.filter(
        pk__in=[source.document_id for source in request.documents]
    ).only("id", "text", "page_offsets")
    Message.objects.filter(pk=message_id).update(
        coverage=coverage, updated_at=timezone.now()
    )
    return _Prepared(
        message=message,
        organization_id=Organization.objects.get(schema_name=connection.schema_name).pk,
        request=request,
        coverage=coverage,
        texts={d.pk: d.text for d in documents},
        page_offsets={d.pk: d.page_offsets for d in documents},
    )


def _touch(message_id: int) -> None:
    Message.objects.filter(pk=message_id, status=Message.Status.STREAMING).update(
        updated_at=timezone.now()
    )


def _flush(message_id: int, text: str, seq: int) -> None:
    Message.objects.filter(pk=message_id, status=Message.Status.STREAMING).update(
        content=text, last_seq=seq, updated_at=timezone.now()
    )


def _finish(
    prepared: _Prepared, outcome: dict, citations: list[dict], usage: Usage
) -> None:
    """Store the answer, its citations and its usage in one transaction."""
    message = prepared.message
    with transaction.atomic():
        # An answer the sweeper already failed keeps that outcome, so its
        # usage is not recorded twice.
        updated = Message.objects.filter(
            pk=message.pk, status=Message.Status.STREAMING
        ).update(
            content=outcome["text"],
            status=outcome["status"],
            stop_reason=outcome.get("stop_reason", ""),
            error_code=outcome.get("error_code", ""),
            error_message=outcome.get("error_message", ""),
            last_seq=outcome["seq"],
            updated_at=timezone.now(),
        )
        if not updated:
            return
        # A document deleted while the answer streamed takes its citations.
        existing = set(
            Document.objects.filter(
                pk__in={citation["document_id"] for citation in citations}
            ).values_list("pk", flat=True)
        )
        Citation.objects.bulk_create(
            Citation(message_id=message.pk, **citation)
            for citation in citations
            if citation["document_id"] in existing
        )
        reservation = Reservation(
            prepared.organization_id,
            current_period(message.created_at),
            message.reserved_tokens,
        )
        record_usage(
            reservation=reservation,
            message=message,
            user=message.created_by,
            engine=message.engine,
            model=message.model,
            usage=usage,
        )


class AnswerRun:
    """The state of one streaming answer."""

    def __init__(self, schema_name: str, prepared: _Prepared) -> None:
        self.schema_name = schema_name
        self.prepared = prepared
        self.message_id = prepared.message.pk
        self.seq = prepared.message.last_seq
        self.text = ""
        self.citations: list[dict] = []
        self.numbers: dict[tuple[int, int, int], int] = {}
        self.block_numbers: list[int] = []
        self.last_flush = time.monotonic()
        self.stopped = False
        self.outcome: dict = {}
        self.usage: Usage | None = None
        self.reported: Usage | None = None

    async def emit(self, frame: dict) -> None:
        self.seq += 1
        frame = {**frame, "message_id": self.message_id, "seq": self.seq}
        await streams.publish(self.schema_name, self.message_id, frame)

    async def add_text(self, text: str) -> None:
        if not text:
            return
        self.text += text
        await self.emit({"type": "delta", "text": text})
        if time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self.last_flush = time.monotonic()
            await in_schema(
                self.schema_name, _flush, self.message_id, self.text, self.seq
            )

    async def add_citation(self, found: CitationFound) -> None:
        verified = self.verify(found)
        if verified is None:
            return
        key = (verified["document_id"], verified["start"], verified["end"])
        number = self.numbers.get(key)
        if number is None:
            number = len(self.citations) + 1
            self.numbers[key] = number
            self.citations.append({"number": number, **verified})
            await self.emit({"type": "citation", "number": number, **verified})
        if number not in self.block_numbers:
            self.block_numbers.append(number)

    def verify(self, found: CitationFound) -> dict | None:
        """Check the quote against the stored text; return the citation or None.

        A quote found verbatim elsewhere in the document is moved to that
        place; one not found at all is dropped.
        """
        text = self.prepared.texts.get(found.document_id)
        if text is None:
            logger.warning("Dropped citation of unknown document %s", found.document_id)
            return None
        start, end = found.start, found.end
        if text[start:end] != found.quote:
            located = text.find(found.quote) if found.quote else -1
            if located < 0:
                logger.warning(
                    "Dropped citation not found in document %s at %s-%s",
                    found.document_id,
                    start,
                    end,
                )
                return None
            start, end = located, located + len(found.quote)
        document = Document(page_offsets=self.prepared.page_offsets[found.document_id])
        return {
            "document_id": found.document_id,
            "start": start,
            "end": end,
            "quote": text[start:end],
            "page": document.page_for_offset(start),
        }

    async def end_block(self) -> None:
        if self.block_numbers:
            markers = "".join(f"[{number}]" for number in self.block_numbers)
            self.block_numbers = []
            await self.add_text(" " + markers)


def _estimate_usage(request, text: str) -> Usage:
    """Usage for a call cut short before the provider reported figures."""
    characters = len(request.question) + sum(
        len(d.text) + sum(len(p[2]) for p in d.passages) for d in request.documents
    )
    return Usage(input_tokens=characters // 4 + 1, output_tokens=len(text) // 4)


async def generate(schema_name: str, message_id: int) -> None:
    """Produce the answer of a ``streaming`` assistant message."""
    bind_context(organization=schema_name)
    prepared = await in_schema(schema_name, _prepare, message_id)
    if prepared is None:
        logger.info("Message %s is not streaming; nothing to generate", message_id)
        return
    engine = get_engine()
    request = dataclasses.replace(prepared.request, schema_name=schema_name)
    run = AnswerRun(schema_name, prepared)
    await run.emit(
        {
            "type": "start",
            "conversation_id": prepared.message.conversation_id,
            "engine": prepared.message.engine,
            "model": prepared.message.model,
            "coverage": prepared.coverage,
        }
    )

    consuming = asyncio.ensure_future(_consume(run, engine, request))
    watcher = asyncio.ensure_future(_watch_for_stop(run, consuming))
    try:
        await consuming
    except asyncio.CancelledError:
        if not run.stopped:
            # The process is shutting down: keep what arrived, then let the
            # cancellation go on.
            consuming.cancel()
            run.outcome = {"status": "interrupted", "stop_reason": "cancelled"}
            await _close(run, request, run.outcome, run.usage)
            raise
        logger.info("Answer %s stopped by the user", message_id)
        run.outcome = {"status": "interrupted", "stop_reason": "stopped"}
        if run.reported is not None:
            # The provider reports output tokens only at the end, so an
            # estimate from the text received so far replaces them.
            run.usage = dataclasses.replace(
                run.reported,
                output_tokens=max(run.reported.output_tokens, len(run.text) // 4),
            )
    except EngineError as error:
        logger.warning("Answer %s failed: %s", message_id, error.code)
        run.outcome = {
            "status": "failed",
            "error_code": error.code,
            "error_message": error.message,
        }
        # Record the provider's figures even when they are zero. A call that
        # failed before its stream started has no usage in its response, and
        # an estimate would charge the quota for tokens the API did not report.
        run.usage = error.usage
    except Exception:
        logger.exception("Answer %s crashed", message_id)
        run.outcome = {
            "status": "failed",
            "error_code": "internal_error",
            "error_message": "The answer failed because of an error on our side. "
            "Try again.",
        }
    finally:
        watcher.cancel()
    if not run.outcome:
        run.outcome = {
            "status": "failed",
            "error_code": "incomplete_answer",
            "error_message": "The model's answer ended unexpectedly. Try again.",
        }
    await _close(run, request, run.outcome, run.usage)


async def _consume(run: AnswerRun, engine, request) -> None:
    """Stream the engine's events into the answer."""
    slot = model_slot() if engine.name == "claude" else nullcontext()
    async with slot, aclosing(engine.stream(request)) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                await run.add_text(event.text)
            elif isinstance(event, CitationFound):
                await run.add_citation(event)
            elif isinstance(event, BlockEnd):
                await run.end_block()
            elif isinstance(event, UsageReport):
                run.reported = event.usage
            elif isinstance(event, Finished):
                await run.end_block()
                run.usage = event.usage
                run.outcome = {"status": "complete", "stop_reason": event.stop_reason}


async def _watch_for_stop(run: AnswerRun, consuming: asyncio.Future) -> None:
    """Cancel the model call when a stop is requested, even between events.

    It also keeps the message row fresh while the model is silent (a long
    prompt, retries, a wait for a model slot), so the stale-answer sweeper
    leaves a live answer alone.
    """
    last_beat = time.monotonic()
    while not consuming.done():
        await asyncio.sleep(STOP_CHECK_SECONDS)
        if await streams.stop_requested(run.schema_name, run.message_id):
            run.stopped = True
            consuming.cancel()
            return
        if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
            last_beat = time.monotonic()
            await in_schema(run.schema_name, _touch, run.message_id)


async def _close(run: AnswerRun, request, outcome: dict, usage: Usage | None) -> None:
    """Store the outcome, then send the usage, any error and the done frame."""
    usage = usage or _estimate_usage(request, run.text)
    stored = {**outcome, "text": run.text, "seq": run.seq}
    await in_schema(
        run.schema_name, _finish, run.prepared, stored, run.citations, usage
    )
    await run.emit(
        {
            "type": "usage",
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        }
    )
    if outcome["status"] == "failed":
        await run.emit(
            {
                "type": "error",
                "code": outcome["error_code"],
                "message": outcome["error_message"],
            }
        )
    await run.emit(
        {
            "type": "done",
            "stop_reason": outcome.get("stop_reason", ""),
            "status": outcome["status"],
        }
    )
