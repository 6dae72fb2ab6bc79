from django.db import migrations

PLANS = [
    # slug, name, monthly tokens, requests per minute
    ("free", "Free", 500_000, 20),
    ("team", "Team", 10_000_000, 60),
    ("business", "Business", 100_000_000, 300),
]


def create_plans(apps, schema_editor):
    Plan = apps.get_model("organizations", "Plan")
    for slug, name, tokens, rate in PLANS:
        Plan.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "monthly_tokens": tokens,
                "requests_per_minute": rate,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("organizations", "0001_initial")]

    operations = [migrations.RunPython(create_plans, migrations.RunPython.noop)]
