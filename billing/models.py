"""Quota counters per organization and month (public schema)."""

from __future__ import annotations

from django.db import models


class QuotaCounter(models.Model):
    """Tokens used and reserved by one organization in one month.

    ``reserved`` holds the worst case of calls in flight; a call settles its
    reservation into ``used`` when it ends.
    """

    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.CASCADE,
        related_name="quota_counters",
    )
    period_start = models.DateField()
    used = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period_start"], name="one_counter_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.period_start}: {self.used}"
