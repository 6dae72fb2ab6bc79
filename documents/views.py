"""The workspace page and the document viewer."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from assistant.api.serializers import MessageSerializer
from assistant.models import Conversation
from billing.usage import usage_summary
from documents.models import Document
from organizations.decorators import member_required


@member_required
def workspace(request: HttpRequest) -> HttpResponse:
    documents = Document.objects.for_member(request.user).defer("text")
    context = {
        "documents": documents,
        "usage": usage_summary(connection.tenant),
        "conversations": Conversation.objects.for_member(request.user).prefetch_related(
            "documents"
        )[:10],
    }
    return render(request, "documents/workspace.html", context)


# Characters rendered into the viewer page; later pages load as they
# scroll into view, so a book-length document still opens quickly.
EAGER_CHARACTERS = 300_000


def _pages(document: Document) -> list[dict]:
    pages, rendered = [], 0
    for number, (start, end) in enumerate(document.page_offsets, start=1):
        eager = rendered < EAGER_CHARACTERS
        if eager:
            rendered += end - start
        text = document.text[start:end] if eager else ""
        pages.append(
            {"number": number, "start": start, "text": text, "lazy": not eager}
        )
    return pages


@member_required
def viewer(request: HttpRequest, document_id: int) -> HttpResponse:
    document = get_object_or_404(
        Document.objects.for_member(request.user), pk=document_id
    )
    conversation = (
        Conversation.objects.for_member(request.user)
        .filter(documents=document)
        .order_by("-updated_at")
        .first()
    )
    messages = []
    if conversation is not None:
        queryset = conversation.messages.prefetch_related("citations")
        messages = MessageSerializer(queryset, many=True).data
    context = {
        "document": document,
        "pages": _pages(document),
        "conversation": conversation,
        "chat_messages": messages,
        "usage": usage_summary(connection.tenant),
    }
    return render(request, "documents/viewer.html", context)
