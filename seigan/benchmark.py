"""Time one training step of each variant at the CPU default and at 128 px (no assertion: a measurement).

    python -m seigan.benchmark [--steps 5] [--profile cpu] [--variants full single_pass]

Random tensors stand in for data; the first step (allocation, warm-up) is not counted.
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import time

import torch

from seigan import config, losses
from seigan.model import SEIGAN


def time_steps(params: config.Params, variant: str, steps: int, vgg) -> float:
    model = SEIGAN(params.model, params.loss, params.train, params.variant(variant), vgg=vgg)
    r, b = params.model.resolution, params.train.batch_size
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(b, 3, r, r, generator=g) * 2 - 1, torch.rand(b, 3, r, r, generator=g) * 2 - 1
    model.step(x, y)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        model.step(x, y)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m seigan.benchmark")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--variants", nargs="*")
    args = ap.parse_args(argv)
    base = config.load(profile=args.profile)
    vgg = losses.load_vgg(base.train.vgg_weights)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"{'variant':16s} {'resolution':>10s} {'ngf':>4s} {'batch':>5s} {'s/step':>8s}")
    for res, depth in ((base.model.resolution, base.model.seg_depth), (128, max(base.model.seg_depth, 5))):
        params = dataclasses.replace(base, model=dataclasses.replace(base.model, resolution=res, seg_depth=depth))
        for v in args.variants or list(params.variants):
            s = time_steps(params, v, args.steps, vgg)
            print(f"{v:16s} {res:10d} {params.model.ngf:4d} {params.train.batch_size:5d} {s:8.3f}", flush=True)


if __name__ == "__main__":
    main()
