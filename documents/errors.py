from __future__ import annotations

from config.errors import ServiceError


class FileTooLarge(ServiceError):
    status_code = 413
    code = "file_too_large"


class UnsupportedFile(ServiceError):
    status_code = 415
    code = "unsupported_file_type"


class Unreadable(ServiceError):
    status_code = 422
    code = "unreadable_document"


class DocumentNotReady(ServiceError):
    status_code = 409
    code = "document_not_ready"
