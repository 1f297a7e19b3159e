"""The lean install: what `fullcycle --help` loads, and how an optional family that is not
installed is skipped with a message naming its extra."""

from __future__ import annotations

import subprocess
import sys

from fullcycle.tasks.tabular.search.families import Family, get_family


def test_help_loads_no_heavy_library() -> None:
    """`fullcycle --help` stays fast because the CLI imports no data or ML library up front."""
    code = ("import sys, fullcycle.cli; print(','.join(m for m in ('pandas', 'numpy', 'sklearn', "
            "'mlflow', 'pydantic', 'fullcycle.config') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == ""


def test_a_family_whose_extra_is_missing_says_which_extra() -> None:
    real = get_family("linear")
    absent = Family(name="fancy", make=real.make, space=real.space, cost=1,
                    extra="fullcycle_no_such_module")
    assert absent.missing() == ("fancy: not installed; pip install "
                                "'fullcycle[fullcycle_no_such_module]' to search it")
    assert real.missing() is None
    assert get_family("catboost").extra == "catboost"
