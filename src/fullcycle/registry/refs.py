"""Model references, the same everywhere (CLI, Python API, server): an alias (`champion`,
`challenger`), a version number (`3`, `v3`), an MLflow URI (`models:/NAME@ALIAS`,
`models:/NAME/3`) or the path of a model folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fullcycle.errors import ModelError

REF_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))$")
ALIAS = re.compile(r"^[A-Za-z_][\w-]*$")
REF_HELP = ("a model reference is an alias (champion, challenger), a version number, "
            "models:/NAME@ALIAS, models:/NAME/VERSION, or a model folder path (with a '/', e.g. "
            "./my-model)")


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference: exactly one of `alias`, `version` or `path` is set."""

    text: str
    alias: str | None = None
    version: str | None = None
    path: Path | None = None
    name: str | None = None  # the registered model named in a models:/ URI


def parse_ref(ref: str | int, *, allow_path: bool = True) -> ModelRef:
    text = str(ref).strip()
    if not text:
        raise ModelError(f"empty model reference; {REF_HELP}")
    match = REF_URI.match(text)
    if match:
        return ModelRef(text, alias=match.group("alias"), version=match.group("version"),
                        name=match.group("name"))
    if text.startswith("models:/"):
        raise ModelError(f"{text!r} is not a model URI fullcycle understands; {REF_HELP}")
    bare = text[1:] if text[:1] in "vV" and text[1:].isdigit() else text
    if bare.isdigit():
        if int(bare) < 1:
            raise ModelError(f"model version {text!r} does not exist: versions start at 1")
        return ModelRef(text, version=str(int(bare)))
    # A bare word is an alias even if a folder of that name exists here: paths carry a '/'.
    if allow_path and ("/" in text or text.startswith((".", "~"))):
        path = Path(text).expanduser()
        if not path.is_dir():
            raise ModelError(f"model folder {text} does not exist; {REF_HELP}")
        return ModelRef(text, path=path)
    if ALIAS.match(text):
        return ModelRef(text, alias=text)
    raise ModelError(f"{text!r} is not a model reference; {REF_HELP}")
