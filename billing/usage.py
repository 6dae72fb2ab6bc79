"""The usage summary shown on the workspace and by GET /api/v1/usage/."""

from __future__ import annotations

import datetime

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.ledger.models import UsageEvent
from billing.models import QuotaCounter
from billing.services import current_period, next_period

TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
)


def usage_summary(organization) -> dict:
    """Plan, allowance and this month's usage, with one entry per day."""
    period = current_period()
    period_end = next_period(period)
    counter = QuotaCounter.objects.filter(
        organization=organization, period_start=period
    ).first()
    used = counter.used if counter else 0
    reserved = counter.reserved if counter else 0
    limit = organization.plan.monthly_tokens

    events = UsageEvent.objects.filter(
        created_at__date__gte=period, created_at__date__lt=period_end
    )
    totals = events.aggregate(
        **{field: Sum(field) for field in TOKEN_FIELDS}, cost=Sum("cost_micros")
    )
    daily = (
        events.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            **{field: Sum(field) for field in TOKEN_FIELDS}, cost=Sum("cost_micros")
        )
        .order_by("day")
    )
    by_day = {row["day"]: row for row in daily}
    series = []
    day = period
    today = timezone.now().date()
    while day < period_end and day <= today:
        row = by_day.get(day, {})
        tokens = sum(row.get(field) or 0 for field in TOKEN_FIELDS)
        series.append(
            {
                "date": day.isoformat(),
                "tokens": tokens,
                "cost_micros": row.get("cost") or 0,
            }
        )
        day += datetime.timedelta(days=1)

    return {
        "plan": {"slug": organization.plan.slug, "name": organization.plan.name},
        "period": {"start": period.isoformat(), "end": period_end.isoformat()},
        "limit": limit,
        "used": used,
        "reserved": reserved,
        "remaining": max(limit - used - reserved, 0),
        "percent_used": round(100 * used / limit, 1) if limit else 0,
        **{field: totals[field] or 0 for field in TOKEN_FIELDS},
        # All tokens in the ledger, including the free offline engine's.
        "tokens": sum(totals[field] or 0 for field in TOKEN_FIELDS),
        "cost_micros": totals["cost"] or 0,
        "daily": series,
    }
