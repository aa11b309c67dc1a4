"""Where a run's artefacts live: one owner for every checkpoint and training-report path.

Training, evaluation, the study kit, the notebooks and every command line ask this module; no other file spells
`checkpoints/...` or `reports/train/...`.
"""
from __future__ import annotations

from pathlib import Path

from seigan.paths import resolve

# The shared warm start (the segment-and-inpaint core) is trained once, as its own pipeline stage, under this
# name; a variant of params.yaml may not take it.
WARMUP = "warmup"


def checkpoint_dir(name: str) -> Path:
    """checkpoints/<name>: last.pt of a variant (or of the warm start)."""
    return resolve("checkpoints") / name


def last_checkpoint(name: str) -> Path:
    return checkpoint_dir(name) / "last.pt"


def train_log_dir(name: str) -> Path:
    """reports/train/<name>: losses.csv, val.csv and summary.json, read by `dvc plots` and the report."""
    return resolve("reports/train") / name
