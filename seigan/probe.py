"""A learning probe: train one recipe for a wall-clock budget and print how its mask develops.

Each evaluation prints one JSON line: step, minutes, validation IoU, mean mask, the share of soft pixels
(0.1 < m < 0.9), the shares of near-empty and near-full masks, ŷ's PSNR against the true swap and its paired gain
over the plain paste (`enh_psnr`, `enh_diff_psnr`, dB, inside the dilated true mask), x̂'s hole PSNR with the
predicted and with the true mask, and seconds per step. Validation split only,
never test. `docs/learning.md` keeps the table of recipes tried with these curves.

    python -m seigan.probe core --minutes 4 --set loss.binarize=2 --set model.seg_arch=unet
    python -m seigan.probe full --minutes 3 --init probe_core.pt

`core` is the warm-start objective (G_seg, G_inp, D_obj, D_bg; no G_enh, one pass); any other name is a
variant of params.yaml. `--set section.key=value` overrides params (YAML values), one change at a time.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time

import torch
import yaml

from seigan import batches, config, evaluate, metrics, runs, train
from seigan.data.layout import load_split
from seigan.paths import resolve


def apply_overrides(raw: dict, sets: list) -> dict:
    for item in sets:
        key, _, value = item.partition("=")
        node = raw
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = yaml.safe_load(value)
    return raw


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seigan.probe", description=__doc__.split("\n")[0])
    ap.add_argument("variant", help="core, or a variant name from params.yaml")
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--eval-seconds", type=float, default=30.0, help="validate every this many seconds")
    ap.add_argument("--steps", type=int, help="stop after this many steps (whichever comes first with --minutes)")
    ap.add_argument("--eval-steps", type=int, help="validate every this many steps instead of by time")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--init", help="start from the networks of this checkpoint (e.g. a core probe's --save)")
    ap.add_argument("--save", help="write the networks here at the end")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--profile", help="a profile of params.yaml (default: the file's)")
    ap.add_argument("--out", help="also append the JSON lines to this file")
    ap.add_argument("--label", default="", help="a name printed in every line")
    ap.add_argument("--png", help="at the end, save the first 12 validation images, true masks and masks here")
    args = ap.parse_args(argv)
    try:
        params = config.parse(apply_overrides(config.read_yaml(args.params), args.set), args.profile)
        device = config.torch_device(params.train.device)
        name = runs.WARMUP if args.variant == "core" else args.variant
        variant = runs.switches(params, name)
        run = runs.run_config(params, name)  # trained as the pipeline trains the warm start or the variant
    except (config.ConfigError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if params.train.threads:
        torch.set_num_threads(params.train.threads)
    root, res = resolve(params.data.root), params.model.resolution
    data = load_split(root, "train", res)
    val_set = evaluate.load_test(params, "val")
    val = val_set.split
    train.set_seeds(params.train.seed)
    # a long horizon keeps the learning rate constant: the probe measures learning, not a schedule
    tc = config.from_dict(config.TrainConfig, {**run["train"], "steps": 10 ** 9}, "train")
    model = train.SEIGAN(params.model, config.from_dict(config.LossConfig, run["loss"], "loss"), tc, variant)
    if args.init:
        train.load_networks(model, args.init)
        model.steps_before = params.train.warmup_steps  # a warm start's binarisation ramp is over
    train.fast_path(model.to(device), tc)
    stream = batches.loader(data, tc, device, itertools.count(1))  # the training loop's batches
    t_eval, step, train_s = 0.0, 0, 0.0
    budget = args.minutes * 60
    while True:
        t0 = time.perf_counter()
        model.step(*next(stream))
        if device.type == "cuda":
            torch.cuda.synchronize()
        step += 1
        train_s += time.perf_counter() - t0
        done = train_s >= budget or (args.steps is not None and step >= args.steps)
        due = step % args.eval_steps == 0 if args.eval_steps else train_s - t_eval >= args.eval_seconds
        if due or done:
            t_eval = train_s
            out = evaluate.outputs(model, val_set, params, device)  # one pass over val for every number
            masks, light = out["m"], evaluate.light_from(out, val_set)
            line = json.dumps({"label": args.label, "step": step, "minutes": round(train_s / 60, 2),
                               "val_iou": round(light["iou"], 4),
                               **{k: round(v, 4) for k, v in metrics.mask_stats(masks).items()},
                               **{k: None if light[k] is None else round(light[k], 3)
                                  for k in ("enh_psnr", "enh_diff_psnr", "hole_psnr", "hole_psnr_true")},
                               "s_per_step": round(train_s / step, 4), "device": device.type})
            print(line, flush=True)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(line + "\n")
        if done:
            break
    if args.png:
        from seigan import plots
        plots.image_grid({"x": val.x[:12], "true": val.mask[:12], "m": masks[:12]}, 12,
                          title=args.label).savefig(args.png, dpi=80)
    if args.save:
        torch.save({"nets": {k: getattr(model, k).state_dict() for k in train.WARM_NETS}}, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
