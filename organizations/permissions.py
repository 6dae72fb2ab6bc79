from __future__ import annotations

from django.db import connection
from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.permissions import BasePermission

from organizations.models import Membership


def membership_for(user, tenant) -> Membership | None:
    """Return the user's membership in the tenant, or None."""
    return Membership.objects.of(user, tenant).first()


class IsMember(BasePermission):
    """Allow members of the request's organization.

    Anyone else gets a 404, as if the object did not exist, so that the
    subdomain gives no hint of what it holds.
    """

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated(
                "Authentication required. Sign in or send 'Authorization: Token <key>'."
            )
        tenant = getattr(request, "tenant", None) or getattr(connection, "tenant", None)
        membership = membership_for(request.user, tenant)
        if membership is None:
            raise NotFound()
        request.membership = membership
        return True
