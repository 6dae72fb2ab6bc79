"""Database access from async code, always inside a named schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django_tenants.utils import schema_context

T = TypeVar("T")


async def in_schema(schema_name: str, function: Callable[..., T], *args, **kwargs) -> T:
    """Run a sync function in a worker thread with the schema set.

    The schema is set on that thread's connection for the call and reset
    afterwards, so it never leaks into the next call that thread serves.
    """

    def call() -> T:
        close_old_connections()
        try:
            with schema_context(schema_name):
                return function(*args, **kwargs)
        finally:
            close_old_connections()

    return await sync_to_async(call, thread_sensitive=False)()
