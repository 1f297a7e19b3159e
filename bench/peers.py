"""Peer tools live in their own virtual environments (bench/.venvs/NAME, git-ignored), so a
peer's pins (statsforecast's pandas<3, FLAML's) never touch fullcycle's own venv.

    from peers import peer_python
    python = peer_python("wave2", ["pandas<3", "statsforecast", "implicit", "pyod", "scikit-learn"])
    subprocess.run([python, script, ...])
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent / ".venvs"


def peer_python(name: str, packages: list[str]) -> str:
    """The python of venv NAME, created with PACKAGES on first use (a stamp file records
    them, so a changed list reinstalls)."""
    folder = ROOT / name
    python = folder / "bin" / "python"
    stamp = folder / ".packages"
    wanted = "\n".join(packages)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return str(python)
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(folder)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True,
                   stdout=sys.stderr)
    stamp.write_text(wanted)
    return str(python)
