"""Multi-process training on the CPU (gloo): two ranks take the step one process takes on the concatenated batch
and stay identical; torchrun and the in-process loop log the same losses; kill -9 under torchrun resumes without
losing a step; bad nproc/backend settings are one line."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import yaml

from seigan import config, distributed, train
from seigan.atomic import load

ROOT = Path(__file__).resolve().parents[1]
B = 2  # per-rank batch


def tiny_model(variant="no_enhancement"):
    from conftest import tiny_params
    from seigan.model import SEIGAN
    p = tiny_params(train={"pool_size": 0}, loss={"paste_shift": 0.0})  # no per-rank randomness in the step
    return SEIGAN(p.model, p.loss, p.train, p.variant(variant), with_texture=False)


def batches(steps: int) -> list:
    g = torch.Generator().manual_seed(5)
    return [(torch.rand(2 * B, 3, 32, 32, generator=g) * 2 - 1, torch.rand(2 * B, 3, 32, 32, generator=g) * 2 - 1)
            for _ in range(steps)]


def record_gradients(model) -> list:
    """The flat gradients each optimiser is about to apply (after DDP's averaging), generators then discriminators."""
    grads = []

    def hook(opt, *_):
        grads.append(torch.cat([p.grad.reshape(-1) if p.grad is not None else torch.zeros(p.numel())
                                for group in opt.param_groups for p in group["params"]]))
    model.opt_g.register_step_pre_hook(hook)
    model.opt_d.register_step_pre_hook(hook)
    return grads


def worker(rank: int, world: int, init: str, out: str, variant: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    torch.set_num_threads(1)
    model = tiny_model(variant)
    distributed.wrap(model, torch.device("cpu"))  # what training does under torchrun
    grads = record_gradients(model)
    for x, y in batches(3):
        model.step(x[rank * B:(rank + 1) * B], y[rank * B:(rank + 1) * B])
    torch.save({"nets": model.full_state()["nets"], "grads": grads[:2]}, f"{out}.{rank}")
    dist.destroy_process_group()


@pytest.mark.parametrize("variant", ["no_enhancement", "full"])
def test_two_gloo_ranks_equal_one_process_on_the_whole_batch(tmp_path, variant):
    """One DDP wrapper per network: the first step's averaged gradients (generators, then discriminators) equal
    those of one process on the concatenated batch; after three steps both ranks hold the same weights, bit for
    bit. (`full` draws G_enh's noise per rank, so its gradients are not compared, only the ranks' agreement.)"""
    mp.spawn(worker, args=(2, f"file://{tmp_path / 'init'}", str(tmp_path / "run"), variant), nprocs=2)
    r0, r1 = torch.load(tmp_path / "run.0"), torch.load(tmp_path / "run.1")
    for net, sd in r0["nets"].items():
        for k, v in sd.items():
            assert torch.equal(v, r1["nets"][net][k]), (net, k)  # the ranks never drift apart
    if variant != "no_enhancement":
        return
    model = tiny_model(variant)
    grads = record_gradients(model)
    x, y = batches(1)[0]
    model.step(x, y)
    for dist_g, one_g in zip(r0["grads"], grads[:2]):
        assert one_g.abs().max() > 0
        # float32 summation order differs between a batch of 2 per rank and one of 4 (the shipped 3x3-conv U-Net
        # accumulates ~3e-6 of the largest gradient); an averaging error would be of the gradient's own size
        assert torch.allclose(dist_g, one_g, rtol=1e-4, atol=1e-5 * float(one_g.abs().max()))


def make_repo(tmp: Path, built_data, warmup_steps: int | None = None, **train_changes) -> Path:
    """A folder with params.yaml (the tiny profile, with `train_changes`) and data/ linked to the built data."""
    tmp.mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["profile"] = "tiny"
    raw["profiles"]["tiny"]["train"].update(train_changes)
    if warmup_steps is not None:
        raw["profiles"]["tiny"]["warmup"]["steps"] = warmup_steps
    (tmp / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    if not (tmp / "data").exists():
        (tmp / "data").symlink_to(built_data)
    return tmp


def env(repo: Path) -> dict:
    return {**os.environ, "SEIGAN_ROOT": str(repo), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def torchrun(repo: Path, nproc: int, *args, **kw):
    cmd = distributed.torchrun(nproc, "-m", "seigan.train", *args)
    return subprocess.run(cmd, cwd=repo, env=env(repo), capture_output=True, text=True, **kw)


def first_row(repo: Path, name: str = "warmup") -> str:
    return (repo / "reports/train" / name / "losses.csv").read_text().splitlines()[1]


def first_losses(repo: Path, name: str = "warmup") -> dict:
    header, row = (repo / "reports/train" / name / "losses.csv").read_text().splitlines()[:2]
    return {k: float(v) for k, v in zip(header.split(","), row.split(","))}


def test_torchrun_and_the_in_process_loop_log_the_same_first_step(built_data, tmp_path, monkeypatch):
    one = make_repo(tmp_path / "torchrun1", built_data, log_every=1)
    res = torchrun(one, 1, "warmup")
    assert res.returncode == 0, res.stderr[-2000:]
    inproc = make_repo(tmp_path / "inproc", built_data, log_every=1)
    monkeypatch.setenv("SEIGAN_ROOT", str(inproc))
    train.train_run(config.load(inproc / "params.yaml"), "warmup", progress=False)
    # the same batch and step; the printed losses agree to 1e-4, not bit for bit: torchrun's process runs one OpenMP
    # thread and pytest without workers two, and the thread count changes the order of float sums (0.422663 / 0.422662)
    a, b = first_losses(one), first_losses(inproc)
    assert a.keys() == b.keys() and a["step"] == b["step"] == 1
    assert all(abs(a[k] - b[k]) <= 1e-4 * max(1.0, abs(b[k])) for k in a), (a, b)


def test_kill_9_under_torchrun_then_resume_loses_no_step(built_data, tmp_path, monkeypatch):
    repo = make_repo(tmp_path / "repo", built_data, nproc=2, warmup_steps=30, checkpoint_every=5, log_every=1)
    ck = repo / "checkpoints/warmup/last.pt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m",
           "seigan.train", "warmup"]
    proc = subprocess.Popen(cmd, cwd=repo, env=env(repo), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (ck.is_file() and load(ck)["step"] >= 10):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the launcher and both ranks
    proc.wait()
    saved = load(ck)["step"]
    assert 10 <= saved < 30 and saved % 5 == 0
    assert torchrun(repo, 2, "warmup").returncode == 0
    resumed = load(ck)
    assert resumed["step"] == 30 and len(resumed["ranks"]) == 2
    assert [r["step"] for r in resumed["history"]] == list(range(1, 31))
    # the same run uninterrupted, started by the in-process entry (what the notebook calls), which starts torchrun
    # itself: it must equal the interrupted run by hand, bit for bit
    straight = make_repo(tmp_path / "straight", built_data, nproc=2, warmup_steps=30, checkpoint_every=5,
                         log_every=1)
    monkeypatch.setenv("SEIGAN_ROOT", str(straight))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    summary = train.train_run(config.load(straight / "params.yaml"), "warmup", straight / "params.yaml", progress=False)
    assert summary["processes"] == 2 and summary["finished"]
    assert first_row(straight) == first_row(repo)
    ref = load(straight / "checkpoints/warmup/last.pt")
    for net, sd in ref["model"]["nets"].items():
        for k, v in sd.items():
            assert torch.equal(v, resumed["model"]["nets"][net][k]), (net, k)


@pytest.mark.parametrize("changes,message", [
    ({"nproc": 0}, "train.nproc must be >= 1"),
    ({"backend": "mpi"}, "train.backend must be one of auto, gloo, nccl"),
    ({"backend": "nccl"}, "train.backend nccl needs train.device cuda"),
])
def test_bad_nproc_or_backend_is_one_line(built_data, tmp_path, capsys, monkeypatch, changes, message):
    repo = make_repo(tmp_path / "repo", built_data, **changes)
    monkeypatch.setenv("SEIGAN_ROOT", str(repo))
    assert train.main(["warmup", "--params", str(repo / "params.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (repo / "checkpoints").exists()


def test_torchrun_with_another_process_count_than_params_is_one_line(built_data, tmp_path):
    repo = make_repo(tmp_path / "repo", built_data, nproc=1)
    res = torchrun(repo, 2, "warmup")
    assert res.returncode != 0
    assert "train.nproc is 1 but torchrun started 2" in res.stdout + res.stderr


def test_nccl_ranks_also_get_gloo_for_what_is_reduced_on_the_cpu(monkeypatch):
    """Under nccl the step's losses, validation masks and RNG states are CPU tensors or objects: the process group
    must carry gloo beside nccl, or the first all_reduce fails. (No GPU here: CUDA and the group are stubbed.)"""
    calls = []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: calls.append(("set_device", device)))
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", lambda backend: calls.append(("init", backend)))
    ctx, device = distributed.setup(2, "auto", torch.device("cuda"))
    assert (ctx.rank, ctx.world, device) == (1, 2, torch.device("cuda", 1))
    assert calls == [("set_device", torch.device("cuda", 1)), ("init", "cpu:gloo,cuda:nccl")]
