from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.test import Client

from organizations.services import handoff_url
from tests.conftest import PASSWORD, make_org


def _path(url: str) -> str:
    return urlparse(url).path


def test_signup_page_signs_in_on_the_workspace():
    public = Client(HTTP_HOST=settings.BASE_DOMAIN)
    slug = "page" + make_org("tmp").organization.slug[-8:]

    response = public.post(
        "/signup/",
        {
            "email": f"{slug}@example.com",
            "password": PASSWORD,
            "organization": "Page Co",
            "subdomain": slug,
        },
    )

    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert target.hostname == f"{slug}.{settings.BASE_DOMAIN}"
    workspace = Client(HTTP_HOST=f"{slug}.{settings.BASE_DOMAIN}")
    landed = workspace.get(target.path)
    assert landed.status_code == 302
    assert landed["Location"] == "/"
    page = workspace.get("/")
    assert page.status_code == 200
    assert f"{slug}@example.com" in page.content.decode()


def test_handoff_link_works_once(org_a):
    url = handoff_url(org_a.owner.user, org_a.organization)
    first = Client(HTTP_HOST=org_a.host).get(_path(url))
    second = Client(HTTP_HOST=org_a.host).get(_path(url))

    assert first.status_code == 302
    assert second.status_code == 400
    assert "already used" in second.content.decode()


def test_handoff_link_for_another_organization_is_rejected(org_a, org_b):
    url = handoff_url(org_a.owner.user, org_a.organization)
    response = Client(HTTP_HOST=org_b.host).get(_path(url))

    assert response.status_code == 400
    assert "another organization" in response.content.decode()
    assert "_auth_user_id" not in Client(HTTP_HOST=org_b.host).session


def test_tampered_handoff_link_is_rejected(org_a):
    url = handoff_url(org_a.owner.user, org_a.organization)
    response = Client(HTTP_HOST=org_a.host).get(_path(url)[:-3] + "xx/")

    assert response.status_code == 400
    assert "invalid" in response.content.decode()


def test_expired_handoff_link_is_rejected(org_a, settings):
    settings.HANDOFF_MAX_AGE_SECONDS = -1
    url = handoff_url(org_a.owner.user, org_a.organization)
    response = Client(HTTP_HOST=org_a.host).get(_path(url))

    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_switcher_links_only_to_own_organizations(org_a, org_b):
    public = Client(HTTP_HOST=settings.BASE_DOMAIN)
    public.force_login(org_a.owner.user)

    own = public.get(f"/go/{org_a.organization.slug}/")
    foreign = public.get(f"/go/{org_b.organization.slug}/")

    assert own.status_code == 302
    assert urlparse(own["Location"]).hostname == org_a.host
    assert foreign.status_code == 404


def test_public_home_lists_memberships(org_a, org_b):
    public = Client(HTTP_HOST=settings.BASE_DOMAIN)
    public.force_login(org_a.owner.user)
    page = public.get("/").content.decode()

    assert org_a.organization.name in page
    assert org_b.organization.name not in page
