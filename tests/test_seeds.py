"""seeds.merge: seeds trained by separate processes or machines make one reports/seeds.json, of one recipe; the report
flags seeds trained with another recipe than params.yaml's."""
import json

import pytest

from seigan import config, report, runs, seeds
from tests.conftest import tiny_params


def part(tmp_path, seed, iou, priors=None, device="cpu", recipe=None):
    metrics = {"iou": iou, "soft": 0.1, "enh_psnr": None}
    data = {"seeds": [seed], "variants": ["warmup", "full"], "n_test": 200,
            "priors": priors or {"box": 0.45, "ellipse": 0.55, "grabcut": 0.5}, "recipe": recipe or {"full": "abc"},
            "runs": {str(seed): {"warmup": metrics, "full": metrics}},
            "machine": {str(seed): {"device": device}}, "summary": {"full": {"iou": {"mean": iou}}}}
    path = tmp_path / f"seeds_{seed}.json"
    path.write_text(json.dumps(data))
    return path


def test_merge_keeps_every_seed_and_its_machine_and_recomputes_the_summary(tmp_path):
    out = seeds.merge([part(tmp_path, 0, 0.5, device="a"), part(tmp_path, 1, 0.7, device="b")])
    assert out["seeds"] == [0, 1] and out["machine"]["1"]["device"] == "b"
    s = out["summary"]["full"]["iou"]
    assert s["mean"] == pytest.approx(0.6) and s["min"] == 0.5 and s["max"] == 0.7 and s["sd"] > 0
    assert "enh_psnr" not in out["summary"]["full"]  # no values, no summary


def test_merge_refuses_other_test_splits_and_repeated_seeds(tmp_path):
    a = part(tmp_path, 0, 0.5)
    with pytest.raises(ValueError, match="priors differ"):
        seeds.merge([a, part(tmp_path, 1, 0.6, priors={"box": 0.1, "ellipse": 0.2, "grabcut": 0.3})])
    b = tmp_path / "again.json"
    b.write_text(a.read_text())
    with pytest.raises(ValueError, match="seed 0 is in two"):
        seeds.merge([a, b])


def test_merge_refuses_seeds_of_another_recipe(tmp_path):
    with pytest.raises(ValueError, match="another recipe"):
        seeds.merge([part(tmp_path, 0, 0.5), part(tmp_path, 1, 0.6, recipe={"full": "def"})])


def test_the_report_flags_seeds_of_another_recipe():
    p = tiny_params()
    current = {"recipe": runs.recipe(p), "seg_scale": p.eval.seg_scale}
    assert report.seeds_recipe_note(current, p) == ""
    other_seed = tiny_params(train={"seed": 7})  # the seed is not part of the recipe
    assert report.seeds_recipe_note(current, other_seed) == ""
    longer = tiny_params(train={"steps": 51})
    assert "Stale" in report.seeds_recipe_note(current, longer)
    assert "does not record" in report.seeds_recipe_note({}, p)  # seeds.json written before recipes were recorded
    # the recipe is the training's; G_seg's inference scale changes every mask, so it is checked beside it
    at_one = tiny_params(eval={"seg_scale": 1.0})
    assert report.seeds_recipe_note({"recipe": runs.recipe(p), "seg_scale": p.eval.seg_scale}, p) == ""
    assert "reading x at 1x" in report.seeds_recipe_note({"recipe": runs.recipe(p)}, p)
    assert "Stale" in report.seeds_recipe_note({"recipe": runs.recipe(p), "seg_scale": 2.0}, at_one)


def another_valid_value(key: str, neutral):
    """A value of an added setting other than its neutral one, within the setting's range."""
    if neutral is None:
        return 10
    if neutral == "uniform":
        return "transfer"
    if isinstance(neutral, bool):
        return not neutral
    return neutral / 2 if key.endswith("_share") else neutral * 2 + 1  # a share is at most 1


def test_a_setting_added_later_enters_a_runs_identity_only_when_it_changes_the_run():
    """`runs.ADDED`: a setting at the value that does what was done before it existed leaves every run's hash as it
    was (so checkpoints trained before it still resume and hand on); any other value is another run."""
    import dataclasses
    p = config.load()
    neutral_params = dataclasses.replace(p, **{section: dataclasses.replace(getattr(p, section), **added)
                                               for section, added in runs.ADDED.items() if section != "objective"})
    for section in ("model", "train", "loss"):
        for key, neutral in runs.ADDED[section].items():
            before = runs.get(neutral_params, "warmup").config()
            assert key not in before[section] and key not in runs.get(neutral_params, "full").config()[section]
            changed = another_valid_value(key, neutral)
            other = dataclasses.replace(neutral_params, **{section: dataclasses.replace(
                getattr(neutral_params, section), **{key: changed})})
            # only G_enh reads these (D_col is built beside G_enh only): a run without G_enh is the same run
            enhancer_only = key in runs.ENHANCER_ONLY.get(section, ())
            assert enhancer_only == (key.startswith("enh_") or key == "adv_colour"), key
            for name in ("warmup", "no_enhancement"):
                assert (runs.get(other, name).hash != runs.get(neutral_params, name).hash) != enhancer_only, key
            assert runs.get(other, "full").hash != runs.get(neutral_params, "full").hash, key


def test_the_warm_starts_seg_rate_is_its_own_and_enters_only_its_identity_when_changed():
    """`warmup.seg_lr_scale` sets G_seg's rate in the warm start only; at 1 (G_seg at warmup.lr, as before the
    setting existed) every run's identity is unchanged, at another value the warm start (and so every variant that
    starts from it) is another run while the variants' own G_seg setting stays theirs."""
    import dataclasses
    p = config.load()
    one = dataclasses.replace(p, warmup=dataclasses.replace(p.warmup, seg_lr_scale=1.0))
    two = dataclasses.replace(p, warmup=dataclasses.replace(p.warmup, seg_lr_scale=2.0))
    assert runs.get(one, "warmup").config()["train"]["seg_lr_scale"] == 1.0
    assert runs.get(two, "warmup").train.seg_lr_scale == 2.0
    assert runs.get(two, "full").train.seg_lr_scale == p.train.seg_lr_scale
    assert runs.get(two, "warmup").hash != runs.get(one, "warmup").hash
    assert runs.get(two, "full").hash != runs.get(one, "full").hash  # through the warm start it starts from


def test_a_rebuilt_data_set_at_the_same_path_is_another_run(tmp_path):
    """A run's identity carries the data set's fingerprint (its manifest): a checkpoint trained on the 20-photo set is
    not resumed as finished on the rebuilt one, and seeds of other data are marked stale by the report."""
    root = tmp_path / "data"
    root.mkdir()
    (root / "manifest.json").write_text('{"backgrounds": ["a"]}')
    p = tiny_params(data={"root": str(root)}, warmup={"steps": 10})
    before = {name: r.hash for name, r in runs.plan(p).items()}
    (root / "manifest.json").write_text('{"backgrounds": ["a", "b"]}')
    after = {name: r.hash for name, r in runs.plan(p).items()}
    assert all(before[n] != after[n] for n in before)
    assert runs.recipe(p) != {n: h for n, h in before.items() if runs.plan(p)[n].run}


def test_the_cut_and_paste_baseline_is_the_warm_starts_settings_without_inpainting_and_leaves_other_runs_alone():
    """The baseline trains from scratch with the warm start's rate and data, for its own steps (or, when
    `cut_and_paste.steps` is null, the warm start's); the switch that makes it (`Objective.inpainting`) stays out of
    every SEIGAN run's identity, so adding it retrained nothing."""
    p = config.load()
    plan = runs.plan(p)
    cp = plan[runs.CUT_AND_PASTE]
    assert cp.start_from is None and not cp.objective.inpainting and not cp.objective.enhancement
    assert (cp.train.steps, cp.train.lr, cp.loss.binarize) == (p.cut_and_paste.steps or p.warmup.steps, p.warmup.lr,
                                                               p.warmup.binarize)
    p.cut_and_paste.steps = None
    assert runs.plan(p)[runs.CUT_AND_PASTE].train.steps == p.warmup.steps
    assert cp.data_id == plan[runs.WARMUP].data_id
    for name, r in plan.items():
        assert ("inpainting" in r.config()["objective"]) == (name == runs.CUT_AND_PASTE), name


def test_a_checkpoint_without_an_added_setting_is_rebuilt_at_its_neutral_value():
    """A run trained before a setting existed stores no value for it (Run.config leaves the neutral value out); the
    model rebuilt from that checkpoint's config must hold the neutral value, not today's default."""
    import dataclasses
    p = config.load()
    neutral = dataclasses.replace(p, loss=dataclasses.replace(p.loss, **runs.ADDED["loss"]),
                                  train=dataclasses.replace(p.train, **runs.ADDED["train"]))
    cfg = runs.get(neutral, "full").config()
    assert "enh_jitter_shift" not in cfg["loss"] and "enh_ema_ramp" not in cfg["train"]
    model = runs.build_model(cfg, with_texture=False)
    assert model.cfg_loss.enh_jitter_shift == runs.ADDED["loss"]["enh_jitter_shift"] != p.loss.enh_jitter_shift
    assert model.cfg_train.enh_ema_ramp == runs.ADDED["train"]["enh_ema_ramp"] != p.train.enh_ema_ramp
