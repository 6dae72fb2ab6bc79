from __future__ import annotations

import pytest

from assistant.concurrency import KEY, model_slot
from assistant.engines.base import EngineError
from assistant.streams import redis_client


async def test_model_slots_are_limited_and_released(settings):
    settings.ANTHROPIC_CONCURRENCY = 1
    await redis_client().delete(KEY)

    async with model_slot():
        with pytest.raises(EngineError) as refused:
            async with model_slot(wait_seconds=0.3):
                pass
        assert refused.value.code == "model_busy"

    async with model_slot(wait_seconds=0.3):
        assert await redis_client().zcard(KEY) == 1
    assert await redis_client().zcard(KEY) == 0


async def test_slot_of_a_dead_holder_expires(settings):
    settings.ANTHROPIC_CONCURRENCY = 1
    client = redis_client()
    await client.delete(KEY)
    await client.zadd(KEY, {"crashed-instance": 1.0})

    async with model_slot(wait_seconds=0.3):
        members = await client.zrange(KEY, 0, -1)
    assert b"crashed-instance" not in members
