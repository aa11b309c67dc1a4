"""seigan.cache: a result is computed once per (inputs, settings, code) and read back after; anything else that
changes gives another key, so a stale result is never read."""
import torch

from seigan import cache


def counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value
    return compute, calls


def test_the_same_inputs_settings_and_code_are_computed_once(tmp_path):
    src = tmp_path / "code.py"
    src.write_text("a = 1\n")
    x = torch.arange(6.0).reshape(2, 3)
    compute, calls = counting({"m": x * 2})
    first = cache.reuse(tmp_path / "c", "priors", [x], {"size": 48}, [src], compute)
    again = cache.reuse(tmp_path / "c", "priors", [x.clone()], {"size": 48}, [src], compute)
    assert len(calls) == 1 and torch.equal(first["m"], again["m"])


def test_other_images_settings_or_code_are_computed_anew_and_replace_the_old_entry(tmp_path):
    src = tmp_path / "code.py"
    src.write_text("a = 1\n")
    x = torch.zeros(2, 3)
    compute, calls = counting(1)
    cache.reuse(tmp_path, "p", [x], {"size": 48}, [src], compute)
    x2 = x.clone()
    x2[1, 2] = 1e-6
    cache.reuse(tmp_path, "p", [x2], {"size": 48}, [src], compute)        # one value changed
    cache.reuse(tmp_path, "p", [x2.double()], {"size": 48}, [src], compute)  # same values, another dtype
    cache.reuse(tmp_path, "p", [x2.double().reshape(3, 2)], {"size": 48}, [src], compute)  # the same bytes
    cache.reuse(tmp_path, "p", [x2.double()], {"size": 128}, [src], compute)
    src.write_text("a = 2\n")
    cache.reuse(tmp_path, "p", [x2.double()], {"size": 128}, [src], compute)
    assert len(calls) == 6
    assert len(list(tmp_path.glob("p-*.pt"))) == 1


def test_no_folder_computes_every_time_and_an_unreadable_entry_is_computed_again(tmp_path):
    x = torch.ones(3)
    compute, calls = counting(7)
    cache.reuse(None, "p", [x], {}, [], compute)
    cache.reuse(None, "p", [x], {}, [], compute)
    assert len(calls) == 2 and not list(tmp_path.iterdir())
    assert cache.reuse(tmp_path, "p", [x], {}, [], compute) == 7
    entry, = tmp_path.glob("p-*.pt")
    entry.write_bytes(b"not a checkpoint")
    assert cache.reuse(tmp_path, "p", [x], {}, [], compute) == 7 and len(calls) == 4


def test_the_box_priors_read_back_equal_the_ones_computed(tmp_path):
    from types import SimpleNamespace

    from seigan import evaluate
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g) * 2 - 1
    ts = SimpleNamespace(split=SimpleNamespace(x=x, boxes=torch.tensor([[4, 4, 28, 28], [2, 6, 20, 30]] * 2)))
    fresh = evaluate.prior_masks(ts, 32)
    evaluate.prior_masks(ts, 32, tmp_path)
    read = evaluate.prior_masks(ts, 32, tmp_path)
    assert len(list(tmp_path.glob("priors_32px-*.pt"))) == 1
    assert set(read) == set(fresh) == {"box", "ellipse", "grabcut"}
    for name in fresh:
        assert torch.equal(read[name], fresh[name]), name
