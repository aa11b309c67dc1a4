"""A tiny synthetic data set with an easy object, for the learning regression test: bright triangles on
striped backgrounds. A triangle fills half of its box, so the box prior is far from perfect (IoU ~ 0.5) and only a
mask that follows the shape can beat it."""
from __future__ import annotations

import math

import torch

from seigan.data.layout import Split


def textured_noise(n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """Dark backgrounds of stripes, each with its own colour, orientation and frequency, in [-1, 1]: a pasted
    piece of one background on another shows a seam, as a piece of one photo pasted on another does."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    theta = torch.rand(n, 1, 1, generator=gen) * math.pi
    freq = 2 + 4 * torch.rand(n, 1, 1, generator=gen)
    phase = torch.rand(n, 1, 1, generator=gen) * 2 * math.pi
    stripes = torch.sin(2 * math.pi * freq * (xx * torch.cos(theta) + yy * torch.sin(theta)) + phase)
    base = torch.rand(n, 3, 1, 1, generator=gen) * 0.6 - 0.8
    return (base + 0.25 * stripes[:, None] + 0.03 * torch.randn(n, 3, size, size, generator=gen)).clamp(-1, 1)


def triangles(n: int, size: int, gen: torch.Generator) -> tuple:
    """Masks (n, 1, size, size) of random filled triangles, and their boxes (x0, y0, x1, y1)."""
    yy, xx = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    masks, boxes = torch.zeros(n, 1, size, size), torch.zeros(n, 4)
    for i in range(n):
        side = size * (0.35 + 0.3 * torch.rand(1, generator=gen).item())
        x0, y0 = (torch.rand(2, generator=gen) * (size - side)).tolist()
        p = torch.tensor([[x0, y0 + side], [x0 + side, y0 + side],
                          [x0 + side * torch.rand(1, generator=gen).item(), y0]])
        if torch.rand(1, generator=gen).item() < 0.5:  # half of them point down
            p[:, 1] = 2 * y0 + side - p[:, 1]
        (ax, ay), (bx, by), (cx, cy) = p.tolist()
        d = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy)
        u = ((by - cy) * (xx - cx) + (cx - bx) * (yy - cy)) / d
        v = ((cy - ay) * (xx - cx) + (ax - cx) * (yy - cy)) / d
        masks[i, 0] = ((u >= 0) & (v >= 0) & (u + v <= 1)).float()
        ys, xs = torch.nonzero(masks[i, 0], as_tuple=True)
        boxes[i] = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return masks, boxes


def shapes_split(n: int, size: int = 32, seed: int = 0) -> Split:
    gen = torch.Generator().manual_seed(seed)
    clean = textured_noise(n, size, gen)
    masks, boxes = triangles(n, size, gen)
    colour = 0.6 + 0.4 * torch.rand(n, 3, 1, 1, generator=gen)
    obj = (colour + 0.1 * torch.randn(n, 3, size, size, generator=gen)).clamp(-1, 1)
    x = masks * obj + (1 - masks) * clean
    return Split(x=x, y=textured_noise(n, size, gen), boxes=boxes, mask=masks, clean=clean,
                 names=[f"{i:05d}.png" for i in range(n)], source_size=size)
