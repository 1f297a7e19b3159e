"""Credentials are masked by parsing the URL, not by a regex that stops at the first '@' (issue
18): in messages, recorded configs (MLflow params) and errors; and a failure to connect says it
is a connection problem, not a SQL one."""

from __future__ import annotations

import socket

import pytest

URLS = {
    "postgresql://u2:RET123@RET123@127.0.0.1:5432/db": "postgresql://u2:***@127.0.0.1:5432/db",
    "postgresql+psycopg://u:pa/ss@word@db.example:5432/x?sslmode=require":
        "postgresql+psycopg://u:***@db.example:5432/x?sslmode=require",
    "mysql://u:p%40ss@h/db": "mysql://u:***@h/db",
    "postgresql://u:${PGPASSWORD}@h/db": "postgresql://u:${PGPASSWORD}@h/db",  # not a secret
    "https://api.example/v1/items?page=2&token=abc123": "https://api.example/v1/items?page=2&token=***",
    "https://h/a@b": "https://h/a@b",  # an '@' in the path is no userinfo
    "sqlite:///data/file.db": "sqlite:///data/file.db",
}


@pytest.mark.parametrize(("url", "masked"), list(URLS.items()))
def test_mask_url_parses_the_userinfo(url: str, masked: str) -> None:
    from fullcycle.data.sql import mask_url
    from fullcycle.provenance import mask_text

    assert mask_url(url) == masked
    assert mask_text(f"reading {url} failed") == f"reading {masked} failed"


def test_recorded_config_has_no_password() -> None:
    from fullcycle.provenance import mask_secrets

    recorded = mask_secrets({"data": {"source": "postgresql://u2:RET123@RET123@10.0.0.1/db",
                                      "params": {"password": "RET123"}},
                             "serve": {"api_keys_env": "FULLCYCLE_API_KEYS"}})
    assert "RET123" not in str(recorded)
    assert recorded["serve"]["api_keys_env"] == "FULLCYCLE_API_KEYS"


def test_connection_error_says_connection_and_hides_the_password() -> None:
    pytest.importorskip("psycopg")
    from fullcycle.data.sql import read_sql
    from fullcycle.errors import SourceError

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://u2:RET123@RET123@127.0.0.1:{port}/db"
    with pytest.raises(SourceError) as err:
        read_sql(url, "customers", None)
    message = str(err.value)
    assert message.startswith("cannot connect to the database at ")
    assert "RET123" not in message and "u2:***@127.0.0.1" in message
