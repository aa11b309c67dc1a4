"""Human study kit (the paper's Fig. 4): blind two-alternative pairs, a hidden key, and a scoring step.

    python -m seigan.study make  [--pairs 40] [--out reports/study]   # study.html + key.json
    python -m seigan.study score ANSWERS.csv [--key reports/study/key.json]

The page shows two composites side by side ("which looks more like a real photo?"), in random order, with
no method names; the rater's choices download as answers.csv (columns pair, choice = left|right). The key,
kept apart from the page, maps each pair to its two methods. Scoring gives each method's win rate with a
95% Wilson interval.
"""
from __future__ import annotations

import argparse
import base64
import csv
import io
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from seigan.atomic import save_json
from seigan.data.layout import to_uint8

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Which image looks real?</title>
<style>body{{font-family:sans-serif;max-width:760px;margin:2em auto}} img{{width:320px;image-rendering:auto;
cursor:pointer;border:4px solid #ddd}} img:hover{{border-color:#36c}} .pair{{display:none;text-align:center}}
.pair.on{{display:block}} #done{{display:none}}</style></head><body>
<h2>Which of the two images looks more like a real, unedited photo?</h2>
<p>Click the more realistic image. {n} pairs. Progress: <span id="k">1</span> / {n}.</p>
{pairs}
<div id="done"><p>Thank you. Save your answers and send the file back.</p>
<button onclick="save()">Download answers.csv</button></div>
<script>
var answers=[], i=0, n={n};
function pick(id, side){{ answers.push(id+','+side); document.getElementById('p'+i).className='pair';
  i++; if(i<n){{document.getElementById('p'+i).className='pair on'; document.getElementById('k').textContent=i+1;}}
  else {{document.getElementById('done').style.display='block';}} }}
function save(){{ var blob=new Blob(['pair,choice\\n'+answers.join('\\n')+'\\n'],{{type:'text/csv'}});
  var a=document.createElement('a'); a.href=URL.createObjectURL(blob); a.download='answers.csv'; a.click(); }}
</script></body></html>"""


def png_data_uri(img: torch.Tensor, size: int = 256) -> str:
    arr = to_uint8(img)
    buf = io.BytesIO()
    Image.fromarray(arr).resize((size, size), Image.BICUBIC).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def make_study(images: dict, n_pairs: int, out: str | Path, seed: int = 0) -> dict:
    """`images`: method name -> (N, 3, H, W) tensor in [-1, 1], row i of every method from the same test
    pair. Writes study.html (blind) and key.json (hidden) into `out`; returns the key."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = sorted(images)
    if len(names) < 2:
        raise ValueError("a study needs at least two methods")
    n_img = min(len(t) for t in images.values())
    combos = list(itertools.combinations(names, 2))
    key, blocks = {}, []
    for p in rng.permutation(n_pairs):  # every method pair equally often, shown in random order
        a, b = combos[int(p) % len(combos)]
        idx = int(rng.integers(n_img))
        left, right = (a, b) if rng.random() < 0.5 else (b, a)
        pid = f"q{len(key):03d}"
        key[pid] = {"left": left, "right": right, "image": idx}
        blocks.append(f'<div class="pair{" on" if not blocks else ""}" id="p{len(blocks)}">'
                      f'<img src="{png_data_uri(images[left][idx])}" onclick="pick(\'{pid}\',\'left\')">'
                      f'<img src="{png_data_uri(images[right][idx])}" onclick="pick(\'{pid}\',\'right\')"></div>')
    (out / "study.html").write_text(PAGE.format(n=n_pairs, pairs="\n".join(blocks)))
    save_json(out / "key.json", key)
    return key


def wilson(wins: int, n: int, z: float = 1.96) -> tuple:
    if n == 0:
        return float("nan"), float("nan")
    p = wins / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def score(answers: str | Path, key_path: str | Path) -> pd.DataFrame:
    """Win rate of each method over the pairs it appeared in, with a 95% Wilson interval."""
    key = json.loads(Path(key_path).read_text())
    with open(answers, newline="") as f:
        rows = list(csv.DictReader(f))
    wins, seen = {}, {}
    for r in rows:
        pid, choice = r.get("pair"), (r.get("choice") or "").strip()
        if pid not in key or choice not in ("left", "right"):
            raise ValueError(f"{answers}: bad row {r} (pair must be in the key, choice left or right)")
        pair = key[pid]
        winner = pair[choice]
        for side in ("left", "right"):
            seen[pair[side]] = seen.get(pair[side], 0) + 1
        wins[winner] = wins.get(winner, 0) + 1
    table = []
    for name in sorted(seen):
        w, n = wins.get(name, 0), seen[name]
        lo, hi = wilson(w, n)
        table.append({"method": name, "wins": w, "comparisons": n, "win_rate": w / n, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(table).sort_values("win_rate", ascending=False).reset_index(drop=True)


def composites_for_study(params, variants: list, n_images: int) -> dict:
    """y_hat of every variant on the first test pairs, plus the real object images."""
    import dataclasses
    from seigan import runs
    from seigan.evaluate import load_test
    ts = load_test(dataclasses.replace(params, eval=dataclasses.replace(params.eval, limit=n_images)))
    images = {"real": ts.split.x}
    for name in variants:  # G_seg reads what it reads in the evaluation (x's box, the finer view)
        images[name] = runs.load_trained(runs.checkpoint_dir(name)).predict(ts.split.x, ts.y, *ts.seg_inputs)["y_hat"]
    return images


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seigan.study")
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make")
    mk.add_argument("--pairs", type=int, default=40)
    mk.add_argument("--images", type=int, default=50)
    mk.add_argument("--out", default=None, help="default: reports/study")
    mk.add_argument("--params", default="params.yaml")
    sc = sub.add_parser("score")
    sc.add_argument("answers")
    sc.add_argument("--key", default=None, help="default: reports/study/key.json")
    args = ap.parse_args(argv)
    try:
        from seigan import runs
        out = Path(args.out) if args.out else runs.study_dir()
        if args.cmd == "make":
            from seigan import config
            from seigan.evaluate import trained_variants
            params = config.load(args.params)
            key = make_study(composites_for_study(params, trained_variants(params), args.images), args.pairs,
                             out)
            print(f"wrote {out}/study.html ({len(key)} pairs) and {out}/key.json (keep it hidden)")
        else:
            print(score(args.answers, args.key or runs.study_dir() / "key.json").to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        return 0
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
