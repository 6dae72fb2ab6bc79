from __future__ import annotations

from django.conf import settings
from django.db import connection

from organizations.models import public_url


def organization(request) -> dict:
    tenant = getattr(connection, "tenant", None)
    is_workspace = tenant is not None and tenant.schema_name != "public"
    return {
        "organization": tenant if is_workspace else None,
        "public_site_url": public_url(),
        "billing_enabled": settings.BILLING_ENABLED,
    }
