"""The README's Python examples run as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_python_examples() -> None:
    assert python_blocks(README.read_text())


@pytest.mark.parametrize("index", range(len(python_blocks(README.read_text()))))
def test_readme_python_example_runs(index: int, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = python_blocks(README.read_text())[index]
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, f"README.md block {index}", "exec"), {"__name__": "__readme__"})
    finally:
        os.chdir(cwd)
    assert capsys.readouterr().out.strip()
