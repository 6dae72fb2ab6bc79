from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django_tenants.utils import schema_context

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
