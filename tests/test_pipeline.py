"""End to end: the DVC pipeline of papermill notebooks with the tiny profile, resuming after kill -9, and
clear one-line errors for bad parameters."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from seigan import config, train
from seigan.atomic import load

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
VARIANTS = list(PARAMS["variants"])
TRAINED = [v for v, sw in PARAMS["variants"].items() if sw["run"]]
NOT_RUN = [v for v in VARIANTS if v not in TRAINED]


def env():
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}


def run(cmd, cwd, timeout=900, check=True):
    res = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout, shell=True)
    if check and res.returncode != 0:
        raise AssertionError(f"{cmd} exited {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


def set_params(repo: Path, **changes):
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    for dotted, value in changes.items():
        node, *path = raw, *dotted.split(".")
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


@pytest.fixture(scope="module")
def repo(tmp_path_factory, built_data):
    """A copy of this working tree (tracked and untracked files, data/ hard-linked) as its own git repo."""
    dest = tmp_path_factory.mktemp("pipeline") / "repo"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file() and not f.startswith(("reports/", "checkpoints/")) and f != "dvc.lock":
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    for f in ("checkpoints/README.md", "reports/train/README.md"):
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dest / f)
    shutil.copytree(built_data, dest / "data", copy_function=os.link)
    set_params(dest, profile="tiny")
    run("git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm smoke", dest)
    return dest


def test_dry_run_parses_and_lists_every_stage(repo):
    out = run("dvc repro --dry --force", repo).stdout
    for stage in ["data", "train_warmup", *[f"train@{v}" for v in VARIANTS], "evaluate", "report"]:
        assert f"Running stage '{stage}'" in out, stage


def test_smoke_repro_writes_every_output_and_leaves_status_clean(repo):
    run("dvc repro", repo, timeout=1200)
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert metrics["n_test"] == 16
    runs = ["warmup", *TRAINED]  # the warm start is a row of the ablation
    for name in [*runs, "box", "ellipse", "grabcut", "supervised"]:
        assert set(metrics["segmentation"][name]) == {"iou", "iou_se"}, name
        assert 0 <= metrics["segmentation"][name]["iou"] <= 1
    for name in runs:
        assert set(metrics["inpainting"][name]) == {"psnr", "ssim", "l1", "psnr_hard", "ssim_hard", "psnr_true",
                                                    "ssim_true", "telea_psnr", "diff_telea_psnr",
                                                    "diff_telea_psnr_se"}, name
        assert set(metrics["enhancement"][name]) == {"psnr", "fmse", "psnr_paste", "fmse_paste", "diff_psnr",
                                                     "diff_psnr_se"}, name
    assert set(metrics["inpainting"]["telea_true_mask"]) == {"psnr", "ssim", "l1"}
    assert set(metrics["enhancement"]["paste_true_mask"]) == {"psnr", "fmse"}
    for v in ["warmup", "no_enhancement"]:  # no G_enh: ŷ is the paste, so the paired gain is exactly 0
        assert metrics["enhancement"][v]["diff_psnr"] == 0
    for name in [*TRAINED, "paste_true_mask", "real_vs_real"]:
        assert set(metrics["realism"][name]) == {"c2st_acc", "c2st_sd", "kid", "kid_sd"}, name
    for name in [*TRAINED, "telea_true_mask", "real_vs_real"]:
        assert set(metrics["realism_bg"][name]) == {"c2st_acc", "c2st_sd", "kid", "kid_sd"}, name
    assert {"iou", "iou_se", "enh_psnr", "enh_psnr_se", "hole_psnr", "hole_psnr_se"} == set(
        metrics["paired"]["warmup-full"])
    for name in NOT_RUN:  # declared but not run: no metrics, and the report says how to run them
        assert name not in metrics["segmentation"]
    unseen = json.loads((repo / "reports/unseen.json").read_text())  # photos training never saw
    assert unseen["n"] == 16
    for name in [*runs, "box", "ellipse", "grabcut"]:
        assert {"iou", "iou_se"} <= set(unseen["unseen"][name]) and 0 <= unseen["unseen"][name]["iou"] <= 1, name
    per_image = (repo / "reports/eval/per_image.csv").read_text().splitlines()
    assert len(per_image) == 1 + 16 and "full.enh_psnr" in per_image[0] and "animal" in per_image[0]
    for fig in ("docs/overview.png", "docs/img/cli_example.png"):  # README's figures come from this run
        assert (repo / fig).read_bytes() != (ROOT / fig).read_bytes(), fig
    html = (repo / "reports/report.html").read_text()
    assert "Departures from the paper" in html and "Ablation table" in html
    assert "Segmentation on photos training never saw" in html and "best box-only prior" in html
    assert "The paper&#x27;s claims at this scale" in html or "The paper's claims at this scale" in html
    for v in NOT_RUN:
        assert f"variants.{v}.run=true" in (repo / f"reports/notebooks/02_train_{v}.ipynb").read_text()
    assert (repo / "checkpoints/warmup/last.pt").is_file()
    for v in TRAINED:
        assert (repo / f"reports/notebooks/02_train_{v}.ipynb").is_file()
        assert (repo / f"checkpoints/{v}/last.pt").is_file()
        assert (repo / f"reports/train/{v}/losses.csv").is_file()
        assert {"soft", "empty", "full"} <= set((repo / f"reports/train/{v}/val.csv").read_text().split("\n")[0].split(","))
    status = run("dvc status", repo).stdout
    assert "up to date" in status or status.strip() == "", status
    # a finished variant is not retrained: a second repro runs nothing
    again = run("dvc repro", repo).stdout
    assert "Running stage" not in again, again


def test_exp_run_with_a_changed_variant_reruns_only_what_depends_on_it(repo):
    if not (repo / "reports/metrics.json").is_file():
        run("dvc repro", repo, timeout=1200)
    out = run("dvc exp run -S variants.no_identity.identity_weight=1.0", repo, timeout=1200).stdout
    assert "Running stage 'train@no_identity'" in out and "Running stage 'evaluate'" in out
    for other in ("full", "no_enhancement", "no_texture", "single_pass"):
        assert f"Running stage 'train@{other}'" not in out, other
    assert "Running stage 'train_warmup'" not in out
    assert yaml.safe_load((repo / "params.yaml").read_text())["variants"]["no_identity"]["identity_weight"] == 1.0


def test_dvc_plots_and_metrics_read_the_outputs(repo):
    if not (repo / "reports/metrics.json").is_file():
        run("dvc repro", repo, timeout=1200)
    shown = run("dvc metrics show --json", repo).stdout
    assert "segmentation" in shown
    run("dvc plots show --json", repo)


def test_kill_9_then_resume_loses_no_step(repo, tmp_path):
    set_params(repo, **{"profiles.tiny.train.steps": 30, "profiles.tiny.train.checkpoint_every": 5,
                        "profiles.tiny.train.log_every": 1})
    ck = repo / "checkpoints/full/last.pt"
    shutil.rmtree(repo / "checkpoints/full", ignore_errors=True)
    proc = subprocess.Popen([sys.executable, "-m", "seigan.train", "full"], cwd=repo, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not (ck.is_file() and load(ck)["step"] >= 10):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = load(ck)["step"]
    assert 10 <= saved < 30 and saved % 5 == 0
    run(f"{sys.executable} -m seigan.train full", repo)
    state = load(ck)
    assert state["step"] == 30
    assert [r["step"] for r in state["history"]] == list(range(1, 31))  # contiguous: no step lost or repeated
    # and the resumed run is the uninterrupted run, bit for bit
    shutil.copytree(repo / "checkpoints/full", tmp_path / "interrupted")
    shutil.rmtree(repo / "checkpoints/full")
    run(f"{sys.executable} -m seigan.train full", repo)
    straight = load(ck)
    for net, sd in straight["model"]["nets"].items():
        for k, v in sd.items():
            assert torch.equal(v, state["model"]["nets"][net][k]), (net, k)


def test_stop_after_then_resume_equals_straight_run(built_data, tmp_path):
    params = config.load(ROOT / "params.yaml", profile="tiny")
    data = (train.load_split(built_data, "train", 32, limit=40),
            train.load_split(built_data, "val", 32, with_truth=True, limit=8))
    a = train.train(params, train.runs.WARMUP, tmp_path / "a", tmp_path / "la", stop_after=3, progress=False, data=data)
    assert a["step"] == 3 and not a["finished"]
    b = train.train(params, train.runs.WARMUP, tmp_path / "a", tmp_path / "la", progress=False, data=data)
    assert b["step"] == 4 and b["finished"]
    train.train(params, train.runs.WARMUP, tmp_path / "c", tmp_path / "lc", progress=False, data=data)
    sa, sc = load(tmp_path / "a/last.pt"), load(tmp_path / "c/last.pt")
    assert [r["step"] for r in sa["history"]] == [1, 2, 3, 4]
    assert sa["history"] == sc["history"]
    # finished: a further call trains nothing
    assert train.train(params, train.runs.WARMUP, tmp_path / "a", tmp_path / "la", progress=False, data=data)["step"] == 4


@pytest.mark.parametrize("change,message", [
    ({"train.steps": "many"}, "train.steps must be int"),
    ({"train.stepz": 3}, "unknown key train.stepz"),
    ({"train.data_on": "gpu"}, "train.data_on must be one of auto, host, device"),
])
def test_bad_params_give_one_line_and_nonzero_exit(repo, tmp_path, change, message):
    bad = tmp_path / "params.yaml"
    shutil.copy(repo / "params.yaml", bad)
    set_params(tmp_path, **change)
    res = run(f"{sys.executable} -m seigan.train full --params {bad}", repo, check=False)
    assert res.returncode != 0
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_unknown_variant_and_missing_data_fail_before_training(repo, tmp_path):
    res = run(f"{sys.executable} -m seigan.train fulll", repo, check=False)
    assert res.returncode != 0 and "unknown variant 'fulll'" in res.stderr and "Traceback" not in res.stderr
    bad = tmp_path / "params.yaml"
    shutil.copy(repo / "params.yaml", bad)
    set_params(tmp_path, **{"data.root": "no_such_data"})
    res = run(f"{sys.executable} -m seigan.train full --params {bad}", repo, check=False)
    assert res.returncode != 0 and "no_such_data/train/boxes.csv: missing" in res.stderr


def test_evaluate_without_true_swaps_or_a_supervised_bound(repo, tmp_path):
    """An imported data set has no swap/ folder: one line says the enhancement references are absent, and
    everything else is evaluated; with `eval.supervised_steps: 0` there is no supervised row (one evaluation checks
    both, since each costs a minute)."""
    if not (repo / "checkpoints/full/last.pt").is_file():
        run("dvc repro", repo, timeout=1200)
    data = tmp_path / "noswap"
    shutil.copytree(repo / "data", data, copy_function=os.link, ignore=shutil.ignore_patterns("swap"))
    code = ("import dataclasses; from seigan import config, evaluate; p = config.load(profile='tiny'); "
            f"p = dataclasses.replace(p, data=dataclasses.replace(p.data, root={str(data)!r}), "
            "eval=dataclasses.replace(p.eval, supervised_steps=0)); "
            f"m = evaluate.evaluate(p, out_dir={str(tmp_path / 'out')!r}, progress=False); "
            "assert m['enhancement'] == {} and m['segmentation']['full']['iou'] >= 0 and 'full' in m['realism']; "
            "assert 'supervised' not in m['segmentation']")
    res = run(f"{sys.executable} -c \"{code}\"", repo)
    lines = [line for line in res.stdout.splitlines() if "no true swaps" in line]
    assert len(lines) == 1 and "noswap/test/swap" in lines[0], res.stdout


def test_seeds_command_reuses_the_pipelines_seed_and_trains_the_others(repo):
    """`python -m seigan.seeds --seeds 0 1`: seed 0 (params.yaml's) is the pipeline's own run, seed 1 trains the warm
    start and every trained variant under checkpoints_seeds/1; reports/seeds.json holds both with a summary."""
    if not (repo / "checkpoints/full/last.pt").is_file():
        run("dvc repro", repo, timeout=1200)
    run(f"{sys.executable} -m seigan.seeds --seeds 0 1", repo, timeout=600)
    seeds = json.loads((repo / "reports/seeds.json").read_text())
    assert seeds["seeds"] == [0, 1] and set(seeds["priors"]) == {"box", "ellipse", "grabcut"}
    # seed 0 is params.yaml's: finished pipeline runs with these params are reused, not retrained (the warm start and
    # full always are; an earlier test of this module may have changed the variants' step count, and then a variant
    # whose pipeline checkpoint no longer matches is rightly trained anew under checkpoints_seeds/0)
    for name in ("warmup", "full"):
        assert not (repo / f"checkpoints_seeds/0/{name}").exists(), name
    for name in ["warmup", *TRAINED]:
        assert (repo / f"checkpoints_seeds/1/{name}/last.pt").is_file()
        for s in ("0", "1"):
            assert set(seeds["runs"][s][name]) == {"iou", "soft", "enh_psnr", "enh_diff_psnr", "hole_psnr",
                                                   "hole_psnr_true"}
        assert seeds["summary"][name]["iou"]["sd"] is not None
    assert seeds["machine"]["1"]["device"] and seeds["machine"]["1"]["profile"] == "tiny"
    # another seed is another run
    assert seeds["runs"]["1"]["full"]["iou"] != seeds["runs"]["0"]["full"]["iou"]
