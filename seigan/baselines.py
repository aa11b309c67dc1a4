"""Baselines that get exactly what SEIGAN gets (the image and its bounding box), and the supervised bound.

Segmentation: the box filled, the ellipse inscribed in the box, OpenCV GrabCut initialised with the box, and
the same G_seg architecture trained on the true masks (the upper bound). Inpainting: OpenCV Telea.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from seigan import networks
from seigan.config import ModelConfig, TrainConfig
from seigan.data.layout import to_uint8


def box_masks(boxes: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 1, size, size) masks of the filled boxes (x0, y0, x1, y1; exclusive ends): the box maps G_seg's losses
    and input read (`networks.box_maps`), as a prior."""
    return networks.box_maps(boxes, size)


def ellipse_masks(boxes: torch.Tensor, size: int) -> torch.Tensor:
    """The ellipse inscribed in each box: the strongest shape prior that needs no learning."""
    yy, xx = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    out = torch.zeros(len(boxes), 1, size, size)
    for i, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, max((x1 - x0) / 2, 0.5), max((y1 - y0) / 2, 0.5)
        out[i, 0] = (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1).float()
    return out


def grabcut_masks(images: torch.Tensor, boxes: torch.Tensor, iters: int = 5) -> torch.Tensor:
    """OpenCV GrabCut initialised with each box; falls back to the box when GrabCut cannot run."""
    arr = to_uint8(images)
    out = torch.zeros(len(arr), 1, arr.shape[1], arr.shape[2])
    for i, (img, (x0, y0, x1, y1)) in enumerate(zip(arr, boxes.long().tolist())):
        mask = np.zeros(img.shape[:2], np.uint8)
        rect = (x0, y0, max(1, x1 - x0), max(1, y1 - y0))
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(i)
        try:
            cv2.grabCut(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), mask, rect, bgd, fgd, iters, cv2.GC_INIT_WITH_RECT)
            fg = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
        except cv2.error:
            fg = np.zeros(img.shape[:2], bool)
            fg[y0:y1, x0:x1] = True
        out[i, 0] = torch.from_numpy(fg.astype(np.float32))
    return out


def telea_inpaint(images: torch.Tensor, masks: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """OpenCV Telea inpainting of the region where mask >= 0.5; returns images in [-1, 1]."""
    arr = to_uint8(images)
    holes = (masks[:, 0] >= 0.5).numpy().astype(np.uint8) * 255
    out = np.stack([cv2.inpaint(a, h, radius, cv2.INPAINT_TELEA) for a, h in zip(arr, holes)])
    return torch.from_numpy(out).permute(0, 3, 1, 2).float() / 127.5 - 1


def train_supervised(x: torch.Tensor, masks: torch.Tensor, model_cfg: ModelConfig, train_cfg: TrainConfig,
                     steps: int, progress: bool = False, device="cpu", val: tuple | None = None,
                     val_every: int = 100, boxes: torch.Tensor | None = None) -> tuple:
    """The supervised upper bound: SEIGAN's G_seg trained with BCE on the true masks, same optimiser, batch and
    augmentation, the learning rate constant for the first half and decayed linearly to 0 over the second (CycleGAN's
    schedule: without it the last step's IoU swung by up to 0.25 on unseen photos between neighbouring checkpoints).
    Returns the network and its validation curve (rows of step, val_iou) when `val` (images, masks and, for a G_seg
    that reads the box, boxes) is given. `boxes`: x's boxes in pixels, needed under `model.seg_box` or
    `model.mask_in_box`."""
    from seigan.metrics import iou_per_image
    from seigan.model import batched_masks
    from seigan.batches import random_flip, random_zoom
    gen = torch.Generator().manual_seed(train_cfg.seed + 20)
    seg = networks.make_seg(model_cfg, seed=train_cfg.seed).to(device)
    if seg.needs_box and boxes is None:
        raise ValueError("the supervised bound's G_seg reads the box (model.seg_box / model.mask_in_box), but no "
                         "boxes were given")
    box_map = networks.box_maps(boxes, x.shape[-1]) if seg.needs_box else None
    opt = torch.optim.Adam(seg.parameters(), lr=train_cfg.lr, betas=(train_cfg.beta1, train_cfg.beta2))
    half = steps // 2
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: 1.0 if i < half else max(0.0, (steps - i) / max(1, steps - half)))
    curve = []
    it = range(1, steps + 1)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc="supervised", mininterval=5)
    for step in it:
        idx = torch.randint(len(x), (train_cfg.batch_size,), generator=gen)
        both = torch.cat([x[idx], masks[idx]] + ([box_map[idx]] if box_map is not None else []), 1)
        if train_cfg.flip:
            both = random_flip(both, gen)
        if train_cfg.zoom > 0:
            both = random_zoom(both, train_cfg.zoom, gen)
        both = both.to(device)
        box = (both[:, 4:] >= 0.5).float() if box_map is not None else None
        loss = F.binary_cross_entropy(seg(both[:, :3], box), (both[:, 3:4] >= 0.5).float())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if val is not None and (step % val_every == 0 or step == steps):
            seg.eval()
            pred = batched_masks(seg, val[0], device, boxes=val[2] if len(val) > 2 else None)
            seg.train()
            curve.append({"step": step, "val_iou": float(iou_per_image(pred, val[1]).mean())})
    return seg.eval(), curve
