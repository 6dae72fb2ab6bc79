"""Shared fixtures: two organizations, their members and HTTP clients.

Tests run against the real PostgreSQL and Redis named in pyproject.toml.
Data is committed (no per-test transaction), because the Celery worker,
the generation loop and the Channels consumer read it from other
connections; tests therefore create what they need with unique names.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass

import pytest
import redis
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client

from organizations.services import sign_up

PASSWORD = "correct horse battery staple"
_counter = itertools.count()


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker, django_db_keepdb):
    """Create the test database, then the public site and template schema.

    pytest-django only creates databases that ``django_db`` marks ask for,
    and these tests use none (see the module docstring), so this fixture
    creates the database itself. ``--reuse-db`` keeps it between runs.
    """
    from django.test.utils import setup_databases, teardown_databases

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=0, interactive=False, keepdb=django_db_keepdb, aliases={"default"}
        )
        call_command("bootstrap", verbosity=0)
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            name = connection.settings_dict["NAME"]
            connection.close()
            # The Celery worker and generation threads keep connections of
            # their own, which would block DROP DATABASE.
            with connection._nodb_cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    [name],
                )
            teardown_databases(config, verbosity=0)


@pytest.fixture(autouse=True)
def _database(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        yield
        connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> None:
    """Give each test, and so each event loop, a channel layer of its own.

    In channels_redis 4.3 (``ChannelLock`` in ``core.py``), all consumers of
    one layer share an ``asyncio.Lock`` in ``receive_single``. A receive that
    is cancelled while it waits for that lock never decrements the waiter
    count, so the lock outlives the test and stays bound to its event loop.
    A later test's consumer then fails with "bound to a different event
    loop". In a server only daphne's event loop receives, so only tests,
    which start a new loop each, meet this.
    """
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)


@pytest.fixture(scope="session")
def celery_worker_thread(django_db_setup, django_db_blocker):
    """A real Celery worker, in a thread, consuming from the Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    with django_db_blocker.unblock():
        with start_worker(
            app, pool="solo", perform_ping_check=False, loglevel="WARNING"
        ):
            yield


@dataclass
class Member:
    email: str
    user: object
    token: str


@dataclass
class Org:
    organization: object
    owner: Member

    @property
    def host(self) -> str:
        return f"{self.organization.slug}.{settings.BASE_DOMAIN}"

    @property
    def schema(self) -> str:
        return self.organization.schema_name


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}{uuid.uuid4().hex[:6]}"


def make_org(prefix: str = "org") -> Org:
    """Sign up a new owner with a new organization."""
    slug = unique(prefix)
    email = f"owner@{slug}.example.com"
    user, organization, token = sign_up(
        email=email, password=PASSWORD, organization=slug.title(), subdomain=slug
    )
    connection.set_schema_to_public()
    return Org(organization, Member(email, user, token))


@pytest.fixture(scope="session")
def org_a(django_db_setup, django_db_blocker) -> Org:
    with django_db_blocker.unblock():
        return make_org("acme")


@pytest.fixture(scope="session")
def org_b(django_db_setup, django_db_blocker) -> Org:
    with django_db_blocker.unblock():
        return make_org("globex")


class ApiClient:
    """A Django test client bound to one host, with optional token auth."""

    def __init__(self, host: str, token: str | None = None) -> None:
        self.client = Client(HTTP_HOST=host)
        self.headers = {"Authorization": f"Token {token}"} if token else {}

    def _send(self, method: str, path: str, data=None, **kwargs):
        caller = getattr(self.client, method)
        if data is not None and "content_type" not in kwargs and method != "get":
            kwargs["content_type"] = "application/json"
            data = json.dumps(data)
        response = caller(path, data, headers=self.headers, **kwargs)
        connection.set_schema_to_public()
        return response

    def get(self, path: str, **kwargs):
        return self._send("get", path, **kwargs)

    def post(self, path: str, data=None, **kwargs):
        return self._send("post", path, data, **kwargs)

    def patch(self, path: str, data=None, **kwargs):
        return self._send("patch", path, data, **kwargs)

    def delete(self, path: str, **kwargs):
        return self._send("delete", path, **kwargs)

    def upload(self, path: str, filename: str, content: bytes, **fields):
        from django.core.files.uploadedfile import SimpleUploadedFile

        data = {"file": SimpleUploadedFile(filename, content), **fields}
        response = self.client.post(path, data, headers=self.headers)
        connection.set_schema_to_public()
        return response


@pytest.fixture
def api_a(org_a) -> ApiClient:
    return ApiClient(org_a.host, org_a.owner.token)


@pytest.fixture
def api_b(org_b) -> ApiClient:
    return ApiClient(org_b.host, org_b.owner.token)
