"""One row per model call, in the organization's schema."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UsageEvent(models.Model):
    message = models.ForeignKey(
        "assistant.Message",
        on_delete=models.SET_NULL,
        null=True,
        related_name="usage_events",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    engine = models.CharField(max_length=20)
    model = models.CharField(max_length=100)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cache_read_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0)
    cost_micros = models.BigIntegerField(default=0, help_text="Cost in micro-dollars.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.model}: {self.total_tokens} tokens"

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )
