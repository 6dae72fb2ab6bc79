"""The live event log of each streaming answer.

Every frame of an answer gets a sequence number, is appended to a Redis
list and is then sent to the channel-layer group of that message. A socket
that starts following an answer joins the group first and then reads the
list, dropping frames it has already sent, so no frame is lost or doubled.
"""

from __future__ import annotations

import asyncio
import json
import weakref

import redis
import redis.asyncio as aioredis
from channels.layers import get_channel_layer
from django.conf import settings

LOG_TTL_SECONDS = 24 * 3600
_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def group_name(schema_name: str, message_id: int) -> str:
    return f"answer.{schema_name}.{message_id}"


def _log_key(schema_name: str, message_id: int) -> str:
    return f"docassist:answer:{schema_name}:{message_id}"


def _stop_key(schema_name: str, message_id: int) -> str:
    return f"docassist:stop:{schema_name}:{message_id}"


def redis_client() -> aioredis.Redis:
    """Return the Redis client of the running event loop, creating it once."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        _clients[loop] = client
    return client


async def publish(schema_name: str, message_id: int, frame: dict) -> None:
    """Append a frame (which already carries its ``seq``) and broadcast it."""
    key = _log_key(schema_name, message_id)
    client = redis_client()
    await client.rpush(key, json.dumps(frame))
    await client.expire(key, LOG_TTL_SECONDS)
    await get_channel_layer().group_send(
        group_name(schema_name, message_id), {"type": "answer.frame", "frame": frame}
    )


async def publish_ending(
    schema_name: str, message_id: int, last_seq: int, frames: list[dict]
) -> None:
    """Append closing frames to an answer whose generation is gone."""
    logged = await read_log(schema_name, message_id, 0)
    seq = max([last_seq, *(frame.get("seq", 0) for frame in logged)])
    for frame in frames:
        seq += 1
        await publish(
            schema_name, message_id, {**frame, "message_id": message_id, "seq": seq}
        )


async def read_log(schema_name: str, message_id: int, after: int) -> list[dict]:
    """Return the logged frames of the answer with ``seq`` above ``after``."""
    raw = await redis_client().lrange(_log_key(schema_name, message_id), 0, -1)
    frames = [json.loads(item) for item in raw]
    return [frame for frame in frames if frame.get("seq", 0) > after]


def request_stop(schema_name: str, message_id: int) -> None:
    """Flag the answer to stop; its generation, on any instance, checks the flag."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.set(_stop_key(schema_name, message_id), 1, ex=3600)
    finally:
        client.close()


async def stop_requested(schema_name: str, message_id: int) -> bool:
    return bool(await redis_client().exists(_stop_key(schema_name, message_id)))
