"""Paths resolved from the repository root, never from the caller's working directory.

papermill runs a kernel in the caller's folder, Jupyter in the notebook's: both must find the same files.
"""
from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The folder holding params.yaml: $SEIGAN_ROOT, else the first parent of the cwd that has one."""
    env = os.environ.get("SEIGAN_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "params.yaml").is_file():
            return folder
    raise FileNotFoundError(f"params.yaml not found in {here} or any parent; run from the repository")


def packaged_file(distribution: str, name: str, hint: str) -> Path:
    """A data file shipped inside an installed wheel, located from its metadata without importing it."""
    import importlib.metadata
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.name == name:
            return Path(f.locate())
    raise FileNotFoundError(hint)


def resolve(path: str | os.PathLike) -> Path:
    """A params path relative to the repository root (absolute paths pass through)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else repo_root() / p


def reports_dir() -> Path:
    """reports/: metrics.json, eval/, train/, data/, notebooks/ and the rendered report."""
    return resolve("reports")


def checkpoint_dir(name: str) -> Path:
    """checkpoints/<name>: last.pt of a variant (or of the warm start)."""
    return resolve("checkpoints") / name


def train_log_dir(name: str) -> Path:
    """reports/train/<name>: losses.csv, val.csv and summary.json, read by `dvc plots` and the report."""
    return reports_dir() / "train" / name
