"""Engine selection by configuration: Claude with a key, offline without."""

from __future__ import annotations

from django.conf import settings

from assistant.engines.base import Engine


def get_engine() -> Engine:
    if settings.ANTHROPIC_API_KEY:
        from assistant.engines.claude import ClaudeEngine

        return ClaudeEngine(
            settings.ANTHROPIC_API_KEY,
            model=settings.ANTHROPIC_MODEL,
            base_url=settings.ANTHROPIC_BASE_URL,
            max_retries=settings.ANTHROPIC_MAX_RETRIES,
        )
    from assistant.engines.offline import OfflineEngine

    return OfflineEngine()
