"""The training loop for one variant: seeded, resumable from atomic checkpoints, logging losses and
validation IoU as CSV that `dvc plots` can draw.

`python -m seigan.train VARIANT` does the same as notebooks/02_train.ipynb without the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from seigan import batches, checkpoint, config, distributed, metrics, runs
from seigan.data.layout import DataError, Split, load_split
from seigan.model import SEIGAN
from seigan.paths import repo_root, resolve


WARM_NETS = ("seg", "inp", "d_bg", "d_obj")


def load_networks(model: SEIGAN, source, names=WARM_NETS) -> None:
    """Copy the weights of `names` from a checkpoint (a path or a loaded state; a training run's or a probe's)."""
    state = checkpoint.load(source) if isinstance(source, (str, Path)) else source
    nets = state["model"]["nets"] if "model" in state else state["nets"]
    for name in names:
        getattr(model, name).load_state_dict(nets[name])
    if model.seg_ema is not None:  # the average continues from the warm start's (or starts at its weights)
        model.seg_ema.load_state_dict(nets.get("seg_ema", nets["seg"]))


def fast_path(model: SEIGAN, tc: config.TrainConfig) -> SEIGAN:
    """Apply the `train.channels_last` and `train.compile` switches (bf16 autocast lives in the model's step)."""
    if tc.channels_last:
        model.to(memory_format=torch.channels_last)
    if tc.compile:
        for net in model.generators() + [model.d_bg, model.d_obj]:
            net.compile()  # in place: parameter names (and so checkpoints) stay the same
    return model


def set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rank_state(model: SEIGAN) -> dict:
    """What differs between ranks: torch's RNG, the noise RNG and the fake pools (batches are seeded by step)."""
    return {"torch_rng": torch.get_rng_state(), "noise_rng": model.noise_rng.get_state(),
            "pool_bg": model.pool_bg.state_dict(), "pool_obj": model.pool_obj.state_dict()}


def load_rank_state(model: SEIGAN, state: dict) -> None:
    torch.set_rng_state(state["torch_rng"])
    model.noise_rng.set_state(state["noise_rng"])
    model.pool_bg.load_state_dict(state["pool_bg"])
    model.pool_obj.load_state_dict(state["pool_obj"])


def validate(model: SEIGAN, val: Split, device, ctx: distributed.Context) -> dict:
    """Validation IoU and mask statistics over the whole split, each rank predicting its shard."""
    masks = runs.predict_masks(model, batches.shard(val, ctx.rank, ctx.world).x, device)
    if ctx.active:
        parts = distributed.gather_objects(masks, ctx)
        masks = torch.empty((len(val.x),) + masks.shape[1:])
        for r, part in enumerate(parts):
            masks[r::ctx.world] = part
    return {"val_iou": metrics.mean_se(metrics.iou_per_image(masks, val.mask))[0], **metrics.mask_stats(masks)}


def train(params: config.Params, variant: str, ckpt_dir: str | Path, log_dir: str | Path,
          stop_after: int | None = None, progress: bool = True, data: tuple | None = None,
          warm_start: str | Path | None = None) -> dict:
    """Train `variant` (or the shared warm start, `runs.WARMUP`) to its step budget, resuming from
    `ckpt_dir/last.pt` when its config matches. A variant with `train.warmup_steps > 0` starts from the
    networks in `warm_start` (the warm start's last.pt).

    Under torchrun (`train.nproc` > 1) every rank runs this function on its shard of the data; rank 0 writes the
    checkpoint (with every rank's RNG and pool state) and the logs (docs: seigan/distributed.py).

    `stop_after` ends this call after that many steps (used to test resuming). Returns a summary."""
    switched = runs.switches(params, variant)  # unknown variant -> one clear line before any work
    cfg = runs.run_config(params, variant)
    tc = config.from_dict(config.TrainConfig, cfg["train"], "train")
    ckpt_dir, log_dir = Path(ckpt_dir), Path(log_dir)
    if variant != runs.WARMUP and not switched.run:
        summary = {"variant": variant, "skipped": True, "step": 0, "steps": tc.steps, "finished": False}
        checkpoint.save_json(log_dir / "summary.json", summary)
        checkpoint.save_json(ckpt_dir / "not_run.json", summary)  # the stage's output exists; last.pt is kept
        (log_dir / "losses.csv").unlink(missing_ok=True)
        (log_dir / "val.csv").unlink(missing_ok=True)
        return summary
    if variant != runs.WARMUP and tc.warmup_steps > 0:
        if warm_start is None or not Path(warm_start).is_file():
            raise FileNotFoundError(f"{warm_start}: no warm-start checkpoint; train the warm start first "
                                    f"(dvc repro train_warmup, or python -m seigan.train {runs.WARMUP})")
    device = config.torch_device(tc.device)
    ctx, device = distributed.setup(tc.nproc, tc.backend, device)
    if ctx.world != tc.nproc:
        distributed.shutdown(ctx)
        how = f"torchrun started {ctx.world}" if distributed.launched() else "one process was started"
        raise distributed.DistributedError(
            f"params.yaml: train.nproc is {tc.nproc} but {how}; run python -m seigan.train {variant} (it starts "
            f"torchrun itself) or torchrun --standalone --nproc_per_node={tc.nproc} -m seigan.train {variant}")
    try:
        return _train(params, variant, cfg, tc, switched, ckpt_dir, log_dir, stop_after, progress, data,
                      warm_start, device, ctx)
    finally:
        distributed.shutdown(ctx)


def _train(params, variant, cfg, tc, switched, ckpt_dir, log_dir, stop_after, progress, data, warm_start,
           device, ctx: distributed.Context) -> dict:
    if tc.threads:
        torch.set_num_threads(tc.threads)
    if data is None:
        root = resolve(params.data.root)
        data = (load_split(root, "train", params.model.resolution),
                load_split(root, "val", params.model.resolution, with_truth=True))
    train_data, val_data = batches.shard(data[0], ctx.rank, ctx.world), data[1]
    set_seeds(tc.seed + 1000 * ctx.rank)  # rank 0 draws as a single process does
    model = SEIGAN(params.model, config.from_dict(config.LossConfig, cfg["loss"], "loss"), tc, switched).to(device)
    if variant != runs.WARMUP:
        model.steps_before = tc.warmup_steps
    if ctx.active:
        model.reseed(tc.seed + 1000 * ctx.rank)
    history, val_rows, start, seconds = [], [], 0, 0.0
    last = ckpt_dir / "last.pt"
    resumed = False
    if last.is_file():
        state = checkpoint.load(last)
        if state.get("config_hash") == runs.config_hash(cfg):
            model.load_full_state(state["model"])
            if ctx.active:
                load_rank_state(model, state["ranks"][ctx.rank])
            else:
                torch.set_rng_state(state["torch_rng"])
            history, val_rows, start, seconds = state["history"], state["val"], state["step"], state["seconds"]
            resumed = True
            if ctx.main:
                print(f"resuming {variant} from step {start} ({last})")
        elif ctx.main:
            print(f"{last}: trained with other params; starting {variant} from scratch")
    if not resumed and variant != runs.WARMUP and tc.warmup_steps > 0:
        warm = checkpoint.load(warm_start)
        if warm.get("config_hash") != cfg["warm_start"] or warm.get("step") != tc.warmup_steps:
            raise ValueError(f"{warm_start}: the warm start was trained with other params or is unfinished; "
                             f"train it first (dvc repro, or python -m seigan.train {runs.WARMUP})")
        load_networks(model, warm)
        model.to(device)
        if ctx.main:
            print(f"{variant}: starting from the warm start {warm_start}")
    fast_path(model, tc)
    if ctx.active:
        distributed.wrap(model, device)

    def save(step: int) -> None:
        ranks = distributed.gather_objects(rank_state(model), ctx) if ctx.active else None
        if not ctx.main:
            return
        state = {"model": model.full_state(), "torch_rng": torch.get_rng_state(),
                 "step": step, "history": history, "val": val_rows, "seconds": seconds, "config": cfg,
                 "config_hash": runs.config_hash(cfg)}
        if ranks is not None:
            state["ranks"] = ranks
        checkpoint.save(last, state)

    end = tc.steps if stop_after is None else min(tc.steps, start + stop_after)
    bar = None
    if progress and end > start and ctx.main:
        from tqdm.auto import tqdm
        bar = tqdm(total=end - start, desc=variant, mininterval=5)
    stream = batches.loader(train_data, tc, device, range(start + 1, end + 1), ctx.rank)
    for step in range(start + 1, end + 1):
        t0 = time.perf_counter()
        x, y = next(stream)
        rec = distributed.mean_record(model.step(x, y), ctx)
        seconds += time.perf_counter() - t0
        if not all(np.isfinite(v) for v in rec.values()):
            raise FloatingPointError(f"{variant}: non-finite loss at step {step}: {rec}")
        if step % tc.log_every == 0 or step == tc.steps:
            history.append({"step": step, **rec, "lr": model.sched_g.get_last_lr()[0]})
        if step % tc.val_every == 0 or step == tc.steps:
            val_rows.append({"step": step, **validate(model, val_data, device, ctx)})
        if step % tc.checkpoint_every == 0 or step == end:
            save(step)
        if bar:
            bar.update(1)
            bar.set_postfix(g=f"{rec['g_total']:.2f}", mask=f"{rec['mask_mean']:.2f}", refresh=False)
    if bar:
        bar.close()
    if end == start and not last.is_file():
        save(start)
    summary = {"variant": variant, "step": end, "steps": tc.steps, "finished": end >= tc.steps,
               "seconds": round(seconds, 1), "s_per_step": round(seconds / max(end, 1), 3),
               "final_val_iou": val_rows[-1]["val_iou"] if val_rows else None,
               "final_val_soft": val_rows[-1]["soft"] if val_rows else None,
               "warm_start": cfg.get("warm_start"), "processes": ctx.world}
    if ctx.main:
        checkpoint.write_csv(log_dir / "losses.csv", history)
        checkpoint.write_csv(log_dir / "val.csv", val_rows)
        checkpoint.save_json(log_dir / "summary.json", summary)
    return summary


def train_run(params: config.Params, name: str, params_file: str | Path = "params.yaml", **kwargs) -> dict:
    """Train a variant (or the warm start) at its standard paths: what the notebook and the CLI run. With
    `train.nproc` > 1 it starts torchrun on `params_file` (which must hold `params`) and returns its summary."""
    if params.train.nproc > 1 and not distributed.launched():
        distributed.check_settings(params.train.nproc, params.train.backend, config.torch_device(params.train.device))
        return launch(name, params.train.nproc, params_file, kwargs.get("stop_after"))
    return train(params, name, runs.checkpoint_dir(name), runs.train_log_dir(name),
                 warm_start=runs.last_checkpoint(runs.WARMUP), **kwargs)


def launch(name: str, nproc: int, params_file: str | Path, stop_after: int | None = None) -> dict:
    """`torchrun --standalone --nproc_per_node=nproc -m seigan.train name`, its output shown when it ends."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "seigan.train", name, "--params", str(resolve(params_file))]
    if stop_after is not None:
        cmd += ["--stop-after", str(stop_after)]
    res = subprocess.run(cmd, cwd=repo_root(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(res.stdout[-5000:])
    if res.returncode != 0:
        errors = [line for line in res.stdout.splitlines() if line.startswith("error:")]
        raise distributed.DistributedError(f"torchrun training of {name} failed (exit {res.returncode})"
                                           + (f": {errors[-1][7:]}" if errors else ""))
    return json.loads((runs.train_log_dir(name) / "summary.json").read_text())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seigan.train")
    ap.add_argument("variant", help=f"a variant of params.yaml, or {runs.WARMUP} (the shared warm start)")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--stop-after", type=int, default=None, help="stop after N steps (resume later)")
    args = ap.parse_args(argv)
    try:
        params = config.load(args.params)
        summary = train_run(params, args.variant, args.params, stop_after=args.stop_after)
    except (config.ConfigError, DataError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
