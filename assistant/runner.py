"""Background event loop that runs answer generations in this process.

Each process (a daphne instance, a test run) has one loop in a daemon
thread. Views and consumers hand generations to it and return at once, so
an answer goes on when the socket that asked for it closes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading

from assistant.generation import generate

logger = logging.getLogger(__name__)

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()
_running: dict[tuple[str, int], concurrent.futures.Future] = {}


def _get_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=_loop.run_forever, name="generation-loop", daemon=True
            )
            thread.start()
        return _loop


def start_generation(schema_name: str, message_id: int) -> concurrent.futures.Future:
    """Start generating the answer; return a future that ends with it."""
    key = (schema_name, message_id)
    future = asyncio.run_coroutine_threadsafe(
        generate(schema_name, message_id), _get_loop()
    )
    _running[key] = future

    def forget(done: concurrent.futures.Future) -> None:
        _running.pop(key, None)
        if not done.cancelled() and done.exception() is not None:
            logger.error(
                "Generation of message %s ended with %r", message_id, done.exception()
            )

    future.add_done_callback(forget)
    return future


def running_count() -> int:
    return len(_running)
