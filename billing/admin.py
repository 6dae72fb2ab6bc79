"""Usage in the admin: monthly counters, and each organization's ledger."""

from __future__ import annotations

from django.contrib import admin

from billing.models import QuotaCounter


@admin.register(QuotaCounter)
class QuotaCounterAdmin(admin.ModelAdmin):
    list_display = ["organization", "period_start", "used", "reserved", "limit"]
    list_filter = ["period_start"]
    search_fields = ["organization__slug", "organization__name"]
    list_select_related = ["organization__plan"]

    @admin.display(description="Monthly limit")
    def limit(self, counter: QuotaCounter) -> int:
        return (
            counter.organization.plan.monthly_tokens if counter.organization.plan else 0
        )
