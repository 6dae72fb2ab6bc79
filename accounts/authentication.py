"""``Authorization: Token <key>`` for the REST API and the chat socket."""

from __future__ import annotations

import logging

from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import ApiToken, hash_token
from config.observability import bind_context

logger = logging.getLogger(__name__)


def token_for_key(key: str, schema_name: str) -> ApiToken | None:
    """Find the active token with this key in the organization, or None.

    A token only opens the organization it was issued in. Finding it
    records when it was last used.
    """
    token = (
        ApiToken.objects.active()
        .select_related("user", "organization")
        .filter(key_hash=hash_token(key), organization__schema_name=schema_name)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def user_for_key(key: str, schema_name: str):
    """Return the active user of ``key`` in the organization, or None."""
    token = token_for_key(key, schema_name)
    return token.user if token is not None else None


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(
            "latin-1", errors="replace"
        )
        parts = header.split()
        if not parts or parts[0] != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header. Send 'Authorization: Token <key>'."
            )
        token = token_for_key(parts[1], connection.schema_name)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "Invalid or revoked token. Create a new token and try again."
            )
        bind_context(user=str(token.user_id))
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword
