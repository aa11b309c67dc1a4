"""Results that depend only on the images and on the code that computes them, kept on disk and reused.

The box priors' masks (GrabCut at 48 and 128 px) and the Inception features of the real test images cost about 25 s
of every evaluation, and change only when the images or that code change. Each is kept as `<folder>/<name>-<key>.pt`,
where the key hashes the input tensors' bytes, the settings that shape the result and the source of the code that
computes it: other images, settings or code give another key, so a stale entry is never read. DVC keeps the folders
(`cache/evaluate`, `cache/unseen`) between runs of their stages (`persist`), so the evaluation that follows a
variant's retraining reads them back instead of computing them again.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

from seigan import atomic
from seigan.paths import resolve


def key(inputs: list, settings: dict, sources: list) -> str:
    """A hash of the input tensors (dtype, shape, bytes), the settings (JSON) and the source files (bytes)."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for t in inputs:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes())
    for src in sources:
        h.update(Path(src).read_bytes())
    return h.hexdigest()[:16]


def reuse(folder: str | Path | None, name: str, inputs: list, settings: dict, sources: list,
          compute: Callable[[], object]):
    """`compute()`, or what it returned before for the same inputs, settings and code. `folder` None: no cache.
    Older entries of `name` in the folder are removed when a new one is written (one per name is kept)."""
    if folder is None:
        return compute()
    folder = resolve(folder)
    path = folder / f"{name}-{key(inputs, settings, sources)}.pt"
    if path.is_file():
        try:
            return atomic.load(path)["value"]
        except (ValueError, KeyError):  # unreadable: computed again and replaced
            pass
    value = compute()
    atomic.save(path, {"value": value})
    for old in folder.glob(f"{name}-*.pt"):
        if old != path:
            old.unlink(missing_ok=True)
    return value


def source(module) -> str:
    """The source file of a module, for `sources`."""
    return str(Path(module.__file__))

