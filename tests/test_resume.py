"""Training as a user starts it (`python -m seigan.train VARIANT` in a repository with the tiny profile): resume
after kill -9 loses no step and equals the uninterrupted run, `stop_after` then resume equals a straight run, and bad
parameters, an unknown variant or missing data fail with one line before any training."""
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from seigan import config, train
from seigan.atomic import load
from seigan.data.layout import load_split

from workspace import ROOT, copy_repo, env, run, set_params


@pytest.fixture(scope="module")
def repo(tmp_path_factory, built_data):
    """A copy of this working tree with the tiny profile and its warm start trained (the variants start from it)."""
    dest = copy_repo(tmp_path_factory.mktemp("resume") / "repo", built_data)
    run(f"{sys.executable} -m seigan.train warmup", dest)
    return dest


def test_kill_9_then_resume_loses_no_step(repo, tmp_path):
    set_params(repo, **{"profiles.tiny.train.steps": 20, "profiles.tiny.train.checkpoint_every": 4,
                        "profiles.tiny.train.log_every": 1})
    ck = repo / "checkpoints/full/last.pt"
    shutil.rmtree(repo / "checkpoints/full", ignore_errors=True)
    proc = subprocess.Popen([sys.executable, "-m", "seigan.train", "full"], cwd=repo, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not (ck.is_file() and load(ck)["step"] >= 8):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = load(ck)["step"]
    assert 8 <= saved < 20 and saved % 4 == 0
    run(f"{sys.executable} -m seigan.train full", repo)
    state = load(ck)
    assert state["step"] == 20
    assert [r["step"] for r in state["history"]] == list(range(1, 21))  # contiguous: no step lost or repeated
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
    data = (load_split(built_data, "train", 32, limit=40),
            load_split(built_data, "val", 32, with_truth=True, limit=8))
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
def test_bad_params_give_one_line_and_nonzero_exit(repo, tmp_path, capsys, change, message):
    """The command's own entry point, in-process (the subprocess path is the next test's)."""
    bad = tmp_path / "params.yaml"
    shutil.copy(repo / "params.yaml", bad)
    set_params(tmp_path, **change)
    assert train.main(["full", "--params", str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_unknown_variant_and_missing_data_fail_before_training(repo, tmp_path):
    res = run(f"{sys.executable} -m seigan.train fulll", repo, check=False)
    assert res.returncode != 0 and "unknown variant 'fulll'" in res.stderr and "Traceback" not in res.stderr
    bad = tmp_path / "params.yaml"
    shutil.copy(repo / "params.yaml", bad)
    set_params(tmp_path, **{"data.root": "no_such_data"})
    res = run(f"{sys.executable} -m seigan.train full --params {bad}", repo, check=False)
    assert res.returncode != 0 and "no_such_data/train/boxes.csv: missing" in res.stderr
