from __future__ import annotations

from config.errors import ServiceError


class QuotaExceeded(ServiceError):
    status_code = 402
    code = "quota_exceeded"
