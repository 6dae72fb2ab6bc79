from __future__ import annotations

from django.db import models


class OrganizationQuerySet(models.QuerySet):
    def for_member(self, user) -> OrganizationQuerySet:
        """Organizations the user belongs to."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(memberships__user=user).exclude(schema_name="public")


class MembershipQuerySet(models.QuerySet):
    def of(self, user, organization) -> MembershipQuerySet:
        if not getattr(user, "is_authenticated", False) or organization is None:
            return self.none()
        return self.filter(user=user, organization=organization)
