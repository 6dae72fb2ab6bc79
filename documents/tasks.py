from __future__ import annotations

import datetime
import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import get_tenant_model, schema_context

from config.observability import bind_context
from documents.models import Document
from documents.services import mark_failed, run_extraction

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def extract_document(schema_name: str, document_id: int) -> None:
    """Extract a document's text inside its organization's schema."""
    bind_context(organization=schema_name)
    with schema_context(schema_name):
        document = Document.objects.filter(pk=document_id).first()
        if document is None:
            logger.info("Document %s was deleted before extraction", document_id)
            return
        try:
            run_extraction(document)
        except SoftTimeLimitExceeded:
            mark_failed(
                document,
                "extraction_timeout",
                "Reading this file took too long. Try a smaller or simpler file.",
            )
        except Exception:
            logger.exception("Extraction of document %s crashed", document_id)
            mark_failed(
                document,
                "extraction_failed",
                "The file could not be processed. Check that it opens on your "
                "computer, then upload it again.",
            )


@shared_task
def sweep_stuck_documents() -> int:
    """Fail documents whose extraction died with its worker.

    A running extraction stores its progress at least every few seconds, and
    Celery kills one that passes its hard time limit, so a document that has
    not changed for longer than that limit has no task left.
    """
    cutoff = timezone.now() - datetime.timedelta(
        seconds=settings.CELERY_TASK_TIME_LIMIT + 60
    )
    failed = 0
    for organization in get_tenant_model().objects.exclude(schema_name="public"):
        with schema_context(organization.schema_name):
            stuck = Document.objects.filter(
                status=Document.Status.PROCESSING, updated_at__lt=cutoff
            )
            for document in stuck:
                mark_failed(
                    document,
                    "extraction_interrupted",
                    "Processing stopped before the document was read. "
                    "Upload the file again.",
                )
                failed += 1
    if failed:
        logger.warning("Failed %s documents whose extraction was lost", failed)
    return failed
