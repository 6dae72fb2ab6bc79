"""Put an organization on a plan; the way to change plans with billing off."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from organizations.models import Organization, Plan


class Command(BaseCommand):
    help = "Put an organization on a plan, e.g. `manage.py set_plan acme team`."

    def add_arguments(self, parser) -> None:
        parser.add_argument("organization", help="The organization's subdomain.")
        parser.add_argument("plan", help="The plan's slug (free, team, business, ...).")

    def handle(self, *args, **options) -> None:
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None or organization.schema_name == "public":
            raise CommandError(
                f"No organization with subdomain {options['organization']!r}."
            )
        plan = Plan.objects.filter(slug=options["plan"]).first()
        if plan is None:
            choices = ", ".join(Plan.objects.values_list("slug", flat=True))
            raise CommandError(
                f"No plan {options['plan']!r}. Choose one of: {choices}."
            )
        organization.plan = plan
        organization.save(update_fields=["plan"])
        self.stdout.write(f"{organization.slug} is now on the {plan.name} plan.")
