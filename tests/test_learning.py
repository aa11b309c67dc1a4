"""The recipe must learn: a regression test that fails if the training recipe in params.yaml stops learning a
mask. The shared warm start (params.yaml's `warmup`) trains for 800 steps on bright triangles over striped
backgrounds (32 px; ~2 min on 2 cores, ~3 on one), then `full` continues from it for 10 steps; the validation
masks must beat the filled box by a wide margin and separate object from background. The probes behind the
thresholds (four seeds: IoU 0.82-0.98 against 0.53 for the box; the same test with compose_inpaint off reaches
0.35) are in docs/learning.md."""
import dataclasses
from pathlib import Path


from seigan import baselines, config, metrics, runs, train
from seigan.model import hard_hole, predict_masks
from seigan.networks import box_maps
from synthetic import shapes_split

ROOT = Path(__file__).resolve().parents[1]
SIZE, WARM_STEPS, FULL_STEPS = 32, 800, 10


def small_recipe() -> config.Params:
    """params.yaml's recipe (every loss weight and switch) at a size that trains in seconds."""
    p = config.load(ROOT / "params.yaml")
    model = dataclasses.replace(p.model, resolution=SIZE, ngf=8, ndf=16, seg_depth=3, n_blocks=1)
    tc = dataclasses.replace(p.train, steps=FULL_STEPS, val_every=WARM_STEPS, checkpoint_every=WARM_STEPS,
                             log_every=20, device="cpu", zoom=0.0, threads=0)
    loss = dataclasses.replace(p.loss, binarize_ramp=WARM_STEPS // 2)
    warmup = dataclasses.replace(p.warmup, steps=WARM_STEPS)
    return dataclasses.replace(p, model=model, train=tc, loss=loss, warmup=warmup)


def mask_contrast(ckpt_dir: Path, val) -> float:
    """Mean mask on the object minus mean mask on the background: about 0 for the grey mask."""
    m = predict_masks(runs.load_trained(ckpt_dir), val.x, "cpu", boxes=val.boxes)
    inside = (m * val.mask).sum() / val.mask.sum()
    outside = (m * (1 - val.mask)).sum() / (1 - val.mask).sum()
    return float(inside - outside)


def box_iou(val) -> float:
    return float(metrics.iou_per_image(baselines.box_masks(val.boxes, SIZE), val.mask).mean())


def test_recipe_learns_a_mask_that_beats_the_box(tmp_path):
    params = small_recipe()
    data = (shapes_split(512, SIZE, seed=0), shapes_split(64, SIZE, seed=1))
    box = box_iou(data[1])

    warm = train.train(params, runs.WARMUP, tmp_path / "warm", tmp_path / "warm_log", progress=False, data=data)
    assert warm["step"] == WARM_STEPS
    assert warm["final_val_iou"] > box + 0.15, (warm, box)
    assert mask_contrast(tmp_path / "warm", data[1]) > 0.4

    full = train.train(params, "full", tmp_path / "full", tmp_path / "full_log", progress=False, data=data,
                       warm_start=tmp_path / "warm" / "last.pt")
    assert full["step"] == FULL_STEPS
    assert full["final_val_iou"] > box + 0.15, (full, box)
    assert mask_contrast(tmp_path / "full", data[1]) > 0.4
    # the other two operations: G_enh carries the object onto the new background, G_inp removes it
    model = runs.load_trained(tmp_path / "full")
    val = data[1]
    out = model.predict(val.x, val.y, box_maps(val.boxes, SIZE))
    swap = val.mask * val.x + (1 - val.mask) * val.y  # the true swap of this set (no harmonisation in it)
    inside = lambda a, b: float(((a - b).abs() * val.mask).sum() / (3 * val.mask.sum()))  # noqa: E731
    flat = swap.mean(dim=(2, 3), keepdim=True).expand_as(swap)  # what a G_enh that forgets its input gives
    assert inside(out["y_hat"], swap) < 0.5 * inside(flat, swap), (inside(out["y_hat"], swap), inside(flat, swap))
    x_hat = model.inpaint(val.x, hard_hole(out["m"]))
    assert inside(x_hat, val.clean) < 0.5 * inside(val.x, val.clean), (inside(x_hat, val.clean),
                                                                         inside(val.x, val.clean))


def test_probe_prints_a_validation_line(built_data, tmp_path):
    """`python -m seigan.probe` trains a recipe and reports validation IoU and mask statistics as JSON lines."""
    import json

    from seigan import probe
    out = tmp_path / "probe.jsonl"
    assert probe.main(["warmup", "--profile", "tiny", "--steps", "2", "--eval-steps", "2", "--params",
                       str(ROOT / "params.yaml"), "--out", str(out)]) == 0
    line = json.loads(out.read_text().splitlines()[-1])
    assert line["step"] == 2 and 0 <= line["val_iou"] <= 1 and {"soft", "mask_mean"} <= set(line)



def test_probe_of_the_supervised_bound_prints_its_validation_curve(built_data, tmp_path):
    """`python -m seigan.probe supervised --set ...`: the bound as its stage trains it, with a changed setting (here
    the box channel), one line per validation."""
    import json

    from seigan import probe
    out = tmp_path / "probe.jsonl"
    assert probe.main(["supervised", "--profile", "tiny", "--eval-steps", "2", "--set", "eval.supervised_steps=4",
                       "--set", "model.seg_box=true", "--params", str(ROOT / "params.yaml"), "--out", str(out)]) == 0
    lines = [json.loads(s) for s in out.read_text().splitlines()]
    assert [r["step"] for r in lines] == [2, 4] and all(0 <= r["val_iou"] <= 1 for r in lines)
