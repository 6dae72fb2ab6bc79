from __future__ import annotations

from config.errors import ServiceError


class RateLimited(ServiceError):
    status_code = 429
    code = "rate_limited"


class QuotaExceeded(ServiceError):
    status_code = 402
    code = "quota_exceeded"
