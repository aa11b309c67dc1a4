"""The on-disk layout of a data root, in both directions: the names of its files and
folders, one writer for a split (used by the embedded builder and the folder importer), the reader that loads a
split into tensors at the training resolution, one image opener, and the DVC-compatible hash that checks a build.

Images become float tensors in [-1, 1] (masks in [0, 1]), resized with antialiased bilinear filtering.
A missing or unreadable file stops with one line naming it, before any training starts.

Layout of a data root (built at 128 px; training downsamples to `model.resolution`):

    <root>/manifest.json           sources with versions and SHA-256, build options, counts, splits
    <root>/<split>/x/00000.png      object image x: the object in its scene, cropped around its box
    <root>/<split>/mask/00000.png   true soft mask of x (8-bit); evaluation and the supervised bound only
    <root>/<split>/clean/00000.png  true background of x without the object; evaluation only
    <root>/<split>/y/00000.png      background-only image y
    <root>/<split>/swap/00000.png   val/test of the embedded set: the true swap ŷ*, x's object rendered onto y
                                    with the builder's harmonisation; evaluation only (imported sets have none)
    <root>/<split>/boxes.csv        file,x0,y0,x1,y1 (pixels, x1/y1 exclusive) + provenance columns

Splits: train, val (carved from train by identity, for validation IoU during training) and test.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# the layout: <root>/<split>/<kind>/<name>.png, <root>/<split>/boxes.csv, <root>/<split>/y.csv, <root>/manifest.json
SPLITS = ("train", "val", "test")
X, MASK, CLEAN, Y, SWAP = "x", "mask", "clean", "y", "swap"
BOXES, Y_TABLE, MANIFEST = "boxes.csv", "y.csv", "manifest.json"
BOX_COLUMNS = ("x0", "y0", "x1", "y1")


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
    swap: torch.Tensor | None = None  # (N, 3, R, R) the true swap of x_i onto y_i; evaluation only, when built
    groups: list | None = None        # each x's animal (the builder's) or its own name: the unit of resampling


def identity_of(relpath: str) -> str:
    """Animal identity of a stamp: the file name's first word, digits dropped (gnu-baby-stand and gnu-sitting are
    one identity; lion and lion-2 are one). Splits and clustered standard errors group by it."""
    stem = Path(relpath).stem.lower()
    return re.sub(r"\d+", "", re.split(r"[-_]", stem)[0]) or stem


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) or (3, H, W) in [-1, 1] -> (N, H, W, 3) or (H, W, 3) uint8 RGB: the inverse of loading."""
    return ((images.movedim(-3, -1).clamp(-1, 1) + 1) * 127.5).round().byte().numpy()


def open_image(path: str | Path, mode: str | None = None) -> Image.Image:
    """The one image opener: a loaded Pillow image (converted to `mode`), or DataError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: missing file")
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert(mode) if mode else im.copy()
    except Exception as err:  # noqa: BLE001 - Pillow raises many types for broken files
        raise DataError(f"{path}: unreadable image ({type(err).__name__}: {err})") from None


def read_image(path: Path, mode: str) -> np.ndarray:
    return np.asarray(open_image(path, mode))


def to_tensor(arrays: list, resolution: int, is_mask: bool) -> torch.Tensor:
    """uint8 images (H, W, 3) or masks (H, W) -> (N, C, R, R), images in [-1, 1] and masks in [0, 1], resized with
    antialiased bilinear filtering: how every image reaches a network, in training and in use."""
    t = torch.from_numpy(np.stack(arrays)).float() / 255.0
    t = t.unsqueeze(1) if is_mask else t.permute(0, 3, 1, 2)
    if t.shape[-1] != resolution:
        t = F.interpolate(t, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
        t = t.clamp(0, 1)
    return t if is_mask else t * 2 - 1


def read_boxes(folder: Path, limit: int | None = None) -> list:
    """The rows of a split folder's boxes.csv (one per object image: file, box, provenance), the first `limit`."""
    table = folder / BOXES
    if not table.is_file():
        raise DataError(f"{table}: missing; build the data first (`python -m seigan.data build`)")
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))[:limit]
    if not rows:
        raise DataError(f"{table}: no object images listed")
    return rows


def load_split(root: str | Path, split: str, resolution: int, with_truth: bool = False,
               limit: int | None = None) -> Split:
    """Load `split` of the data root at `resolution`; true masks/backgrounds only when asked for."""
    folder = Path(root) / split
    rows = read_boxes(folder, limit)
    names = [r["file"] for r in rows]
    xs = [read_image(folder / X / n, "RGB") for n in names]
    size = xs[0].shape[0]
    for n, a in zip(names, xs):
        if a.shape[:2] != (size, size):
            raise DataError(f"{folder / X / n}: size {a.shape[1]}x{a.shape[0]}, expected {size}x{size}")
    y_names = sorted(p.name for p in (folder / Y).glob("*.png"))[:limit]
    if not y_names:
        raise DataError(f"{folder / Y}: no background images")
    boxes = torch.tensor([[int(r[k]) for k in BOX_COLUMNS] for r in rows], dtype=torch.float32)
    boxes = (boxes * resolution / size).round()
    mask = clean = swap = None
    if with_truth:
        mask = to_tensor([read_image(folder / MASK / n, "L") for n in names], resolution, True)
        clean = to_tensor([read_image(folder / CLEAN / n, "RGB") for n in names], resolution, False)
        if (folder / SWAP).is_dir():
            swap = to_tensor([read_image(folder / SWAP / n, "RGB") for n in names], resolution, False)
    groups = [identity_of(r["object"]) if r.get("object") else n for r, n in zip(rows, names)]
    return Split(x=to_tensor(xs, resolution, False),
                 y=to_tensor([read_image(folder / Y / n, "RGB") for n in y_names], resolution, False),
                 boxes=boxes, mask=mask, clean=clean, names=names, source_size=size, swap=swap, groups=groups)


def mask_areas(root: str | Path, split: str) -> np.ndarray:
    """Each object image's true mask area (share of pixels at >= 0.5) at the data's own resolution, reading the masks
    only: what the data notebook's histogram needs, without loading every image of the split."""
    folder = Path(root) / split
    return np.array([(read_image(folder / MASK / r["file"], "L") >= 128).mean() for r in read_boxes(folder)])


def count_images(root: str | Path, split: str, kind: str) -> int:
    return len(list((Path(root) / split / kind).glob("*.png")))


def read_manifest(root: str | Path) -> dict:
    path = Path(root) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else {}


def write_manifest(root: str | Path, manifest: dict) -> None:
    Path(root).mkdir(parents=True, exist_ok=True)
    (Path(root) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


class SplitWriter:
    """Writes one split of a data root: PNGs under <kind>/<name>, then boxes.csv (file, x0, y0, x1, y1 and the
    provenance columns) and, when backgrounds carry provenance, y.csv. Folders are made on first use."""

    def __init__(self, root: str | Path, split: str, provenance: tuple = ("source",),
                 y_provenance: tuple = ()):
        self.folder = Path(root) / split
        self.provenance, self.y_provenance = provenance, y_provenance
        self.rows, self.y_rows = [], []

    def save(self, kind: str, name: str, image) -> None:
        """Save an image (Pillow or uint8 array) as <kind>/<name>, with the same PNG settings everywhere, so
        that two builds write the same bytes."""
        im = image if isinstance(image, Image.Image) else Image.fromarray(image)
        path = self.folder / kind / name
        path.parent.mkdir(parents=True, exist_ok=True)
        im.save(path, format="PNG", optimize=False, compress_level=6)

    def add_object(self, name: str, images: dict, box, provenance: list) -> None:
        """x (and mask / clean when known) of one object image, with its box in pixels (exclusive ends)."""
        for kind, image in images.items():
            self.save(kind, name, image)
        self.rows.append([name, *box, *provenance])

    def add_background(self, name: str, image, provenance: list = ()) -> None:
        self.save(Y, name, image)
        self.y_rows.append([name, *provenance])

    def close(self) -> None:
        if self.rows:
            self._table(BOXES, ["file", *BOX_COLUMNS, *self.provenance], self.rows)
        if self.y_rows and self.y_provenance:
            self._table(Y_TABLE, ["file", *self.y_provenance], self.y_rows)

    def _table(self, name: str, header: list, rows: list) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / name, "w", newline="") as f:
            csv.writer(f).writerows([header, *rows])


# -- DVC-compatible hashing (to check a build against data.dvc without DVC) ---------------------------
def dvc_dir_md5(root: str | Path) -> tuple:
    """DVC 3's directory hash: md5 of the sorted JSON listing of (relpath, md5) ; returns (md5, n, size)."""
    root = Path(root)
    entries, size = [], 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        entries.append({"md5": hashlib.md5(path.read_bytes()).hexdigest(), "relpath": path.relative_to(root).as_posix()})
        size += path.stat().st_size
    entries.sort(key=lambda e: e["relpath"])
    listing = json.dumps(entries, sort_keys=True).encode()
    return hashlib.md5(listing).hexdigest() + ".dir", len(entries), size


def dvc_md5(dvc_file: Path) -> str | None:
    """The directory hash recorded in a .dvc file (None when there is none)."""
    import yaml
    if not dvc_file.is_file():
        return None
    return (yaml.safe_load(dvc_file.read_text()) or {}).get("outs", [{}])[0].get("md5")


def verify(root: Path, dvc_file: Path, log=print) -> bool:
    """Does the data root hash to what `dvc_file` records?"""
    want = dvc_md5(dvc_file)
    got, n, size = dvc_dir_md5(root)
    ok = want == got
    log(f"{root}: {n} files, {size / 1e6:.1f} MB, md5 {got} {'matches' if ok else 'DIFFERS from'} "
        f"{dvc_file.name} ({want})")
    return ok
