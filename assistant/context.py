"""What a model reads for one answer: documents or passages, and history.

Documents go whole when they fit the budget with the conversation and the
answer; otherwise the chunks that best match the question and the recent
turns are packed, in document order, up to the budget.
"""

from __future__ import annotations

from django.conf import settings

from assistant.engines.base import GenerationRequest, SourceDocument, Turn
from assistant.models import Message
from documents.models import Chunk, Document

HISTORY_TURNS = 20
CHARS_PER_TOKEN = 4


def _history(message: Message) -> tuple[list[Turn], str]:
    """Earlier complete turns and the question this message answers."""
    earlier = list(
        message.conversation.messages.filter(id__lt=message.id).order_by("-id")[
            : HISTORY_TURNS + 1
        ]
    )
    earlier.reverse()
    question = ""
    if earlier and earlier[-1].role == Message.Role.USER:
        question = earlier.pop().content
    turns = [
        Turn(role=m.role, content=m.content)
        for m in earlier
        if m.content
        and m.status in (Message.Status.COMPLETE, Message.Status.INTERRUPTED)
    ]
    # Claude expects the conversation to start with a user turn.
    while turns and turns[0].role != "user":
        turns.pop(0)
    return turns, question


def _pack(documents: list[Document], query: str, budget_chars: int):
    """Pick the best-matching chunks up to the budget, in document order."""
    ids = [document.pk for document in documents]
    ranked = list(Chunk.objects.ranked(query, ids)[:500])
    if not ranked:
        ranked = list(Chunk.objects.filter(document_id__in=ids).order_by("index")[:500])
    chosen, used = [], 0
    for chunk in ranked:
        if used + len(chunk.text) > budget_chars:
            continue
        chosen.append(chunk)
        used += len(chunk.text)
    chosen.sort(key=lambda chunk: (chunk.document_id, chunk.start))
    sources = []
    for document in documents:
        passages = tuple(
            (chunk.start, chunk.end, chunk.text)
            for chunk in chosen
            if chunk.document_id == document.pk
        )
        if passages:
            sources.append(
                SourceDocument(
                    document_id=document.pk, title=document.title, passages=passages
                )
            )
    return sources, len(chosen)


def _count(number: int, noun: str, all_: bool = False) -> str:
    """Write "1 page", "14 pages" or, with ``all_``, "all 14 pages"."""
    if number == 1:
        return f"1 {noun}" if not all_ else f"the 1 {noun}"
    return f"{'all ' if all_ else ''}{number} {noun}s"


def build_request(
    message: Message, engine_name: str, model: str
) -> tuple[GenerationRequest, str]:
    """Build the engine request and a coverage note for the reader."""
    documents = list(
        message.conversation.documents.filter(status="ready").order_by("id")
    )
    turns, question = _history(message)
    pages = sum(document.page_count for document in documents)
    total_chars = sum(len(document.text) for document in documents)
    history_chars = sum(len(turn.content) for turn in turns) + len(question)
    budget_chars = (
        settings.CONTEXT_BUDGET_TOKENS - settings.ANSWER_MAX_TOKENS
    ) * CHARS_PER_TOKEN - history_chars

    whole = engine_name == "offline" or total_chars <= budget_chars
    if whole:
        sources = [
            SourceDocument(document_id=d.pk, title=d.title, text=d.text)
            for d in documents
        ]
        coverage = f"read {_count(pages, 'page', all_=True)}" if documents else ""
        if (
            engine_name == "offline"
            and message.action == Message.Action.ASK
            and documents
        ):
            passages = Chunk.objects.filter(document__in=documents).count()
            coverage = (
                f"searched {_count(passages, 'passage')} of {_count(pages, 'page')}"
            )
    else:
        # TODO: summaries over budget should be built map-reduce over all
        # chunks; today they summarize the packed passages only.
        recent = " ".join(turn.content for turn in turns[-4:] if turn.role == "user")
        sources, count = _pack(documents, f"{question} {recent}", max(budget_chars, 0))
        coverage = f"searched {_count(count, 'passage')} of {_count(pages, 'page')}"

    selection = None
    if message.selection:
        selection = (
            message.selection["document_id"],
            message.selection["start"],
            message.selection["end"],
        )
    request = GenerationRequest(
        action=message.action,
        question=question,
        documents=tuple(sources),
        history=tuple(turns),
        max_tokens=settings.ANSWER_MAX_TOKENS,
        model=model,
        selection=selection,
        schema_name="",
    )
    return request, coverage
