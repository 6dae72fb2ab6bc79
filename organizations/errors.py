from __future__ import annotations

from config.errors import Conflict, ServiceError


class SubdomainTaken(Conflict):
    code = "subdomain_taken"


class EmailTaken(Conflict):
    code = "email_taken"


class InvalidHandoff(ServiceError):
    status_code = 400
    code = "invalid_handoff"
