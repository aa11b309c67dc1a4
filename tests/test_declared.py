"""A variant declared with `run: false` gets its stage's outputs from `python -m seigan.declared` without a Jupyter
kernel; a variant to train is handed on to papermill (exit 3); a bad name is one line (exit 2)."""
import json
import shutil

import nbformat
import pytest
import yaml

from conftest import ROOT
from seigan import declared


@pytest.fixture
def root(tmp_path, monkeypatch):
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks/02_train.ipynb", tmp_path / "notebooks")
    monkeypatch.setenv("SEIGAN_ROOT", str(tmp_path))
    return tmp_path


def declared_names():
    variants = yaml.safe_load((ROOT / "params.yaml").read_text())["variants"]
    return [v for v, s in variants.items() if not s.get("run", True)], [v for v, s in variants.items() if s.get("run", True)]


def test_a_declared_variant_gets_its_outputs_and_a_notebook_without_a_kernel(root):
    name = declared_names()[0][0]
    nb_path = root / "reports/notebooks/02_train_x.ipynb"
    assert declared.main([name, str(nb_path)]) == 0
    summary = json.loads((root / f"reports/train/{name}/summary.json").read_text())
    assert summary["skipped"] is True and summary["variant"] == name
    assert json.loads((root / f"checkpoints/{name}/not_run.json").read_text()) == summary
    nb = nbformat.read(nb_path, as_version=4)
    nbformat.validate(nb)
    assert f"variants.{name}.run=true" in "".join(c.source for c in nb.cells)


def test_a_variant_to_train_is_left_to_papermill(root, capsys):
    name = declared_names()[1][0]
    assert declared.main([name, str(root / "nb.ipynb")]) == declared.TRAIN
    assert not (root / "nb.ipynb").exists() and not (root / f"reports/train/{name}").exists()


def test_an_unknown_variant_is_one_line(root, capsys):
    assert declared.main(["no_such_variant", str(root / "nb.ipynb")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "no_such_variant" in err and "\n" not in err
