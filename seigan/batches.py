"""Training batches: random pairs (x, y) from a split, flipped and zoomed, fed to the device.

Batch k of a run is drawn with its own generator, seeded by (seed, rank, k). So the batches do not depend on how
many loader workers make them, on where a run was resumed, or on whether the images sit in host or device memory:
`train.workers` and `train.data_on` are speed switches only, and a checkpoint needs no sampler state.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from seigan.config import TrainConfig
from seigan.data.layout import Split
from seigan.networks import box_maps

DEVICE_SHARE = 0.25  # `data_on: auto` keeps the training images on a GPU when they take under this share of its free memory


def step_generator(seed: int, rank: int, step: int) -> torch.Generator:
    """The generator that draws batch `step` of rank `rank`."""
    state = np.random.SeedSequence((seed, rank, step)).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def random_zoom(images: torch.Tensor, zoom: float, gen: torch.Generator) -> torch.Tensor:
    """Each image enlarged by a random factor in [1, 1 + zoom] around a random point that keeps the view inside
    the image: more distinct x and y than the stored crops, so the discriminators overfit later."""
    b = len(images)
    scale = 1 / (1 + zoom * torch.rand(b, generator=gen))
    shift = (1 - scale)[:, None] * (torch.rand(b, 2, generator=gen) * 2 - 1)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_flip(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Each image mirrored left-right with probability 1/2."""
    f = (torch.rand(len(images), generator=gen) < 0.5).to(images.device)
    return torch.where(f[:, None, None, None], images.flip(3), images)


def sample_batch(xs: torch.Tensor, ys: torch.Tensor, batch: int, gen: torch.Generator, flip: bool,
                 zoom: float = 0.0, boxes: torch.Tensor | None = None) -> tuple:
    """`batch` objects from `xs` and backgrounds from `ys`, drawn independently (the data are unpaired), then
    augmented; with `boxes` (box_maps of xs) also each x's box, flipped and zoomed with it: (x, y, box). The
    images may sit on any device; `gen` draws on the CPU."""
    ix = torch.randint(len(xs), (batch,), generator=gen)
    iy = torch.randint(len(ys), (batch,), generator=gen)
    x, y = xs[ix.to(xs.device)], ys[iy.to(ys.device)]
    if boxes is not None:  # a fourth channel of x, so that it moves with x (each channel is resampled alone)
        x = torch.cat([x, boxes[ix.to(boxes.device)]], 1)
    if flip:
        x, y = random_flip(x, gen), random_flip(y, gen)
    if zoom > 0:
        x, y = random_zoom(x, zoom, gen), random_zoom(y, zoom, gen)
    if boxes is None:
        return x, y
    return x[:, :3].contiguous(), y, (x[:, 3:] >= 0.5).to(x.dtype)


def shard(data: Split, rank: int, world: int) -> Split:
    """Rank `rank`'s share of a split (every world-th image): the distributed sampler's partition."""
    if world <= 1:
        return data
    pick = lambda t: None if t is None else t[rank::world]  # noqa: E731
    return Split(x=pick(data.x), y=pick(data.y), boxes=pick(data.boxes), mask=pick(data.mask),
                 clean=pick(data.clean), names=data.names[rank::world], source_size=data.source_size)


class StepBatches(torch.utils.data.Dataset):
    """Map-style: item k is batch k (the loader's sampler lists the steps), so workers can make any of them."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, tc: TrainConfig, rank: int,
                 boxes: torch.Tensor | None = None):
        self.x, self.y, self.tc, self.rank, self.boxes = x, y, tc, rank, boxes

    def __getitem__(self, step: int) -> tuple:
        gen = step_generator(self.tc.seed, self.rank, step)
        return sample_batch(self.x, self.y, self.tc.batch_size, gen, self.tc.flip, self.tc.zoom, self.boxes)


def keep_on_device(tc: TrainConfig, nbytes: int, device: torch.device) -> bool:
    """Whether the training images go to the device once (then batches are drawn and augmented there)."""
    if device.type != "cuda" or tc.data_on == "host":
        return False
    if tc.data_on == "device":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes < DEVICE_SHARE * free


def to_device(t: torch.Tensor, device, tc: TrainConfig) -> torch.Tensor:
    t = t.to(device, non_blocking=True)
    return t.contiguous(memory_format=torch.channels_last) if tc.channels_last else t


def loader(data: Split, tc: TrainConfig, device: torch.device, steps: Iterable[int], rank: int = 0,
           with_boxes: bool = False) -> Iterator:
    """(x, y), or (x, y, box) `with_boxes`, on `device` for each step in `steps`. Images on the device: drawn there,
    in this process. Images in host memory: drawn by `train.workers` worker processes (0 = this process), in pinned
    memory on a GPU."""
    x, y = data.x, data.y
    boxes = box_maps(data.boxes, x.shape[-1]) if with_boxes else None
    on_device = keep_on_device(tc, x.nbytes + y.nbytes, device)
    if on_device:
        x, y = x.to(device), y.to(device)
        boxes = None if boxes is None else boxes.to(device)
    workers = 0 if on_device else tc.workers
    batches = torch.utils.data.DataLoader(
        StepBatches(x, y, tc, rank, boxes), batch_size=None, sampler=steps, num_workers=workers,
        pin_memory=device.type == "cuda" and not on_device, persistent_workers=workers > 0,
        generator=torch.Generator())  # the loader's own seed draw leaves torch's global generator alone
    for batch in batches:
        yield tuple(to_device(t, device, tc) for t in batch)
