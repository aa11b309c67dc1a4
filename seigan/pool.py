"""The fake-image pool of CycleGAN (Shrivastava et al.), with its own seeded RNG.

CycleGAN's pool draws from Python's global `random`, which makes runs irreproducible; this one owns a
`random.Random`, whose state goes into checkpoints.
"""
from __future__ import annotations

import random

import torch


class ImagePool:
    def __init__(self, size: int, seed: int = 0):
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []
        self.rng = random.Random(seed)

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        """Return a batch of the same size: while filling, the new images; then, per image, with
        probability 1/2 an older stored image (which the new one replaces), else the new one."""
        batch = batch.detach()
        if self.size == 0:
            return batch
        out = []
        for img in batch:
            img = img.unsqueeze(0).clone()
            if len(self.images) < self.size:
                self.images.append(img)
                out.append(img)
            elif self.rng.random() < 0.5:
                i = self.rng.randrange(self.size)
                out.append(self.images[i].to(img.device, copy=True))  # a reloaded pool may sit elsewhere
                self.images[i] = img
            else:
                out.append(img)
        return torch.cat(out, 0)

    def state_dict(self) -> dict:
        return {"size": self.size, "images": list(self.images), "rng": self.rng.getstate()}

    def load_state_dict(self, state: dict) -> None:
        self.size = state["size"]
        self.images = list(state["images"])
        self.rng.setstate(state["rng"])
