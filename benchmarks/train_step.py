"""Time one SEIGAN training step per configuration; one JSON line each (a measurement, never an assertion).

    python benchmarks/train_step.py [--device cuda] [--sizes 64 128 256] [--steps 10] [--variants full] [--processes N]
    python benchmarks/train_step.py --device cpu --profile cpu --sizes 48 --eager-only --variants all   # CPU default

For each image size: eager fp32 (batches drawn in the training process from host memory) against the fast path
(bf16 autocast on a GPU, channels_last, the training images kept on the GPU when they fit, else `--workers` loader
processes with pinned memory; `--compile` adds torch.compile), in the same run so the ratios compare. Both draw their
batches with the training loop's loader (seigan.batches). Each line gives the median step time, images/s, the share
of a step spent waiting for data (the next batch drawn, augmented and on the device), peak device memory, the
FLOPs of one step (torch.utils.flop_counter, forward and backward) and, on a GPU, the utilisation against the device's
peak for that precision. Widths follow a params.yaml profile (default gpu: ngf 64, ndf 64, 6 residual blocks); at the
profile's own resolution the model is the profile's, at other sizes the U-Net reaches 4x4 and the PatchGAN has 3 layers
from 128 px on. The model is built as training builds it (`seigan.train.make_model`).
With `--processes N` it runs under torchrun as training does (one DistributedDataParallel per network, batch per
process); images/s then counts all N processes.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import platform
import statistics
import subprocess
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from seigan import batches, config, distributed, losses, runs, train
from seigan.data.layout import Split

# dense peak FLOP/s by device name and precision (vendor data sheets); fp32 convs run as TF32 on these
PEAKS = {"H100": {"bf16": 989e12, "fp32": 494e12}, "H200": {"bf16": 989e12, "fp32": 494e12},
         "A100": {"bf16": 312e12, "fp32": 156e12}}


def peak_flops(device: torch.device, precision: str):
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((p[precision] for k, p in PEAKS.items() if k in name), None)


def random_split(n: int, size: int) -> Split:
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(n, 3, size, size, generator=g) * 2 - 1, torch.rand(n, 3, size, size, generator=g) * 2 - 1
    boxes = torch.tensor([[size // 4, size // 4, 3 * size // 4, 3 * size // 4]] * n, dtype=torch.float32)
    return Split(x=x, y=y, boxes=boxes, mask=None, clean=None, names=[], source_size=size)


def measure(params: config.Params, variant: str, steps: int, device, vgg, label: str,
            ctx: distributed.Context) -> dict:
    data = random_split(256, params.model.resolution)
    # where the images go, decided once: measured after the loader moved them, the free memory would differ
    on_device = batches.keep_on_device(params.train, data.x.nbytes + data.y.nbytes, device)
    tc = dataclasses.replace(params.train, data_on="device" if on_device else "host")
    run = runs.get(dataclasses.replace(params, train=tc), variant)
    model = train.make_model(run, device, vgg=vgg)
    train.fast_path(model, tc)
    if ctx.active:  # as training under torchrun: one DistributedDataParallel per network
        distributed.wrap(model, device)
    stream = batches.loader(data, tc, device, itertools.count(1), with_boxes=model.uses_boxes)  # the training loop's loader

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    for _ in range(3):  # warm-up: allocation, cuDNN autotuning, compilation, loader workers starting
        model.step(*next(stream))
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    step_t, wait_t = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        batch = next(stream)  # (x, y), and x's box when a loss reads it
        sync()
        t1 = time.perf_counter()
        model.step(*batch)
        sync()
        t2 = time.perf_counter()
        wait_t.append(t1 - t0)
        step_t.append(t2 - t0)
    with FlopCounterMode(display=False) as counter:
        model.step(*next(stream))
    flops = counter.get_total_flops()
    step = statistics.median(step_t)
    peak = peak_flops(device, "bf16" if tc.amp and device.type == "cuda" else "fp32")
    return {"config": label, "variant": variant, "resolution": params.model.resolution, "batch": tc.batch_size,
            "processes": ctx.world, "threads": torch.get_num_threads(),
            "data": "device" if on_device else f"host, {tc.workers} workers",
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine(),
            "s_per_step": round(step, 5), "images_per_s": round(ctx.world * tc.batch_size / step, 2),
            "data_wait_share": round(statistics.median(wait_t) / step, 4),
            "peak_mem_gib": round(torch.cuda.max_memory_allocated(device) / 2 ** 30, 3) if device.type == "cuda" else None,
            "gflop_per_step": round(flops / 1e9, 1),
            "utilisation": round(flops / step / peak, 4) if peak else None,
            "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="benchmarks/train_step.py")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--sizes", type=int, nargs="*", default=[64, 128, 256])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--variants", nargs="+", default=["full"], help="variants of params.yaml (or warmup), or all")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--profile", default="gpu", help="the params.yaml profile whose widths are used")
    ap.add_argument("--compile", action="store_true", help="also time the fast path with torch.compile")
    ap.add_argument("--eager-only", action="store_true", help="time eager fp32 only (no fast path)")
    ap.add_argument("--workers", type=int, default=2, help="the fast path's loader workers (when data stay on the host)")
    ap.add_argument("--vgg", help="VGG weights for the texture loss (default: params.yaml's train.vgg_weights)")
    ap.add_argument("--processes", type=int, default=1, help="processes (one per GPU), started with torchrun: the "
                    "scaling efficiency is images/s at N / (N x images/s at 1)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads per process (0: torch's default)")
    args = ap.parse_args(argv)
    if args.processes > 1 and not distributed.launched():
        cmd = distributed.torchrun(args.processes, __file__, *(sys.argv[1:] if argv is None else argv))
        sys.exit(subprocess.call(cmd))
    if args.threads:
        torch.set_num_threads(args.threads)
    base = config.load(profile=args.profile)
    ctx, device = distributed.setup(args.processes, "auto", config.torch_device(args.device))
    vgg = losses.load_vgg(args.vgg or base.train.vgg_weights).to(device)
    eager = dict(amp=False, channels_last=False, compile=False, workers=0, data_on="host")
    fast = dict(amp=True, channels_last=True, compile=False, workers=args.workers, data_on="auto")
    configs = {"eager_fp32": eager} if args.eager_only else {"eager_fp32": eager, "fast": fast}
    if args.compile:
        configs["fast_compiled"] = {**fast, "compile": True}
    variants = list(runs.plan(base)) if args.variants == ["all"] else args.variants
    for size in args.sizes:
        model = base.model if size == base.model.resolution else dataclasses.replace(
            base.model, resolution=size, seg_depth=max(2, int(math.log2(size // 4))),  # the U-Net's bottleneck at 4x4
            d_layers=3 if size >= 128 else 2)
        for variant in variants:
            for label, switches in configs.items():
                tc = dataclasses.replace(base.train, batch_size=args.batch, device=device.type, **switches)
                params = dataclasses.replace(base, model=model, train=tc)
                line = measure(params, variant, args.steps, device, vgg, label, ctx)
                if ctx.main:
                    print(json.dumps(line), flush=True)
    distributed.shutdown(ctx)


if __name__ == "__main__":
    main()
