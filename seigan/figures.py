"""README's two figures, regenerated from the last run by the report stage of `dvc repro` (so they cannot go
stale): the first test images through the `full` variant, and `seigan segment | remove | compose` on them.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from seigan import api, runs
from seigan.data import layout
from seigan.paths import resolve
from seigan.plots import image_grid


def overview_figure(ex: dict, variant: str, n: int = 6):
    """README's overview: the first n test images through `variant` (x, true mask, m, y, ŷ, ŷ*, x̂, clean)."""
    rows = {"x": ex["x"][:n], "true mask": ex["mask"][:n], f"m ({variant})": ex[variant]["m"][:n],
            "y": ex["y"][:n], "ŷ": ex[variant]["y_hat"][:n]}
    if "swap" in ex:
        rows["ŷ* (true swap)"] = ex["swap"][:n]
    rows.update({"x̂": ex[variant]["x_hat"][:n], "clean background": ex["clean"][:n]})
    return image_grid(rows, n, size=1.2)


def cli_figure(variant: str = "full", n: int = 4):
    """README's before/after figure of `seigan segment | remove | compose`: the first n test images through
    seigan.api with the variant's checkpoint (exactly what the command line writes)."""
    root = resolve("data") / "test"
    rows = layout.read_boxes(root, n)
    model = api.load_model(runs.checkpoint_dir(variant) / "last.pt")
    cols = ["photo x (box)", "seigan segment", "seigan remove", "seigan compose (onto y)"]
    fig, axes = plt.subplots(n, 4, figsize=(8, 2 * n), squeeze=False)
    for i, r in enumerate(rows):
        x = root / layout.X / r["file"]
        box = [int(r[k]) for k in layout.BOX_COLUMNS]
        y = np.asarray(layout.open_image(root / layout.Y / rows[(i + 1) % n]["file"], "RGB"))
        images = [np.asarray(layout.open_image(x, "RGB")), api.segment(x, box, model), api.remove(x, box, model),
                  api.compose(x, box, y, model, scale=0.8)]
        for j, (ax, im) in enumerate(zip(axes[i], images)):
            ax.imshow(im, cmap="gray" if im.ndim == 2 else None, vmin=0, vmax=255)
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_title(cols[j], fontsize=9)
        x0, y0, x1, y1 = box
        axes[i][0].add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color="yellow", lw=1))
    fig.tight_layout()
    return fig


README_FIGURES = {"overview": "docs/overview.png", "cli": "docs/img/cli_example.png"}


def save_readme_figures(ex: dict, variant: str) -> list:
    """Regenerate README's two figures from this run (a pipeline output, so they cannot go stale)."""
    paths = []
    for key, fig in (("overview", overview_figure(ex, variant)), ("cli", cli_figure(variant))):
        path = resolve(README_FIGURES[key])
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths
