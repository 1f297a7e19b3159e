"""The shared fixtures work: PostgreSQL starts, Chromium renders a page."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from conftest import open_page


def test_postgres_answers(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select 1")).scalar() == 1


def test_chromium_renders(browser: object, tmp_path: Path) -> None:
    page_file = tmp_path / "p.html"
    page_file.write_text("<html><body><svg width='10' height='10'></svg><h1>hi</h1></body></html>")
    page, errors = open_page(browser, page_file.as_uri())
    assert page.inner_text("h1") == "hi"  # type: ignore[attr-defined]
    assert errors == []
