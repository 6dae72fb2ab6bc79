from __future__ import annotations

import datetime
import logging

from asgiref.sync import async_to_sync
from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_tenant_model, schema_context

from assistant import streams
from assistant.engines.base import Usage
from assistant.models import Message
from billing.services import Reservation, current_period, record_usage
from config.observability import bind_context

logger = logging.getLogger(__name__)

LOST_MESSAGE = "The server handling this answer stopped. Ask again."


@shared_task
def sweep_stale_answers() -> int:
    """Fail answers left ``streaming`` by an instance that died.

    An answer whose row has not changed for STALE_ANSWER_SECONDS keeps its
    partial text, becomes ``failed`` and gives back its quota reservation.
    """
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.STALE_ANSWER_SECONDS)
    swept = 0
    for organization in get_tenant_model().objects.exclude(schema_name="public"):
        bind_context(organization=organization.schema_name)
        with schema_context(organization.schema_name):
            stale = Message.objects.filter(
                status=Message.Status.STREAMING, updated_at__lt=cutoff
            )
            for message in stale:
                swept += _fail_stale(organization, message)
    return swept


def _fail_stale(organization, message: Message) -> int:
    with transaction.atomic():
        updated = Message.objects.filter(
            pk=message.pk, status=Message.Status.STREAMING
        ).update(
            status=Message.Status.FAILED,
            error_code="answer_lost",
            error_message=LOST_MESSAGE,
            updated_at=timezone.now(),
        )
        if not updated:
            return 0
        reservation = Reservation(
            organization.pk, current_period(message.created_at), message.reserved_tokens
        )
        record_usage(
            reservation=reservation,
            message=message,
            user=message.created_by,
            engine=message.engine,
            model=message.model,
            usage=Usage(output_tokens=len(message.content) // 4),
        )
    logger.warning("Marked stale answer %s as failed", message.pk)
    # Tell open chats, which would otherwise wait for frames forever.
    async_to_sync(streams.publish_ending)(
        organization.schema_name,
        message.pk,
        message.last_seq,
        [
            {"type": "error", "code": "answer_lost", "message": LOST_MESSAGE},
            {"type": "done", "stop_reason": "", "status": "failed"},
        ],
    )
    return 1
