"""End to end: the DVC pipeline of papermill notebooks with the tiny profile, an experiment with a changed
variant, the evaluation of a data set without references, and the seeds command on the pipeline's runs.
(Training from the command line, resume after kill -9 and bad input: tests/test_resume.py.)"""
import json
import os
import shutil
import sys

import pytest
import yaml

from workspace import NOT_RUN, PARAMS, ROOT, TRAINED, VARIANTS, copy_repo, run


@pytest.fixture(scope="module")
def repo(tmp_path_factory, built_data):
    """A copy of this working tree (tracked and untracked files, data/ hard-linked) as its own git repo."""
    return copy_repo(tmp_path_factory.mktemp("pipeline") / "repo", built_data)


def test_dry_run_parses_and_lists_every_stage(repo):
    out = run("dvc repro --dry --force", repo).stdout
    for stage in ["data", "train_warmup", "train_cut_and_paste", *[f"train@{v}" for v in VARIANTS], "supervised",
                  "evaluate", "report"]:
        assert f"Running stage '{stage}'" in out, stage


def test_smoke_repro_writes_every_output_and_leaves_status_clean(repo):
    run("dvc repro", repo, timeout=1200)
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert metrics["n_test"] == 16
    runs = ["warmup", *TRAINED]  # the warm start is a row of the ablation
    for name in [*runs, "cut_and_paste", "box", "ellipse", "grabcut", "supervised"]:
        assert set(metrics["segmentation"][name]) == {"iou", "iou_se"}, name
        assert 0 <= metrics["segmentation"][name]["iou"] <= 1
    for name in runs:
        assert set(metrics["inpainting"][name]) == {"psnr", "ssim", "l1", "psnr_hard", "ssim_hard", "psnr_true",
                                                    "ssim_true", "telea_psnr", "diff_telea_psnr",
                                                    "diff_telea_psnr_se"}, name
        ceiling = {"ceiling_psnr", "ceiling_diff_psnr", "ceiling_diff_psnr_se"} if name in TRAINED else set()
        true_mask = {"true_mask_psnr", "true_mask_diff_psnr", "true_mask_diff_psnr_se"} \
            if name in TRAINED and PARAMS["variants"][name]["enhancement"] else set()
        assert set(metrics["enhancement"][name]) == {"psnr", "fmse", "psnr_paste", "fmse_paste", "diff_psnr",
                                                     "diff_psnr_se", *ceiling, *true_mask}, name
    assert set(metrics["enhancement"]["ceiling"]) == {"psnr", "psnr_paste", "diff_psnr", "diff_psnr_se"}
    assert "cut_and_paste" not in metrics["inpainting"] and "cut_and_paste" not in metrics["enhancement"]
    assert set(metrics["inpainting"]["telea_true_mask"]) == {"psnr", "ssim", "l1"}
    assert set(metrics["enhancement"]["paste_true_mask"]) == {"psnr", "fmse"}
    for v in ["warmup", "no_enhancement"]:  # no G_enh: ŷ is the paste, so the paired gain is exactly 0
        assert metrics["enhancement"][v]["diff_psnr"] == 0
    for name in [*TRAINED, "paste_true_mask", "real_vs_real"]:
        with_enh = {"colour_acc_true_mask"} if name in TRAINED and PARAMS["variants"][name]["enhancement"] else set()
        with_enh |= {"colour_acc_ceiling"} if name in TRAINED else set()  # the colour ceiling with its own mask
        assert set(metrics["realism"][name]) == {"c2st_acc", "c2st_sd", "kid", "kid_sd", "colour_acc",
                                                 "colour_acc_se", *with_enh}, name
    assert set(metrics["realism"]["true_swap"]) == {"colour_acc", "colour_acc_se"}
    assert {"iou", "iou_se"} == set(metrics["paired"]["full-cut_and_paste"])
    assert "realism" in metrics["paired"]["full-no_enhancement"]
    for name in [*TRAINED, "telea_true_mask", "real_vs_real"]:
        assert set(metrics["realism_bg"][name]) == {"c2st_acc", "c2st_sd"}, name  # KID of ŷ only
    assert {"iou", "iou_se", "enh_psnr", "enh_psnr_se", "hole_psnr", "hole_psnr_se"} == set(
        metrics["paired"]["warmup-full"])
    for name in NOT_RUN:  # declared but not run: no metrics, and the report says how to run them
        assert name not in metrics["segmentation"]
    unseen = json.loads((repo / "reports/unseen.json").read_text())  # photos training never saw
    assert unseen["n"] == 16
    for name in [*runs, "cut_and_paste", "box", "ellipse", "grabcut", "supervised"]:  # the bound on every split
        assert {"iou", "iou_se"} <= set(unseen["unseen"][name]) and 0 <= unseen["unseen"][name]["iou"] <= 1, name
    for table in (metrics["segmentation_128"], unseen["unseen_128"]):  # at 128 px, where GrabCut works
        for name in [*runs, "cut_and_paste", "box", "ellipse", "grabcut", "supervised"]:
            assert set(table[name]) == {"iou", "iou_se"} and 0 <= table[name]["iou"] <= 1, name
    assert {"iou", "iou_se"} == set(metrics["paired_128"]["full-grabcut"]) == set(unseen["paired_128"]["full-grabcut"])
    assert (repo / "checkpoints/supervised/seg.pt").is_file() and (repo / "reports/supervised/val.csv").is_file()
    # what depends only on the images is kept by content between runs of its stage (seigan.cache)
    kept = lambda stage: sorted(p.name.split("-")[0] for p in (repo / "cache" / stage).glob("*.pt"))  # noqa: E731
    size = PARAMS["profiles"]["tiny"]["model"]["resolution"]
    assert kept("evaluate") == ["inception_real", "priors_128px", f"priors_{size}px"]
    assert kept("unseen") == ["priors_128px", f"priors_{size}px"]
    per_image = (repo / "reports/eval/per_image.csv").read_text().splitlines()
    assert len(per_image) == 1 + 16 and "full.enh_psnr" in per_image[0] and "animal" in per_image[0]
    for fig in ("docs/overview.png", "docs/img/cli_example.png"):  # README's figures come from this run
        assert (repo / fig).read_bytes() != (ROOT / fig).read_bytes(), fig
    html = (repo / "reports/report.html").read_text()
    assert "Departures from the paper" in html and "Ablation table" in html
    assert "Segmentation on photos training never saw" in html and "best box-only prior" in html
    assert "At 128 px" in html and "GrabCut from the box" in html
    assert "The paper&#x27;s claims at this scale" in html or "The paper's claims at this scale" in html
    assert "Each claim against its own comparison" in html and "cut-and-paste" in html and "power check" in html
    assert (repo / "checkpoints/cut_and_paste/last.pt").is_file()
    assert (repo / "reports/notebooks/02_train_cut_and_paste.ipynb").is_file()
    for v in NOT_RUN:
        assert f"variants.{v}.run=true" in (repo / f"reports/notebooks/02_train_{v}.ipynb").read_text()
    assert (repo / "checkpoints/warmup/last.pt").is_file()
    for v in TRAINED:
        assert (repo / f"reports/notebooks/02_train_{v}.ipynb").is_file()
        assert (repo / f"checkpoints/{v}/last.pt").is_file()
        assert (repo / f"reports/train/{v}/losses.csv").is_file()
        assert {"soft", "empty", "full"} <= set((repo / f"reports/train/{v}/val.csv").read_text().split("\n")[0].split(","))
    status = run("dvc status", repo).stdout
    assert "up to date" in status or status.strip() == "", status
    # a finished variant is not retrained: a second repro runs nothing
    again = run("dvc repro", repo).stdout
    assert "Running stage" not in again, again


def test_exp_run_with_a_changed_variant_reruns_only_what_depends_on_it(repo):
    """`dvc exp run -S` of one variant's setting trains that variant and nothing upstream or beside it; what is then
    out of date is exactly what reads it (evaluation, report, unseen photos). The exp run is given the variant's stage
    as its target, so the test does not pay for a second evaluation; `dvc status` says what a plain `dvc exp run`
    would run next."""
    if not (repo / "reports/metrics.json").is_file():
        run("dvc repro", repo, timeout=1200)
    out = run("dvc exp run -S variants.no_identity.identity_weight=1.0 train@no_identity", repo, timeout=1200).stdout
    assert "Running stage 'train@no_identity'" in out, out
    assert "Running stage 'train_warmup'" not in out
    for other in ("full", "no_enhancement", "no_texture", "single_pass"):
        assert f"Running stage 'train@{other}'" not in out, other
    assert yaml.safe_load((repo / "params.yaml").read_text())["variants"]["no_identity"]["identity_weight"] == 1.0
    stale = set(json.loads(run("dvc status --json", repo).stdout))
    assert stale == {"evaluate", "report", "unseen"}, stale


def test_dvc_plots_and_metrics_read_the_outputs(repo):
    if not (repo / "reports/metrics.json").is_file():
        run("dvc repro", repo, timeout=1200)
    shown = run("dvc metrics show --json", repo).stdout
    assert "segmentation" in shown
    run("dvc plots show --json", repo)


def test_evaluate_without_true_swaps_or_a_supervised_bound(repo, tmp_path):
    """An imported data set has no swap/ folder: one line says the enhancement references are absent, and
    everything else is evaluated; with `eval.supervised_steps: 0` there is no supervised row (one evaluation checks
    both, since each costs a minute)."""
    if not (repo / "checkpoints/full/last.pt").is_file():
        run("dvc repro", repo, timeout=1200)
    data = tmp_path / "noswap"
    shutil.copytree(repo / "data", data, copy_function=os.link, ignore=shutil.ignore_patterns("swap"))
    code = ("import dataclasses; from seigan import config, evaluate; p = config.load(profile='tiny'); "
            f"p = dataclasses.replace(p, data=dataclasses.replace(p.data, root={str(data)!r}), "
            "eval=dataclasses.replace(p.eval, supervised_steps=0, limit=8)); "
            f"m = evaluate.evaluate(p, out_dir={str(tmp_path / 'out')!r}, progress=False, cache_dir=None); "
            "assert m['enhancement'] == {} and m['segmentation']['full']['iou'] >= 0 and 'full' in m['realism']; "
            "assert 'supervised' not in m['segmentation']")
    res = run(f"{sys.executable} -c \"{code}\"", repo)
    lines = [line for line in res.stdout.splitlines() if "no true swaps" in line]
    assert len(lines) == 1 and "noswap/test/swap" in lines[0], res.stdout


def test_seeds_command_reuses_the_pipelines_seed_and_trains_the_others(repo):
    """`python -m seigan.seeds --seeds 0 1`: seed 0 (params.yaml's) is the pipeline's own run, seed 1 trains the warm
    start and every trained variant under checkpoints_seeds/1; reports/seeds.json holds both with a summary."""
    if not (repo / "checkpoints/full/last.pt").is_file():
        run("dvc repro", repo, timeout=1200)
    run(f"{sys.executable} -m seigan.seeds --seeds 0 1", repo, timeout=600)
    seeds = json.loads((repo / "reports/seeds.json").read_text())
    assert seeds["seeds"] == [0, 1] and set(seeds["priors"]) == {"box", "ellipse", "grabcut"}
    # seed 0 is params.yaml's: finished pipeline runs with these params are reused, not retrained (the warm start and
    # full always are; an earlier test of this module may have changed the variants' step count, and then a variant
    # whose pipeline checkpoint no longer matches is rightly trained anew under checkpoints_seeds/0)
    for name in ("warmup", "full"):
        assert not (repo / f"checkpoints_seeds/0/{name}").exists(), name
    for name in ["warmup", *TRAINED, "cut_and_paste"]:  # the baseline is a run of every seed too
        assert (repo / f"checkpoints_seeds/1/{name}/last.pt").is_file()
        for s in ("0", "1"):
            assert set(seeds["runs"][s][name]) == {"iou", "soft", "enh_psnr", "enh_diff_psnr", "hole_psnr",
                                                   "hole_psnr_true", "colour_acc", "colour_diff"}
        assert seeds["summary"][name]["iou"]["sd"] is not None
    assert seeds["machine"]["1"]["device"] and seeds["machine"]["1"]["profile"] == "tiny"
    # the seeds' colour test is the evaluation's: seed 0's full reads as reports/metrics.json
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert seeds["runs"]["0"]["full"]["colour_acc"] == metrics["realism"]["full"]["colour_acc"]
    assert seeds["runs"]["0"]["full"]["colour_diff"] is not None and seeds["runs"]["0"]["no_enhancement"]["colour_diff"] is None
    # another seed is another run
    assert seeds["runs"]["1"]["full"]["iou"] != seeds["runs"]["0"]["full"]["iou"]
