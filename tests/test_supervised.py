"""The supervised bound's stage reuses its network unless its data, settings or own code changed (its checkpoint
persists between runs of the stage, which DVC reruns whenever any module it imports changes)."""
from seigan import atomic, supervised
from tests.conftest import tiny_params


def test_the_bound_is_trained_only_when_missing_or_stale(tmp_path, monkeypatch):
    params = tiny_params(eval={"supervised_steps": 3})
    ckpt, curve = tmp_path / "seg.pt", tmp_path / "val.csv"
    monkeypatch.setattr(supervised, "checkpoint_file", lambda: ckpt)
    monkeypatch.setattr(supervised, "curve_file", lambda: curve)
    monkeypatch.setattr(supervised.runs, "data_fingerprint", lambda root: "data-1")
    trained = []

    def fake_train(p, progress=True):
        trained.append(1)
        rows = [{"step": 3, "val_iou": 0.5}]
        atomic.write_csv(curve, rows)
        atomic.save(ckpt, {"state": {}, "settings": supervised.settings(p), "curve": rows})
        return rows
    monkeypatch.setattr(supervised, "train_bound", fake_train)
    assert supervised.ensure_bound(params) == [{"step": 3, "val_iou": 0.5}] and len(trained) == 1
    curve.unlink()  # DVC removes the stage's uncached report folder before running it
    assert supervised.ensure_bound(params)[0]["val_iou"] == 0.5 and len(trained) == 1 and curve.is_file()
    monkeypatch.setattr(supervised, "code_fingerprint", lambda: "edited")  # its network or training loop edited
    supervised.ensure_bound(params)
    assert len(trained) == 2
    monkeypatch.setattr(supervised.runs, "data_fingerprint", lambda root: "data-2")  # another data set
    supervised.ensure_bound(params)
    assert len(trained) == 3
