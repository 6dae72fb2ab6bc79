"""Typed readers for environment variables.

Every setting comes through these functions so that a missing or malformed
value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlparse


class ConfigurationError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def load_env_file(path, env: dict | None = None) -> None:
    """Set variables from a ``KEY=VALUE`` file unless they are set already.

    Blank lines and lines starting with ``#`` are skipped; one pair of
    matching quotes around a value is removed.
    """
    env = os.environ if env is None else env
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        return
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        key = key.strip()
        if not separator or not key.isidentifier():
            raise ConfigurationError(
                f"{path}:{number} is not a KEY=VALUE line: {line[:40]!r}"
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env.setdefault(key, value)


def read_str(name: str, default: str | None = None, env: Mapping | None = None) -> str:
    env = os.environ if env is None else env
    value = env.get(name, "").strip()
    if value:
        return value
    if default is None:
        raise ConfigurationError(f"{name} is required but not set.")
    return default


def read_optional(name: str, env: Mapping | None = None) -> str | None:
    env = os.environ if env is None else env
    value = env.get(name, "").strip()
    return value or None


def read_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    env: Mapping | None = None,
) -> int:
    raw = read_optional(name, env)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"{name} must be a whole number, got {raw!r}."
        ) from None
    if minimum is not None and value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ConfigurationError(f"{name} must be at most {maximum}, got {value}.")
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def read_bool(name: str, default: bool, env: Mapping | None = None) -> bool:
    raw = read_optional(name, env)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}.")


def read_url(
    name: str, schemes: tuple[str, ...], env: Mapping | None = None
) -> str | None:
    """Read an optional URL and check that its scheme is one of ``schemes``."""
    raw = read_optional(name, env)
    if raw is None:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in schemes:
        expected = ", ".join(f"{scheme}://" for scheme in schemes)
        raise ConfigurationError(
            f"{name} must be a URL starting with {expected}, got scheme "
            f"{parsed.scheme!r}."
        )
    return raw


def read_hostname(name: str, default: str, env: Mapping | None = None) -> str:
    value = read_str(name, default, env).lower()
    labels = value.split(".")
    valid = all(
        label and len(label) <= 63 and label.replace("-", "").isalnum()
        for label in labels
    )
    if not valid:
        raise ConfigurationError(
            f"{name} must be a host name like example.com, got {value!r}."
        )
    return value


def database_from_url(url: str) -> dict:
    """Turn a postgresql:// URL into Django's DATABASES entry fields."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise ConfigurationError(
            f"DATABASE_URL must start with postgresql://, got {parsed.scheme!r}."
        )
    query = dict(part.split("=", 1) for part in parsed.query.split("&") if "=" in part)
    host = parsed.hostname or query.pop("host", "")
    name = parsed.path.lstrip("/")
    if not name:
        raise ConfigurationError("DATABASE_URL must name a database after the host.")
    return {
        "NAME": name,
        "USER": parsed.username or "",
        "PASSWORD": parsed.password or "",
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "OPTIONS": query,
    }
