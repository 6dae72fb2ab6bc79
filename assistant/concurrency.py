"""A limit on concurrent calls to the model provider, shared by all instances.

Slots are members of a Redis sorted set scored by the time they were
taken. A slot whose holder died expires after SLOT_TTL_SECONDS, so a
crashed instance cannot keep slots forever.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import asynccontextmanager

from django.conf import settings

from assistant.engines.base import EngineError
from assistant.streams import redis_client

KEY = "docassist:model-slots"
SLOT_TTL_SECONDS = 900
POLL_SECONDS = 0.2


@asynccontextmanager
async def model_slot(wait_seconds: float = 60.0):
    """Hold one of ANTHROPIC_CONCURRENCY slots for the duration of a call.

    Raises EngineError ``model_busy`` when no slot frees up in time.
    """
    client = redis_client()
    member = uuid.uuid4().hex
    deadline = time.monotonic() + wait_seconds
    while True:
        now = time.time()
        await client.zremrangebyscore(KEY, 0, now - SLOT_TTL_SECONDS)
        await client.zadd(KEY, {member: now})
        rank = await client.zrank(KEY, member)
        if rank is not None and rank < settings.ANTHROPIC_CONCURRENCY:
            break
        await client.zrem(KEY, member)
        if time.monotonic() > deadline:
            raise EngineError(
                "model_busy",
                "All model connections are busy. Try again in a minute.",
            )
        await asyncio.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        await client.zrem(KEY, member)
