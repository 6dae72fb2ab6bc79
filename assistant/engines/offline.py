"""The offline engine: extractive answers without a language model.

It ranks the documents' chunks against the question with PostgreSQL
full-text search, picks the sentences that share the most words with the
question and streams them back, each cited by its exact character range.
It cannot write new prose, so ``rewrite`` and ``draft`` are rejected.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

from django.conf import settings

from assistant.db import in_schema
from assistant.engines.base import (
    BlockEnd,
    CitationFound,
    EngineError,
    Event,
    Finished,
    GenerationRequest,
    TextDelta,
    Usage,
)
from assistant.text import sentence_spans, terms

ANSWER_SENTENCES = 3
SUMMARY_SENTENCES = 8
RANKED_CHUNKS = 24
MIN_SENTENCE_CHARS = 25
MAX_SENTENCE_CHARS = 600
DEFINING = re.compile(
    r"\b(is|are|means|refers to|called|we call|consists? of|covering|covers|"
    r"expands|represents?|allows?)\b",
    re.IGNORECASE,
)
POINTER = re.compile(
    r"\b(Section|Figure|Table|Chapter)\s+\d|\bthis (section|paper|chapter)\b"
    r"|\bas follows\b",
    re.IGNORECASE,
)
HEADING = re.compile(r"^\s*(\d+(\.\d+)*\s|[A-Z][\w-]*(\s+[A-Z][\w-]*){1,4}\s+[A-Z])")


@dataclass(frozen=True)
class Candidate:
    document_id: int
    start: int
    end: int
    text: str
    score: float


def _ranked_passages(request: GenerationRequest) -> list[tuple[int, int, str]]:
    from documents.models import Chunk

    document_ids = [document.document_id for document in request.documents]
    chunks = Chunk.objects.ranked(request.question, document_ids)[:RANKED_CHUNKS]
    return [(chunk.document_id, chunk.start, chunk.text) for chunk in chunks]


def _sentences(
    document_id: int, base: int, text: str
) -> list[tuple[int, int, int, str]]:
    found = []
    for start, end in sentence_spans(text, base):
        sentence = text[start - base : end - base]
        if MIN_SENTENCE_CHARS <= len(sentence) <= MAX_SENTENCE_CHARS:
            found.append((document_id, start, end, sentence))
    return found


def _score_for_question(question_terms: list[str], sentence: str) -> float:
    sentence_terms = terms(sentence)
    if not sentence_terms:
        return 0.0
    wanted = set(question_terms)
    overlap = len(wanted & set(sentence_terms))
    if overlap == 0:
        return 0.0
    pairs = set(zip(question_terms, question_terms[1:], strict=False))
    phrase_hits = sum(
        1
        for pair in zip(sentence_terms, sentence_terms[1:], strict=False)
        if pair in pairs
    )
    score = (
        overlap * 2 + min(phrase_hits, 1) * 3 - math.log(len(sentence_terms) + 1) * 0.5
    )
    # Prefer sentences that explain (define, describe what something does)
    # over ones that point elsewhere in the document or echo a heading.
    if DEFINING.search(sentence):
        score += 2
    if POINTER.search(sentence) or HEADING.match(sentence) or "•" in sentence:
        score -= 3
    return score


def _pick_for_question(request: GenerationRequest, passages) -> list[Candidate]:
    question_terms = terms(request.question)
    candidates = []
    seen = set()
    for rank, (document_id, base, text) in enumerate(passages):
        for doc_id, start, end, sentence in _sentences(document_id, base, text):
            if (doc_id, start) in seen:
                continue
            seen.add((doc_id, start))
            score = _score_for_question(question_terms, sentence)
            if score > 0:
                score -= rank * 0.05
                candidates.append(Candidate(doc_id, start, end, sentence, score))
    best = sorted(candidates, key=lambda c: c.score, reverse=True)[:ANSWER_SENTENCES]
    return sorted(best, key=lambda c: (c.document_id, c.start))


def _pick_for_summary(request: GenerationRequest) -> list[Candidate]:
    picked = []
    per_document = max(2, SUMMARY_SENTENCES // max(len(request.documents), 1))
    for document in request.documents:
        parts = [(start, text) for start, _, text in document.passages] or [
            (document.offset, document.text)
        ]
        sentences = [
            item
            for base, text in parts
            for item in _sentences(document.document_id, base, text)
        ]
        frequencies = Counter(
            term for *_, sentence in sentences for term in terms(sentence)
        )
        scored = []
        for position, (doc_id, start, end, sentence) in enumerate(sentences):
            sentence_terms = terms(sentence)
            if len(sentence_terms) < 4:
                continue
            centrality = sum(frequencies[t] for t in set(sentence_terms)) / len(
                sentence_terms
            )
            # Opening sentences tend to state what a document is about.
            lead_bonus = 1.5 if position < 5 else 1.0
            scored.append(
                Candidate(doc_id, start, end, sentence, centrality * lead_bonus)
            )
        best = sorted(scored, key=lambda c: c.score, reverse=True)[:per_document]
        picked += sorted(best, key=lambda c: c.start)
    return picked


def _display(sentence: str) -> str:
    return re.sub(r"\s+", " ", sentence).strip()


class OfflineEngine:
    name = "offline"

    def model_for(self, request: GenerationRequest) -> str:
        return "offline-extractive"

    async def count_tokens(self, request: GenerationRequest) -> int:
        characters = len(request.question) + sum(
            len(document.text) + sum(len(text) for *_, text in document.passages)
            for document in request.documents
        )
        return characters // 4 + 1

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Event]:
        if request.action in ("rewrite", "draft"):
            raise EngineError(
                "claude_required",
                f"The offline engine cannot {request.action}: it only quotes the "
                "documents. Set ANTHROPIC_API_KEY to use Claude for this.",
            )
        if not request.documents:
            # Documents that failed or are still processing are not sent.
            intro = (
                "The offline engine answers only from documents, and this "
                "conversation has no readable document. Open a document that "
                "is ready and ask there."
            )
            async for event in self._type(intro):
                yield event
            yield Finished("end_turn", Usage(0, len(intro) // 4))
            return

        if request.action == "summarize":
            picked = _pick_for_summary(request)
            intro = "Key sentences from the document, in order:\n\n"
            considered = sum(len(d.text) for d in request.documents)
        else:
            passages = await in_schema(request.schema_name, _ranked_passages, request)
            picked = _pick_for_question(request, passages)
            intro = "The documents say:\n\n"
            considered = sum(len(text) for *_, text in passages)

        if not picked and request.action == "summarize":
            text = (
                "The documents have no complete sentences to quote, so the "
                "offline engine cannot summarize them. Claude can."
            )
        elif not picked:
            text = (
                "I found no passage in the documents that matches the question. "
                "Try other words, or ask about a term the documents use."
            )
        if not picked:
            async for event in self._type(text):
                yield event
            yield Finished(
                "end_turn", Usage(len(request.question) // 4 + 1, len(text) // 4)
            )
            return

        written = len(intro)
        async for event in self._type(intro):
            yield event
        for candidate in picked:
            line = "- " + _display(candidate.text)
            written += len(line) + 1
            async for event in self._type(line):
                yield event
            yield CitationFound(
                candidate.document_id, candidate.start, candidate.end, candidate.text
            )
            yield BlockEnd()
            yield TextDelta("\n")
        usage = Usage(
            input_tokens=(considered + len(request.question)) // 4 + 1,
            output_tokens=written // 4 + 1,
        )
        yield Finished("end_turn", usage)

    async def _type(self, text: str) -> AsyncIterator[TextDelta]:
        """Stream ``text`` a few words at a time, as a model would."""
        delay = settings.OFFLINE_STREAM_DELAY_MS / 1000
        words = re.findall(r"\S+\s*|\s+", text)
        for index in range(0, len(words), 3):
            yield TextDelta("".join(words[index : index + 3]))
            if delay:
                await asyncio.sleep(delay)
