"""`python -m seigan.data build|verify|import-folder`: the data set's command line."""
from __future__ import annotations

import argparse
import sys

from seigan import config
from seigan.data import build, folder, photos, sources
from seigan.data.layout import dvc_md5, verify
from seigan.paths import resolve


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seigan.data")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build the embedded data set into data.root (skipped if it matches data.dvc)")
    b.add_argument("--params", default="params.yaml")
    b.add_argument("--out", help="output folder (default: data.root)")
    b.add_argument("--force", action="store_true", help="rebuild even if the data matches data.dvc")
    c = sub.add_parser("sheet", help="write the contact sheet of every background photo in use, by split")
    c.add_argument("--params", default="params.yaml")
    c.add_argument("--out", default="docs/img/backgrounds.jpg")
    v = sub.add_parser("verify", help="check data.root against the hash in data.dvc")
    v.add_argument("--params", default="params.yaml")
    i = sub.add_parser("import-folder", help="import a real data set (images + CSV/COCO boxes)")
    i.add_argument("images")
    i.add_argument("annotations")
    i.add_argument("out")
    i.add_argument("--masks")
    i.add_argument("--resolution", type=int, default=128)
    i.add_argument("--params", default="params.yaml",
                   help="its data.build.test_fraction / val_fraction split the photos")
    args = ap.parse_args(argv)
    try:
        params = config.load(args.params)
        if args.cmd == "import-folder":
            folder.import_folder(args.images, args.annotations, args.out, args.masks, args.resolution,
                                 test_fraction=params.data.build.test_fraction,
                                 val_fraction=params.data.build.val_fraction)
            return 0
        if args.cmd == "sheet":
            kinds = params.data.build.kinds
            by_split = build.split_photos(build.load_photos(sources.unpack_all(photos.packages(kinds)),
                                                            photos.listed(kinds)), params.data.build)
            print(f"wrote {photos.contact_sheet(by_split, resolve(args.out))}")
            return 0
        root = resolve(getattr(args, "out", None) or params.data.root)
        dvc_file = resolve("data.dvc")
        if args.cmd == "verify":
            return 0 if verify(root, dvc_file) else 1
        if root.is_dir() and not args.force and dvc_md5(dvc_file) and verify(root, dvc_file):
            print("data is up to date; nothing to build")
            return 0
        build.build(root, params.data.build)
        if dvc_md5(dvc_file) and not verify(root, dvc_file):
            print("warning: the build differs from data.dvc (changed data.build params or package versions?)")
        return 0
    except (config.ConfigError, sources.SourceError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
