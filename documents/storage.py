"""Where uploaded files live: one folder per organization schema."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def document_folder(schema_name: str, document_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / schema_name / "documents" / str(document_id)


def absolute_path(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative
