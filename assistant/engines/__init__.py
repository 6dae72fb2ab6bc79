"""Engine selection by configuration: Claude with a key, offline without."""

from __future__ import annotations

import asyncio

from django.conf import settings

from assistant.engines.base import Engine

_claude_engines: dict[tuple, Engine] = {}


def get_engine() -> Engine:
    """The engine the configuration selects.

    Claude engines are reused per event loop and configuration, because
    each holds an HTTP connection pool bound to the loop that opened it.
    """
    if not settings.ANTHROPIC_API_KEY:
        from assistant.engines.offline import OfflineEngine

        return OfflineEngine()

    from assistant.engines.claude import ClaudeEngine

    try:
        loop_id = id(asyncio.get_running_loop())
    except RuntimeError:
        loop_id = None
    key = (
        loop_id,
        settings.ANTHROPIC_API_KEY,
        settings.ANTHROPIC_MODEL,
        settings.ANTHROPIC_BASE_URL,
        settings.ANTHROPIC_MAX_RETRIES,
    )
    engine = _claude_engines.get(key) if loop_id is not None else None
    if engine is None:
        engine = ClaudeEngine(
            settings.ANTHROPIC_API_KEY,
            model=settings.ANTHROPIC_MODEL,
            base_url=settings.ANTHROPIC_BASE_URL,
            max_retries=settings.ANTHROPIC_MAX_RETRIES,
        )
        if loop_id is not None:
            _claude_engines[key] = engine
    return engine
