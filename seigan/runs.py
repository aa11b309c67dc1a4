"""A run's identity and artefacts: one owner for what determines a run (its config and hash), how a trained
model is rebuilt from its checkpoint, and every checkpoint and report path.

Training, evaluation, the study kit, the notebooks and every command line ask this module; no other file spells
`checkpoints/...` or `reports/...`.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from seigan import checkpoint, config
from seigan.model import SEIGAN
from seigan.paths import resolve

# The shared warm start (the segment-and-inpaint core) is trained once, as its own pipeline stage, under this
# name; a variant of params.yaml may not take it.
WARMUP = "warmup"

# The warm-start objective: G_seg learns from the paste adversary (D_obj) and the inpainting adversary (D_bg)
# alone, with no enhancement and no second pass, as in the mask-from-scratch methods (docs/learning.md).
CORE = config.VariantConfig(enhancement=False, second_pass=False, texture=False, identity_weight=0.0)


# -- paths ---------------------------------------------------------------------------------------------------
def checkpoint_dir(name: str) -> Path:
    """checkpoints/<name>: last.pt of a variant (or of the warm start)."""
    return resolve("checkpoints") / name


def last_checkpoint(name: str) -> Path:
    return checkpoint_dir(name) / "last.pt"


def reports_dir() -> Path:
    """reports/: metrics.json, eval/, train/, data/, notebooks/ and the rendered report."""
    return resolve("reports")


def train_log_dir(name: str) -> Path:
    """reports/train/<name>: losses.csv, val.csv and summary.json, read by `dvc plots` and the report."""
    return reports_dir() / "train" / name


def metrics_file(reports: str | Path | None = None) -> Path:
    """<reports>/metrics.json: the held-out numbers (`dvc metrics show`)."""
    return resolve(reports or reports_dir()) / "metrics.json"


def eval_file(name: str, reports: str | Path | None = None) -> Path:
    """<reports>/eval/<name>: details.json, examples.pt, supervised_val.csv."""
    return resolve(reports or reports_dir()) / "eval" / name


def data_summary_file() -> Path:
    """reports/data/summary.json, written by notebooks/01_data."""
    return reports_dir() / "data" / "summary.json"


def seed_dirs(seed: int, name: str) -> tuple:
    """checkpoints_seeds/<seed>/<name> and reports/seeds/<seed>/<name>: a run of the seeds command
    (`python -m seigan.seeds`), kept apart from the pipeline's own checkpoints."""
    return resolve("checkpoints_seeds") / str(seed) / name, reports_dir() / "seeds" / str(seed) / name


def seeds_file() -> Path:
    """reports/seeds.json: the paper's variants retrained over several seeds (the report reads it when present)."""
    return reports_dir() / "seeds.json"


def study_dir() -> Path:
    """reports/study: the blind human-study kit."""
    return reports_dir() / "study"


# -- run identity --------------------------------------------------------------------------------------------
def switches(params: config.Params, name: str) -> config.VariantConfig:
    """The variant's switches; the warm start trains the core objective."""
    return CORE if name == WARMUP else params.variant(name)


def run_config(params: config.Params, name: str) -> dict:
    """Everything that determines a run; its hash decides whether a checkpoint can be resumed. A variant that
    starts from the shared warm start carries the warm start's config, so a changed warm start retrains it."""
    train_cfg = config.as_dict(params.train)
    if name == WARMUP:
        train_cfg.update(steps=params.train.warmup_steps, lr=params.train.warmup_lr, seg_lr_scale=1.0,
                         decay_start=params.train.warmup_decay_start)
    loss_cfg = config.as_dict(params.loss)
    if name == WARMUP:
        loss_cfg["binarize"] = params.loss.warmup_binarize
    cfg = {"variant": name, "switches": config.as_dict(switches(params, name)),
           "model": config.as_dict(params.model), "loss": loss_cfg,
           "train": train_cfg, "data_root": params.data.root}
    if name != WARMUP and params.train.warmup_steps > 0:
        cfg["warm_start"] = config_hash(run_config(params, WARMUP))
    return cfg


# Settings that change where or how often a run reports, not what it learns: a checkpoint resumes across them.
BOOKKEEPING = ("device", "threads", "checkpoint_every", "log_every", "val_every", "backend", "workers", "data_on")


def config_hash(cfg: dict) -> str:
    """A run's identity: resuming (and starting from a warm start) needs the same hash."""
    train_cfg = {k: v for k, v in cfg["train"].items() if k not in BOOKKEEPING}
    return hashlib.sha256(json.dumps({**cfg, "train": train_cfg}, sort_keys=True).encode()).hexdigest()[:16]


def build_model(cfg: dict, with_texture: bool = True) -> SEIGAN:
    """A SEIGAN from a run config (as stored in checkpoints)."""
    return SEIGAN(config.from_dict(config.ModelConfig, cfg["model"], "model"),
                  config.from_dict(config.LossConfig, cfg["loss"], "loss"),
                  config.from_dict(config.TrainConfig, cfg["train"], "train"),
                  config.from_dict(config.VariantConfig, cfg["switches"], f"variants.{cfg['variant']}"),
                  with_texture=with_texture)


def load_trained(ckpt_dir: str | Path, device="cpu", state: dict | None = None) -> SEIGAN:
    """The trained model of a finished (or interrupted) run, for evaluation; no VGG needed. `state`: the
    already-loaded last.pt, so that a caller who needs its details reads the file once."""
    path = Path(ckpt_dir) / "last.pt"
    if state is None:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no checkpoint; train this variant first")
        state = checkpoint.load(path)
    model = build_model(state["config"], with_texture=False)
    model.load_full_state(state["model"])
    model.eval()
    return model.to(device)


@torch.no_grad()
def batched(fn, tensors: tuple, batch: int, device) -> dict:
    """Run `fn` (returning a dict of tensors) over chunks of `tensors` on `device`; results on the CPU."""
    parts = [{k: v.cpu() for k, v in fn(*(c.to(device) for c in chunks)).items()}
             for chunks in zip(*(t.split(batch) for t in tensors))]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def batched_masks(segment, images: torch.Tensor, device, batch: int = 50) -> torch.Tensor:
    """Masks of `images` from `segment` (images -> masks), run in chunks on `device`; returned on the CPU."""
    return batched(lambda chunk: {"m": segment(chunk)}, (images,), batch, device)["m"]


def predict_masks(model: SEIGAN, images: torch.Tensor, device, batch: int = 50) -> torch.Tensor:
    return batched_masks(lambda chunk: model.predict(chunk)["m"], images, device, batch)
