"""Prepare the database after migrations; safe to run again.

Creates the public site's tenant row and domain, and creates and migrates
the template schema that new organizations are copied from.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django_tenants.utils import schema_exists

from organizations.models import Domain, Organization


class Command(BaseCommand):
    help = "Create the public tenant, its domain and the organization template schema."

    def handle(self, *args, **options) -> None:
        public, _ = Organization.objects.get_or_create(
            schema_name="public", defaults={"name": "Public site", "slug": "public"}
        )
        Domain.objects.update_or_create(
            tenant=public, is_primary=True, defaults={"domain": settings.BASE_DOMAIN}
        )

        template = settings.TENANT_BASE_SCHEMA
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{template}"')
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=template,
            interactive=False,
            verbosity=options["verbosity"] - 1,
        )
        connection.set_schema_to_public()
        self.stdout.write(f"Public site ready on {settings.BASE_DOMAIN}.")
