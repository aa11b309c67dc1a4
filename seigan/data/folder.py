"""Import a real data set (a folder of images + boxes, optional masks) into the layout of seigan.data.

Annotations: a CSV with columns `file,x0,y0,x1,y1` (pixels, exclusive ends; optional `mask` column naming a
mask file) or a COCO-style JSON (`images[].file_name`, `annotations[].bbox` as x, y, w, h). Masks (optional,
for evaluation only) are 8-bit images the size of their photo, looked up in `masks_dir` by file stem.
Each object gives one square crop around its box with a random margin (the paper's box-only setup);
background images y are crops of the same photos that overlap no box. Bad records are skipped with one
line naming the file and the reason, and counted in a summary.
"""
from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from seigan.data.layout import BOX_COLUMNS, MASK, SPLITS, X, DataError, SplitWriter, open_image, write_manifest

def read_annotations(path: Path) -> list:
    """[(file, (x0, y0, x1, y1), mask or None)] from a CSV or COCO JSON."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: annotation file not found")
    if path.suffix.lower() == ".json":
        coco = json.loads(path.read_text())
        files = {im["id"]: im["file_name"] for im in coco.get("images", [])}
        out = []
        for ann in coco.get("annotations", []):
            x, y, w, h = ann["bbox"]
            out.append((files.get(ann["image_id"], f"<unknown image id {ann['image_id']}>"),
                        (x, y, x + w, y + h), None))
        return out
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = {"file", *BOX_COLUMNS} - set(rows[0] if rows else {})
    if missing:
        raise ValueError(f"{path}: CSV lacks column(s) {', '.join(sorted(missing))}")
    return [(r["file"], tuple(float(r[k]) for k in BOX_COLUMNS), r.get(MASK) or None)
            for r in rows]


def split_of(name: str, test_fraction: float, val_fraction: float) -> str:
    """Stable split by a hash of the photo's file name: all objects of one photo share a split."""
    u = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) / 16 ** 8
    return "test" if u < test_fraction else "val" if u < test_fraction + val_fraction else "train"


def _square_around(box, w: int, h: int, rng) -> tuple:
    x0, y0, x1, y1 = box
    side = min(max(x1 - x0, y1 - y0) / rng.uniform(0.5, 0.85), w, h)
    side = int(max(side, x1 - x0, y1 - y0) if max(x1 - x0, y1 - y0) <= min(w, h) else min(w, h))
    lo_x, hi_x = max(0, int(np.ceil(x1)) - side), min(int(x0), w - side)
    lo_y, hi_y = max(0, int(np.ceil(y1)) - side), min(int(y0), h - side)
    left = int(rng.integers(lo_x, hi_x + 1)) if hi_x >= lo_x else max(0, min(int(x0), w - side))
    top = int(rng.integers(lo_y, hi_y + 1)) if hi_y >= lo_y else max(0, min(int(y0), h - side))
    return left, top, side


def import_folder(images: str | Path, annotations: str | Path, out: str | Path, masks: str | Path | None = None,
                  resolution: int = 128, seed: int = 0, test_fraction: float = 0.2, val_fraction: float = 0.1,
                  log=print) -> dict:
    """Write `out` in the seigan.data layout; returns the summary counts. Photos go to test / val / train by
    a hash of their file name, with the given fractions (the command line reads them from params.yaml)."""
    images, out = Path(images), Path(out)
    records = read_annotations(Path(annotations))
    rng = np.random.default_rng(seed)
    skipped, written = Counter(), Counter()
    writers = {split: SplitWriter(out, split) for split in SPLITS}
    boxes_of = {}
    for file, box, _ in records:
        boxes_of.setdefault(file, []).append(box)

    def skip(file, reason):
        log(f"skip {images / file}: {reason}")
        skipped[reason.split(" (")[0]] += 1

    def square(im: Image.Image, crop: tuple) -> Image.Image:  # a square crop at the output resolution
        return im.crop(crop).resize((resolution,) * 2, Image.BILINEAR)

    def why(err: DataError) -> str:  # "<path>: <reason>" -> "<reason>"; skip() names the file already
        return str(err).split(": ", 1)[-1]

    for file, box, mask_name in records:
        x0, y0, x1, y1 = box
        try:
            photo = open_image(images / file, "RGB")
        except DataError as err:
            skip(file, why(err))
            continue
        w, h = photo.size
        if x1 - x0 < 1 or y1 - y0 < 1:
            skip(file, f"empty box {box}")
            continue
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            skip(file, f"box {box} outside the {w}x{h} image")
            continue
        mask = None
        if masks is not None or mask_name:
            mpath = Path(masks or images) / (mask_name or f"{Path(file).stem}.png")
            try:
                mask = open_image(mpath, "L")
            except DataError as err:
                skip(file, f"mask {mpath.name}: {why(err)}")
                continue
            if mask.size != photo.size:
                skip(file, f"mask size mismatch ({mask.size[0]}x{mask.size[1]} vs {w}x{h})")
                continue
        split = split_of(file, test_fraction, val_fraction)
        left, top, side = _square_around(box, w, h, rng)
        crop, s = (left, top, left + side, top + side), resolution / side
        name = f"{written[split]:05d}.png"
        images_of = {X: square(photo, crop)}
        if mask is not None:
            images_of[MASK] = square(mask, crop)
        box_px = [round((x0 - left) * s), round((y0 - top) * s), round((x1 - left) * s), round((y1 - top) * s)]
        writers[split].add_object(name, images_of, box_px, [file])
        for _ in range(20):  # a background crop of the same photo that overlaps none of its boxes
            bx, by = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            if all(bx + side <= b[0] or b[2] <= bx or by + side <= b[1] or b[3] <= by for b in boxes_of[file]):
                writers[split].add_background(name, square(photo, (bx, by, bx + side, by + side)))
                break
        written[split] += 1
    for writer in writers.values():
        writer.close()
    summary = {"written": dict(written), "skipped": dict(skipped), "skipped_total": sum(skipped.values())}
    write_manifest(out, {"source": str(images), "annotations": str(annotations), "summary": summary,
                         "splits": {"test_fraction": test_fraction, "val_fraction": val_fraction}})
    log(f"imported {sum(written.values())} objects {dict(written)}; skipped {summary['skipped_total']} "
        f"{dict(skipped)}")
    return summary
