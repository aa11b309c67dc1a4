"""The report describes the run it sits beside: its departures table is built from params, not typed out."""
import dataclasses

from seigan import config, report
from tests.conftest import ROOT


def test_departures_follow_the_params():
    p = config.load(ROOT / "params.yaml")
    changed = dataclasses.replace(
        p, loss=dataclasses.replace(p.loss, adv_bg=7.0, mask_grad="all"),
        warmup=dataclasses.replace(p.warmup, steps=123, lr=0.004),
        train=dataclasses.replace(p.train, d_lr_scale=2.0),
        model=dataclasses.replace(p.model, resolution=64, ngf=24))
    before = dict((what, here) for what, here, _ in report.departures(p))
    after = dict((what, here) for what, here, _ in report.departures(changed))
    assert "adv_bg 7" in after["Loss weights"] and "adv_bg 7" not in before["Loss weights"]
    assert after["Which losses reach the mask"] == "every loss (the paper)"
    assert "123 steps" in after["Training schedule"] and "lr 0.004" in after["Optimiser"]
    assert "discriminators at 2x" in after["Optimiser"] and "discriminators" not in before["Optimiser"]
    assert "64 px, ngf 24" in after["Resolution / width (profile cpu)"]
    assert "on 100 real photos from 5 Debian packages, of the kinds scene, close" in before["Data"]
    aerial = dataclasses.replace(p, data=dataclasses.replace(
        p.data, build=dataclasses.replace(p.data.build, kinds=["scene", "close", "aerial"])))
    assert "on 151 real photos from 6 Debian packages" in dict((w, h) for w, h, _ in report.departures(aerial))["Data"]
    plain_enh = dataclasses.replace(p, loss=dataclasses.replace(p.loss, adv_colour=0.0, enh_jitter="uniform"))
    plain = dict((w, h) for w, h, _ in report.departures(plain_enh))
    assert "A colour adversary for G_enh" in before and "A colour adversary for G_enh" not in plain
    assert "another background's" in before["Self-supervised pixel losses"]
    assert "a gain in 1 ± 0.3" in plain["Self-supervised pixel losses"]
    at_one = dataclasses.replace(p, eval=dataclasses.replace(p.eval, seg_scale=1.0))
    finer = "G_seg reads x at a finer resolution at inference"
    assert "2× the model's 48 px" in before[finer]
    assert finer not in dict((w, h) for w, h, _ in report.departures(at_one))
    no_warm = dataclasses.replace(p, warmup=dataclasses.replace(p.warmup, steps=0))
    assert dict((w, h) for w, h, _ in report.departures(no_warm))["Training schedule"] == \
        "each variant trained from scratch"


def test_unseen_summary_judges_each_run_against_the_best_prior_with_two_ses():
    def e(iou, se=0.01):
        return {"iou": iou, "iou_se": se}
    unseen = {"n": 200, "animals": 23, "unseen": {"box": e(0.40), "ellipse": e(0.50), "grabcut": e(0.45),
                                                  "full": e(0.60), "no_identity": e(0.51), "no_enhancement": e(0.30)}}
    text = report.unseen_summary(unseen, ["full", "no_identity", "no_enhancement"])
    assert "best box-only prior is ellipse" in text
    lines = text.splitlines()
    assert "beats it" in lines[1] and "level with it" in lines[2] and "loses to it" in lines[3]
    table = report.unseen_table(unseen, {"segmentation": {"full": e(0.7)}})
    assert table.loc["full", "unseen photos"].startswith("0.600") and table.loc["box", "test split"] == ""
    assert table.loc["full", "test split"].startswith("0.700") and table.loc["full", "unseen, 128 px"] == ""


def test_the_supervised_bound_and_the_128px_table_are_read_in_words():
    """The unseen summary says what the data allows there (the bound against the best prior), and the 128-px summary
    calls a run above, below or level with GrabCut by its paired difference, on each split."""
    def e(iou, se=0.01):
        return {"iou": iou, "iou_se": se}
    unseen = {"n": 200, "animals": 23, "unseen": {"box": e(0.45), "ellipse": e(0.55), "grabcut": e(0.40),
                                                  "supervised": e(0.62), "full": e(0.30)},
              "unseen_128": {"grabcut": e(0.64), "full": e(0.30), "supervised": e(0.62)},
              "paired_128": {"full-grabcut": {"iou": -0.34, "iou_se": 0.03},
                             "supervised-grabcut": {"iou": -0.02, "iou_se": 0.03}}}
    lines = report.unseen_summary(unseen, ["full"]).splitlines()
    assert "`supervised` (the bound" in lines[1] and "beats it" in lines[1] and "loses to it" in lines[2]
    metrics = {"segmentation_128": {"grabcut": e(0.60), "full": e(0.70)},
               "paired_128": {"full-grabcut": {"iou": 0.10, "iou_se": 0.02}}}
    text = report.hi_res_summary(metrics, unseen, ["full"])
    test_line, unseen_line = text.splitlines()[1:]
    assert test_line.startswith("- test split: GrabCut from the box 0.600") and "above GrabCut" in test_line
    assert "`full` 0.300 (-0.340 ± 0.030: below GrabCut)" in unseen_line and "level with GrabCut" in unseen_line
    assert report.hi_res_summary({}, None, ["full"]) == "No 128-px table in these results."


def test_a_paired_difference_from_the_prior_decides_the_verdict_when_it_is_recorded():
    """The same means (+0.03 over the ellipse, ±0.02 each): level by the unpaired intervals, ahead by the paired
    per-image difference (whose error is small because both IoUs of one image move together)."""
    def e(iou, se=0.02):
        return {"iou": iou, "iou_se": se}
    unseen = {"n": 200, "animals": 23, "unseen": {"box": e(0.40), "ellipse": e(0.50), "grabcut": e(0.45),
                                                  "full": e(0.53)}}
    assert "level with it" in report.unseen_summary(unseen, ["full"]).splitlines()[1]
    paired = {**unseen, "paired": {"full-ellipse": {"iou": 0.03, "iou_se": 0.005}}}
    line = report.unseen_summary(paired, ["full"]).splitlines()[1]
    assert "beats it" in line and "paired per image" in line
    assert report.against_prior(paired, paired["unseen"], "full", "ellipse")[:2] == (0.03, 0.005)


def seeds_file(full_ious, priors=None):
    seeds = list(range(len(full_ious)))
    return {"seeds": seeds, "variants": ["warmup", "full"], "n_test": 200,
            "priors": priors or {"box": 0.45, "ellipse": 0.56, "grabcut": 0.50},
            "runs": {str(s): {"warmup": {"iou": 0.6}, "full": {"iou": v}} for s, v in zip(seeds, full_ious)},
            "machine": {"0": {"device": "cpu"}}}


def test_seeds_verdicts_judge_every_seed_and_the_mean_against_the_best_prior():
    good = report.seeds_verdicts(seeds_file([0.62, 0.63, 0.64]), supervised=0.72)
    assert "Every seed beats the best prior by 0.03" in good and "the mean beats it by 0.05" in good
    assert "ellipse" in good and "at least 80%" in good
    # one seed inside the margin, the mean under it, the bound missed
    bad = report.seeds_verdicts(seeds_file([0.58, 0.62, 0.60]), supervised=0.80)
    assert "Not every seed beats" in bad and "the mean does not beat" in bad and "below 80%" in bad
    table = report.seeds_per_seed(seeds_file([0.58, 0.62]))
    assert list(table.index) == ["seed 0", "seed 1"] and table.loc["seed 1", "trained on"] == "not recorded"


def test_paper_claims_hold_on_a_measure_that_separates_the_variants_and_none_against():
    """full against an ablation: better on ŷ vs ŷ* and level elsewhere = holds on that measure; worse anywhere =
    contradicted; level everywhere = not supported."""
    def metrics(enh_diff):
        seg = {n: {"iou": 0.6, "iou_se": 0.02} for n in ("full", "no_enhancement")}
        seg.update({"ellipse": {"iou": 0.55, "iou_se": 0.02}, "supervised": {"iou": 0.7, "iou_se": 0.02}})
        real = {n: {"c2st_acc": 0.5, "c2st_sd": 0.02, "kid": 0.007, "kid_sd": 0.002} for n in ("full", "no_enhancement")}
        return {"segmentation": seg, "realism": real,
                "paired": {"full-no_enhancement": {"iou": 0.0, "iou_se": 0.0, "enh_psnr": enh_diff, "enh_psnr_se": 0.02}}}
    claim = {d: [line for line in report.paper_claims(metrics(d), ["full", "no_enhancement"], {}).splitlines()
                 if "full better than no_enhancement" in line][0] for d in (0.4, -0.4, 0.01)}
    assert "The claim holds on ŷ against ŷ*;" in claim[0.4]
    assert "contradicted" in claim[-0.4]
    assert "not supported" in claim[0.01]


def test_a_difference_without_a_known_error_is_never_called_a_difference():
    """A paired difference whose standard error is unknown (NaN) is marked '≈' in the table and bolds no run, as
    report.sign reads it everywhere else (a comparison with NaN is False, so a bare `abs(d) <= 2 se` claimed it)."""
    nan = float("nan")
    metrics = {"segmentation": {"full": {"iou": 0.70, "iou_se": nan}, "no_identity": {"iou": 0.50, "iou_se": nan}},
               "paired": {"full-no_identity": {"iou": 0.20, "iou_se": nan}}}
    assert report.paired_table(metrics).loc["full − no_identity", "IoU"].endswith("≈")
    assert report._clearly_best(metrics, ["full", "no_identity"], "segmentation", "iou", "iou_se", True, "iou") is None
    metrics["paired"]["full-no_identity"]["iou_se"] = 0.01  # known and small: a difference, and full is bold
    assert not report.paired_table(metrics).loc["full − no_identity", "IoU"].endswith("≈")
    assert report._clearly_best(metrics, ["full", "no_identity"], "segmentation", "iou", "iou_se", True, "iou") == "full"


def test_each_claims_verdict_follows_its_comparison_and_an_unpowered_test_ranks_nothing():
    def metrics(rr, paste, full_real, cp_iou):
        seg = {"full": {"iou": 0.6, "iou_se": 0.02}, "no_enhancement": {"iou": 0.6, "iou_se": 0.02},
               "cut_and_paste": {"iou": cp_iou, "iou_se": 0.02}, "ellipse": {"iou": 0.55, "iou_se": 0.02},
               "supervised": {"iou": 0.7, "iou_se": 0.02}}
        real = {"real_vs_real": {"colour_acc": rr, "colour_acc_se": 0.02},
                "paste_true_mask": {"colour_acc": paste, "colour_acc_se": 0.02},
                "full": {"colour_acc": full_real, "colour_acc_se": 0.02, "colour_acc_ceiling": 0.55},
                "no_enhancement": {"colour_acc": 0.70, "colour_acc_se": 0.02}}
        enh = {"ceiling": {"diff_psnr": 9.0, "diff_psnr_se": 0.4},
               "full": {"diff_psnr": 0.5, "diff_psnr_se": 0.05, "ceiling_diff_psnr": 2.0, "ceiling_diff_psnr_se": 0.3}}
        return {"segmentation": seg, "realism": real, "enhancement": enh,
                "paired": {"full-cut_and_paste": {"iou": 0.6 - cp_iou, "iou_se": 0.02},
                           "full-no_enhancement": {"realism": full_real - 0.70, "realism_se": 0.02}}}
    variants = ["full", "no_enhancement"]
    text = lambda m: "\n".join(r for _, _, r in report.claim_sections(m, variants))  # noqa: E731
    powered_better = text(metrics(0.50, 0.70, 0.60, 0.40))
    assert "full's ŷ is closer to real than no_enhancement's" in powered_better and "(a)" in powered_better
    assert "full's masks are better than the cut-and-paste baseline's" in powered_better
    assert "The claim holds here." in powered_better
    assert "even the colour transform fitted to ŷ* scores 0.550" in powered_better
    assert "falls short" in powered_better  # +0.5 dB against a 1 dB bar
    unpowered = text(metrics(0.58, 0.70, 0.60, 0.40))
    assert "not testable here: the colour test has no power (real against real scores 0.580" in unpowered
    weak = text(metrics(0.50, 0.60, 0.60, 0.40))
    assert "not testable here" in weak and "only 0.600" in weak
    assert "full's masks are worse than" in text(metrics(0.50, 0.70, 0.60, 0.80))
    for _, table, _ in report.claim_sections(metrics(0.50, 0.70, 0.60, 0.40), variants):
        assert len(table)


def test_seeds_verdicts_compare_full_with_the_cut_and_paste_baseline_seed_by_seed():
    seeds = seeds_file([0.40, 0.36, 0.33])
    seeds["variants"].append("cut_and_paste")
    for s, iou in zip(seeds["seeds"], [0.33, 0.38, 0.30]):
        seeds["runs"][str(s)]["cut_and_paste"] = {"iou": iou}
    text = report.seeds_verdicts(seeds)
    assert "+0.070, -0.020, +0.030 (2 of 3 seeds ahead, mean +0.027)" in text
