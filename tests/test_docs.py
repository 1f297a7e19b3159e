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


def test_readme_python_examples_run_in_order(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """As a reader runs them: one session, block after block (a later block may use the
    `project` an earlier one made); each block prints something."""
    namespace: dict[str, object] = {"__name__": "__readme__"}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for index, code in enumerate(python_blocks(README.read_text())):
            exec(compile(code, f"README.md block {index}", "exec"), namespace)
            if "print(" in code:
                assert capsys.readouterr().out.strip(), f"README block {index} printed nothing"
    finally:
        os.chdir(cwd)
