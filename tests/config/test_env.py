from __future__ import annotations

import pytest

from config.env import (
    ConfigurationError,
    database_from_url,
    load_env_file,
    read_bool,
    read_hostname,
    read_int,
    read_str,
    read_url,
)


def test_read_str_missing_required_names_variable():
    with pytest.raises(ConfigurationError, match="SECRET_KEY is required"):
        read_str("SECRET_KEY", env={})


def test_read_str_default_and_value():
    assert read_str("X", "fallback", env={}) == "fallback"
    assert read_str("X", "fallback", env={"X": " set "}) == "set"


@pytest.mark.parametrize("raw", ["abc", "1.5", "8000x"])
def test_read_int_rejects_non_numbers(raw):
    with pytest.raises(
        ConfigurationError, match=f"PORT must be a whole number, got '{raw}'"
    ):
        read_int("PORT", 8000, env={"PORT": raw})


def test_read_int_bounds():
    assert read_int("PORT", 8000, env={}) == 8000
    assert read_int("PORT", 8000, minimum=1, env={"PORT": "9000"}) == 9000
    with pytest.raises(ConfigurationError, match="at least 1"):
        read_int("PORT", 8000, minimum=1, env={"PORT": "0"})
    with pytest.raises(ConfigurationError, match="at most 65535"):
        read_int("PORT", 8000, maximum=65535, env={"PORT": "70000"})


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("1", True), ("off", False), ("No", False)]
)
def test_read_bool_accepts_common_spellings(raw, expected):
    assert read_bool("DEBUG", False, env={"DEBUG": raw}) is expected


def test_read_bool_rejects_other_words():
    with pytest.raises(ConfigurationError, match="DEBUG must be true or false"):
        read_bool("DEBUG", False, env={"DEBUG": "maybe"})


def test_read_url_checks_scheme():
    env = {"REDIS_URL": "http://example.com"}
    with pytest.raises(
        ConfigurationError, match="REDIS_URL must be a URL starting with"
    ):
        read_url("REDIS_URL", ("redis", "unix"), env=env)
    assert read_url("REDIS_URL", ("redis",), env={}) is None


def test_read_hostname_rejects_ports_and_spaces():
    assert read_hostname("BASE_DOMAIN", "localhost", env={}) == "localhost"
    for bad in ["localhost:8000", "exa mple.com", "a..b"]:
        with pytest.raises(ConfigurationError, match="BASE_DOMAIN"):
            read_hostname("BASE_DOMAIN", "localhost", env={"BASE_DOMAIN": bad})


def test_database_from_url_with_socket_host():
    parsed = database_from_url("postgresql://postgres@/docassist?host=/data/pg")
    assert parsed["NAME"] == "docassist"
    assert parsed["HOST"] == "/data/pg"
    assert parsed["USER"] == "postgres"


def test_database_from_url_with_tcp_host():
    parsed = database_from_url("postgresql://u:p@db.example.com:6543/main")
    assert (parsed["HOST"], parsed["PORT"], parsed["PASSWORD"]) == (
        "db.example.com",
        "6543",
        "p",
    )


def test_database_from_url_rejects_other_schemes_and_missing_name():
    with pytest.raises(ConfigurationError, match="DATABASE_URL must start"):
        database_from_url("mysql://u@h/db")
    with pytest.raises(ConfigurationError, match="must name a database"):
        database_from_url("postgresql://u@h:5432/")


def test_load_env_file_sets_only_unset_variables(tmp_path):
    path = tmp_path / ".env"
    path.write_text("# comment\n\nPORT=9000\nBASE_DOMAIN='example.com'\nDEBUG=true\n")
    env = {"DEBUG": "false"}

    load_env_file(path, env)

    assert env == {"PORT": "9000", "BASE_DOMAIN": "example.com", "DEBUG": "false"}


def test_load_env_file_reports_malformed_line(tmp_path):
    path = tmp_path / ".env"
    path.write_text("PORT 9000\n")
    with pytest.raises(ConfigurationError, match=":1 is not a KEY=VALUE line"):
        load_env_file(path, {})


def test_load_env_file_missing_file_is_ignored(tmp_path):
    env = {}
    load_env_file(tmp_path / "absent", env)
    assert env == {}
