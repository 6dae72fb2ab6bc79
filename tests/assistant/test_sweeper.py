from __future__ import annotations

import datetime

from django.utils import timezone
from django_tenants.utils import schema_context

from assistant.models import Conversation, Message
from assistant.tasks import sweep_stale_answers
from billing.ledger.models import UsageEvent
from billing.models import QuotaCounter
from billing.services import current_period, reserve
from tests.conftest import make_org


def _streaming_answer(org, *, age_seconds: int) -> int:
    reserve(org.organization, 500)
    with schema_context(org.schema):
        conversation = Conversation.objects.create(created_by=org.owner.user)
        message = Message.objects.create(
            conversation=conversation,
            role="assistant",
            status="streaming",
            content="partial answer so far",
            engine="offline",
            model="offline-extractive",
            reserved_tokens=500,
            created_by=org.owner.user,
        )
        Message.objects.filter(pk=message.pk).update(
            updated_at=timezone.now() - datetime.timedelta(seconds=age_seconds)
        )
        return message.pk


def test_sweeper_fails_stale_answers_and_keeps_text():
    org = make_org("sweep")
    stale = _streaming_answer(org, age_seconds=3600)
    fresh = _streaming_answer(org, age_seconds=0)

    swept = sweep_stale_answers()

    assert swept >= 1
    with schema_context(org.schema):
        stale_message = Message.objects.get(pk=stale)
        fresh_message = Message.objects.get(pk=fresh)
        usage = UsageEvent.objects.filter(message_id=stale).count()
    assert stale_message.status == "failed"
    assert stale_message.error_code == "answer_lost"
    assert stale_message.content == "partial answer so far"
    assert fresh_message.status == "streaming"
    assert usage == 1
    counter = QuotaCounter.objects.get(
        organization=org.organization, period_start=current_period()
    )
    assert counter.reserved == 500  # only the fresh answer still holds tokens


def test_sweeper_through_the_celery_worker(celery_worker_thread):
    org = make_org("sweepw")
    stale = _streaming_answer(org, age_seconds=3600)

    result = sweep_stale_answers.apply_async()
    deadline = timezone.now() + datetime.timedelta(seconds=20)
    status = "streaming"
    while status == "streaming" and timezone.now() < deadline:
        with schema_context(org.schema):
            status = Message.objects.get(pk=stale).status

    assert result.id
    assert status == "failed"


async def test_swept_answer_tells_open_chats_it_failed():
    from asgiref.sync import sync_to_async

    from assistant import streams

    org = await sync_to_async(make_org)("sweepf")
    stale = await sync_to_async(_streaming_answer)(org, age_seconds=3600)

    await sync_to_async(sweep_stale_answers)()

    frames = await streams.read_log(org.schema, stale, 0)
    assert [frame["type"] for frame in frames] == ["error", "done"]
    assert frames[0]["code"] == "answer_lost"
    assert frames[1]["status"] == "failed"
    assert frames[0]["seq"] < frames[1]["seq"]


def test_document_left_processing_is_failed():
    from documents.models import Document
    from documents.tasks import sweep_stuck_documents

    org = make_org("stuck")
    with schema_context(org.schema):
        stuck = Document.objects.create(title="lost", status="processing")
        fresh = Document.objects.create(title="busy", status="processing")
        Document.objects.filter(pk=stuck.pk).update(
            updated_at=timezone.now() - datetime.timedelta(hours=2)
        )

    assert sweep_stuck_documents() >= 1

    with schema_context(org.schema):
        stuck.refresh_from_db()
        fresh.refresh_from_db()
    assert stuck.status == "failed"
    assert stuck.error_code == "extraction_interrupted"
    assert "Upload the file again" in stuck.error_message
    assert fresh.status == "processing"
