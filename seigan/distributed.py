"""Multi-process training with plain torch.distributed: one process per device, started by
`torchrun --standalone --nproc_per_node=N -m seigan.train VARIANT` (or by `train.nproc: N` in params.yaml, which
makes the notebook and the DVC stage start torchrun themselves). The training loop is the same in both cases.

Each rank trains on its own shard of the training set with its own sampler, noise and fake pools; after every
backward the gradients of each network are averaged over the ranks (one all-reduce per network, generators and
discriminators apart), which is the arithmetic of DistributedDataParallel: N ranks of batch B take the step one
process would take on the concatenated batch of N x B. DDP's own wrapper is not used because its reducer expects
one forward and one backward per wrapped module per step, whereas a SEIGAN step calls G_seg, G_inp and G_enh
two or three times and runs the discriminators with frozen parameters inside the generators' step.
Rank 0 alone writes checkpoints and logs; validation masks are gathered from every rank's shard of the split.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

BACKENDS = ("auto", "gloo", "nccl")


class DistributedError(ValueError):
    """A bad nproc/backend setting or launch; the message is one line."""


@dataclass
class Context:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def launched() -> bool:
    """Started by torchrun (or any launcher that sets the torch.distributed environment)?"""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def check_settings(nproc: int, backend: str, device: torch.device | str) -> str:
    """The backend to use for `train.nproc` / `train.backend` on `device`, or one line saying what is wrong."""
    if not isinstance(nproc, int) or nproc < 1:
        raise DistributedError(f"params.yaml: train.nproc must be an integer >= 1, got {nproc!r}")
    if backend not in BACKENDS:
        raise DistributedError(f"params.yaml: train.backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    cuda = torch.device(device).type == "cuda"
    if backend == "auto":
        backend = "nccl" if cuda else "gloo"
    if backend == "nccl" and not cuda:
        raise DistributedError("params.yaml: train.backend nccl needs train.device cuda; use gloo on the CPU")
    if cuda and nproc > torch.cuda.device_count():
        raise DistributedError(f"params.yaml: train.nproc is {nproc} but torch sees {torch.cuda.device_count()} "
                               "CUDA device(s)")
    return backend


def setup(nproc: int, backend: str, device: torch.device) -> tuple:
    """Join the process group when launched by torchrun; returns (Context, the device this rank uses)."""
    backend = check_settings(nproc, backend, device)
    if not launched():
        return Context(), device
    world, rank = int(os.environ["WORLD_SIZE"]), int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend)
    return Context(rank, world, local), device


def shutdown(ctx: Context) -> None:
    if ctx.active and dist.is_initialized():
        dist.destroy_process_group()


def average_gradients(modules: list, world: int) -> None:
    """Average the gradients of `modules` over the ranks in one flat all-reduce (a parameter without a gradient
    counts as zero on that rank, so that every rank sends the same shapes)."""
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    if world <= 1 or not params:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset:offset + n].view_as(p).clone()
        offset += n


def mean_record(record: dict, ctx: Context) -> dict:
    """A step's named losses averaged over the ranks (the loss of the whole global batch)."""
    if not ctx.active:
        return record
    keys = sorted(record)
    t = torch.tensor([record[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(t)
    return {k: float(v) / ctx.world for k, v in zip(keys, t)}


def gather_objects(obj, ctx: Context) -> list:
    """[obj of rank 0, obj of rank 1, ...] on every rank."""
    if not ctx.active:
        return [obj]
    out = [None] * ctx.world
    dist.all_gather_object(out, obj)
    return out


def broadcast_parameters(modules: list, ctx: Context) -> None:
    """Start every rank from rank 0's weights (they are equal by seeding already; this makes sure)."""
    if not ctx.active:
        return
    for m in modules:
        for t in list(m.parameters()) + list(m.buffers()):
            dist.broadcast(t.data, src=0)


def barrier(ctx: Context) -> None:
    if ctx.active:
        dist.barrier()
