from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.db import connection
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    """Route allauth's sign-up to ours, which also creates the organization."""

    def is_open_for_signup(self, request) -> bool:
        # Workspaces have no sign-up: people join an organization by
        # invitation, and new organizations start on the public site.
        return connection.schema_name == "public"

    def get_signup_redirect_url(self, request) -> str:
        return reverse("home")
