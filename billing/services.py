"""Quota reservation and settlement, and the usage ledger."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from billing.errors import QuotaExceeded
from billing.ledger.models import UsageEvent
from billing.models import QuotaCounter

logger = logging.getLogger(__name__)


def current_period(now: datetime.datetime | None = None) -> datetime.date:
    """Return the first day of the current month (UTC), which starts a period."""
    now = now or timezone.now()
    return now.date().replace(day=1)


def next_period(period: datetime.date) -> datetime.date:
    return (period.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class Reservation:
    organization_id: int
    period_start: datetime.date
    tokens: int


def reserve(organization, tokens: int) -> Reservation:
    """Reserve ``tokens`` against the organization's monthly allowance.

    One conditional UPDATE both checks and reserves, so concurrent calls
    cannot overshoot the limit together.
    """
    period = current_period()
    limit = organization.plan.monthly_tokens
    QuotaCounter.objects.get_or_create(organization=organization, period_start=period)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE public.billing_quotacounter SET reserved = reserved + %s"
            " WHERE organization_id = %s AND period_start = %s"
            " AND used + reserved + %s <= %s",
            [tokens, organization.pk, period, tokens, limit],
        )
        granted = cursor.rowcount == 1
    if not granted:
        counter = QuotaCounter.objects.get(
            organization=organization, period_start=period
        )
        if counter.used + tokens <= limit:
            raise QuotaExceeded(
                f"Answers in progress hold the rest of this month's {limit:,} "
                "tokens. Try again when they finish."
            )
        raise QuotaExceeded(
            f"This organization has used {counter.used:,} of its {limit:,} tokens "
            f"for this month. Upgrade the plan or wait until "
            f"{next_period(period):%B} 1."
        )
    return Reservation(organization.pk, period, tokens)


def release(reservation: Reservation) -> None:
    """Give back a reservation whose call never ran."""
    QuotaCounter.objects.filter(
        organization_id=reservation.organization_id,
        period_start=reservation.period_start,
    ).update(reserved=_minus("reserved", reservation.tokens))


def _minus(field: str, amount: int):
    return Greatest(F(field) - amount, 0)


def cost_micros(
    model: str,
    input_tokens: int,
    output_tokens: int,
    cache_write_tokens: int,
    cache_read_tokens: int,
) -> int:
    """Cost in micro-dollars from the price table, rounded up."""
    prices = settings.MODEL_PRICES.get(model)
    if prices is None:
        logger.warning("No price configured for model %s; recording zero cost", model)
        return 0
    price_in, price_out, price_write, price_read = prices
    total = (
        input_tokens * price_in
        + output_tokens * price_out
        + cache_write_tokens * price_write
        + cache_read_tokens * price_read
    )
    return -(-total // 1_000_000)


def record_usage(
    *, reservation: Reservation | None, message, user, engine: str, model: str, usage
) -> UsageEvent:
    """Write the ledger row and settle the reservation to the real figure.

    Call inside the transaction that stores the answer.
    """
    event = UsageEvent.objects.create(
        message=message,
        user=user,
        engine=engine,
        model=model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cost_micros=cost_micros(
            model if engine != "offline" else "offline",
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_write_tokens,
            usage.cache_read_tokens,
        ),
    )
    if reservation is not None:
        # The offline engine is free, so its estimated tokens are recorded
        # in the ledger but do not count against the plan.
        counted = 0 if engine == "offline" else event.total_tokens
        QuotaCounter.objects.filter(
            organization_id=reservation.organization_id,
            period_start=reservation.period_start,
        ).update(
            reserved=_minus("reserved", reservation.tokens),
            used=F("used") + counted,
        )
    transaction.on_commit(
        lambda: logger.info(
            "Recorded usage of %s tokens on %s", event.total_tokens, model
        )
    )
    return event
