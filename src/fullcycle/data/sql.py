"""SQL sources: any SQLAlchemy URL plus a table name or a query with bound parameters.

Credentials come from the environment: `${NAME}` in the URL is replaced by the variable's value
at connect time (so the config and everything recorded keep `${NAME}`), and drivers' own
variables (PGPASSWORD, ~/.pgpass) work as usual. Every message and every recorded URL goes
through `mask_url`, and the literal password is scrubbed from driver messages too."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from fullcycle.errors import ConfigError, SourceError, did_you_mean
from fullcycle.provenance import mask_url as mask
from fullcycle.provenance import split_credentials

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_QUERY = re.compile(r"(?i)([?&](?:password|passwd|pwd|api_?key|access_?token|token|secret"
                           r"|sig|signature)=)[^&#\s]*")
MASK = "***"


def mask_url(url: str) -> str:
    """The URL with any password (and secret-looking query values) replaced by ***. `${NAME}`
    references are kept: they are not secrets. The URL is parsed (`split_credentials`), so a
    password holding an unencoded '@' is masked whole."""
    return _SECRET_QUERY.sub(rf"\g<1>{MASK}", mask(str(url)))


def _password(url: str) -> str | None:
    parts = split_credentials(url)
    return parts[2] if parts else None


def _encoded(url: str) -> str:
    """The URL with its password percent-encoded, so '@', '/' or ':' in it reach the driver
    as part of the password (SQLAlchemy's parser would stop at the first '@')."""
    from urllib.parse import quote, unquote


    parts = split_credentials(url)
    if parts is None or not parts[2]:
        return url
    head, user, password, tail = parts
    return f"{head}{user}:{quote(unquote(password or ''), safe='')}{tail}"


def expand_env(url: str, where: str = "data.source") -> str:
    """Replace `${NAME}` with the environment variable's value; a missing one is an error."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"{where} refers to ${{{name}}}, which is not set in the "
                              f"environment; export {name} before running")
        from urllib.parse import quote

        return quote(os.environ[name], safe="")

    return _ENV.sub(value, url)


def _secrets(url: str) -> list[str]:
    password = _password(url)
    if not password:
        return []
    from urllib.parse import quote, unquote

    return sorted({password, unquote(password), quote(unquote(password), safe="")},
                  key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def _engine(location: str) -> tuple[Any, str, list[str]]:
    import sqlalchemy as sa
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    where = mask_url(location)
    if _password(location) == MASK:
        raise ConfigError(f"the password in {where} is masked; put it in an environment variable "
                          "and write ${NAME} in the URL (e.g. postgresql://user:${PGPASSWORD}@host/db)")
    url = _encoded(expand_env(location))
    secrets = _secrets(url)
    try:
        parsed = sa.make_url(url)
    except ArgumentError:
        raise SourceError(f"{where} is not a valid database URL; write it as "
                          "dialect+driver://user:password@host:port/database") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():
            raise SourceError(f"SQLite database file {parsed.database} does not exist; check the "
                              "path (sqlite:///relative.db or sqlite:////absolute/path.db)")
    try:
        engine = sa.create_engine(parsed)
    except NoSuchModuleError:
        raise SourceError(f"{where}: unknown database kind {parsed.drivername!r}; use a "
                          "SQLAlchemy URL such as sqlite:///file.db or "
                          "postgresql+psycopg://user@host/db") from None
    except ImportError as exc:
        hint = ("pip install 'fullcycle[postgres]'" if "psycopg" in str(exc.name)
                else "pip install it")
        raise SourceError(f"{where}: the database driver is not installed ({exc.name}); "
                          f"{hint}") from None
    return engine, where, secrets


def _statement(conn: Any, table: str | None, query: str | None, params: dict[str, Any],
               where: str) -> Any:
    import sqlalchemy as sa

    if table and query:
        raise ConfigError("give either a table (--table / data.table) or a query (--query / "
                          "data.query), not both")
    if query:
        return sa.text(query).bindparams(**params) if params else sa.text(query)
    if not table:
        raise ConfigError(f"{where} is a database; name what to read with --table NAME or "
                          "--query SQL (data.table / data.query)")
    schema, _, name = table.rpartition(".")
    inspector = sa.inspect(conn)
    if not inspector.has_table(name, schema=schema or None):
        known = inspector.get_table_names(schema=schema or None)
        raise SourceError(f"table {table!r} is not in the database at {where}."
                          + did_you_mean(name, known))
    return sa.select(sa.Table(name, sa.MetaData(), autoload_with=conn, schema=schema or None))


def _explain(exc: Exception, where: str, secrets: list[str], *,
             connecting: bool = False) -> SourceError:
    from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

    orig = getattr(exc, "orig", None) or exc
    detail = _scrub(str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__,
                    secrets)
    lowered = str(orig).lower()
    if isinstance(exc, OperationalError) and ("password authentication failed" in lowered
                                              or "access denied" in lowered):
        return SourceError(f"the database at {where} refused the login: wrong user name or "
                           "password. Set the password in the environment (e.g. "
                           "${PGPASSWORD} in the URL) and check the user name")
    if connecting or isinstance(exc, OperationalError) and any(
            s in lowered for s in ("connection refused", "could not connect", "connection failed",
                                   "could not translate host", "timeout expired")):
        return SourceError(f"cannot connect to the database at {where}: {detail}. Check the "
                           "host and port, and that the server is running")
    if isinstance(exc, ProgrammingError | OperationalError | DBAPIError):
        return SourceError(f"the query failed in the database at {where}: {detail}. Check the SQL "
                           "(table and column names, syntax, parameters)")
    return SourceError(f"reading from the database at {where} failed: {_scrub(str(exc), secrets)}")


def read_sql(location: str, table: str | None, query: str | None,
             params: dict[str, Any] | None = None) -> pd.DataFrame:
    frames = list(iter_sql(location, table, query, params, chunk_rows=None))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def iter_sql(location: str, table: str | None, query: str | None,
             params: dict[str, Any] | None = None,
             chunk_rows: int | None = 100_000) -> Iterator[pd.DataFrame]:
    """The rows of a table or query; in chunks (server-side cursor) when `chunk_rows` is set."""
    from sqlalchemy.exc import SQLAlchemyError

    engine, where, secrets = _engine(location)
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:  # nothing was asked yet: a connection (or login) problem
        engine.dispose()
        raise _explain(exc, where, secrets, connecting=True) from None
    try:
        with connection as conn:
            statement = _statement(conn, table, query, dict(params or {}), where)
            if chunk_rows is None:
                yield pd.read_sql(statement, conn, coerce_float=True)
                return
            streamed = conn.execution_options(stream_results=True)
            yield from pd.read_sql(statement, streamed, coerce_float=True, chunksize=chunk_rows)
    except SQLAlchemyError as exc:
        raise _explain(exc, where, secrets) from None
    except pd.errors.DatabaseError as exc:  # pandas wraps the SQLAlchemy error
        cause = exc.__cause__ if isinstance(exc.__cause__, SQLAlchemyError) else exc
        raise _explain(cause, where, secrets) from None
    finally:
        engine.dispose()


# --- key ranges: a table read in parts (one per Dask partition) ----------------------------------
def key_ranges(location: str, table: str, key: str | None,
               rows_per_part: int) -> tuple[str, list[tuple[int, int]]]:
    """(key column, [lo, hi) ranges of about `rows_per_part` rows each) splitting `table` by
    an integer key: `key`, else the table's one-column integer primary key, else SQLite's
    rowid. Each range is then read on its own (`read_key_range`), e.g. by a Dask worker."""
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    engine, where, secrets = _engine(location)
    try:
        with engine.connect() as conn:
            rows = _statement(conn, table, None, {}, where)  # checks the table exists
            source = rows.get_final_froms()[0]
            column = _key_column(conn, source.c, key, table, where)
            name = str(column.name) if isinstance(column, sa.Column) else "rowid"
            counted = conn.execute(sa.select(sa.func.min(column), sa.func.max(column),
                                             sa.func.count(column), sa.func.count())
                                   .select_from(source)).one()
    except SQLAlchemyError as exc:
        raise _explain(exc, where, secrets) from None
    finally:
        engine.dispose()
    low, high, present, total = counted
    if present != total:
        raise ConfigError(f"compute.sql_key {name!r} is empty in {total - present:,} row(s) of "
                          f"{table}; those rows would never be read. Name an integer column "
                          "without blanks (the primary key is best)")
    if total == 0:
        return name, [(0, 1)]
    parts = max(1, -(-int(total) // rows_per_part))
    step = max(1, -(-(int(high) - int(low) + 1) // parts))
    return name, [(lo, min(lo + step, int(high) + 1))
                  for lo in range(int(low), int(high) + 1, step)]


def _key_column(conn: Any, columns: Any, key: str | None, table: str, where: str) -> Any:
    import sqlalchemy as sa

    if key:
        if key not in columns:
            raise ConfigError(f"compute.sql_key {key!r} is not a column of {table} at {where}."
                              + did_you_mean(key, list(columns.keys())))
        return columns[key]
    schema, _, name = table.rpartition(".")
    primary = sa.inspect(conn).get_pk_constraint(name, schema=schema or None)
    keys = primary.get("constrained_columns") or []
    if len(keys) == 1 and columns[keys[0]].type.python_type is int:
        return columns[keys[0]]
    if conn.dialect.name == "sqlite":
        return sa.literal_column("rowid")
    raise ConfigError(f"{table} at {where} has no one-column integer primary key to split it "
                      "into parts for the workers; set compute.sql_key to an integer column "
                      "without blanks")


def read_key_range(location: str, table: str, key: str, low: int, high: int) -> pd.DataFrame:
    """The rows of `table` with `low <= key < high`, in key order."""
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    engine, where, secrets = _engine(location)
    try:
        with engine.connect() as conn:
            rows = _statement(conn, table, None, {}, where)
            column = sa.literal_column("rowid") if key == "rowid" else \
                rows.get_final_froms()[0].c[key]
            picked = rows.where(column >= low, column < high).order_by(column)
            return pd.read_sql(picked, conn, coerce_float=True)
    except SQLAlchemyError as exc:
        raise _explain(exc, where, secrets) from None
    finally:
        engine.dispose()
