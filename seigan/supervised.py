"""The supervised bound as its own pipeline stage: SEIGAN's G_seg trained with BCE on the training split's true masks
(`baselines.train_supervised`), once per data set and settings, then read by the evaluation and the unseen split.

Why a stage: it depends only on the data and its own settings (model, train, eval.supervised_*), so DVC reuses it
when a variant or the evaluation changes, and every evaluated split (test, unseen) is scored by the same network.
It says what the data allows, so that a reader can tell a data limit from a method limit (docs/method.md).
"""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from seigan import atomic, baselines, config, networks, runs
from seigan.paths import resolve

DIR = "checkpoints/supervised"


def checkpoint_file() -> Path:
    return resolve(DIR) / "seg.pt"


def curve_file() -> Path:
    """Its validation curve (step, val_iou), a plot of the report."""
    return runs.reports_dir() / "supervised" / "val.csv"


def code_fingerprint() -> str:
    """The bound's own code (its network and its training loop): an edit there makes a saved bound stale, an edit
    anywhere else does not (DVC reruns the stage for any module it imports)."""
    return hashlib.md5(b"".join(Path(m.__file__).read_bytes() for m in (baselines, networks))).hexdigest()


def settings(params: config.Params) -> dict:
    """What the bound's network depends on, the data set's fingerprint and its code included (as a run's identity
    carries the data's): a saved network whose settings differ is stale."""
    return {"data": runs.data_fingerprint(params.data.root), "code": code_fingerprint(),
            "model": dataclasses.asdict(params.model), "steps": params.eval.supervised_steps,
            "lr": params.eval.supervised_lr, "batch_size": params.train.batch_size, "seed": params.train.seed,
            "flip": params.train.flip, "zoom": params.train.zoom, "limit": params.train.limit}


def fit(params: config.Params, progress: bool = True, val_every: int | None = None) -> tuple:
    """The bound's network and validation curve, trained as the stage trains it (`python -m seigan.probe supervised`
    runs this with changed settings)."""
    device = config.torch_device(params.train.device)
    train = runs.load_data(params, "train", with_truth=True, limit=params.train.limit)
    val = runs.load_data(params, "val", with_truth=True)
    return baselines.train_supervised(train.x, train.mask, params.model,
                                      dataclasses.replace(params.train, lr=params.eval.supervised_lr),
                                      params.eval.supervised_steps, progress, device,
                                      val=(val.x, val.mask, val.boxes), val_every=val_every or params.train.val_every,
                                      boxes=train.boxes)


def train_bound(params: config.Params, progress: bool = True) -> list:
    """Train the bound on the training split (its first `train.limit` images when set), validate it on the
    validation split, save the network (atomically) and its curve; returns the curve. Nothing when
    eval.supervised_steps is 0."""
    if params.eval.supervised_steps <= 0:
        return []
    seg, curve = fit(params, progress)
    atomic.write_csv(curve_file(), curve)
    atomic.save(checkpoint_file(), {"state": seg.cpu().state_dict(), "settings": settings(params), "curve": curve})
    return curve


def current_state(params: config.Params, progress: bool = True) -> tuple:
    """(the saved bound's state, whether it was trained just now): the saved one when its settings, data and code
    match, else it is trained first."""
    path = checkpoint_file()
    state = atomic.load(path) if path.is_file() else None
    if state is not None and state["settings"] == settings(params):
        return state, False
    print(f"{path}: {'missing' if state is None else 'trained with other settings, data or code'}; training the "
          f"supervised bound ({params.eval.supervised_steps} steps)")
    train_bound(params, progress)
    return atomic.load(path), True


def ensure_bound(params: config.Params, progress: bool = True) -> list:
    """The stage's work: the bound's validation curve, training the bound only when it is missing or stale. The
    checkpoint persists between runs of the stage, so an edit of the evaluation, the model or the config (which DVC
    sees as a changed dependency) does not retrain it."""
    if params.eval.supervised_steps <= 0:
        return []
    state, trained = current_state(params, progress)
    if not trained:  # DVC removed the stage's report folder before running it
        print(f"{checkpoint_file()}: trained with these settings, data and code; reused")
        atomic.write_csv(curve_file(), state["curve"])
    return state["curve"]


def load_bound(params: config.Params, device="cpu"):
    """The trained bound (eval mode on `device`), or None when eval.supervised_steps is 0. Trains it first when it is
    missing or stale (outside `dvc repro`, which runs the `supervised` stage)."""
    if params.eval.supervised_steps <= 0:
        return None
    state, _ = current_state(params, progress=False)
    seg = networks.make_seg(params.model)
    seg.load_state_dict(state["state"])
    return seg.to(device).eval()
