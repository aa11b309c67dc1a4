"""The training loop for one variant: seeded, resumable from atomic checkpoints, logging losses and
validation IoU as CSV that `dvc plots` can draw.

`python -m seigan.train VARIANT` does the same as notebooks/02_train.ipynb without the figures.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from seigan import atomic, batches, config, declared, distributed, metrics, runs
from seigan.data.layout import DataError, Split
from seigan.model import NETWORKS, SEIGAN, predict_masks
from seigan.paths import repo_root, resolve


def load_networks(model: SEIGAN, source, names=None) -> None:
    """Copy the weights of `names` (default: every network both have) from a checkpoint (a path or a loaded state;
    a training run's or a probe's), and its step count, so that the model's counter goes on from there. A network
    that was averaged there (`train.ema`) starts from its average, here both as the trained and averaged copy."""
    state = atomic.load(source) if isinstance(source, (str, Path)) else source
    nets = state["model"]["nets"] if "model" in state else state["nets"]
    if names is None:
        names = [n for n in nets if n in NETWORKS and getattr(model, n, None) is not None]
    for name in names:
        weights = nets.get(name + "_avg", nets[name])
        getattr(model, name).load_state_dict(weights)
        if getattr(model, name + "_avg", None) is not None:
            getattr(model, name + "_avg").load_state_dict(weights)
    model.steps_done = int(state.get("step", 0))


def inherit(model: SEIGAN, run: runs.Run, source: str | Path) -> None:
    """Start `run` from the finished run it continues (its warm start): the networks it inherits, and the step
    count. One line if that checkpoint was trained with other params or is unfinished."""
    parent = run.start_from
    state = atomic.load(source)
    if state.get("config_hash") != parent.hash or state.get("step") != parent.train.steps:
        raise ValueError(f"{source}: the warm start was trained with other params or is unfinished; "
                         f"train it first (dvc repro, or python -m seigan.train {parent.name})")
    load_networks(model, state, run.inherits)


def make_model(run: runs.Run, device, rank: int = 0, world: int = 1, vgg=None) -> SEIGAN:
    """The run's model on `device`, every seed set as training sets it (rank 0 draws as a single process does)."""
    set_seeds(run.train.seed + 1000 * rank)
    model = SEIGAN(run.model, run.loss, run.train, run.objective, vgg=vgg).to(device)
    if world > 1:
        model.reseed(run.train.seed + 1000 * rank)
    return model


def steps(model: SEIGAN, data: Split, tc: config.TrainConfig, device, numbers, rank: int = 0, sync=None):
    """The training loop's core, shared by training and the probe: for each step number, draw its batch (seeded by
    step), take one optimisation step and yield (step, losses, seconds of the step). benchmarks/train_step.py builds
    its model with `make_model` and draws from the same loader, but times the batch draw and the step apart."""
    numbers, for_loader = itertools.tee(numbers)  # the loader's sampler reads the step numbers too
    stream = batches.loader(data, tc, device, for_loader, rank, with_boxes=model.uses_boxes)
    for step in numbers:
        t0 = time.perf_counter()
        rec = model.step(*next(stream))
        if sync is not None:
            rec = sync(rec)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        yield step, rec, time.perf_counter() - t0


def fast_path(model: SEIGAN, tc: config.TrainConfig) -> SEIGAN:
    """Apply the `train.channels_last` and `train.compile` switches (bf16 autocast lives in the model's step)."""
    if tc.channels_last:
        model.to(memory_format=torch.channels_last)
    if tc.compile:
        for net in model.generators() + model.discriminators():
            net.compile()  # in place: parameter names (and so checkpoints) stay the same
    return model


def set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rank_state(model: SEIGAN) -> dict:
    """What differs between ranks: torch's RNG, the noise RNG and the fake pools (batches are seeded by step)."""
    return {"torch_rng": torch.get_rng_state(), "noise_rng": model.noise_rng.get_state(),
            "aug_rng": model.aug_rng.get_state(),
            "pool_bg": model.pool_bg.state_dict(), "pool_obj": model.pool_obj.state_dict()}


def load_rank_state(model: SEIGAN, state: dict) -> None:
    torch.set_rng_state(state["torch_rng"])
    model.noise_rng.set_state(state["noise_rng"])
    model.aug_rng.set_state(state["aug_rng"])
    model.pool_bg.load_state_dict(state["pool_bg"])
    model.pool_obj.load_state_dict(state["pool_obj"])


def validate(model: SEIGAN, val: Split, device, ctx: distributed.Context) -> dict:
    """Validation IoU and mask statistics over the whole split, each rank predicting its shard."""
    shard = batches.shard(val, ctx.rank, ctx.world)
    masks = predict_masks(model, shard.x, device, boxes=shard.boxes)
    if ctx.active:
        parts = distributed.gather_objects(masks, ctx)
        masks = torch.empty((len(val.x),) + masks.shape[1:])
        for r, part in enumerate(parts):
            masks[r::ctx.world] = part
    return {"val_iou": metrics.mean_se(metrics.iou_per_image(masks, val.mask))[0], **metrics.mask_stats(masks)}


def train(params: config.Params, name: str, ckpt_dir: str | Path, log_dir: str | Path,
          stop_after: int | None = None, progress: bool = True, data: tuple | None = None,
          warm_start: str | Path | None = None) -> dict:
    """Train the run `name` of params.yaml (a variant, or the warm start `warmup`) to its step budget, resuming from
    `ckpt_dir/last.pt` when its config matches. A run that continues the warm start starts from the networks in
    `warm_start` (default: the warm start's own checkpoint).

    Under torchrun (`train.nproc` > 1) every rank runs this function on its shard of the data; rank 0 writes the
    checkpoint (with every rank's RNG and pool state) and the logs (docs: seigan/distributed.py).

    `stop_after` ends this call after that many steps (used to test resuming). Returns a summary."""
    run = runs.get(params, name)  # unknown name -> one clear line before any work
    ckpt_dir, log_dir = Path(ckpt_dir), Path(log_dir)
    if not run.run:
        return declared.write_outputs(name, run.train.steps, ckpt_dir, log_dir)
    if run.start_from is not None:
        warm_start = Path(warm_start or run.start_from.checkpoint)
        if not warm_start.is_file():
            parent = run.start_from.name
            raise FileNotFoundError(f"{warm_start}: no warm-start checkpoint; train the warm start first "
                                    f"(dvc repro train_{parent}, or python -m seigan.train {parent})")
    tc = run.train
    device = config.torch_device(tc.device)
    ctx, device = distributed.setup(tc.nproc, tc.backend, device)
    if ctx.world != tc.nproc:
        distributed.shutdown(ctx)
        how = f"torchrun started {ctx.world}" if distributed.launched() else "one process was started"
        raise distributed.DistributedError(
            f"params.yaml: train.nproc is {tc.nproc} but {how}; run python -m seigan.train {name} (it starts "
            f"torchrun itself) or torchrun --standalone --nproc_per_node={tc.nproc} -m seigan.train {name}")
    try:
        return _train(run, ckpt_dir, log_dir, stop_after, progress, data, warm_start, device, ctx)
    finally:
        distributed.shutdown(ctx)


def _train(run: runs.Run, ckpt_dir: Path, log_dir: Path, stop_after, progress, data, warm_start, device,
           ctx: distributed.Context) -> dict:
    tc, name, cfg = run.train, run.name, run.config()
    if tc.threads:
        torch.set_num_threads(tc.threads)
    data = data or runs.run_data(run)
    train_data, val_data = batches.shard(data[0], ctx.rank, ctx.world), data[1]
    model = make_model(run, device, ctx.rank, ctx.world)
    history, val_rows, start, seconds = [], [], 0, 0.0
    last = ckpt_dir / "last.pt"
    resumed = False
    if last.is_file():
        state = atomic.load(last)
        if state.get("config_hash") == run.hash:
            model.load_full_state(state["model"])
            if ctx.active:
                load_rank_state(model, state["ranks"][ctx.rank])
            else:
                torch.set_rng_state(state["torch_rng"])
            history, val_rows, start, seconds = state["history"], state["val"], state["step"], state["seconds"]
            resumed = True
            if ctx.main:
                print(f"resuming {name} from step {start} ({last})")
        elif ctx.main:
            print(f"{last}: trained with other params; starting {name} from scratch")
    if not resumed and run.start_from is not None:
        inherit(model, run, warm_start)
        model.to(device)
        if ctx.main:
            print(f"{name}: starting from the warm start {warm_start}")
    fast_path(model, tc)
    if ctx.active:
        distributed.wrap(model, device)

    def save(step: int) -> None:
        ranks = distributed.gather_objects(rank_state(model), ctx) if ctx.active else None
        if not ctx.main:
            return
        state = {"model": model.full_state(), "torch_rng": torch.get_rng_state(),
                 "step": step, "history": history, "val": val_rows, "seconds": seconds, "config": cfg,
                 "config_hash": run.hash}
        if ranks is not None:
            state["ranks"] = ranks
        atomic.save(last, state)

    end = tc.steps if stop_after is None else min(tc.steps, start + stop_after)
    bar = None
    if progress and end > start and ctx.main:
        from tqdm.auto import tqdm
        bar = tqdm(total=end - start, desc=name, mininterval=5)
    sync = (lambda rec: distributed.mean_record(rec, ctx)) if ctx.active else None
    for step, rec, took in steps(model, train_data, tc, device, range(start + 1, end + 1), ctx.rank, sync):
        seconds += took
        if not all(np.isfinite(v) for v in rec.values()):
            raise FloatingPointError(f"{name}: non-finite loss at step {step}: {rec}")
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
    summary = {"variant": name, "step": end, "steps": tc.steps, "finished": end >= tc.steps,
               "seconds": round(seconds, 1), "s_per_step": round(seconds / max(end, 1), 3),
               "final_val_iou": val_rows[-1]["val_iou"] if val_rows else None,
               "final_val_soft": val_rows[-1]["soft"] if val_rows else None,
               "warm_start": cfg["start_from"], "processes": ctx.world}
    if ctx.main:
        atomic.write_csv(log_dir / "losses.csv", history)
        atomic.write_csv(log_dir / "val.csv", val_rows)
        atomic.save_json(log_dir / "summary.json", summary)
    return summary


def train_run(params: config.Params, name: str, params_file: str | Path = "params.yaml", **kwargs) -> dict:
    """Train a variant (or the warm start) at its standard paths: what the notebook and the CLI run. With
    `train.nproc` > 1 it starts torchrun on `params_file` (which must hold `params`) and returns its summary."""
    if params.train.nproc > 1 and not distributed.launched():
        distributed.check_settings(params.train.nproc, params.train.backend, config.torch_device(params.train.device))
        return launch(name, params.train.nproc, params_file, kwargs.get("stop_after"))
    return train(params, name, runs.checkpoint_dir(name), runs.train_log_dir(name), **kwargs)


def launch(name: str, nproc: int, params_file: str | Path, stop_after: int | None = None) -> dict:
    """`torchrun --standalone --nproc_per_node=nproc -m seigan.train name`, its output shown when it ends."""
    cmd = distributed.torchrun(nproc, "-m", "seigan.train", name, "--params", str(resolve(params_file)))
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
