"""Metrics against hand-computed values, baselines, and the human study kit's round trip."""
import csv
import math

import numpy as np
import pytest
import torch

from seigan import baselines, metrics, study


def test_iou_of_known_masks():
    true = torch.zeros(2, 1, 4, 4)
    true[0, 0, :2, :2] = 1          # 4 pixels
    true[1, 0, :, :2] = 1           # 8 pixels
    pred = torch.zeros(2, 1, 4, 4)
    pred[0, 0, :2, :3] = 0.9        # 6 pixels, 4 shared -> 4/6
    pred[1, 0, :, :1] = 0.6         # 4 pixels, all inside -> 4/8
    pred[1, 0, :, 3] = 0.4          # below the 0.5 threshold: not counted
    iou = metrics.iou_per_image(pred, true)
    assert iou.tolist() == pytest.approx([4 / 6, 0.5])
    mean, se = metrics.mean_se(iou)
    assert mean == pytest.approx((4 / 6 + 0.5) / 2)
    assert se == pytest.approx(np.std([4 / 6, 0.5], ddof=1) / math.sqrt(2))


def test_iou_is_torchmetrics_jaccard_index_bit_for_bit():
    """The batched IoU equals torchmetrics' binary Jaccard index image by image, exactly (so validation curves and
    metrics.json do not move), including a mask at exactly 0.5, an empty prediction and an empty pair."""
    from torchmetrics.functional.classification import binary_jaccard_index
    gen = torch.Generator().manual_seed(0)
    pred, true = torch.rand(12, 1, 24, 24, generator=gen), torch.rand(12, 1, 24, 24, generator=gen).round()
    pred[0] = 0.5
    pred[1] = 0.0
    pred[2], true[2] = 0.0, 0.0
    expected = torch.stack([binary_jaccard_index(p.flatten(), (t.flatten() >= 0.5).long(), threshold=0.5)
                            for p, t in zip(pred, true)])
    assert torch.equal(metrics.iou_per_image(pred, true), expected)


def test_hole_metrics_of_known_images():
    clean = torch.zeros(1, 3, 16, 16)
    pred = clean.clone()
    hole = torch.zeros(1, 1, 16, 16)
    hole[..., 4:12, 4:12] = 1
    pred[..., 4:12, 4:12] = 0.2    # in [0,1] units: error 0.1 everywhere in the hole
    pred[..., 0, 0] = 1.0          # outside the hole: must not count
    r = metrics.hole_metrics(pred, clean, hole)
    assert r["l1"] == pytest.approx(0.1)
    assert r["psnr"] == pytest.approx(10 * math.log10(1 / 0.01), rel=1e-4)  # MSE 0.01 -> 20 dB
    perfect = metrics.hole_metrics(clean.clone() + 0.3, clean + 0.3, hole)
    assert perfect["ssim"] == pytest.approx(1.0, abs=1e-4) and perfect["l1"] == 0


def test_c2st_on_identical_and_separable_sets():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(80, 3, 16, 16, generator=g) * 2 - 1
    b = torch.rand(80, 3, 16, 16, generator=g) * 2 - 1
    same = metrics.c2st_accuracy(a, b, epochs=10)
    assert abs(same - 0.5) <= 0.15
    sep = metrics.c2st_accuracy(a * 0.1 - 0.8, b * 0.1 + 0.8, epochs=10)
    assert sep >= 0.95


def test_kid_from_features_and_its_spread():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(200, 8, generator=g, dtype=torch.float64)
    b = torch.randn(200, 8, generator=g, dtype=torch.float64)
    # KID against its definition written out with loops (unbiased MMD^2, kernel (u.v/d + 1)^3)
    x, y = a[:3], b[:4]
    k = lambda u, v: (float(u @ v) / 8 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(3) for j in range(3) if i != j) / 6
    yy = sum(k(y[i], y[j]) for i in range(4) for j in range(4) if i != j) / 12
    xy = sum(k(x[i], y[j]) for i in range(3) for j in range(4)) / 12
    assert metrics.kid_from_features(x, y) == pytest.approx(xx + yy - 2 * xy)
    assert metrics.kid_from_features(a, b + 2) > 10 * abs(metrics.kid_from_features(a, b))
    near, far = metrics.kid_spread(a, b), metrics.kid_spread(a, b + 2)
    assert near["kid"] == metrics.kid_from_features(a, b) and near["kid_sd"] > 0
    assert far["kid"] - near["kid"] > 5 * (far["kid_sd"] + near["kid_sd"])  # the spread is a usable interval


def test_cluster_se_counts_animals_not_images():
    """Images of one animal move together: with 4 animals of 50 near-identical images each, the clustered standard
    error is about the spread of 4 animal means / 2, far above the naive one of 200 independent images."""
    rng = np.random.default_rng(0)
    animal_means = np.array([0.2, 0.5, 0.6, 0.9])
    groups = np.repeat(np.arange(4), 50)
    values = animal_means[groups] + rng.normal(0, 0.01, 200)
    naive = metrics.mean_se(values)[1]
    clustered = metrics.cluster_se(values, groups.tolist())
    expected = animal_means.std(ddof=1) / 2
    assert clustered == pytest.approx(expected, rel=0.3)
    assert clustered > 5 * naive
    # with every image its own cluster it is the ordinary standard error
    own = metrics.cluster_se(values, list(range(200)))
    assert own == pytest.approx(naive, rel=0.15)
    d = metrics.paired(values + 0.1, values, groups.tolist())
    assert d["diff"] == pytest.approx(0.1) and d["se"] < 1e-9  # a constant shift has no spread


def test_region_errors_and_dilation():
    ref = torch.zeros(2, 3, 16, 16)
    pred = ref.clone()
    pred[0, :, 4:8, 4:8] = 0.2                    # error 0.1 in [0, 1] units inside the region
    pred[:, :, 14:, 14:] = 1.0                    # outside the region: must not count
    mask = torch.zeros(2, 1, 16, 16)
    mask[:, :, 5:7, 5:7] = 0.8
    region = metrics.dilate(mask, 1)
    assert int(region[0].sum()) == 16 and float(region[0, 0, 4:8, 4:8].min()) == 1
    r = metrics.region_errors(pred, ref, region)
    assert r["psnr"][0] == pytest.approx(20.0, rel=1e-4) and r["fmse"][0] == pytest.approx(0.01 * 255 ** 2, rel=1e-4)
    assert r["psnr"][1] == pytest.approx(100.0)   # identical inside the region
    assert metrics.dilation_px(48) == 2


def test_inception_features_shape_and_independent_of_the_batch():
    """One 2048-d feature per image, the same whether the images pass one at a time or together (KID may then
    pick its batch for speed)."""
    net = metrics.InceptionFeatures()
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    feats = net(images)
    assert feats.shape == (2, 2048)
    assert torch.allclose(net(images, batch=1), feats, rtol=0, atol=1e-6)


def test_box_and_ellipse_baselines():
    boxes = torch.tensor([[2.0, 2.0, 6.0, 8.0]])
    box = baselines.box_masks(boxes, 10)
    assert box.sum() == 4 * 6 and box[0, 0, 2:8, 2:6].min() == 1
    ell = baselines.ellipse_masks(boxes, 10)
    assert ell.sum() < box.sum() and (ell <= box).all()  # the ellipse lies inside its box
    assert ell.sum() == pytest.approx(math.pi * 2 * 3, abs=4)


def test_grabcut_finds_a_contrasting_object():
    img = torch.full((1, 3, 32, 32), -0.8)
    img[..., 10:22, 12:20] = 0.9
    img += torch.randn(img.shape, generator=torch.Generator().manual_seed(0)) * 0.02
    true = torch.zeros(1, 1, 32, 32)
    true[..., 10:22, 12:20] = 1
    masks = baselines.grabcut_masks(img, torch.tensor([[6.0, 6.0, 26.0, 26.0]]))
    assert metrics.iou_per_image(masks, true)[0] > 0.8


def test_telea_fills_the_hole_from_its_surroundings():
    img = torch.full((1, 3, 24, 24), 0.5)
    img[..., 8:16, 8:16] = -1
    hole = torch.zeros(1, 1, 24, 24)
    hole[..., 8:16, 8:16] = 1
    out = baselines.telea_inpaint(img, hole)
    assert (out[..., 8:16, 8:16] - 0.5).abs().max() < 0.05


def test_study_round_trip(tmp_path):
    g = torch.Generator().manual_seed(0)
    images = {name: torch.rand(5, 3, 8, 8, generator=g) * 2 - 1 for name in ("real", "full", "no_identity")}
    key = study.make_study(images, 30, tmp_path)
    html = (tmp_path / "study.html").read_text()
    assert html.count('class="pair') == 30 and "full" not in html and "no_identity" not in html  # blind
    # a synthetic rater who always picks "real" when shown, else "full"
    rows = []
    for pid, pair in key.items():
        pick = "real" if "real" in (pair["left"], pair["right"]) else "full"
        rows.append([pid, "left" if pair["left"] == pick else "right"])
    with open(tmp_path / "answers.csv", "w", newline="") as f:
        csv.writer(f).writerows([["pair", "choice"], *rows])
    table = study.score(tmp_path / "answers.csv", tmp_path / "key.json").set_index("method")
    assert table.loc["real", "win_rate"] == 1.0 and table.loc["no_identity", "win_rate"] == 0.0
    assert table.loc["full", "win_rate"] == pytest.approx(0.5)
    assert table["comparisons"].sum() == 60
    assert table.loc["real", "ci_low"] < 1.0 <= table.loc["real", "ci_high"] + 1e-12


def test_study_rejects_bad_answers(tmp_path):
    images = {n: torch.zeros(2, 3, 8, 8) for n in ("a", "b")}
    study.make_study(images, 2, tmp_path)
    (tmp_path / "answers.csv").write_text("pair,choice\nq000,middle\n")
    with pytest.raises(ValueError, match="answers.csv: bad row"):
        study.score(tmp_path / "answers.csv", tmp_path / "key.json")


def test_wilson_interval():
    lo, hi = study.wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)


def test_mask_stats_by_hand():
    m = torch.zeros(4, 1, 2, 2)
    m[0] = 1.0                                   # near-full
    m[1, 0, 0, 0] = 0.5                          # one soft pixel of 4, area 1/4
    m[2] = torch.tensor([[0.2, 0.95], [0.05, 0.0]])  # one soft pixel, area 1/4
    stats = metrics.mask_stats(m)                # m[3] is empty
    assert stats["soft"] == pytest.approx(2 / 16)
    assert stats["full"] == pytest.approx(1 / 4) and stats["empty"] == pytest.approx(1 / 4)
    assert stats["mask_mean"] == pytest.approx(float(m.mean()))


def test_supervised_bound_logs_a_validation_curve():
    from seigan.config import ModelConfig, TrainConfig
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    masks = (torch.rand(8, 1, 32, 32) > 0.5).float()
    boxes = torch.tensor([[4.0, 4.0, 28.0, 24.0]] * 8)
    seg, curve = baselines.train_supervised(x, masks, ModelConfig(resolution=32, ngf=4, seg_depth=3),
                                            TrainConfig(batch_size=2, zoom=0.2), 5, val=(x, masks, boxes),
                                            val_every=2, boxes=boxes)
    assert [r["step"] for r in curve] == [2, 4, 5]
    assert all(0 <= r["val_iou"] <= 1 for r in curve)
    assert not seg.training


def test_runs_are_paired_with_the_priors_image_by_image():
    """versus_priors subtracts the prior's IoU on the same image: the true masks as a run gain 1 − the prior's IoU on
    each image, and the prior's own masks gain exactly 0 with no spread, although their per-image IoUs vary (an
    unpaired comparison would give them an error of √2 times the prior's)."""
    from seigan.data.layout import Split
    from seigan.evaluate import TestSet
    n, size = 8, 16
    mask = torch.zeros(n, 1, size, size)
    for i in range(n):
        mask[i, :, 2:4 + i, 2:12] = 1  # objects of different sizes: per-image IoUs differ
    prior = torch.zeros_like(mask)
    prior[:, :, 2:12, 2:12] = 1  # a fixed square: overlaps each object differently
    split = Split(x=torch.zeros(n, 3, size, size), y=torch.zeros(n, 3, size, size), boxes=torch.zeros(n, 4),
                  mask=mask, clean=None, names=[str(i) for i in range(n)], source_size=size,
                  groups=[str(i // 2) for i in range(n)])
    ts = TestSet(split=split, y=split.y, hole=mask, region=mask)
    out = ts.versus_priors({"run": mask, "same": prior}, {"square": prior})
    gain = 1 - ts.iou(prior)
    assert out["run-square"]["iou"] == pytest.approx(float(gain.mean())) and out["run-square"]["iou_se"] > 0
    assert out["same-square"] == {"iou": 0.0, "iou_se": 0.0}


def test_a_supervised_bound_that_reads_the_box_learns_from_it():
    """Under `model.seg_box` the bound's G_seg gets each image's box, flipped and zoomed with it: on noise images
    whose object is their box it learns the box, which it cannot from the pixels (and it says so without boxes)."""
    from seigan.config import ModelConfig, TrainConfig
    from seigan.networks import box_maps
    g = torch.Generator().manual_seed(0)
    x = torch.rand(32, 3, 32, 32, generator=g) * 2 - 1
    lo = torch.randint(0, 14, (32, 2), generator=g).float()
    boxes = torch.cat([lo, lo + torch.randint(8, 18, (32, 2), generator=g).float()], 1).clamp(max=32)
    masks = box_maps(boxes, 32)
    cfg, tc = ModelConfig(resolution=32, ngf=4, seg_depth=3, seg_box=True), TrainConfig(batch_size=8, zoom=0.2, lr=1e-2)
    with pytest.raises(ValueError, match="model.seg_box"):
        baselines.train_supervised(x, masks, cfg, tc, 1)
    _, curve = baselines.train_supervised(x, masks, cfg, tc, 60, val=(x, masks, boxes), val_every=60, boxes=boxes)
    assert curve[-1]["val_iou"] > 0.8, curve
