"""`seigan segment | remove | compose` (also `python -m seigan`): a trained model on your own photos.

    seigan segment photo.jpg --box 120,80,360,300 -o mask.png
    seigan remove  photo.jpg --box 120,80,360,300 -o removed.png
    seigan compose photo.jpg --box 120,80,360,300 beach.jpg --at 400,260 --scale 0.8 -o moved.png
    seigan remove  photos/ --boxes boxes.csv -o removed/        # a folder: one output per CSV row

Every subcommand takes --checkpoint (default: checkpoints/full from the last `dvc repro`) and --device. What
happens to the photo is explained in seigan/api.py. Errors are one line and exit 2; in a folder run a bad row is
skipped with one line and the run exits 1.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from seigan import api
from seigan.data.folder import read_annotations


def numbers(text: str, n: int, what: str) -> tuple:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != n:
        raise argparse.ArgumentTypeError(f"{what} must be {n} comma-separated numbers, got {text!r}")
    return values


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="seigan", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    helps = {"segment": "write the object's mask (8-bit, the photo's size)",
             "remove": "write the photo with the object inpainted away",
             "compose": "write BACKGROUND with the object moved onto it"}
    for cmd, text in helps.items():
        p = sub.add_parser(cmd, help=text, description=text)
        p.add_argument("image", help="a photo, or a folder of photos (with --boxes)")
        where = p.add_mutually_exclusive_group(required=True)
        where.add_argument("--box", type=lambda t: numbers(t, 4, "--box"), metavar="X0,Y0,X1,Y1",
                           help="the object's box in pixels (exclusive ends)")
        where.add_argument("--boxes", metavar="CSV", help="file,x0,y0,x1,y1 rows (or COCO JSON) for a folder")
        if cmd == "compose":
            p.add_argument("background", help="the photo to move the object onto")
            p.add_argument("--at", type=lambda t: numbers(t, 2, "--at"), metavar="X,Y",
                           help="where the box centre lands (default: the background's centre)")
            p.add_argument("--scale", type=float, default=1.0, help="object size factor (default 1)")
        p.add_argument("-o", "--output", required=True, help="output file (or folder, with --boxes)")
        p.add_argument("--checkpoint", help="checkpoint folder or last.pt (default: checkpoints/full)")
        p.add_argument("--device", default="cpu", help="cpu | cuda | auto")
        p.add_argument("--seg-scale", type=float, default=api.SEG_SCALE,
                       help=f"G_seg reads the crop at this multiple of its resolution (default {api.SEG_SCALE:g}, "
                            "as evaluated; 1 = as trained)")
    return ap


def run_one(args, model, image, box, output) -> None:
    if args.cmd == "segment":
        result = api.segment(image, box, model, seg_scale=args.seg_scale)
    elif args.cmd == "remove":
        result = api.remove(image, box, model, seg_scale=args.seg_scale)
    else:
        result = api.compose(image, box, args.background, model, at=args.at, scale=args.scale,
                             seg_scale=args.seg_scale)
    api.save(result, output)


def run_folder(args, model) -> int:
    """One output per row of --boxes, named after its photo (<stem>_<k> when a photo has several boxes)."""
    folder, out = Path(args.image), Path(args.output)
    if not folder.is_dir():
        raise api.InputError(f"{folder}: --boxes needs a folder of photos")
    rows = read_annotations(Path(args.boxes))
    if not rows:
        raise api.InputError(f"{args.boxes}: no boxes listed")
    per_photo, seen, failed = Counter(f for f, _, _ in rows), Counter(), 0
    from tqdm.auto import tqdm
    for file, box, _ in tqdm(rows, desc=args.cmd, unit="box"):
        k = seen[file]
        seen[file] += 1
        name = Path(file).stem + (f"_{k}" if per_photo[file] > 1 else "") + ".png"
        try:
            run_one(args, model, folder / file, box, out / name)
        except (api.InputError, ValueError) as err:
            print(f"skip {folder / file}: {err}", file=sys.stderr)
            failed += 1
    print(f"wrote {len(rows) - failed} of {len(rows)} to {out}" + (f"; {failed} skipped" if failed else ""))
    return 1 if failed else 0


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.boxes is None:
            api.output_format(args.output)  # before any work: an unknown extension costs nothing
        model = api.load_model(args.checkpoint, args.device)
        if args.boxes is not None:
            return run_folder(args, model)
        run_one(args, model, args.image, args.box, args.output)
        print(f"wrote {args.output}")
        return 0
    except (api.InputError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
