"""Regenerate docs/img/cli_example.png, README's before/after figure of `seigan segment | remove | compose`:
the first four held-out test images, each run through seigan.api with the `full` checkpoint of the last
`dvc repro` (exactly what the command line writes). Run from the repository root after `dvc repro`:

    python docs/make_cli_figure.py
"""
import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from seigan import api
from seigan.data import layout

root, n = Path("data") / "test", 4
with open(root / layout.BOXES, newline="") as f:
    rows = list(csv.DictReader(f))[:n]
model = api.load_model()
cols = ["photo x (box)", "seigan segment", "seigan remove", "seigan compose (onto y)"]
fig, axes = plt.subplots(n, 4, figsize=(8, 2 * n))
for i, r in enumerate(rows):
    x = root / layout.X / r["file"]
    box = [int(r[k]) for k in layout.BOX_COLUMNS]
    y = np.asarray(Image.open(root / layout.Y / rows[(i + 1) % n]["file"]).convert("RGB"))
    images = [np.asarray(Image.open(x).convert("RGB")), api.segment(x, box, model), api.remove(x, box, model),
              api.compose(x, box, y, model, scale=0.8)]
    for j, (ax, im) in enumerate(zip(axes[i], images)):
        ax.imshow(im, cmap="gray" if im.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_xticks([]), ax.set_yticks([])
        if i == 0:
            ax.set_title(cols[j], fontsize=9)
    x0, y0, x1, y1 = box
    axes[i][0].add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color="yellow", lw=1))
fig.tight_layout()
Path("docs/img").mkdir(parents=True, exist_ok=True)
fig.savefig("docs/img/cli_example.png", dpi=100)
print("wrote docs/img/cli_example.png")
