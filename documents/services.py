"""Document upload, extraction and removal."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone

from config.errors import ServiceError
from documents import extraction
from documents.chunking import split_into_chunks
from documents.errors import FileTooLarge, Unreadable, UnsupportedFile
from documents.models import Chunk, Document
from documents.querysets import SEARCH_CONFIG
from documents.storage import absolute_path, document_folder

logger = logging.getLogger(__name__)

MAX_TITLE = 255
MAX_PASTE_CHARS = 5_000_000


def _safe_filename(name: str) -> str:
    """Make a file name safe to store, keeping its extension when shortening."""
    base = Path(name).name
    cleaned = "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in base)
    cleaned = cleaned.strip() or "document"
    suffix = Path(cleaned).suffix[:16]
    return cleaned[: 200 - len(suffix)].removesuffix(suffix) + suffix


def upload_document(upload: UploadedFile, *, title: str, user) -> Document:
    """Store an uploaded file and queue its extraction.

    Size and type are checked before anything is written, so a rejected
    upload leaves no row and no file behind.
    """
    if upload.size > settings.MAX_UPLOAD_BYTES:
        limit_mb = settings.MAX_UPLOAD_BYTES / 1048576
        raise FileTooLarge(
            f"The file is {upload.size / 1048576:.2f} MB; the limit is "
            f"{limit_mb:.2f} MB. "
            "Split the document or upload a smaller file."
        )
    head = upload.read(4096)
    upload.seek(0)
    try:
        kind = extraction.detect_kind(upload.name or "", head)
    except extraction.UnsupportedFileType as error:
        raise UnsupportedFile(error.message) from None

    filename = _safe_filename(upload.name or "document")
    schema = connection.schema_name
    with transaction.atomic():
        document = Document.objects.create(
            title=(title or Path(filename).stem)[:MAX_TITLE],
            filename=filename,
            kind=kind,
            size_bytes=upload.size,
            uploaded_by=user,
        )
        folder = document_folder(schema, document.pk)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / filename, "wb") as target:
            for part in upload.chunks():
                target.write(part)
        document.file_path = str((folder / filename).relative_to(settings.MEDIA_ROOT))
        document.save(update_fields=["file_path"])
        transaction.on_commit(lambda: _queue_extraction(schema, document.pk))

    logger.info("Stored upload %s as document %s", kind, document.pk)
    return document


def _queue_extraction(schema_name: str, document_id: int) -> None:
    from documents.tasks import extract_document

    extract_document.delay(schema_name, document_id)


def paste_document(*, title: str, content: str, user) -> Document:
    """Create a ready document from pasted text."""
    if not content.strip():
        raise ServiceError("The pasted text is empty. Paste some text and try again.")
    if len(content) > MAX_PASTE_CHARS:
        raise FileTooLarge(
            f"Pasted text is limited to {MAX_PASTE_CHARS:,} characters. "
            "Upload it as a file instead."
        )
    text = content.replace("\r\n", "\n").replace("\x00", "")
    with transaction.atomic():
        document = Document.objects.create(
            title=title[:MAX_TITLE] or "Pasted text", kind="text", uploaded_by=user
        )
        # Form feeds split pages, as they do in uploaded text files.
        extracted = extraction.assemble_pages(text.split("\f"), "text")
        _store_extracted(document, extracted)
    return document


def _store_extracted(document: Document, extracted: extraction.ExtractedText) -> None:
    """Save text, pages and chunks and mark the document ready."""
    Chunk.objects.filter(document=document).delete()
    chunks = split_into_chunks(extracted.text, extracted.pages)
    Chunk.objects.bulk_create(
        Chunk(
            document=document,
            index=chunk.index,
            start=chunk.start,
            end=chunk.end,
            page=chunk.page,
            text=chunk.text,
        )
        for chunk in chunks
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE documents_chunk"
            " SET search_vector = to_tsvector(%s::regconfig, text)"
            " WHERE document_id = %s",
            [SEARCH_CONFIG, document.pk],
        )
    document.text = extracted.text
    document.page_offsets = [list(page) for page in extracted.pages]
    document.page_count = len(extracted.pages)
    document.status = Document.Status.READY
    document.error_code = ""
    document.error_message = ""
    document.save()


def run_extraction(document: Document) -> None:
    """Extract the stored file's text; mark the document ready or failed."""
    path = absolute_path(document.file_path)
    try:
        extracted = extraction.extract(
            path, document.filename, on_page=_progress_reporter(document.pk)
        )
    except extraction.UnreadableDocument as error:
        mark_failed(document, Unreadable.code, error.message)
        return
    except extraction.UnsupportedFileType as error:
        mark_failed(document, UnsupportedFile.code, error.message)
        return
    with transaction.atomic():
        _store_extracted(document, extracted)
    logger.info(
        "Extracted document %s: %s pages, %s characters",
        document.pk,
        document.page_count,
        len(document.text),
    )


def _progress_reporter(document_id: int):
    """A callback that stores pages done, at most twice a second."""
    last_saved = 0.0

    def report(done: int, total: int) -> None:
        nonlocal last_saved
        now = time.monotonic()
        if now - last_saved < 0.5 and done < total:
            return
        last_saved = now
        Document.objects.filter(pk=document_id).update(
            pages_done=done, pages_total=total, updated_at=timezone.now()
        )

    return report


def mark_failed(document: Document, code: str, message: str) -> None:
    document.status = Document.Status.FAILED
    document.error_code = code
    document.error_message = message
    document.save(update_fields=["status", "error_code", "error_message", "updated_at"])
    logger.info("Document %s failed: %s", document.pk, code)


def rename_document(document: Document, title: str) -> Document:
    document.title = title[:MAX_TITLE]
    document.save(update_fields=["title", "updated_at"])
    return document


def delete_document(document: Document) -> None:
    """Delete the document, its chunks and its stored file."""
    folder = document_folder(connection.schema_name, document.pk)
    document.delete()
    transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))
