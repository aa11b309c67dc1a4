"""Atomic files: every checkpoint, JSON, CSV and image the project writes goes to a temporary file in the same
folder, is fsynced, then renamed over the target.

A crash or `kill -9` mid-write leaves the previous file intact, never a half-written one. The file gets the mode a
plain `open` would give it (0666 less the umask), not the 0600 of a temporary file, so that other users of a shared
machine can read the reports and checkpoints.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write(path: str | Path, fill) -> Path:
    """Call `fill(file_object)` on a temp file beside `path`, then atomically replace `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fchmod(f.fileno(), _umask_mode())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save(path: str | Path, state: dict) -> Path:
    import torch  # here, not at the top: the JSON and CSV writers serve processes that never load torch
    return write(path, lambda f: torch.save(state, f))


def save_json(path: str | Path, obj) -> Path:
    return write(path, lambda f: f.write((json.dumps(obj, indent=2) + "\n").encode()))


def write_csv(path: str | Path, rows: list) -> None:
    """Rows (dicts) as CSV with the union of their keys as header, written atomically; floats to 6 digits."""
    if not rows:
        return
    keys = list(dict.fromkeys(k for r in rows for k in r))

    def lines(f):
        text = [",".join(keys)] + [",".join("" if r.get(k) is None else f"{r[k]:.6g}" if isinstance(r[k], float)
                                           else str(r[k]) for k in keys) for r in rows]
        f.write(("\n".join(text) + "\n").encode())
    write(path, lines)


def load(path: str | Path) -> dict:
    import torch
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001
        raise ValueError(f"{path}: unreadable checkpoint ({type(err).__name__}: {err})") from None
