"""Organizations (tenants), their domains, memberships and plans.

These tables live in the public schema; each organization's own data lives
in the PostgreSQL schema named by ``Organization.schema_name``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from organizations.querysets import MembershipQuerySet, OrganizationQuerySet


class Plan(models.Model):
    """A subscription plan: monthly token allowance and allowed models."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    monthly_tokens = models.BigIntegerField(help_text="Tokens included per month.")
    allowed_models = models.JSONField(
        default=list,
        blank=True,
        help_text="Claude model ids; empty allows the default.",
    )
    stripe_price_id = models.CharField(max_length=100, blank=True)
    requests_per_minute = models.PositiveIntegerField(default=30)

    def __str__(self) -> str:
        return self.name


class Organization(TenantMixin):
    """A customer organization, served on its own subdomain and schema."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=40, unique=True)
    # Only the public schema's own row has no plan.
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        related_name="organizations",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True
    # Deleting an organization deletes its schema, so a later sign-up with
    # the same subdomain starts empty.
    auto_drop_schema = True

    objects = OrganizationQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        return organization_url(self.slug)


def organization_url(slug: str, path: str = "/") -> str:
    port = settings.PUBLIC_PORT
    default_port = {"http": 80, "https": 443}[settings.URL_SCHEME]
    suffix = "" if port == default_port else f":{port}"
    return f"{settings.URL_SCHEME}://{slug}.{settings.BASE_DOMAIN}{suffix}{path}"


def public_url(path: str = "/") -> str:
    port = settings.PUBLIC_PORT
    default_port = {"http": 80, "https": 443}[settings.URL_SCHEME]
    suffix = "" if port == default_port else f":{port}"
    return f"{settings.URL_SCHEME}://{settings.BASE_DOMAIN}{suffix}{path}"


class Domain(DomainMixin):
    pass


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        MEMBER = "member"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="one_membership_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"
