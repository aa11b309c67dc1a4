"""Multi-process training with plain torch.distributed: one process per device, started by
`torchrun --standalone --nproc_per_node=N -m seigan.train VARIANT` (or by `train.nproc: N` in params.yaml, which
makes the notebook and the DVC stage start torchrun themselves). The training loop is the same in both cases.

Each rank trains on its own shard of the training set with its own batches (seeded by rank and step,
seigan/batches.py), noise and fake pools. Every network (G_seg, G_enh, G_inp, D_bg, D_obj) gets its own
DistributedDataParallel wrapper, never G and D in one: a backward averages the gradients of the networks it reached
over the ranks, so N ranks of batch B take the step one process would take on the concatenated batch of N x B. In the generators' step the discriminators judge without learning,
under `no_sync` (SEIGAN.frozen_discriminators), so their wrappers neither expect nor send gradients there.
Rank 0 alone writes checkpoints and logs; validation masks are gathered from every rank's shard of the split.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist



class DistributedError(ValueError):
    """A bad nproc/backend setting or launch; the message is one line."""


@dataclass
class Context:
    rank: int = 0
    world: int = 1

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def launched() -> bool:
    """Started by torchrun (or any launcher that sets the torch.distributed environment)?"""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def torchrun(nproc: int, *target: str) -> list:
    """The command that starts `target` (`-m module args` or `script args`) in `nproc` processes on this machine."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *target]


def check_settings(nproc: int, backend: str, device: torch.device | str) -> str:
    """The backend to use for `train.nproc` / `train.backend` on `device`, or one line saying why this machine cannot
    run them (the values themselves are checked in seigan.config)."""
    cuda = torch.device(device).type == "cuda"
    if backend == "auto":
        backend = "nccl" if cuda else "gloo"
    if backend == "nccl" and not cuda:
        raise DistributedError("params.yaml: train.backend nccl needs train.device cuda; use gloo on the CPU")
    if cuda and nproc > torch.cuda.device_count():
        raise DistributedError(f"params.yaml: train.nproc is {nproc} but torch sees {torch.cuda.device_count()} "
                               "CUDA device(s)")
    return backend


def group_backend(backend: str) -> str:
    """The process group's backends: with nccl also gloo, for what is reduced from CPU tensors (each step's losses,
    validation masks, checkpointed RNG state), which nccl alone cannot carry."""
    return "cpu:gloo,cuda:nccl" if backend == "nccl" else backend


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
        dist.init_process_group(group_backend(backend))
    return Context(rank, world), device


def shutdown(ctx: Context) -> None:
    if ctx.active and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model, device: torch.device) -> None:
    """One DistributedDataParallel per network of `model` (it also broadcasts rank 0's weights to every rank)."""
    from torch.nn.parallel import DistributedDataParallel
    import inspect
    ids = [device.index] if device.type == "cuda" else None
    # no buffer sync before each forward: InstanceNorm keeps no running statistics (newer torch renamed the option)
    renamed = "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    no_sync = {"forward_sync_buffers" if renamed else "broadcast_buffers": False}
    model.wrap_networks(lambda net: DistributedDataParallel(net, device_ids=ids, **no_sync))


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
