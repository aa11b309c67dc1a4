"""Read a data root (see seigan.data) into tensors at the training resolution.

Images become float tensors in [-1, 1] (masks in [0, 1]), resized with antialiased bilinear filtering.
A missing or unreadable file stops with one line naming it, before any training starts.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


class DataError(ValueError):
    """Missing or broken data; the message names the file."""


@dataclass
class Split:
    x: torch.Tensor            # (N, 3, R, R) object images in [-1, 1]
    y: torch.Tensor            # (M, 3, R, R) background-only images in [-1, 1]
    boxes: torch.Tensor        # (N, 4) x0, y0, x1, y1 in pixels at resolution R (exclusive ends)
    mask: torch.Tensor | None  # (N, 1, R, R) true soft masks in [0, 1]; evaluation / supervised only
    clean: torch.Tensor | None  # (N, 3, R, R) true backgrounds of x in [-1, 1]; evaluation only
    names: list
    source_size: int


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) or (3, H, W) in [-1, 1] -> (N, H, W, 3) or (H, W, 3) uint8 RGB: the inverse of loading."""
    return ((images.movedim(-3, -1).clamp(-1, 1) + 1) * 127.5).round().byte().numpy()


def read_image(path: Path, mode: str) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"{path}: missing file")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert(mode))
    except Exception as err:  # noqa: BLE001
        raise DataError(f"{path}: unreadable image ({type(err).__name__})") from None


def _stack(arrays: list, resolution: int, is_mask: bool) -> torch.Tensor:
    t = torch.from_numpy(np.stack(arrays)).float() / 255.0
    t = t.unsqueeze(1) if is_mask else t.permute(0, 3, 1, 2)
    if t.shape[-1] != resolution:
        t = F.interpolate(t, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
        t = t.clamp(0, 1)
    return t if is_mask else t * 2 - 1


def load_split(root: str | Path, split: str, resolution: int, with_truth: bool = False,
               limit: int | None = None) -> Split:
    """Load `split` of the data root at `resolution`; true masks/backgrounds only when asked for."""
    folder = Path(root) / split
    table = folder / "boxes.csv"
    if not table.is_file():
        raise DataError(f"{table}: missing; build the data first (`python -m seigan.data build`)")
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))[:limit]
    if not rows:
        raise DataError(f"{table}: no object images listed")
    names = [r["file"] for r in rows]
    xs = [read_image(folder / "x" / n, "RGB") for n in names]
    size = xs[0].shape[0]
    for n, a in zip(names, xs):
        if a.shape[:2] != (size, size):
            raise DataError(f"{folder / 'x' / n}: size {a.shape[1]}x{a.shape[0]}, expected {size}x{size}")
    y_names = sorted(p.name for p in (folder / "y").glob("*.png"))[:limit]
    if not y_names:
        raise DataError(f"{folder / 'y'}: no background images")
    boxes = torch.tensor([[int(r[k]) for k in ("x0", "y0", "x1", "y1")] for r in rows], dtype=torch.float32)
    boxes = (boxes * resolution / size).round()
    mask = clean = None
    if with_truth:
        mask = _stack([read_image(folder / "mask" / n, "L") for n in names], resolution, True)
        clean = _stack([read_image(folder / "clean" / n, "RGB") for n in names], resolution, False)
    return Split(x=_stack(xs, resolution, False),
                 y=_stack([read_image(folder / "y" / n, "RGB") for n in y_names], resolution, False),
                 boxes=boxes, mask=mask, clean=clean, names=names, source_size=size)


def has_truth(root: str | Path, split: str) -> bool:
    folder = Path(root) / split
    return (folder / "mask").is_dir() and any((folder / "mask").glob("*.png"))
