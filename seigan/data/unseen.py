"""A test set on background photos that the embedded data set never uses (docs/method.md, "Evaluation").

Every background of the embedded set comes from 20 photos, and its train and test splits take different parts of the
same photos, so a model can learn those photos rather than what a background is. This set composites the test
split's animals (the same `place` and `render` as the builder, so the same harmonisation and true swaps) on whole
photos from other pinned Debian packages, chosen by eye as real photos without a salient object of their own.

Debian's wallpaper packages hold few such photos (docs/learning.md lists what was looked at), so the set has 8: it
measures generalisation to new scenes, with a standard error clustered by animal as everywhere else.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from seigan.config import BuildConfig
from seigan.data import build, sources
from seigan.data.layout import CLEAN, MASK, SWAP, X, SplitWriter, open_image, write_manifest

PACKAGES = {
    "lomiri-wallpapers-16.04": sources.Package(
        "lomiri-wallpapers-16.04", "20.04.0-2", "a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab"),
    "mate-backgrounds": sources.PACKAGES["mate-backgrounds"],
}

PHOTOS = [("lomiri-wallpapers-16.04", f"usr/share/backgrounds/{name}.jpg")
          for name in ["aitzgorri_by_Aitzol_Berasategi", "life_by_Aitzol_Berasategi",
                       "picosdeeuropa_by_Aitzol_Berasategi", "sunset_by_Aitzol_Berasategi",
                       "Bridge_by_Sander_Klootwijk", "seeding_by_Clements_Engelhardt",
                       "analogpattern_by_Peter_Nerlich"]] + \
         [("mate-backgrounds", "usr/share/backgrounds/mate/nature/TwoWings.jpg")]

SPLIT = "test"  # written as <root>/test, so that everything that reads a test split reads this one
SEED_SALT = 7   # its draws are seeded by (data.build.seed, 7): none of the builder's splits draws them


def load_photos() -> list:
    unpacked = {name: sources.unpack(pkg) for name, pkg in PACKAGES.items()}
    photos = []
    for pkg, rel in PHOTOS:
        path = unpacked[pkg] / rel
        if not path.is_file():
            raise FileNotFoundError(f"{path}: background photo missing from {pkg}")
        im = open_image(path, "RGB")
        scale = 720 / min(im.size)
        photos.append(build.Photo(f"{pkg}:{rel}", im.resize((round(im.width * scale), round(im.height * scale)),
                                                             Image.BILINEAR)))
    return photos


def crop(photos: list, cfg: BuildConfig, rng) -> tuple:
    """A random square crop anywhere in a random photo (no part of these photos is held back for training)."""
    photo = photos[int(rng.integers(len(photos)))]
    w, h = photo.image.size
    side = int(rng.integers(160, min(480, w, h) + 1))
    left, top = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
    im = photo.image.crop((left, top, left + side, top + side)).resize((cfg.resolution,) * 2, Image.BILINEAR)
    if rng.random() < 0.5:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    return im, f"{photo.name}@{left},{top},{side}"


def build_unseen(out: str | Path, cfg: BuildConfig, n: int, log=print) -> dict:
    """Write `n` composites of the test animals on the unseen photos into `out`/test (replaced atomically), with
    true masks, clean backgrounds, paired backgrounds y and true swaps; returns the manifest."""
    out = Path(out)
    stamps, _ = build.collect_stamps(sources.unpack(sources.PACKAGES["tuxpaint-stamps-default"]) / sources.STAMPS_DIR,
                                     log=lambda *_: None)
    animals = build.split_stamps(stamps, cfg)["test"]
    photos = load_photos()
    tmp = out.with_name(out.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    writer = SplitWriter(tmp, SPLIT, provenance=("object", "background"), y_provenance=("background",))
    rng = np.random.default_rng([cfg.seed, SEED_SALT])
    order = []
    for i in range(n):
        if not order:
            order = list(rng.permutation(len(animals)))
        st = animals[int(order.pop())]
        bg, bg_src = crop(photos, cfg, rng)
        placed = build.place(st.image, cfg, rng)
        ybg, y_src = crop(photos, cfg, rng)
        c = build.render(placed, bg, cfg)
        name = f"{i:05d}.png"
        writer.add_object(name, {X: c["x"], MASK: c["mask"], CLEAN: c["clean"]}, c["box"], [st.relpath, bg_src])
        writer.add_background(name, ybg, [y_src])
        writer.save(SWAP, name, build.render(placed, ybg, cfg)["x"])
    writer.close()
    manifest = {"sources": {p.name: {"version": p.version, "sha256": p.sha256} for p in PACKAGES.values()},
                "photos": [f"{pkg}:{rel}" for pkg, rel in PHOTOS], "animals": len(animals), "count": n,
                "build": {"seed": cfg.seed, "resolution": cfg.resolution}}
    write_manifest(tmp, manifest)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    log(f"unseen photos: {n} object images of {len(animals)} test animals on {len(photos)} photos -> {out}")
    return manifest
