from __future__ import annotations

from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_exists

from organizations.models import Domain, Membership, Organization
from tests.conftest import PASSWORD, ApiClient, unique


def signup(**overrides):
    slug = unique("sign")
    body = {
        "email": f"{slug}@example.com",
        "password": PASSWORD,
        "organization": "Sign Co",
        "subdomain": slug,
        **overrides,
    }
    return ApiClient(settings.BASE_DOMAIN).post("/api/v1/signup/", body), body


def test_signup_creates_schema_domain_and_owner():
    response, body = signup()

    assert response.status_code == 201
    data = response.json()
    assert data["organization"]["slug"] == body["subdomain"]
    assert data["organization"]["url"].startswith(
        f"http://{body['subdomain']}.localhost"
    )
    assert data["user"] == {"email": body["email"]}
    organization = Organization.objects.get(slug=body["subdomain"])
    assert schema_exists(organization.schema_name)
    assert Domain.objects.filter(
        tenant=organization, domain=f"{body['subdomain']}.localhost"
    ).exists()
    membership = Membership.objects.get(organization=organization)
    assert membership.role == "owner"
    assert membership.user.email == body["email"]


def test_signup_token_opens_the_new_workspace():
    response, body = signup()
    token = response.json()["token"]

    documents = ApiClient(f"{body['subdomain']}.localhost", token).get(
        "/api/v1/documents/"
    )

    assert documents.status_code == 200
    assert documents.json()["results"] == []


def test_signup_taken_subdomain_is_409(org_a):
    response, _ = signup(subdomain=org_a.organization.slug)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "subdomain_taken"


def test_signup_reserved_or_malformed_subdomain_is_400():
    for subdomain in ["www", "-bad", "UPPER_case", "a" * 41, "with.dot"]:
        response, _ = signup(subdomain=subdomain)
        assert response.status_code == 400, subdomain
        assert response.json()["error"]["code"] == "invalid"


def test_signup_weak_password_is_400_and_writes_nothing():
    response, body = signup(password="123")

    assert response.status_code == 400
    assert "password" in response.json()["error"]["message"]
    assert not Organization.objects.filter(slug=body["subdomain"]).exists()


def test_signup_existing_email_is_409_and_writes_nothing(org_a):
    response, body = signup(email=org_a.owner.email)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"
    assert not Organization.objects.filter(slug=body["subdomain"]).exists()


def test_signup_malformed_json_is_400():
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    response = client.post(
        "/api/v1/signup/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_signup_password_like_the_email_is_400():
    slug = unique("same")
    response, _ = signup(
        email=f"{slug}@example.com", password=f"{slug}@example.com", subdomain=slug
    )

    assert response.status_code == 400
    assert "too similar" in response.json()["error"]["message"]
