"""The training loop for one variant: seeded, resumable from atomic checkpoints, logging losses and
validation IoU as CSV that `dvc plots` can draw.

`python -m seigan.train VARIANT` does the same as notebooks/02_train.ipynb without the figures.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from seigan import checkpoint, config, metrics
from seigan.data.layout import DataError, Split, load_split
from seigan.model import SEIGAN
from seigan.paths import resolve


def set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_config(params: config.Params, variant: str) -> dict:
    """Everything that determines a run; its hash decides whether a checkpoint can be resumed."""
    return {"variant": variant, "switches": config.as_dict(params.variant(variant)),
            "model": config.as_dict(params.model), "loss": config.as_dict(params.loss),
            "train": config.as_dict(params.train), "data_root": params.data.root}


def config_hash(cfg: dict) -> str:
    """The device a run executes on does not decide whether its checkpoint can be resumed."""
    train_cfg = {k: v for k, v in cfg["train"].items() if k != "device"}
    return hashlib.sha256(json.dumps({**cfg, "train": train_cfg}, sort_keys=True).encode()).hexdigest()[:16]


def build_model(cfg: dict, with_texture: bool = True) -> SEIGAN:
    """A SEIGAN from a run config (as stored in checkpoints)."""
    return SEIGAN(config.from_dict(config.ModelConfig, cfg["model"], "model"),
                  config.from_dict(config.LossConfig, cfg["loss"], "loss"),
                  config.from_dict(config.TrainConfig, cfg["train"], "train"),
                  config.from_dict(config.VariantConfig, cfg["switches"], f"variants.{cfg['variant']}"),
                  with_texture=with_texture)


def load_trained(ckpt_dir: str | Path, device="cpu") -> SEIGAN:
    """The trained model of a finished (or interrupted) run, for evaluation; no VGG needed."""
    path = Path(ckpt_dir) / "last.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint; train this variant first")
    state = checkpoint.load(path)
    model = build_model(state["config"], with_texture=False)
    model.load_full_state(state["model"])
    model.eval()
    return model.to(device)


def sample_batch(data: Split, batch: int, gen: torch.Generator, flip: bool) -> tuple:
    ix = torch.randint(len(data.x), (batch,), generator=gen)
    iy = torch.randint(len(data.y), (batch,), generator=gen)
    x, y = data.x[ix], data.y[iy]
    if flip:
        fx, fy = torch.rand(batch, generator=gen) < 0.5, torch.rand(batch, generator=gen) < 0.5
        x = torch.where(fx[:, None, None, None], x.flip(3), x)
        y = torch.where(fy[:, None, None, None], y.flip(3), y)
    return x, y


@torch.no_grad()
def predict_masks(model: SEIGAN, images: torch.Tensor, device, batch: int = 50) -> torch.Tensor:
    return torch.cat([model.predict(chunk.to(device))["m"].cpu() for chunk in images.split(batch)])


def write_csv(path: Path, rows: list) -> None:
    if not rows:
        return
    keys = list(dict.fromkeys(k for r in rows for k in r))

    def write(f):
        text = [",".join(keys)] + [",".join("" if r.get(k) is None else f"{r[k]:.6g}" if isinstance(r[k], float)
                                           else str(r[k]) for k in keys) for r in rows]
        f.write(("\n".join(text) + "\n").encode())
    checkpoint.atomic_write(path, write)


def train(params: config.Params, variant: str, ckpt_dir: str | Path, log_dir: str | Path,
          stop_after: int | None = None, progress: bool = True, data: tuple | None = None) -> dict:
    """Train `variant` to `train.steps`, resuming from `ckpt_dir/last.pt` when its config matches.

    `stop_after` ends this call after that many steps (used to test resuming). Returns a summary."""
    params.variant(variant)  # unknown variant -> one clear line before any work
    cfg = run_config(params, variant)
    tc = params.train
    device = config.torch_device(tc.device)
    ckpt_dir, log_dir = Path(ckpt_dir), Path(log_dir)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    if data is None:
        root = resolve(params.data.root)
        data = (load_split(root, "train", params.model.resolution),
                load_split(root, "val", params.model.resolution, with_truth=True))
    train_data, val_data = data
    set_seeds(tc.seed)
    model = SEIGAN(params.model, params.loss, tc, params.variant(variant)).to(device)
    gen = torch.Generator().manual_seed(tc.seed + 10)
    history, val_rows, start, seconds = [], [], 0, 0.0
    last = ckpt_dir / "last.pt"
    if last.is_file():
        state = checkpoint.load(last)
        if state.get("config_hash") == config_hash(cfg):
            model.load_full_state(state["model"])
            gen.set_state(state["sampler"])
            torch.set_rng_state(state["torch_rng"])
            history, val_rows, start, seconds = state["history"], state["val"], state["step"], state["seconds"]
            print(f"resuming {variant} from step {start} ({last})")
        else:
            print(f"{last}: trained with other params; starting {variant} from scratch")

    def save(step: int) -> None:
        checkpoint.save(last, {"model": model.full_state(), "sampler": gen.get_state(),
                               "torch_rng": torch.get_rng_state(), "step": step, "history": history,
                               "val": val_rows, "seconds": seconds, "config": cfg, "config_hash": config_hash(cfg)})

    end = tc.steps if stop_after is None else min(tc.steps, start + stop_after)
    bar = None
    if progress and end > start:
        from tqdm.auto import tqdm
        bar = tqdm(total=end - start, desc=variant, mininterval=5)
    for step in range(start + 1, end + 1):
        t0 = time.perf_counter()
        x, y = sample_batch(train_data, tc.batch_size, gen, tc.flip)
        rec = model.step(x.to(device), y.to(device))
        seconds += time.perf_counter() - t0
        if not all(np.isfinite(v) for v in rec.values()):
            raise FloatingPointError(f"{variant}: non-finite loss at step {step}: {rec}")
        if step % tc.log_every == 0 or step == tc.steps:
            history.append({"step": step, **rec, "lr": model.sched_g.get_last_lr()[0]})
        if step % tc.val_every == 0 or step == tc.steps:
            masks = predict_masks(model, val_data.x, device)
            val_rows.append({"step": step, "mask_mean": float(masks.mean()),
                             "val_iou": metrics.mean_se(metrics.iou_per_image(masks, val_data.mask))[0]})
        if step % tc.checkpoint_every == 0 or step == end:
            save(step)
        if bar:
            bar.update(1)
            bar.set_postfix(g=f"{rec['g_total']:.2f}", mask=f"{rec['mask_mean']:.2f}", refresh=False)
    if bar:
        bar.close()
    if end == start and not last.is_file():
        save(start)
    write_csv(log_dir / "losses.csv", history)
    write_csv(log_dir / "val.csv", val_rows)
    summary = {"variant": variant, "step": end, "steps": tc.steps, "finished": end >= tc.steps,
               "seconds": round(seconds, 1), "s_per_step": round(seconds / max(end, 1), 3),
               "final_val_iou": val_rows[-1]["val_iou"] if val_rows else None}
    checkpoint.save_json(log_dir / "summary.json", summary)
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seigan.train")
    ap.add_argument("variant")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--stop-after", type=int, default=None, help="stop after N steps (resume later)")
    args = ap.parse_args(argv)
    try:
        params = config.load(args.params)
        params.variant(args.variant)
        summary = train(params, args.variant, resolve(f"checkpoints/{args.variant}"),
                        resolve(f"reports/train/{args.variant}"), stop_after=args.stop_after)
    except (config.ConfigError, DataError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
