"""The paper's variants over several seeds: a result is a spread over seeds, never one run.

    python -m seigan.seeds --seeds 0 1 2

For each seed, the warm start and every trained variant (`run: true`) are trained with `train.seed` set to it,
under checkpoints_seeds/<seed>/ (the pipeline's own checkpoints serve the seed of params.yaml when they were
trained with exactly these params), then measured on the test split: IoU, soft-pixel share, enhancement PSNR
against the true swap and inpainting hole PSNR (`evaluate.light_metrics`). Writes reports/seeds.json, which the
report reads when it exists. Training resumes from the last checkpoint, so an interrupted command can be rerun.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch

from seigan import atomic, config, evaluate, runs, train
from seigan.data.layout import DataError


def seed_params(params: config.Params, seed: int) -> config.Params:
    return dataclasses.replace(params, train=dataclasses.replace(params.train, seed=seed))


def finished_here(run: runs.Run, ckpt_dir: Path) -> bool:
    """Does `ckpt_dir` hold a finished `run` with exactly its params?"""
    last = Path(ckpt_dir) / "last.pt"
    if not last.is_file():
        return False
    state = atomic.load(last)
    return state.get("config_hash") == run.hash and state.get("step") == run.train.steps


def train_seed(params: config.Params, seed: int, progress: bool = True) -> dict:
    """Train the warm start and the trained variants with `seed`; returns each run's checkpoint folder."""
    p = seed_params(params, seed)
    dirs = {}
    for name, r in runs.plan(p).items():
        if not r.run:
            continue
        if seed == params.train.seed and finished_here(r, runs.checkpoint_dir(name)):
            dirs[name] = runs.checkpoint_dir(name)
            continue
        ckpt_dir, log_dir = runs.seed_dirs(seed, name)
        warm = dirs[r.start_from.name] / "last.pt" if r.start_from else None
        train.train(p, name, ckpt_dir, log_dir, progress=progress, warm_start=warm)
        dirs[name] = ckpt_dir
    return dirs


def run(params: config.Params, seeds: list, progress: bool = True) -> dict:
    """Train every seed, measure each on the test split, write reports/seeds.json; returns its content."""
    trained = {seed: train_seed(params, seed, progress) for seed in seeds}
    device = config.torch_device(params.train.device)
    ts = evaluate.load_test(params)
    result = {"seeds": seeds, "variants": list(trained[seeds[0]]), "n_test": len(ts.split.x),
              "priors": {k: v["iou"] for k, v in evaluate.box_priors(ts, params.model.resolution).items()},
              "runs": {}}
    for seed, dirs in trained.items():
        result["runs"][str(seed)] = {name: evaluate.light_metrics(runs.load_trained(d, device), ts, params, device)
                                     for name, d in dirs.items()}
        if progress:
            print(f"seed {seed}: " + ", ".join(f"{n} IoU {m['iou']:.3f}" for n, m in result["runs"][str(seed)].items()))
    result["summary"] = summarise(result)
    atomic.save_json(runs.seeds_file(), result)
    return result


def summarise(result: dict) -> dict:
    """Mean, spread (sample standard deviation over seeds), min and max of every number of every variant."""
    out = {}
    for name in result["variants"]:
        per_seed = [result["runs"][str(s)][name] for s in result["seeds"]]
        out[name] = {}
        for key in per_seed[0]:
            vals = torch.tensor([r[key] for r in per_seed if r[key] is not None], dtype=torch.float64)
            if len(vals):
                out[name][key] = {"mean": float(vals.mean()), "sd": float(vals.std()) if len(vals) > 1 else None,
                                  "min": float(vals.min()), "max": float(vals.max())}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seigan.seeds", description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        params = config.load(args.params)
        result = run(params, args.seeds)
    except (config.ConfigError, DataError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
