"""SQL sources read for real: a SQLite file and the PostgreSQL server the test run starts. The
database part of the bad-input corpus (unreachable, bad SQL, wrong password: never echoed), and
`fullcycle train` on PostgreSQL giving the same data version and test scores as the same rows in
a CSV; `fullcycle validate` against the trained model's contract."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import cli, free_port

from fullcycle.config import DataConfig
from fullcycle.data import Dataset, fingerprint, fingerprint_source, mask_url, read_source
from fullcycle.errors import ConfigError, SourceError

CHURN = Path(__file__).parent / "data" / "churn_small.csv"
PASSWORD = "s3cret-pw"


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    return read_source(str(CHURN))


@pytest.fixture(scope="module")
def pg(postgres_url: str, churn: pd.DataFrame) -> str:
    """The churn rows in a PostgreSQL table `churn` (as pandas writes them: text stays text)."""
    engine = sa.create_engine(postgres_url)
    churn.to_sql("churn", engine, index=False, if_exists="replace")
    engine.dispose()
    return postgres_url


@pytest.fixture()
def sqlite_db(churn: pd.DataFrame, tmp_path: Path) -> str:
    path = tmp_path / "churn.db"
    with sqlite3.connect(path) as conn:
        churn.to_sql("churn", conn, index=False)
    return f"sqlite:///{path}"


def test_mask_url() -> None:
    assert mask_url("postgresql+psycopg://u:p%40ss@h:5432/db") == "postgresql+psycopg://u:***@h:5432/db"
    assert mask_url("postgresql://u:${PGPASSWORD}@h/db") == "postgresql://u:${PGPASSWORD}@h/db"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url("https://api.x.com/v1?page=2&api_key=abc123&token=zz") == \
        "https://api.x.com/v1?page=2&api_key=***&token=***"
    assert mask_url("/data/file.csv") == "/data/file.csv"


def test_sqlite_table_and_query_with_params(sqlite_db: str, churn: pd.DataFrame) -> None:
    assert fingerprint(read_source(sqlite_db, table="churn")) == fingerprint(churn)
    some = read_source(sqlite_db, query="SELECT * FROM churn WHERE tenure > :t AND Contract = :c",
                       params={"t": 24, "c": "Two year"})
    expected = churn[(churn["tenure"] > 24) & (churn["Contract"] == "Two year")]
    assert len(some) == len(expected) > 0
    assert fingerprint(some) == fingerprint(expected)


def test_sqlite_corpus(sqlite_db: str, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as err:
        read_source(sqlite_db, table="churm")
    assert str(err.value) == f"table 'churm' is not in the database at {sqlite_db}. Did you " \
                             "mean 'churn'? Valid: churn."
    with pytest.raises(SourceError) as bad_sql:
        read_source(sqlite_db, query="SELEC * FROM churn")
    assert str(bad_sql.value) == (f"the query failed in the database at {sqlite_db}: near "
                                  "\"SELEC\": syntax error. Check the SQL (table and column "
                                  "names, syntax, parameters)")
    with pytest.raises(ConfigError) as neither:
        read_source(sqlite_db)
    assert str(neither.value) == (f"{sqlite_db} is a database; name what to read with --table "
                                  "NAME or --query SQL (data.table / data.query)")
    missing = tmp_path / "nope.db"
    with pytest.raises(SourceError) as no_file:
        read_source(f"sqlite:///{missing}", table="t")
    assert str(no_file.value) == (f"SQLite database file {missing} does not exist; check the path "
                                  "(sqlite:///relative.db or sqlite:////absolute/path.db)")


def test_postgres_same_version_as_csv(pg: str, churn: pd.DataFrame) -> None:
    table = read_source(pg, table="churn")
    assert fingerprint(table) == fingerprint(churn)
    shuffled = read_source(pg, query="SELECT * FROM churn ORDER BY random()")
    assert fingerprint(shuffled) == fingerprint(churn)  # row order is not part of the version
    assert fingerprint_source(pg, table="churn", chunk_rows=150) == (fingerprint(churn), 800)
    some = read_source(pg, query='SELECT * FROM churn WHERE "MonthlyCharges" > :m',
                       params={"m": 100.0})
    assert len(some) == int((churn["MonthlyCharges"] > 100).sum())


def test_content_order_makes_source_order_irrelevant(pg: str) -> None:
    cfg = DataConfig(row_order="content")
    from_csv = Dataset.read(str(CHURN), target="Churn", config=cfg)
    shuffled = Dataset.read(pg, query="SELECT * FROM churn ORDER BY random()", target="Churn",
                            config=cfg)
    assert shuffled.frame.equals(from_csv.frame)
    assert shuffled.cleaning[-1] == "row order: by content, not as read [data.row_order]"


def test_postgres_credentials_from_environment(pg: str, monkeypatch: pytest.MonkeyPatch) -> None:
    templated = pg.replace(PASSWORD, "${FC_TEST_PGPW}")
    with pytest.raises(ConfigError) as err:
        read_source(templated, table="churn")
    assert str(err.value) == ("data.source refers to ${FC_TEST_PGPW}, which is not set in the "
                              "environment; export FC_TEST_PGPW before running")
    monkeypatch.setenv("FC_TEST_PGPW", PASSWORD)
    dataset = Dataset.read(templated, table="churn", target="Churn")
    assert len(dataset.frame) == 800
    assert dataset.source == templated  # the reference is kept; it is not a secret


def test_postgres_corpus_never_shows_the_password(pg: str) -> None:
    wrong = pg.replace(PASSWORD, "Wr0ng-pw-42")
    with pytest.raises(SourceError) as err:
        read_source(wrong, table="churn")
    masked = wrong.replace("Wr0ng-pw-42", "***")
    assert str(err.value) == (f"the database at {masked} refused the login: wrong user name or "
                              "password. Set the password in the environment (e.g. "
                              "${PGPASSWORD} in the URL) and check the user name")
    assert "Wr0ng-pw-42" not in str(err.value)
    port = pg.rsplit(":", 1)[1].split("/")[0]
    dead = pg.replace(f":{port}/", f":{free_port()}/")
    with pytest.raises(SourceError) as unreachable:
        read_source(dead, table="churn")
    message = str(unreachable.value)
    assert message.startswith(f"cannot connect to the database at {mask_url(dead)}: ")
    assert message.endswith(". Check the host and port, and that the server is running")
    assert PASSWORD not in message
    with pytest.raises(SourceError) as bad_sql:
        read_source(pg, query="SELECT nope FROM churn")
    assert str(bad_sql.value) == (f"the query failed in the database at {mask_url(pg)}: column "
                                  "\"nope\" does not exist. Check the SQL (table and column names, "
                                  "syntax, parameters)")
    with pytest.raises(ConfigError) as masked_pw:
        read_source(mask_url(pg), table="churn")
    assert str(masked_pw.value).startswith(f"the password in {mask_url(pg)} is masked; put it in "
                                           "an environment variable")


# --- the whole CLI: train on PostgreSQL and on CSV, then validate ---------------------------------
@pytest.fixture(scope="module")
def trained(pg: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("pg-vs-csv")
    # A database table has no row order; content order makes the split (and so the model)
    # depend on the rows only.
    config = root / "fullcycle.yaml"
    config.write_text("data:\n  row_order: content\n")
    runs = {"csv": [str(CHURN)], "pg": [pg, "--table", "churn"]}
    out = {}
    for name, data in runs.items():
        ws = root / name
        result = cli("train", *data, "--target", "Churn", "--workspace", str(ws),
                     "--max-trials", "2", "--config", str(config))
        assert result.returncode == 0, result.stdout + result.stderr
        assert PASSWORD not in result.stdout + result.stderr
        out[name] = ws
    yield out


def test_train_on_postgres_matches_csv(trained: dict[str, Path]) -> None:
    csv_metrics = json.loads((trained["csv"] / "reports" / "metrics.json").read_text())
    pg_metrics = json.loads((trained["pg"] / "reports" / "metrics.json").read_text())
    assert pg_metrics["data_fingerprint"] == csv_metrics["data_fingerprint"]
    assert pg_metrics["test"] == csv_metrics["test"]
    assert pd.read_csv(trained["pg"] / "reports" / "leaderboard.csv")["model"].tolist() == \
        pd.read_csv(trained["csv"] / "reports" / "leaderboard.csv")["model"].tolist()


def test_password_recorded_nowhere(trained: dict[str, Path]) -> None:
    leaks = [str(p) for p in trained["pg"].rglob("*") if p.is_file()
             and PASSWORD.encode() in p.read_bytes()]
    assert leaks == []
    assert "fullcycle:***@" in (trained["pg"] / "fullcycle.yaml").read_text()


def test_validate_lists_violations_and_exits_nonzero(trained: dict[str, Path], churn: pd.DataFrame,
                                                     pg: str, tmp_path: Path) -> None:
    # The training rows, from the database, fit the contract of the model trained on the CSV.
    on_pg = cli("validate", pg, "--table", "churn", "--workspace", str(trained["csv"]))
    assert on_pg.returncode == 0, on_pg.stdout + on_pg.stderr
    assert "no errors, 0 warning(s) in 800 rows" in on_pg.stdout
    bad = churn.head(40).drop(columns=["gender"]).astype({"tenure": str})
    bad.loc[0, "tenure"] = "twelve"
    bad.loc[1, "MonthlyCharges"] = 999.0
    bad.loc[2, "Contract"] = "Weekly"
    path = tmp_path / "new.csv"
    bad.to_csv(path, index=False)
    result = cli("validate", str(path), "--workspace", str(trained["csv"]))
    assert result.returncode == 1, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    for expected in ("missing_column", "wrong_type", "'twelve'", "out_of_range",
                     "unseen_category", "'Weekly'", "2 error(s), 2 warning(s) in 40 rows"):
        assert expected in text, result.stdout
