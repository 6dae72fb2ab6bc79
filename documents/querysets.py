from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import models

SEARCH_CONFIG = "english"


def or_query(text: str) -> SearchQuery | None:
    """Build a full-text query matching any word of ``text``, or None."""
    words = ["".join(ch for ch in word if ch.isalnum()) for word in text.split()]
    words = [word for word in words if word]
    if not words:
        return None
    query = SearchQuery(words[0], config=SEARCH_CONFIG)
    for word in words[1:]:
        query |= SearchQuery(word, config=SEARCH_CONFIG)
    return query


def phrase_query(text: str) -> SearchQuery | None:
    """Build a query for the words of ``text`` side by side, or None."""
    words = ["".join(ch for ch in word if ch.isalnum()) for word in text.split()]
    words = [word for word in words if word]
    if len(words) < 2:
        return None
    return SearchQuery(" ".join(words), search_type="phrase", config=SEARCH_CONFIG)


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
    def ranked(self, text: str, document_ids: list[int]) -> ChunkQuerySet:
        """Chunks of the documents that match any word of ``text``, best first."""
        query = or_query(text)
        chunks = self.filter(document_id__in=document_ids)
        if query is None:
            return chunks.none()
        rank = SearchRank(models.F("search_vector"), query)
        phrase = phrase_query(text)
        if phrase is not None:
            # Passages that contain the question's words side by side (such
            # as "trace tree") rank above ones that merely repeat one word.
            rank = rank + 2 * SearchRank(models.F("search_vector"), phrase)
        return (
            chunks.filter(search_vector=query)
            .annotate(rank=rank)
            .order_by("-rank", "document_id", "index")
        )
