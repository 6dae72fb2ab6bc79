"""Documents and their chunks, stored in the organization's schema."""

from __future__ import annotations

import bisect

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from documents.querysets import ChunkQuerySet, DocumentQuerySet


class Document(models.Model):
    class Status(models.TextChoices):
        PROCESSING = "processing"
        READY = "ready"
        FAILED = "failed"

    title = models.CharField(max_length=255)
    filename = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=10, blank=True)  # pdf, docx, text
    size_bytes = models.BigIntegerField(default=0)
    # Relative to MEDIA_ROOT; always under the organization's schema folder.
    file_path = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PROCESSING
    )
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    text = models.TextField(blank=True)
    # One [start, end) pair of character offsets into ``text`` per page.
    page_offsets = models.JSONField(default=list, blank=True)
    page_count = models.PositiveIntegerField(default=0)
    # Extraction progress while processing: pages read so far, of how many.
    pages_done = models.PositiveIntegerField(default=0)
    pages_total = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def page_for_offset(self, offset: int) -> int:
        """Return the 1-based page that contains the character at ``offset``."""
        starts = [start for start, _ in self.page_offsets]
        if not starts:
            return 1
        return max(1, bisect.bisect_right(starts, offset))


class Chunk(models.Model):
    """A passage of a document, the unit of full-text search and packing."""

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="chunks"
    )
    index = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    page = models.PositiveIntegerField()
    text = models.TextField()
    search_vector = SearchVectorField(null=True)

    objects = ChunkQuerySet.as_manager()

    class Meta:
        ordering = ["document_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["document", "index"], name="chunk_order")
        ]
        indexes = [GinIndex(fields=["search_vector"], name="chunk_search")]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.index}"
