"""Figures the data and training notebooks draw (and the report reuses): image grids, loss and validation
curves, the collapse verdict. Kept apart from `report` so that a change to the report's tables or words does not
retrain anything (each DVC stage depends on the modules its notebook imports).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from seigan import runs
from seigan.data import layout


def to_numpy_image(t: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] or (1, H, W) in [0, 1] -> an array matplotlib shows."""
    if t.shape[0] == 1:
        return t[0].clamp(0, 1).numpy()
    return ((t.permute(1, 2, 0).clamp(-1, 1) + 1) / 2).numpy()


def image_grid(rows: dict, n: int, title: str | None = None, size: float = 1.4):
    """A grid with one row per named tensor batch and `n` columns."""
    fig, axes = plt.subplots(len(rows), n, figsize=(n * size, len(rows) * size), squeeze=False)
    for r, (name, batch) in enumerate(rows.items()):
        for c in range(n):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(batch):
                ax.imshow(to_numpy_image(batch[c]), cmap="gray", vmin=0, vmax=1)
        axes[r][0].set_title(name, fontsize=8, loc="left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def split_counts(root: Path) -> pd.DataFrame:
    rows = []
    manifest = layout.read_manifest(root)
    for split in layout.SPLITS:
        folder = root / split
        if not folder.is_dir():
            continue
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        rows.append({"split": split, "object images x": layout.count_images(root, split, layout.X),
                     "background images y": layout.count_images(root, split, layout.Y),
                     "animals": len(manifest.get("objects", {}).get(split, [])) or None, "MB": round(size / 1e6, 1)})
    return pd.DataFrame(rows)


def draw_boxes(ax_list, boxes):
    for ax, (x0, y0, x1, y1) in zip(ax_list, boxes.tolist()):
        ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color="yellow", lw=1))


LOSS_PANELS = ("g_total", "adv_obj", "adv_bg", "identity", "rec_obj", "rec_bg", "d_obj", "d_bg", "d_obj_y_hat",
               "d_obj_z")
LOSS_TITLES = {"d_obj_y_hat": "D_obj's score on ŷ (1 = real)", "d_obj_z": "D_obj's score on the paste (1 = real)"}


def plot_losses(variants: list, keys=LOSS_PANELS):
    """Loss curves of each variant from reports/train/<variant>/losses.csv, with D_obj's scores on ŷ and on the
    paste (what G_enh is told)."""
    cols = 5
    fig, axes = plt.subplots((len(keys) + cols - 1) // cols, cols, figsize=(3 * cols, 2.6 * ((len(keys) + cols - 1) // cols)),
                             squeeze=False)
    axes = axes.flatten()
    for ax in axes[len(keys):]:
        ax.axis("off")
    for v in variants:
        path = runs.train_log_dir(v) / "losses.csv"
        if not path.is_file():
            continue
        df = pd.read_csv(path)
        for ax, k in zip(axes, keys):
            if k in df:
                ax.plot(df["step"], df[k], label=v, lw=1)
            ax.set_title(LOSS_TITLES.get(k, k), fontsize=9)
            ax.set_xlabel("step", fontsize=8)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


VAL_PANELS = {"val_iou": "validation IoU (val split, not test)", "mask_mean": "mean soft mask",
              "soft": "share of soft pixels (0.1 < m < 0.9)", "empty": "share of near-empty masks",
              "full": "share of near-full masks"}
SOFT_LIMIT = 0.2  # more soft pixels than this is the grey-mask failure
COLLAPSE_LIMIT = 0.5  # more near-empty or near-full masks than this is a collapse


def read_val(variant: str) -> pd.DataFrame | None:
    path = runs.train_log_dir(variant) / "val.csv"
    return pd.read_csv(path) if path.is_file() else None


def plot_validation(variants: list):
    """Validation IoU and the collapse diagnostics of each variant against steps."""
    fig, axes = plt.subplots(1, len(VAL_PANELS), figsize=(3.2 * len(VAL_PANELS), 2.8))
    for v in variants:
        df = read_val(v)
        if df is None:
            continue
        for ax, key in zip(axes, VAL_PANELS):
            if key in df:
                ax.plot(df["step"], df[key], marker=".", label=v)
    for ax, title in zip(axes, VAL_PANELS.values()):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def collapse_verdict(variant: str) -> str:
    """One sentence on whether the run's last validation masks show the grey-mask failure or a collapse."""
    df = read_val(variant)
    if df is None or df.empty or "soft" not in df:
        return f"{variant}: no validation diagnostics were logged."
    last = df.iloc[-1]
    problems = []
    if last["soft"] > SOFT_LIMIT:
        problems.append(f"{last['soft']:.0%} of its mask pixels are soft (grey-mask failure; limit {SOFT_LIMIT:.0%})")
    if last["empty"] > COLLAPSE_LIMIT:
        problems.append(f"{last['empty']:.0%} of its masks are near-empty (collapse to all-background)")
    if last["full"] > COLLAPSE_LIMIT:
        problems.append(f"{last['full']:.0%} of its masks are near-full (collapse to the all-ones cheat)")
    head = f"**{variant}** at step {int(last['step'])}: validation IoU {last['val_iou']:.3f}, "
    if problems:
        return head + "**the mask has failed**: " + "; ".join(problems) + "."
    return head + (f"no collapse ({last['soft']:.0%} soft pixels, {last['empty']:.0%} near-empty and "
                   f"{last['full']:.0%} near-full masks).")
