"""A test set on background photos that the embedded data set never uses (docs/method.md, "Evaluation").

The embedded set's splits take disjoint whole photos of its three kinds (scenes, close-range and aerial ground;
seigan.data.photos), so its test split measures new photos of the kinds training saw. This set composites the test
split's animals (the same `place` and `render` as the builder, so the same harmonisation and true swaps) on 8 whole
photos of other kinds from other pinned Debian packages, chosen by eye as real photos without a salient object of
their own. They are the same 8 since the set was made, so its numbers compare across versions of the data set;
none of them is in the embedded set (tests/test_data.py checks it).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from seigan.config import BuildConfig
from seigan.data import build, sources
from seigan.data.layout import write_manifest

PACKAGES = {name: sources.PACKAGES[name] for name in ("lomiri-wallpapers-16.04", "mate-backgrounds")}

PHOTOS = [("lomiri-wallpapers-16.04", f"usr/share/backgrounds/{name}.jpg")
          for name in ["aitzgorri_by_Aitzol_Berasategi", "life_by_Aitzol_Berasategi",
                       "picosdeeuropa_by_Aitzol_Berasategi", "sunset_by_Aitzol_Berasategi",
                       "Bridge_by_Sander_Klootwijk", "seeding_by_Clements_Engelhardt",
                       "analogpattern_by_Peter_Nerlich"]] + \
         [("mate-backgrounds", "usr/share/backgrounds/mate/nature/TwoWings.jpg")]

SPLIT = "test"  # written as <root>/test, so that everything that reads a test split reads this one
SEED_SALT = 7   # its draws are seeded by (data.build.seed, 7): none of the builder's splits draws them


def build_unseen(out: str | Path, cfg: BuildConfig, n: int, log=print) -> dict:
    """Write `n` composites of the test animals on the unseen photos into `out`/test (replaced atomically), with
    true masks, clean backgrounds, paired backgrounds y and true swaps; returns the manifest."""
    out = Path(out)
    stamps, _ = build.collect_stamps(sources.unpack(sources.PACKAGES["tuxpaint-stamps-default"]) / sources.STAMPS_DIR,
                                     log=lambda *_: None)
    animals = build.split_stamps(stamps, cfg)["test"]
    photos = build.load_photos({name: sources.unpack(pkg) for name, pkg in PACKAGES.items()}, PHOTOS)
    tmp = out.with_name(out.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    build.build_split(SPLIT, n, animals, photos, tmp, cfg, seed_key=SEED_SALT, region=build.whole_photo)
    manifest = {"sources": {p.name: {"version": p.version, "sha256": p.sha256} for p in PACKAGES.values()},
                "photos": [f"{pkg}:{rel}" for pkg, rel in PHOTOS], "animals": len(animals), "count": n,
                "build": {"seed": cfg.seed, "resolution": cfg.resolution}}
    write_manifest(tmp, manifest)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    log(f"unseen photos: {n} object images of {len(animals)} test animals on {len(photos)} photos -> {out}")
    return manifest
