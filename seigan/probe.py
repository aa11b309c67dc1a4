"""A learning probe: train one recipe for a wall-clock budget and print how its mask develops.

Each evaluation prints one JSON line: step, minutes, validation IoU, mean mask, the share of soft pixels
(0.1 < m < 0.9), the shares of near-empty and near-full masks, ŷ's PSNR against the true swap and its paired gain
over the plain paste (`enh_psnr`, `enh_diff_psnr`, dB, inside the dilated true mask), x̂'s hole PSNR with the
predicted and with the true mask, and seconds per step. Validation split only,
never test. `docs/learning.md` keeps the table of recipes tried with these curves.

    python -m seigan.probe warmup --minutes 4 --set warmup.binarize=2 --set model.seg_arch=unet
    python -m seigan.probe full --minutes 3 --init probe_warmup.pt
    python -m seigan.probe supervised --eval-steps 250 --set model.seg_box=true
    python -m seigan.probe seg-scale --checkpoints checkpoints/warmup supervised --scales 1 1.5 2 2.5

`seg-scale` trains nothing: trained G_segs (checkpoint folders, or `supervised` for the bound) read the validation
images at each `eval.seg_scale`, one line per checkpoint and scale.

`warmup` is the warm start's run (its objective and settings, params.yaml's `warmup` section); `supervised` is the
supervised bound, trained as its stage trains it (`eval.supervised_*`; --minutes and --steps do not apply); any
other name is a variant of params.yaml. `--set section.key=value` overrides params (YAML values), one change at a time. The probe
trains with the training loop's model, batches and step (`seigan.train`), at a constant learning rate.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time

import torch
import yaml

from seigan import config, evaluate, metrics, realism, runs, supervised, train


def apply_overrides(raw: dict, sets: list) -> dict:
    for item in sets:
        key, _, value = item.partition("=")
        node = raw
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = yaml.safe_load(value)
    return raw


def colour_columns(out: dict, val_set: evaluate.TestSet, test: realism.ColourTest | None) -> dict:
    """With G_enh: the colour test of ŷ, of its paste z, their paired difference and ŷ with the true mask
    (`evaluate.colour_scores`), rounded."""
    return {k: round(v, 3) for k, v in evaluate.colour_scores(out, val_set, test).items()} if test else {}


def emit(line: dict, out: str | None) -> None:
    text = json.dumps(line)
    print(text, flush=True)
    if out:
        with open(out, "a") as f:
            f.write(text + "\n")


def probe_bound(params: config.Params, args) -> int:
    """The supervised bound's validation curve, one line per --eval-steps (default: train.val_every)."""
    start = time.time()
    _, curve = supervised.fit(params, progress=False, val_every=args.eval_steps)
    for row in curve:
        emit({"label": args.label, "step": row["step"], "val_iou": round(row["val_iou"], 4),
              "minutes": round((time.time() - start) / 60, 2)}, args.out)
    return 0


def probe_seg_scale(params: config.Params, args) -> int:
    """Validation IoU of trained G_segs reading x at each scale (inference only)."""
    from seigan.model import batched_masks, predict_masks, read_finer
    device = config.torch_device(params.train.device)
    views = {scale: evaluate.load_test(dataclasses.replace(params, eval=dataclasses.replace(params.eval,
                                                                                          seg_scale=scale)), "val")
             for scale in args.scales}
    for ckpt in args.checkpoints:
        if ckpt == "supervised":
            bound = supervised.load_bound(params, device)
            masks_of = lambda ts: batched_masks(  # noqa: E731
                lambda x, box, *fine: read_finer(bound, x, box, *fine) if fine else bound(x, box),
                ts.split.x, device, params.eval.batch_size, ts.split.boxes, ts.fine)
        else:
            model = runs.load_trained(ckpt, device)
            masks_of = lambda ts: predict_masks(model, ts.split.x, device, params.eval.batch_size,  # noqa: E731
                                                ts.split.boxes, ts.fine)
        for scale, ts in views.items():
            emit({"label": args.label, "checkpoint": ckpt, "seg_scale": scale,
                  "val_iou": round(ts.seg_entry(masks_of(ts))["iou"], 4)}, args.out)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seigan.probe", description=__doc__.split("\n")[0])
    ap.add_argument("variant", help="warmup, supervised, seg-scale, or a variant name from params.yaml")
    ap.add_argument("--checkpoints", nargs="+", default=["checkpoints/warmup"], help="with seg-scale")
    ap.add_argument("--scales", nargs="+", type=float, default=[1.0, 2.0], help="with seg-scale")
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--eval-seconds", type=float, default=30.0, help="validate every this many seconds")
    ap.add_argument("--steps", type=int, help="stop after this many steps (whichever comes first with --minutes)")
    ap.add_argument("--eval-steps", type=int, help="validate every this many steps instead of by time")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--init", help="start from the networks of this checkpoint (a warm start's last.pt or a probe's "
                    "--save); a variant takes the networks its warm start hands on")
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
        if args.variant == "supervised":
            return probe_bound(params, args)
        if args.variant == "seg-scale":
            return probe_seg_scale(params, args)
        run = runs.get(params, args.variant)  # trained as the pipeline trains the warm start or the variant
    except (config.ConfigError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # a long horizon keeps the learning rate constant: the probe measures learning, not a schedule
    run = dataclasses.replace(run, train=dataclasses.replace(run.train, steps=10 ** 9))
    if run.train.threads:
        torch.set_num_threads(run.train.threads)
    data = runs.load_data(params, "train")  # validation comes with its references (evaluate.load_test)
    val_set = evaluate.load_test(params, "val")
    val = val_set.split
    model = train.make_model(run, device)
    if args.init:  # the step count goes on from the checkpoint's (the binarisation ramp)
        train.load_networks(model, args.init, run.inherits or None)
    train.fast_path(model, run.train)
    colour = realism.ColourTest(val.x, val_set.hole, val_set.groups) if model.enh is not None else None
    t_eval, train_s = 0.0, 0.0
    budget = args.minutes * 60
    for step, _, took in train.steps(model, data, run.train, device, itertools.count(1)):
        train_s += took
        done = train_s >= budget or (args.steps is not None and step >= args.steps)
        due = step % args.eval_steps == 0 if args.eval_steps else train_s - t_eval >= args.eval_seconds
        if due or done:
            t_eval = train_s
            out = evaluate.outputs(model, val_set, params, device)  # one pass over val for every number
            masks, light = out["m"], evaluate.light_from(out, val_set)
            emit({"label": args.label, "step": step, "minutes": round(train_s / 60, 2),
                  "val_iou": round(light["iou"], 4),
                  **{k: round(v, 4) for k, v in metrics.mask_stats(masks).items()},
                  **{k: None if light[k] is None else round(light[k], 3)
                     for k in ("enh_psnr", "enh_diff_psnr", "hole_psnr", "hole_psnr_true")},
                  **colour_columns(out, val_set, colour),
                  "s_per_step": round(train_s / step, 4), "device": device.type}, args.out)
        if done:
            break
    if args.png:
        from seigan import plots
        plots.image_grid({"x": val.x[:12], "true": val.mask[:12], "m": masks[:12]}, 12,
                          title=args.label).savefig(args.png, dpi=80)
    if args.save:
        torch.save({"nets": model.full_state()["nets"], "step": model.steps_done}, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
