"""The per-stage time table of the last `dvc repro` (a measurement, never an assertion), with the host's CPU.

Every pipeline stage runs a papermill notebook, and papermill records each rendered notebook's start, end and duration
in its metadata, so the table is read from `reports/notebooks/*.ipynb`: one row per stage that ran, in the order it
ran, and the gaps between them (DVC's own work: hashing, kernel start-up of the next stage). To reproduce the table
of docs/performance.md on a machine:

    dvc repro --force && python benchmarks/pipeline_stages.py            # or after README's first command
    python benchmarks/pipeline_stages.py --json >> docs/stages_<date>.jsonl

A stage DVC skipped keeps the times of the run that rendered it: compare `start` with the run you timed.
"""
from __future__ import annotations

import argparse
import json
import platform
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu() -> dict:
    """Model name and the SIMD flags that decide PyTorch's CPU kernels (the two 2-core host types differ here)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    simd = sorted(f for f in flags if f.startswith(("avx", "fma", "amx")))
    return {"model": model or platform.processor(), "cores": info.count("processor\t:"), "simd": simd}


def stages(folder: Path) -> list:
    rows = []
    for nb in sorted(folder.glob("*.ipynb")):
        meta = json.loads(nb.read_text()).get("metadata", {}).get("papermill", {})
        if not meta.get("start_time") or meta.get("duration") is None:
            continue
        rows.append({"stage": nb.stem, "start": meta["start_time"], "end": meta["end_time"],
                     "seconds": round(meta["duration"], 1)})
    rows.sort(key=lambda r: r["start"])
    for prev, row in zip(rows, rows[1:]):
        gap = datetime.fromisoformat(row["start"]) - datetime.fromisoformat(prev["end"])
        row["gap_before"] = round(gap.total_seconds(), 1)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--notebooks", default=str(ROOT / "reports" / "notebooks"))
    ap.add_argument("--json", action="store_true", help="one JSON line (rows and host) instead of a table")
    args = ap.parse_args(argv)
    rows, host = stages(Path(args.notebooks)), cpu()
    if not rows:
        print(f"{args.notebooks}: no rendered notebook with papermill times; run `dvc repro` first")
        return 1
    first, last = datetime.fromisoformat(rows[0]["start"]), datetime.fromisoformat(rows[-1]["end"])
    if args.json:
        print(json.dumps({"host": host, "stages": rows, "span_s": round((last - first).total_seconds(), 1)}))
        return 0
    print(f"host: {host['model']}, {host['cores']} cores, {' '.join(host['simd'])}")
    print(f"{'stage':<28}{'seconds':>9}{'gap before':>12}  start")
    for r in rows:
        print(f"{r['stage']:<28}{r['seconds']:>9.1f}{r.get('gap_before', 0):>12.1f}  {r['start'][:19]}")
    print(f"{'first start to last end':<28}{(last - first).total_seconds():>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
