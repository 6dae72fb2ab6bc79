"""Sign-up, organization creation and the cross-host sign-in hand-off."""

from __future__ import annotations

import logging
import re
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django_tenants.utils import schema_exists

from accounts.models import ApiToken
from organizations.errors import EmailTaken, InvalidHandoff, SubdomainTaken
from organizations.models import (
    Domain,
    Membership,
    Organization,
    Plan,
    organization_url,
)

logger = logging.getLogger(__name__)

SUBDOMAIN_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
RESERVED_SUBDOMAINS = frozenset(
    {
        "www",
        "api",
        "admin",
        "app",
        "mail",
        "static",
        "media",
        "public",
        "billing",
        "status",
        "help",
        "support",
        "accounts",
        "ws",
        "assets",
        "cdn",
        "docs",
    }
)
DEFAULT_PLAN = "free"
HANDOFF_SALT = "organizations.handoff"


def subdomain_problem(subdomain: str) -> str | None:
    """Explain why ``subdomain`` cannot be used, or return None if it can."""
    if not SUBDOMAIN_PATTERN.match(subdomain):
        return (
            "Use 1 to 40 lowercase letters, digits or hyphens, starting and "
            "ending with a letter or digit."
        )
    if subdomain.startswith("xn--"):
        return "Internationalized (xn--) subdomains are not supported. Choose another."
    if subdomain in RESERVED_SUBDOMAINS:
        return f"The subdomain '{subdomain}' is reserved. Choose another."
    return None


def schema_name_for(subdomain: str) -> str:
    # PostgreSQL identifiers cannot contain hyphens without quoting.
    return "org_" + subdomain.replace("-", "_")


def create_organization(name: str, subdomain: str, owner) -> Organization:
    """Create the organization, its schema and domain, and the owner membership."""
    taken = Organization.objects.filter(slug=subdomain).exists()
    # A schema left behind by an organization deleted outside the admin
    # still contains its data, so its subdomain stays taken.
    if taken or schema_exists(schema_name_for(subdomain)):
        raise SubdomainTaken(f"The subdomain '{subdomain}' is taken. Choose another.")
    plan = Plan.objects.get(slug=DEFAULT_PLAN)
    try:
        with transaction.atomic():
            organization = Organization.objects.create(
                name=name,
                slug=subdomain,
                schema_name=schema_name_for(subdomain),
                plan=plan,
            )
            Domain.objects.create(
                domain=f"{subdomain}.{settings.BASE_DOMAIN}",
                tenant=organization,
                is_primary=True,
            )
            Membership.objects.create(
                user=owner, organization=organization, role=Membership.Role.OWNER
            )
    except IntegrityError:
        raise SubdomainTaken(
            f"The subdomain '{subdomain}' is taken. Choose another."
        ) from None
    logger.info(
        "Created organization %s for user %s", organization.schema_name, owner.pk
    )
    return organization


def sign_up(*, email: str, password: str, organization: str, subdomain: str):
    """Create a user, their organization and an API token for it.

    Returns ``(user, organization, token_key)``. The whole sign-up is one
    transaction, so a failure leaves no user without an organization.
    """
    User = get_user_model()
    email = email.strip().lower()
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise EmailTaken(
                "An account with this email exists. Sign in with it instead, or "
                "sign up with another email address."
            )
        user = User.objects.create_user(email=email, password=password)
        org = create_organization(organization, subdomain, user)
        _, key = ApiToken.issue(user, org, name="sign-up")
    return user, org, key


def handoff_url(user, organization: Organization, next_path: str = "/") -> str:
    """Build a one-time, short-lived link that signs the user in on the workspace."""
    payload = {
        "u": user.pk,
        "s": organization.schema_name,
        "n": secrets.token_urlsafe(16),
        "p": next_path if next_path.startswith("/") else "/",
    }
    token = signing.dumps(payload, salt=HANDOFF_SALT)
    return organization_url(organization.slug, f"/handoff/{token}/")


def redeem_handoff(token: str, organization: Organization):
    """Check a hand-off token for this organization; return (user, next path).

    Each token works once: its nonce is recorded in the shared cache.
    """
    try:
        payload = signing.loads(
            token, salt=HANDOFF_SALT, max_age=settings.HANDOFF_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired:
        raise InvalidHandoff("This sign-in link has expired. Sign in again.") from None
    except signing.BadSignature:
        raise InvalidHandoff("This sign-in link is invalid. Sign in again.") from None
    if payload.get("s") != organization.schema_name:
        raise InvalidHandoff("This sign-in link is for another organization.")
    nonce_key = f"handoff:{payload['n']}"
    if not cache.add(nonce_key, 1, timeout=settings.HANDOFF_MAX_AGE_SECONDS * 2):
        raise InvalidHandoff("This sign-in link was already used. Sign in again.")
    user = get_user_model().objects.filter(pk=payload["u"], is_active=True).first()
    if user is None or not Membership.objects.of(user, organization).exists():
        raise InvalidHandoff("This sign-in link is invalid. Sign in again.")
    return user, payload.get("p", "/")
