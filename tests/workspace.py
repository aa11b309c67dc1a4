"""A copy of this working tree as its own git repository, for tests that run the pipeline or the training command
as a user would (subprocesses in the copy's folder), and the helpers they share."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

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


def copy_repo(dest: Path, data: Path) -> Path:
    """Tracked and untracked files of this working tree (no outputs of a run) in `dest`, data/ hard-linked, the
    tiny profile selected, committed as a git repository."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file() and not f.startswith(("reports/", "checkpoints/")) and f != "dvc.lock":
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    for f in ("checkpoints/README.md", "reports/train/README.md"):
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dest / f)
    shutil.copytree(data, dest / "data", copy_function=os.link)
    set_params(dest, profile="tiny")
    run("git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm smoke", dest)
    return dest
