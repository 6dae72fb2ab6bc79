from __future__ import annotations

from django_tenants.middleware.main import TenantMainMiddleware


class OrganizationMiddleware(TenantMainMiddleware):
    """Select the organization's schema from the request's host.

    Must be the first middleware: everything after it reads from the schema
    it sets. The public site (BASE_DOMAIN) gets the public schema and URL
    conf; an unknown subdomain is a 404.
    """
