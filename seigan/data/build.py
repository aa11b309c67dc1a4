"""Deterministic builder of the embedded data set: real animal cut-outs on real background photos.

Every random choice comes from a NumPy PCG64 generator seeded per split, images are resized and blurred
by Pillow (integer arithmetic) and composited with exact float32 elementwise operations, so two builds,
here or on another machine with the pinned numpy/Pillow, write the same bytes.

Harmonisation (each a `data.build` option) makes x look natural, so that the naive paste z of SEIGAN
differs from x in a learnable way: the object's colour statistics are moved toward the local background
(`colour_match`), the alpha edge is feathered (`feather`), and a soft contact shadow darkens the ground
under the object (`shadow`). The true mask is the feathered alpha: x = mask*object' + (1-mask)*shadowed
background, where object' is the colour-matched object; `clean` is the background without the shadow.

For val and test, the same placed object is also rendered onto its paired background y (same animal, size, flip
and position, harmonised towards y): the true swap ŷ*, the exact reference for SEIGAN's enhanced composite.
Rendering draws no random numbers, so adding it left every other file of the data set bit-identical.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from seigan.config import BuildConfig
from seigan.data import photos as photo_list
from seigan.data import sources
from seigan.data.layout import (CLEAN, MASK, SPLITS, SWAP, X, DataError, SplitWriter, identity_of, open_image,
                                write_manifest)

# -- objects ------------------------------------------------------------------------------------------
def load_stamp(path: Path) -> Image.Image:
    """An RGBA stamp, or DataError for unreadable files and images without alpha."""
    im = open_image(path)
    if "A" not in im.getbands() and "transparency" not in im.info:
        raise DataError(f"{path}: no alpha channel, so no mask")
    return im.convert("RGBA")


def cartoon_reason(rgba: np.ndarray, relpath: str) -> str | None:
    """Why a stamp is a cartoon (None for a photo). The rule, tested in tests/test_data.py:
    it sits in a `cartoon/` or `toys/` folder; or flat shading: > 30% of horizontally adjacent opaque
    pixel pairs have identical RGB (photos have sensor noise: < 20% for every photo stamp); or fewer
    than 64 distinct colours at 5 bits per channel among its opaque pixels."""
    parts = relpath.split("/")[:-1]
    if "cartoon" in parts or "toys" in parts:
        return "in a cartoon/toys folder"
    opaque = rgba[..., 3] > 250
    rgb = rgba[..., :3].astype(np.int32)
    pairs = opaque[:, 1:] & opaque[:, :-1]
    same = (np.abs(rgb[:, 1:] - rgb[:, :-1]).sum(-1) == 0) & pairs
    flat = same.sum() / max(int(pairs.sum()), 1)
    if flat > 0.3:
        return f"flat shading ({flat:.2f} of neighbouring pixels identical)"
    q = rgb[opaque] // 8
    colours = len(np.unique(q[:, 0] * 1024 + q[:, 1] * 32 + q[:, 2]))
    if colours < 64:
        return f"only {colours} distinct colours"
    return None


@dataclass
class Stamp:
    relpath: str
    identity: str
    image: Image.Image  # RGBA, cropped to its alpha bounding box


def collect_stamps(root: Path, log=print) -> tuple:
    """Photo stamps under `root` (sorted), and the rejected ones with reasons."""
    stamps, rejected = [], []
    for path in sorted(root.rglob("*.png")):
        rel = path.relative_to(root).as_posix()
        try:
            im = load_stamp(path)
        except DataError as err:
            log(f"skip {err}")
            rejected.append((rel, str(err).split(": ", 1)[1]))
            continue
        arr = np.asarray(im)
        reason = cartoon_reason(arr, rel)
        if reason is None and arr[..., 3].max() == 0:
            reason = "fully transparent"
        if reason:
            rejected.append((rel, reason))
            continue
        stamps.append(Stamp(rel, identity_of(rel), im.crop(im.getchannel("A").getbbox())))
    return stamps, rejected


def split_identities(identities: list, cfg: BuildConfig) -> dict:
    """Disjoint train/val/test sets of identities, a seeded shuffle of the sorted names."""
    ids = sorted(set(identities))
    order = np.random.default_rng(cfg.seed).permutation(len(ids))
    n_test = max(1, round(cfg.test_fraction * len(ids)))
    n_val = max(1, round(cfg.val_fraction * len(ids)))
    shuffled = [ids[i] for i in order]
    return {"test": set(shuffled[:n_test]), "val": set(shuffled[n_test:n_test + n_val]),
            "train": set(shuffled[n_test + n_val:])}


# -- backgrounds --------------------------------------------------------------------------------------
@dataclass
class Photo:
    name: str
    image: Image.Image  # RGB, shorter side 720 px


def load_photos(unpacked: dict, files: list) -> list:
    """The background photos `files` ((package, path[, kind]) tuples), each checked by the list's rule and resized to
    a shorter side of 720 px."""
    photos = []
    for pkg, rel, *_ in files:
        im = photo_list.open_photo(unpacked[pkg], rel)
        photo_list.check_photo(im, f"{pkg}:{rel}")
        scale = 720 / min(im.size)
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.BILINEAR)
        photos.append(Photo(f"{pkg}:{rel}", im))
    return photos


def whole_photo(photo: Photo, split: str, cfg: BuildConfig) -> tuple:
    """Every part of the photo: splits are made of whole photos (no photo is in two splits)."""
    return (0, 0) + photo.image.size


def split_photos(photos: list, cfg: BuildConfig) -> dict:
    """Each split's photos: disjoint sets of whole photos, every package in every split (photos.split_photos)."""
    names = [p.name for p in photos]
    chosen = photo_list.split_photos(names, [n.split(":", 1)[0] for n in names], cfg.test_fraction,
                                     cfg.val_fraction, cfg.seed)
    return {split: [p for p in photos if p.name in set(chosen[split])] for split in SPLITS}


def crop_background(photos: list, split: str, cfg: BuildConfig, rng, region=whole_photo) -> tuple:
    """A random square crop of a random photo's `region` for `split`, resized to cfg.resolution."""
    photo = photos[int(rng.integers(len(photos)))]
    x0, y0, x1, y1 = region(photo, split, cfg)
    side = int(rng.integers(160, min(480, x1 - x0, y1 - y0) + 1))
    left = x0 + int(rng.integers(0, x1 - x0 - side + 1))
    top = y0 + int(rng.integers(0, y1 - y0 - side + 1))
    im = photo.image.crop((left, top, left + side, top + side)).resize((cfg.resolution,) * 2, Image.BILINEAR)
    if rng.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    return im, f"{photo.name}@{left},{top},{side}"


# -- composition --------------------------------------------------------------------------------------
def _stats(values: np.ndarray) -> tuple:
    """Per-channel mean and std, rounded to 1/100 so that last-bit summation differences cannot leak."""
    v = values.astype(np.float64)
    return np.round(v.mean(0), 2).astype(np.float32), np.round(v.std(0) + 1.0, 2).astype(np.float32)


@dataclass
class Placement:
    """Where and how one object sits in a crop: everything random about a composite except its background."""
    layer: Image.Image  # RGBA at cfg.resolution: the resized, maybe flipped object at its position


def place(stamp: Image.Image, cfg: BuildConfig, rng) -> Placement:
    """Draw the object's size, flip and position (the only random choices of a composite)."""
    res = cfg.resolution
    frac = rng.uniform(*cfg.object_fraction)
    scale = frac * res / max(stamp.size)
    w, h = max(2, round(stamp.width * scale)), max(2, round(stamp.height * scale))
    obj = stamp.resize((w, h), Image.LANCZOS)
    if rng.random() < 0.5:
        obj = obj.transpose(Image.FLIP_LEFT_RIGHT)
    left, top = int(rng.integers(0, res - w + 1)), int(rng.integers(0, res - h + 1))
    layer = Image.new("RGBA", (res, res), (0, 0, 0, 0))
    layer.paste(obj, (left, top))
    return Placement(layer)


def render(placed: Placement, bg: Image.Image | np.ndarray, cfg: BuildConfig) -> dict:
    """Composite a placed object onto a background with harmonisation towards that background; no randomness,
    so the same placement on another background is the true swap (what SEIGAN's enhanced paste should give).
    Returns uint8 arrays x, mask, clean, the colour-matched object, the shadow map and the box (x0, y0, x1, y1;
    exclusive)."""
    res, layer = cfg.resolution, placed.layer
    alpha = layer.getchannel("A")
    if cfg.feather > 0:
        alpha = alpha.filter(ImageFilter.GaussianBlur(cfg.feather))
    mask = np.asarray(alpha, dtype=np.float32) / 255.0
    rgb = np.asarray(layer.convert("RGB"), dtype=np.float32)
    clean = np.asarray(bg, dtype=np.float32)

    inside = np.asarray(layer.getchannel("A")) > 127
    if cfg.colour_match > 0 and inside.any():
        mu_o, sd_o = _stats(rgb[inside])
        mu_b, sd_b = _stats(clean.reshape(-1, 3))
        a = np.float32(cfg.colour_match)
        mu_t, sd_t = (1 - a) * mu_o + a * mu_b, (1 - a) * sd_o + a * sd_b
        rgb = np.clip((rgb - mu_o) / sd_o * sd_t + mu_t, 0, 255)

    shadow = np.zeros((res, res), np.float32)
    x0, y0, x1, y1 = layer.getchannel("A").getbbox()
    if cfg.shadow > 0:
        ell = Image.new("L", (res, res), 0)
        bw, bh = x1 - x0, y1 - y0
        cx, cy = (x0 + x1) / 2, y1 - 0.04 * bh
        ImageDraw.Draw(ell).ellipse([cx - 0.45 * bw, cy - 0.08 * bh, cx + 0.45 * bw, cy + 0.08 * bh], fill=255)
        ell = ell.filter(ImageFilter.GaussianBlur(max(1.0, 0.08 * bw)))
        shadow = np.asarray(ell, dtype=np.float32) / 255.0 * np.float32(cfg.shadow)
    shaded = clean * (1 - shadow)[..., None]
    m3 = mask[..., None]
    x = m3 * rgb + (1 - m3) * shaded
    to8 = lambda a: np.clip(np.rint(a), 0, 255).astype(np.uint8)  # noqa: E731
    return {"x": to8(x), "mask": to8(mask * 255), "clean": to8(clean), "object": to8(rgb),
            "shadow": shadow, "box": (x0, y0, x1, y1)}


def compose(stamp: Image.Image, bg: Image.Image, cfg: BuildConfig, rng) -> dict:
    """Paste one object onto one background crop with harmonisation: `render` of a random `place`ment."""
    return render(place(stamp, cfg, rng), bg, cfg)


# -- the whole build ----------------------------------------------------------------------------------
def composites(split: str, n: int, stamps: list, photos: list, cfg: BuildConfig, seed_key: int | None = None,
               region=whole_photo):
    """The split's random draws, in the builder's order: (name, stamp, placement, its background crop, the paired
    background y, their provenance). Replaying this generator re-creates every placement of a build. The draws are
    seeded by (cfg.seed, seed_key), by default the split's index; `region` says which part of a photo it crops."""
    rng = np.random.default_rng([cfg.seed, SPLITS.index(split) if seed_key is None else seed_key])
    order = []
    for i in range(n):
        if not order:
            order = list(rng.permutation(len(stamps)))  # every animal used equally often
        st = stamps[int(order.pop())]
        bg, bg_src = crop_background(photos, split, cfg, rng, region)
        placed = place(st.image, cfg, rng)
        ybg, y_src = crop_background(photos, split, cfg, rng, region)
        yield f"{i:05d}.png", st, placed, bg, ybg, (bg_src, y_src)


def build_split(split: str, n: int, stamps: list, photos: list, out: Path, cfg: BuildConfig, **draws) -> None:
    """Write the split's composites into `out`/`split`; `draws` as `composites`' (seed_key, region)."""
    writer = SplitWriter(out, split, provenance=("object", "background"), y_provenance=("background",))
    for name, st, placed, bg, ybg, (bg_src, y_src) in composites(split, n, stamps, photos, cfg, **draws):
        c = render(placed, bg, cfg)
        writer.add_object(name, {X: c["x"], MASK: c["mask"], CLEAN: c["clean"]}, c["box"], [st.relpath, bg_src])
        writer.add_background(name, ybg, [y_src])
        if split != "train":  # evaluation only: object i moved onto background i, harmonised towards it
            writer.save(SWAP, name, render(placed, ybg, cfg)["x"])
    writer.close()


def split_stamps(stamps: list, cfg: BuildConfig) -> dict:
    """Each split's stamps (disjoint animals)."""
    split_ids = split_identities([s.identity for s in stamps], cfg)
    return {split: [s for s in stamps if s.identity in split_ids[split]] for split in SPLITS}


def build(out: str | Path, cfg: BuildConfig, log=print) -> dict:
    """Build the embedded data set into `out` (replaced atomically); returns the manifest."""
    t0 = time.time()
    out = Path(out)
    used = ["tuxpaint-stamps-default", *photo_list.packages(cfg.kinds)]
    unpacked = sources.unpack_all(used)
    stamps, rejected = collect_stamps(unpacked["tuxpaint-stamps-default"] / sources.STAMPS_DIR, log)
    by_split = split_stamps(stamps, cfg)
    photos = split_photos(load_photos(unpacked, photo_list.listed(cfg.kinds)), cfg)
    tmp = out.with_name(out.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    counts = {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test}
    for split in SPLITS:
        build_split(split, counts[split], by_split[split], photos[split], tmp, cfg)
        log(f"{split}: {counts[split]} object images from {len(by_split[split])} animals, {counts[split]} backgrounds, "
            f"on {len(photos[split])} photos")
    manifest = {
        "sources": {n: {"version": sources.PACKAGES[n].version, "sha256": sources.PACKAGES[n].sha256} for n in used},
        "build": asdict(cfg),
        "counts": counts,
        "objects": {split: sorted(s.relpath for s in by_split[split]) for split in SPLITS},
        "rejected_objects": [{"file": f, "reason": r} for f, r in rejected],
        "backgrounds": {split: [p.name for p in photos[split]] for split in SPLITS},
        "background_split": (f"whole photos: {cfg.test_fraction:.0%} of each package's photos are test-only and "
                             f"{cfg.val_fraction:.0%} val-only"),
    }
    write_manifest(tmp, manifest)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    log(f"built {out} in {time.time() - t0:.0f} s")
    return manifest
