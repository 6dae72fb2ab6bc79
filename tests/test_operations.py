"""Health, readiness, metrics and the operators' admin."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import PASSWORD


def test_health_answers_ok():
    response = Client(HTTP_HOST=settings.BASE_DOMAIN).get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_checks_database_redis_and_broker():
    response = Client(HTTP_HOST=settings.BASE_DOMAIN).get("/ready/")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "redis": "ok",
        "broker": "ok",
    }


def test_metrics_served_to_loopback_only():
    local = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR="127.0.0.1")
    remote = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR="203.0.113.9")

    assert b"docassist_http_requests_total" in local.get("/metrics").content
    assert remote.get("/metrics").status_code == 404


def test_admin_lists_organizations_users_and_usage(org_a):
    admin = get_user_model().objects.create_superuser(
        email=f"admin-{org_a.organization.slug}@example.com", password=PASSWORD
    )
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    client.force_login(admin)

    organizations = client.get("/admin/organizations/organization/")
    users = client.get("/admin/accounts/user/")
    usage = client.get("/admin/billing/quotacounter/")

    assert organizations.status_code == 200
    assert org_a.organization.name in organizations.content.decode()
    assert users.status_code == 200
    assert org_a.owner.email in users.content.decode()
    assert usage.status_code == 200


def test_admin_is_not_served_on_workspaces(org_a):
    response = Client(HTTP_HOST=org_a.host).get("/admin/")
    assert response.status_code == 404


def test_responses_carry_a_request_id():
    response = Client(HTTP_HOST=settings.BASE_DOMAIN).get("/health/")
    assert len(response["X-Request-ID"]) == 32


def test_unknown_api_url_answers_in_the_error_contract(org_a):
    response = Client(HTTP_HOST=org_a.host).get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_page_is_an_html_404(org_a):
    response = Client(HTTP_HOST=org_a.host).get("/nothing-here/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_set_plan_command_changes_the_plan():
    from django.core.management import CommandError, call_command

    from organizations.models import Organization
    from tests.conftest import make_org

    org = make_org("plan")
    call_command("set_plan", org.organization.slug, "team")

    assert Organization.objects.get(pk=org.organization.pk).plan.slug == "team"
    try:
        call_command("set_plan", org.organization.slug, "platinum")
    except CommandError as error:
        assert "Choose one of" in str(error)
    else:
        raise AssertionError("an unknown plan was accepted")
