import copy
import os
from pathlib import Path

import pytest
import torch
import yaml
from filelock import FileLock

from seigan import config, losses

ROOT = Path(__file__).resolve().parents[1]
if os.environ.get("PYTEST_XDIST_WORKER"):
    # README's test command runs two workers on two cores: one thread each (and in every process a test starts), since
    # two processes of two OpenMP threads each on two cores stall each other
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
# the variants table is read from params.yaml, the one place it is written
VARIANTS = yaml.safe_load((ROOT / "params.yaml").read_text())["variants"]
BASE = {
    "data": {}, "eval": {},
    # the unit tests' steps take no box (test_model.py gives one)
    "loss": {"box_outside": 0.0, "box_tight": 0.0, "box_pairwise": 0.0},
    "model": {"resolution": 32, "ngf": 4, "ndf": 8, "n_blocks": 1, "mask_in_box": "never"},
    # G_seg trains in the variants here (as in the paper and the gpu profile): the tests cover the joint objective
    "train": {"steps": 50, "batch_size": 2, "pool_size": 4, "seg_lr_scale": 0.1},
    "warmup": {"steps": 0},  # no warm start unless a test asks for one
    "variants": VARIANTS,
}


def tiny_params(**overrides) -> config.Params:
    raw = copy.deepcopy(BASE)
    for section, values in overrides.items():
        raw[section].update(values)
    return config.parse(raw)


@pytest.fixture(scope="session")
def vgg():
    return losses.load_vgg(None)


@pytest.fixture
def make_model(vgg):
    from seigan.model import SEIGAN

    def make(variant="full", **overrides):
        p = tiny_params(**overrides)
        return SEIGAN(p.model, p.loss, p.train, p.variant(variant), vgg=vgg)
    return make


def images(n, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


@pytest.fixture(scope="session")
def built_data():
    """The embedded data set in <repo>/data, built (once, ~1 min) if missing; it must match data.dvc."""
    from seigan.data.__main__ import main
    with FileLock(str(ROOT / ".data.build.lock")):  # each test worker asks; the first builds, the others check
        assert main(["build", "--params", str(ROOT / "params.yaml")]) == 0
    return ROOT / "data"
