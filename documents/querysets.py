from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import models

SEARCH_CONFIG = "english"


def or_query(text: str) -> SearchQuery | None:
    """A full-text query matching any word of ``text``, or None if it has none."""
    words = ["".join(ch for ch in word if ch.isalnum()) for word in text.split()]
    words = [word for word in words if word]
    if not words:
        return None
    query = SearchQuery(words[0], config=SEARCH_CONFIG)
    for word in words[1:]:
        query |= SearchQuery(word, config=SEARCH_CONFIG)
    return query


class DocumentQuerySet(models.QuerySet):
    def for_member(self, user) -> DocumentQuerySet:
        """Documents a member may read.

        Every member of an organization sees all of its documents; the
        schema already holds only this organization's rows.
        """
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.all()

    def ready(self) -> DocumentQuerySet:
        return self.filter(status="ready")


class ChunkQuerySet(models.QuerySet):
    def ranked(self, question: str, document_ids: list[int]) -> ChunkQuerySet:
        """Chunks of the documents that match the question, best first."""
        query = or_query(question)
        chunks = self.filter(document_id__in=document_ids)
        if query is None:
            return chunks.none()
        return (
            chunks.filter(search_vector=query)
            .annotate(rank=SearchRank(models.F("search_vector"), query))
            .order_by("-rank", "document_id", "index")
        )
