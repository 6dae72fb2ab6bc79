"""Conversations and questions: the state changes behind the API and socket."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection, transaction

from assistant import streams
from assistant.engines import get_engine
from assistant.errors import AnswerInProgress, ClaudeRequired, InvalidSelection
from assistant.models import Conversation, Message
from billing import ratelimit
from billing import services as billing
from billing.errors import RateLimited
from documents.errors import DocumentNotReady
from documents.models import Document

logger = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4
MAX_TITLE = 200


def start_conversation(user, document_ids: list[int], title: str = "") -> Conversation:
    """Create a conversation about documents the member can read.

    An id that is not one of this organization's documents is reported as
    not found, like any other missing object.
    """
    documents = list(Document.objects.for_member(user).filter(pk__in=document_ids))
    missing = sorted(set(document_ids) - {d.pk for d in documents})
    if missing:
        from config.errors import NotFound

        raise NotFound(
            f"No document with id {missing[0]}. Check the ids and try again."
        )
    if not title and documents:
        title = documents[0].title
    with transaction.atomic():
        conversation = Conversation.objects.create(
            title=title[:MAX_TITLE], created_by=user
        )
        conversation.documents.set(documents)
    return conversation


def _check_selection(conversation: Conversation, selection: dict | None) -> dict:
    if not selection:
        raise InvalidSelection("A rewrite needs a selection {document_id, start, end}.")
    document = conversation.documents.filter(pk=selection.get("document_id")).first()
    if document is None:
        raise InvalidSelection(
            "The selection's document is not part of this conversation."
        )
    start, end = selection.get("start"), selection.get("end")
    if not (
        isinstance(start, int)
        and isinstance(end, int)
        and 0 <= start < end <= len(document.text)
    ):
        raise InvalidSelection(
            f"The selection must satisfy 0 <= start < end <= {len(document.text)}."
        )
    return {"document_id": document.pk, "start": start, "end": end}


def _estimate_input_tokens(conversation: Conversation, content: str) -> int:
    # TODO: reserve from the count_tokens endpoint; 4 characters per token
    # over-reserves for English and may under-reserve for other scripts.
    characters = len(content) + sum(
        len(text) for text in conversation.documents.values_list("text", flat=True)
    )
    budget = settings.CONTEXT_BUDGET_TOKENS * CHARS_PER_TOKEN
    return min(characters, budget) // CHARS_PER_TOKEN + 1


def _check_rate(user, organization) -> None:
    """Hold each member to the plan's questions per minute."""
    limit = organization.plan.requests_per_minute
    wait = ratelimit.hit("ask", f"{organization.pk}:{user.pk}", limit, 60)
    if wait is not None:
        raise RateLimited(
            f"You can ask {limit} questions per minute on this plan. "
            f"Try again in {wait} s.",
            retry_after=wait,
        )


def ask(
    conversation: Conversation,
    user,
    content: str,
    action: str = "ask",
    selection: dict | None = None,
    organization=None,
) -> tuple[Message, Message]:
    """Store the question, reserve quota and start the answer.

    Returns the user message and the ``streaming`` assistant message; the
    answer itself follows on the message's event stream.
    """
    organization = organization or connection.tenant
    _check_rate(user, organization)
    engine = get_engine()
    if engine.name == "offline" and action in ("rewrite", "draft"):
        raise ClaudeRequired(
            f"'{action}' writes new text, which needs Claude. The offline engine "
            "only quotes documents; ask an administrator to set ANTHROPIC_API_KEY."
        )
    if action == "rewrite":
        selection = _check_selection(conversation, selection)
    if (
        conversation.documents.exclude(status=Document.Status.READY)
        .filter(status=Document.Status.PROCESSING)
        .exists()
    ):
        raise DocumentNotReady(
            "A document of this conversation is still being processed. "
            "Ask again when it is ready."
        )
    # Only Claude calls count against the plan; the offline engine is free.
    billable = engine.name != "offline"
    worst_case = (
        _estimate_input_tokens(conversation, content) + settings.ANSWER_MAX_TOKENS
        if billable
        else 0
    )
    schema_name = connection.schema_name
    with transaction.atomic():
        # The row lock makes the "one answer at a time" check and the insert
        # one step, so simultaneous questions cannot both start answers.
        Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
        if conversation.messages.filter(status=Message.Status.STREAMING).exists():
            raise AnswerInProgress(
                "An answer is still streaming in this conversation. "
                "Wait for it or stop it."
            )
        if billable:
            billing.reserve(organization, worst_case)
        question = Message.objects.create(
            conversation=conversation,
            role=Message.Role.USER,
            action=action,
            content=content,
            selection=selection,
            created_by=user,
        )
        answer = Message.objects.create(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            action=action,
            status=Message.Status.STREAMING,
            # The generation reads the selection to rewrite from here.
            selection=selection,
            engine=engine.name,
            model=settings.ANTHROPIC_MODEL if billable else "offline-extractive",
            reserved_tokens=worst_case,
            created_by=user,
        )
        conversation.save(update_fields=["updated_at"])
        transaction.on_commit(lambda: _start(schema_name, answer.pk))
    logger.info("Question %s queued answer %s", question.pk, answer.pk)
    return question, answer


def _start(schema_name: str, message_id: int) -> None:
    from assistant.runner import start_generation

    start_generation(schema_name, message_id)


def stop(message: Message) -> Message:
    """Ask the generation to stop; it keeps the partial answer as interrupted."""
    if message.status == Message.Status.STREAMING:
        streams.request_stop(connection.schema_name, message.pk)
        logger.info("Stop requested for answer %s", message.pk)
    return message
