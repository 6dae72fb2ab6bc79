"""Conversations, messages and citations, in the organization's schema."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from assistant.querysets import ConversationQuerySet, MessageQuerySet


class Conversation(models.Model):
    title = models.CharField(max_length=200, blank=True)
    documents = models.ManyToManyField(
        "documents.Document", related_name="conversations", blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    class Status(models.TextChoices):
        COMPLETE = "complete"
        STREAMING = "streaming"
        FAILED = "failed"
        INTERRUPTED = "interrupted"

    class Action(models.TextChoices):
        ASK = "ask"
        SUMMARIZE = "summarize"
        REWRITE = "rewrite"
        DRAFT = "draft"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.ASK)
    content = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.COMPLETE
    )
    # The selection to rewrite: {"document_id", "start", "end"}.
    selection = models.JSONField(null=True, blank=True)
    engine = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=100, blank=True)
    stop_reason = models.CharField(max_length=40, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    # What the model read, e.g. "read all 14 pages".
    coverage = models.CharField(max_length=200, blank=True)
    # Sequence number of the last stream event stored for this message.
    last_seq = models.PositiveIntegerField(default=0)
    # Worst-case tokens held against the quota while the answer runs.
    reserved_tokens = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role} message {self.pk}"


class Citation(models.Model):
    """A verified quote from a document that an answer relies on."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="citations"
    )
    number = models.PositiveIntegerField()
    document = models.ForeignKey(
        "documents.Document", on_delete=models.CASCADE, related_name="citations"
    )
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    quote = models.TextField()
    page = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["message_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "number"], name="citation_number"
            )
        ]

    def __str__(self) -> str:
        return f"[{self.number}] {self.document_id}:{self.start}-{self.end}"
