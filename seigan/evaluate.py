"""Held-out evaluation of the warm start and every trained variant against baselines and exact references;
writes reports/metrics.json, reports/eval/details.json, per_image.csv and the example arrays.

Everything is computed on the test split, which shares no animal and no background photo with training.
Each run is evaluated at its final checkpoint (never the best-on-test). Each of SEIGAN's three outputs has an exact
reference: the mask m the true mask, the inpainted x̂ the true clean background, and the enhanced composite ŷ the
true swap ŷ* that the data builder rendered (x's object on y, harmonised towards y). Differences between runs are
per-image paired differences whose standard errors are bootstrapped over animals (`metrics.paired`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch

from seigan import atomic, baselines, cache, config, enhancement, metrics, networks, realism, runs, supervised
from seigan.data.layout import Split, load_split
from seigan.model import SEIGAN, FineView, batched, batched_masks, paste, predict_masks, seg_size
from seigan.paths import resolve

N_WORST = 8  # the test images with the lowest IoU shown in the report


def collapse_stats(m: torch.Tensor) -> dict:
    """Mask-collapse diagnostics: metrics.mask_stats (the training log's validation columns, same names) and the
    mean area (m >= 0.5)."""
    return {**metrics.mask_stats(m), "area": float((m >= 0.5).float().mean())}


@dataclass
class TestSet:
    split: Split
    y: torch.Tensor       # one test background per object image
    hole: torch.Tensor    # where the object truly is (true mask >= 0.5)
    region: torch.Tensor  # the true mask dilated by a few pixels: where ŷ is compared with the true swap
    fine: FineView | None = None  # x at the resolution G_seg reads at inference (`eval.seg_scale` > 1)

    @property
    def groups(self) -> list:
        return self.split.groups

    @property
    def has_swap(self) -> bool:
        return self.split.swap is not None

    @cached_property
    def seg_inputs(self) -> tuple:
        """What G_seg reads beside x (`SEIGAN.predict`'s box, x_seg, box_seg): x's box map, then the finer view and
        its box map when `eval.seg_scale` > 1."""
        box = networks.box_maps(self.split.boxes, self.split.x.shape[-1])
        return (box,) + (() if self.fine is None else self.fine.inputs)

    def iou(self, masks: torch.Tensor) -> np.ndarray:
        return metrics.iou_per_image(masks, self.split.mask).numpy()

    @cached_property
    def paste_true(self) -> torch.Tensor:
        """Each object pasted onto its y with the true mask, no enhancement: the reference composite."""
        return paste(self.split.mask, self.split.x, self.y)

    @cached_property
    def paste_true_errors(self) -> dict:
        """Per-image PSNR and fMSE of `paste_true` against the true swap (computed once, read by every run)."""
        return metrics.region_errors(self.paste_true, self.split.swap, self.region)

    def seg_entry(self, masks: torch.Tensor) -> dict:
        iou = self.iou(masks)
        return {"iou": float(iou.mean()), "iou_se": metrics.cluster_se(iou, self.groups)}

    def versus_priors(self, masks: dict, priors: dict) -> dict:
        """Per-image IoU of each run minus each box prior's on the same image, with the animal-clustered standard
        error: the sharper test of "beats the prior" (the two IoUs of one image are strongly correlated).
        Key "run-prior", as in the `paired` section."""
        prior_iou = {p: self.iou(m) for p, m in priors.items()}
        out = {}
        for name, m in masks.items():
            iou = self.iou(m)
            for p, piou in prior_iou.items():
                d = metrics.paired(iou, piou, self.groups)
                out[f"{name}-{p}"] = {"iou": d["diff"], "iou_se": d["se"]}
        return out


def load_test(params: config.Params, split: str = "test") -> TestSet:
    test = runs.load_data(params, split, with_truth=True, limit=params.eval.limit)
    y = test.y[torch.arange(len(test.x)) % len(test.y)]  # pair each test object with a test background
    if test.swap is not None and len(test.y) < len(test.x):
        test.swap = None  # the swaps were rendered onto y_i; a shorter y list pairs differently
    region = metrics.dilate(test.mask, metrics.dilation_px(params.model.resolution))
    return TestSet(test, y, (test.mask >= 0.5).float(), region, fine_view(params, split))


def fine_view(params: config.Params, split: str) -> FineView | None:
    """`split`'s images at the side G_seg reads at inference (`eval.seg_scale`), or None at scale 1."""
    size = seg_size(params.model, params.eval.seg_scale)
    if size == params.model.resolution:
        return None
    fine = load_split(resolve(params.data.root), split, size, limit=params.eval.limit)
    return FineView(fine.x, fine.boxes)


def swap_absent_line(params: config.Params) -> str:
    return (f"{resolve(params.data.root) / 'test' / 'swap'}: no true swaps (an imported data set?); the enhancement "
            "metrics are left out, everything else is evaluated")


# -- one run's outputs and per-image scores ----------------------------------------------------------------
def outputs(model: SEIGAN, ts: TestSet, params: config.Params, device) -> dict:
    """m, z, ŷ and x̂ of a trained model on the test split, plus x̂ for its thresholded mask and for the true mask, and
    (with G_enh) ŷ for the paste with the true mask: what G_enh does where the mask is not in its way."""
    b = params.eval.batch_size
    out = batched(model.predict, (ts.split.x, ts.y) + ts.seg_inputs, b, device)
    if model.inp is None:  # a mask-only run (the cut-and-paste baseline): its mask is all it makes
        return out
    fill = lambda mask: batched(lambda x, m: {"x": model.inpaint(x, m)}, (ts.split.x, mask), b, device)["x"]  # noqa: E731
    out["x_hat_hard"] = fill((out["m"] >= 0.5).float())
    out["x_hat_true"] = fill(ts.hole)
    if model.enh is not None:
        out["y_hat_true_mask"] = batched(lambda x, y, m: {"y": model.enhance_with(x, y, m)},
                                         (ts.split.x, ts.y, ts.split.mask), b, device)["y"]
    return out


def scores(out: dict, ts: TestSet) -> dict:
    """Per-image numbers of one run: IoU; hole PSNR of x̂ with its soft mask, its thresholded mask and the true mask;
    and, when the swaps exist, PSNR and fMSE of ŷ and of the plain paste z against the true swap."""
    res = {"iou": metrics.iou_per_image(out["m"], ts.split.mask).numpy()}
    if "x_hat" not in out:
        return res
    clean = ts.split.clean
    for key, suffix in (("x_hat", ""), ("x_hat_hard", "_hard"), ("x_hat_true", "_true")):
        for name, vals in metrics.hole_scores(out[key], clean, ts.hole).items():
            if name != "l1" or not suffix:
                res[f"hole_{name}{suffix}"] = vals
    if ts.has_swap:
        for key, prefix in (("y_hat", "enh"), ("z", "paste"), ("y_hat_true_mask", "enh_true_mask")):
            if key not in out:
                continue
            for name, vals in metrics.region_errors(out[key], ts.split.swap, ts.region).items():
                res[f"{prefix}_{name}"] = vals.numpy()
    return res


def light_metrics(model: SEIGAN, ts: TestSet, params: config.Params, device,
                  colour: realism.ColourTest | None = None) -> dict:
    """The per-seed numbers of `python -m seigan.seeds` (and the probe's): IoU, soft share, enhancement and
    inpainting PSNR, and with a `colour` test the realism of ŷ."""
    return light_from(outputs(model, ts, params, device), ts, colour)


def light_from(out: dict, ts: TestSet, colour: realism.ColourTest | None = None) -> dict:
    """`light_metrics` of already computed `outputs`."""
    s = scores(out, ts)
    enh, inp = ts.has_swap and "enh_psnr" in s, "hole_psnr" in s
    light = {"iou": float(s["iou"].mean()), "soft": metrics.mask_stats(out["m"])["soft"],
             "enh_psnr": float(s["enh_psnr"].mean()) if enh else None,
             "enh_diff_psnr": float((s["enh_psnr"] - s["paste_psnr"]).mean()) if enh else None,
             "hole_psnr": float(np.nanmean(s["hole_psnr"])) if inp else None,
             "hole_psnr_true": float(np.nanmean(s["hole_psnr_true"])) if inp else None}
    if colour is not None:
        c = colour_scores(out, ts, colour)
        light.update(colour_acc=c["colour_acc"], colour_diff=c.get("colour_diff"))
    return light


def colour_scores(out: dict, ts: TestSet, test: realism.ColourTest) -> dict:
    """The colour test (seigan.realism) of ŷ; with G_enh also of the plain paste z of the same mask, their per-image
    paired difference (negative: G_enh brought ŷ closer to real than its paste) and of ŷ made with the true mask."""
    acc_y = test.per_image(out["y_hat"])
    res = {"colour_acc": float(acc_y.mean())}
    if "y_hat_true_mask" in out:  # a run with G_enh
        acc_z = test.per_image(out["z"])
        d = metrics.paired(acc_y, acc_z, ts.groups)
        res.update(colour_acc_paste=float(acc_z.mean()), colour_diff=d["diff"], colour_diff_se=d["se"],
                   colour_acc_true_mask=float(test.per_image(out["y_hat_true_mask"]).mean()))
    return res


# -- realism ---------------------------------------------------------------------------------------------------
def inception_settings() -> dict:
    """What the Inception features depend on besides the images and seigan/metrics.py (seigan.cache's key)."""
    path = metrics.inception_file()
    return {"weights": path.name, "bytes": path.stat().st_size, "torch": torch.__version__}


class Realism:
    """C2ST (over `eval.c2st_seeds` classifier seeds) and, given an Inception network, KID (with its spread over
    subsets) of generated images against a set of real ones; the real Inception features are computed once.
    Without one (the inpainted backgrounds x̂), C2ST only: each Inception pass over the test split at 299 px costs
    ~35 s on two CPU cores, and the enhancement's criteria need KID of ŷ only."""

    def __init__(self, params: config.Params, real: torch.Tensor, inception: metrics.InceptionFeatures | None,
                 cache_dir: str | Path | None = None):
        self.params, self.real, self.inception = params, real, inception
        self.real_feats = cache.reuse(cache_dir, "inception_real", [real], inception_settings(),
                                      [cache.source(metrics)], lambda: inception(real)) if inception else None

    def _score(self, a, b, fa, fb) -> dict:
        e = self.params.eval
        kid = metrics.kid_spread(fa, fb, seed=self.params.train.seed) if self.inception else {}
        return {**metrics.c2st_spread(a, b, e.c2st_epochs, e.c2st_seeds, self.params.train.seed), **kid}

    def __call__(self, fake: torch.Tensor) -> dict:
        feats = self.inception(fake) if self.inception else None
        return self._score(self.real, fake, self.real_feats, feats)

    def real_vs_real(self) -> dict:
        half = len(self.real) // 2
        feats = (self.real_feats[:half], self.real_feats[half:2 * half]) if self.inception else (None, None)
        return self._score(self.real[:half], self.real[half:2 * half], *feats)


def colour_test(params: config.Params, ts: TestSet) -> realism.ColourTest:
    """The colour two-sample test against the split's real object images, as the evaluation and the seeds command
    both run it (so that the seeds' seed 0 reads as reports/metrics.json)."""
    return realism.ColourTest(ts.split.x, ts.hole, ts.groups, params.eval.c2st_seeds, params.train.seed)


def colour_realism(params: config.Params, ts: TestSet, variants: list, fitted: torch.Tensor | None,
                   res: dict) -> None:
    """The colour two-sample test (seigan.realism) of each variant's ŷ against the real object images, beside its two
    power checks (real against real, the plain paste with the true mask), the true swap and the colour ceiling (x in
    the `fitted` colours of `enhancement_ceilings`) with the true mask; per image into res["per_image"], so that two variants are compared per image
    (`paired.<a>-<b>.realism`); and per variant the colour ceiling pasted with its own mask (`colour_acc_ceiling`):
    how close to real any colour transform could bring ŷ with that mask."""
    test = colour_test(params, ts)
    res["realism"]["real_vs_real"].update(prefixed(test.real_vs_real()))
    res["realism"]["paste_true_mask"].update(prefixed(test(ts.paste_true)[0]))
    if fitted is not None:  # the target, and the colour ceiling with the true mask: both must score near real
        res["realism"]["true_swap"] = prefixed(test(ts.split.swap)[0])
        res["realism"]["colour_ceiling"] = prefixed(test(paste(ts.split.mask, fitted, ts.y))[0])
    for name in variants:
        entry, per_image = test(res["y_hat"][name])
        res["realism"][name].update(prefixed(entry))
        res["per_image"][name]["realism"] = per_image
        if fitted is not None:  # the most a colour transform could show with this run's own mask
            res["realism"][name]["colour_acc_ceiling"] = test(paste(res["masks"][name], fitted, ts.y))[0]["acc"]
        if name in res["y_hat_true_mask"]:  # G_enh's ŷ where the mask is not in its way
            res["realism"][name]["colour_acc_true_mask"] = test(res["y_hat_true_mask"][name])[0]["acc"]


def prefixed(entry: dict) -> dict:
    return {f"colour_{k}": v for k, v in entry.items()}


def enhancement_ceilings(ts: TestSet, variants: list, res: dict) -> torch.Tensor:
    """enhancement.ceiling: G_enh's colour transform fitted to ŷ* (seigan.enhancement) with the true mask, against the
    paste with the true mask; and per variant with its own mask, against its own paste z (`ceiling_diff_psnr`).
    Returns x in the fitted colours (the colour test scores them pasted with each mask)."""
    fitted = enhancement.fitted_colours(ts.split.x, ts.split.swap, ts.hole)  # one fit, pasted with every mask
    psnr = lambda images: metrics.region_errors(images, ts.split.swap, ts.region)["psnr"].numpy()  # noqa: E731
    ceiling = paste(ts.split.mask, fitted, ts.y)
    ceil, plain = psnr(ceiling), ts.paste_true_errors["psnr"].numpy()
    d = metrics.paired(ceil, plain, ts.groups)
    res["enhancement"]["ceiling"] = {"psnr": float(ceil.mean()), "psnr_paste": float(plain.mean()),
                                     "diff_psnr": d["diff"], "diff_psnr_se": d["se"]}
    for name in variants:
        ceil = psnr(paste(res["masks"][name], fitted, ts.y))
        d = metrics.paired(ceil, res["per_image"][name]["paste_psnr"], ts.groups)
        res["enhancement"][name].update({"ceiling_psnr": float(ceil.mean()), "ceiling_diff_psnr": d["diff"],
                                         "ceiling_diff_psnr_se": d["se"]})
    return fitted


# -- the phases of an evaluation -----------------------------------------------------------------------------
def evaluate_runs(params, names, ts: TestSet, device, res: dict, progress=True) -> dict:
    """Masks, composites and inpainting of each run (the warm start and the variants); per-image scores go to
    res["per_image"][name], outputs of the first examples are returned."""
    k, examples = params.eval.n_examples, {}
    for name in names:
        state = atomic.load(runs.last_checkpoint(name))
        model = runs.load_trained(runs.checkpoint_dir(name), device, state=state)
        out = outputs(model, ts, params, device)
        s = res["per_image"][name] = scores(out, ts)
        s["telea_psnr"] = metrics.hole_scores(baselines.telea_inpaint(ts.split.x, out["m"]), ts.split.clean,
                                              ts.hole)["psnr"]
        res["masks"][name], res["y_hat"][name], res["x_hat"][name] = out["m"], out["y_hat"], out["x_hat"]
        if "y_hat_true_mask" in out:
            res["y_hat_true_mask"][name] = out["y_hat_true_mask"]
        res["segmentation"][name] = ts.seg_entry(out["m"])
        res["inpainting"][name] = inpainting_entry(s, ts)
        if ts.has_swap:
            res["enhancement"][name] = enhancement_entry(s, ts)
        res["collapse"][name] = collapse_stats(out["m"])
        res["training"][name] = training_entry(state)
        examples[name] = {key: out[key][:k].clone() for key in ("m", "y_hat", "x_hat", "z")}
        if progress:
            enh = res["enhancement"].get(name)
            print(f"{name}: IoU {res['segmentation'][name]['iou']:.3f}, soft {res['collapse'][name]['soft']:.2f}, "
                  f"hole PSNR {res['inpainting'][name]['psnr']:.2f} (Telea, same mask: "
                  f"{res['inpainting'][name]['telea_psnr']:.2f})"
                  + (f", ŷ - z vs true swap {enh['diff_psnr']:+.2f} dB" if enh else ""))
    return examples


def evaluate_baselines(params, names, ts: TestSet, device, res: dict, progress=True) -> None:
    """Mask-only runs (the cut-and-paste baseline): their masks, scored as the SEIGAN runs' are."""
    for name in names:
        state = atomic.load(runs.last_checkpoint(name))
        model = runs.load_trained(runs.checkpoint_dir(name), device, state=state)
        m = res["masks"][name] = predict_masks(model, ts.split.x, device, params.eval.batch_size, ts.split.boxes,
                                                ts.fine)
        res["per_image"][name] = {"iou": ts.iou(m)}
        res["segmentation"][name] = ts.seg_entry(m)
        res["collapse"][name] = collapse_stats(m)
        res["training"][name] = training_entry(state)
        if progress:
            print(f"{name}: IoU {res['segmentation'][name]['iou']:.3f}, soft {res['collapse'][name]['soft']:.2f}")


def training_entry(state: dict) -> dict:
    """Where a run's final checkpoint stands: its step of its steps, and its training seconds."""
    return {"step": state["step"], "steps": state["config"]["train"]["steps"], "seconds": round(state["seconds"], 1)}


def inpainting_entry(s: dict, ts: TestSet) -> dict:
    """Hole PSNR/SSIM of x̂ with the run's own soft mask (as the model composes it), with that mask thresholded,
    and with the true mask; Telea with the same thresholded mask; the paired difference G_inp - Telea."""
    mean = lambda key: float(np.nanmean(s[key]))  # noqa: E731
    d = metrics.paired(s["hole_psnr_hard"], s["telea_psnr"], ts.groups)
    return {"psnr": mean("hole_psnr"), "ssim": mean("hole_ssim"), "l1": mean("hole_l1"),
            "psnr_hard": mean("hole_psnr_hard"), "ssim_hard": mean("hole_ssim_hard"),
            "psnr_true": mean("hole_psnr_true"), "ssim_true": mean("hole_ssim_true"),
            "telea_psnr": mean("telea_psnr"), "diff_telea_psnr": d["diff"], "diff_telea_psnr_se": d["se"]}


def enhancement_entry(s: dict, ts: TestSet) -> dict:
    """ŷ and the plain paste z (the run's own mask) against the true swap, inside the dilated true mask; the paired
    per-image difference ŷ - z in PSNR: > 0 means G_enh moved the paste towards the true swap."""
    d = metrics.paired(s["enh_psnr"], s["paste_psnr"], ts.groups)
    entry = {"psnr": float(s["enh_psnr"].mean()), "fmse": float(s["enh_fmse"].mean()),
             "psnr_paste": float(s["paste_psnr"].mean()), "fmse_paste": float(s["paste_fmse"].mean()),
             "diff_psnr": d["diff"], "diff_psnr_se": d["se"]}
    if "enh_true_mask_psnr" in s:  # G_enh given the paste with the true mask, against that paste
        d = metrics.paired(s["enh_true_mask_psnr"], ts.paste_true_errors["psnr"].numpy(), ts.groups)
        entry.update({"true_mask_psnr": float(s["enh_true_mask_psnr"].mean()), "true_mask_diff_psnr": d["diff"],
                      "true_mask_diff_psnr_se": d["se"]})
    return entry


PAIRED_KEYS = {"iou": "iou", "enh_psnr": "enh_psnr", "hole_psnr": "hole_psnr_hard", "realism": "realism"}


def paired_differences(per_image: dict, names: list, groups: list) -> dict:
    """For every two runs a, b (in the order given): per-image a - b of IoU, ŷ PSNR against the true swap and hole
    PSNR (thresholded masks), with animal-clustered standard errors. Key "a-b"."""
    out = {}
    for a, b in combinations(names, 2):
        entry = {}
        for key, col in PAIRED_KEYS.items():
            if col in per_image[a] and col in per_image[b]:
                d = metrics.paired(per_image[a][col], per_image[b][col], groups)
                entry[key], entry[f"{key}_se"] = d["diff"], d["se"]
        out[f"{a}-{b}"] = entry
    return out


def prior_masks(ts: TestSet, size: int, cache_dir: str | Path | None = None) -> dict:
    """Segmentations that need no learning, given the same image and box as SEIGAN (kept in `cache_dir`: GrabCut
    on every image is most of the cost, and it changes only with the images, the boxes or seigan/baselines.py)."""
    return cache.reuse(cache_dir, f"priors_{size}px", [ts.split.x, torch.as_tensor(ts.split.boxes)],
                       {"size": size, "opencv": cv2.__version__}, [cache.source(baselines)],
                       lambda: {"box": baselines.box_masks(ts.split.boxes, size),
                                "ellipse": baselines.ellipse_masks(ts.split.boxes, size),
                                "grabcut": baselines.grabcut_masks(ts.split.x, ts.split.boxes)})


def box_priors(ts: TestSet, size: int) -> dict:
    """IoU (± SE) of each box prior."""
    return {name: ts.seg_entry(m) for name, m in prior_masks(ts, size).items()}


HI_RES = 128  # px: where GrabCut from the box works (0.53 IoU at 48 px, 0.79 at 128 on the earlier data)


def segmentation_at(params: config.Params, masks: dict, size: int = HI_RES,
                    cache_dir: str | Path | None = None) -> tuple:
    """Segmentation at `size` px on params' test split: every run's mask upsampled (bilinear) against the true mask
    at `size`, beside the box priors computed at `size` (GrabCut on the `size`-px image). Returns ({method: {iou,
    iou_se}}, {"run-prior": {iou, iou_se}}, paired per image and clustered by animal)."""
    hi = load_test(replace(params, model=replace(params.model, resolution=size)))
    up = {name: torch.nn.functional.interpolate(m, size=(size, size), mode="bilinear", align_corners=False)
          for name, m in masks.items()}
    priors = prior_masks(hi, size, cache_dir)
    return {name: hi.seg_entry(m) for name, m in {**priors, **up}.items()}, hi.versus_priors(up, priors)


def supervised_bound(params: config.Params, ts: TestSet, device):
    """The test masks of the supervised bound (the `supervised` stage's network, seigan.supervised), or None when
    eval.supervised_steps is 0."""
    seg = supervised.load_bound(params, device)
    return None if seg is None else batched_masks(seg, ts.split.x, device, params.eval.batch_size, ts.split.boxes)


def trained_baselines(params: config.Params) -> list:
    """The mask-only baselines `dvc repro` trains: the cut-and-paste run when its section says run: true."""
    return [runs.CUT_AND_PASTE] if params.cut_and_paste.run else []


def trained_variants(params: config.Params) -> list:
    """The variants `dvc repro` trains (`run: true`), in params.yaml's order."""
    return [name for name, v in params.variants.items() if v.run]


def evaluated_runs(params: config.Params, variants: list) -> list:
    """The rows of the ablation: the shared warm start (when there is one) and the variants."""
    starts = {r.start_from.name for r in runs.plan(params).values() if r.start_from is not None}
    return sorted(starts) + list(variants)


def per_image_table(ts: TestSet, per_image: dict) -> pd.DataFrame:
    cols = {"file": ts.split.names, "animal": ts.groups}
    for name, s in per_image.items():
        cols.update({f"{name}.{k}": v for k, v in s.items()})
    return pd.DataFrame(cols)


def evaluate(params: config.Params, variants: list | None = None, out_dir: str | Path | None = None,
             progress: bool = True, cache_dir: str | Path | None = "cache/evaluate") -> dict:
    """Compute metrics.json plus eval/details.json, eval/per_image.csv and the arrays of eval/examples.pt. What
    depends only on the test images (the box priors, the real images' Inception features) is kept in `cache_dir`
    (seigan.cache; None: always computed)."""
    variants = variants or trained_variants(params)
    if not variants:
        raise config.ConfigError("params.yaml: no variant has run: true; nothing to evaluate")
    device = config.torch_device(params.train.device)
    out_dir = resolve(out_dir or runs.reports_dir())
    ts = load_test(params)
    if not ts.has_swap:
        print(swap_absent_line(params))
    names = evaluated_runs(params, variants)
    res = {key: {} for key in ("segmentation", "inpainting", "enhancement", "realism", "realism_bg", "collapse",
                               "training", "masks", "y_hat", "x_hat", "y_hat_true_mask", "per_image",
                               "segmentation_128", "paired_128")}
    k = params.eval.n_examples
    # .clone(): a slice would drag its whole batch's storage into the saved file
    examples = {"x": ts.split.x[:k].clone(), "mask": ts.split.mask[:k].clone(), "y": ts.y[:k].clone(),
                "clean": ts.split.clean[:k].clone()}
    if ts.has_swap:
        examples["swap"] = ts.split.swap[:k].clone()
    examples.update(evaluate_runs(params, names, ts, device, res, progress))
    mask_only = trained_baselines(params)
    evaluate_baselines(params, mask_only, ts, device, res, progress)
    priors = prior_masks(ts, params.model.resolution, cache_dir)
    res["segmentation"].update({name: ts.seg_entry(m) for name, m in priors.items()})
    hi_masks = {n: res["masks"][n] for n in names + mask_only}
    sup_masks = supervised_bound(params, ts, device)
    if sup_masks is not None:
        res["segmentation"]["supervised"] = ts.seg_entry(sup_masks)
        res["collapse"]["supervised"] = collapse_stats(sup_masks)
        examples["supervised"] = {"m": sup_masks[:k].clone()}
        hi_masks["supervised"] = sup_masks
    res["collapse"]["true"] = collapse_stats(ts.split.mask)
    res["segmentation_128"], res["paired_128"] = segmentation_at(params, hi_masks, cache_dir=cache_dir)
    x, mask = ts.split.x, ts.split.mask
    telea_true = baselines.telea_inpaint(x, mask)
    res["inpainting"]["telea_true_mask"] = metrics.hole_metrics(telea_true, ts.split.clean, ts.hole, with_n=False)
    fitted = None
    if ts.has_swap:
        res["enhancement"]["paste_true_mask"] = {k: float(v.mean()) for k, v in ts.paste_true_errors.items()}
        fitted = enhancement_ceilings(ts, variants, res)
    # realism of ŷ against the real object images x, and of x̂ against the real backgrounds y (variants only: the
    # warm start's ŷ is its plain paste)
    inception = metrics.InceptionFeatures(device=device)
    real_x, real_y = Realism(params, x, inception, cache_dir), Realism(params, ts.y, None)
    for name in variants:
        res["realism"][name] = real_x(res["y_hat"][name])
        res["realism_bg"][name] = real_y(res["x_hat"][name])
    res["realism"]["paste_true_mask"] = real_x(ts.paste_true)
    res["realism"]["real_vs_real"] = real_x.real_vs_real()
    res["realism_bg"]["telea_true_mask"] = real_y(telea_true)
    res["realism_bg"]["real_vs_real"] = real_y.real_vs_real()
    colour_realism(params, ts, variants, fitted, res)
    res["paired"] = {**paired_differences(res["per_image"], names + mask_only, ts.groups),
                     **ts.versus_priors({n: res["masks"][n] for n in names + mask_only}, priors)}
    worst = np.argsort(res["per_image"][variants[0]]["iou"], kind="stable")[:N_WORST]
    examples["worst"] = {"run": variants[0], "index": torch.as_tensor(worst), "x": x[worst].clone(),
                         "mask": mask[worst].clone(), "m": res["masks"][variants[0]][worst].clone(),
                         "iou": torch.as_tensor(res["per_image"][variants[0]]["iou"][worst])}
    n, half = len(x), len(x) // 2
    details = {"collapse": res["collapse"], "training": res["training"], "notes": {
        "runs": names,
        "se": "standard errors are bootstrapped over animals (whole animals resampled, 2000 draws): the "
              f"{n} test images show {len(set(ts.groups))} animals",
        "real_vs_real": f"two disjoint halves of the real test images ({half} each): the floor of each measure",
        "paste_true_mask": "the object pasted onto y with its true mask, no enhancement",
        "enhancement": ("ŷ and the plain paste z against the true swap ŷ* inside the true mask dilated by "
                        f"{metrics.dilation_px(params.model.resolution)} px; fMSE on the 0-255 scale")
                       if ts.has_swap else swap_absent_line(params),
        "hole": "inpainting metrics are measured where the true mask >= 0.5 (where the object was); _hard: the "
                "run's mask thresholded at 0.5; _true: the true mask; telea: OpenCV Telea with the run's thresholded mask",
        "realism": f"C2ST over {params.eval.c2st_seeds} classifier seeds (mean, sd); for ŷ also KID on all images "
                   "and its sd over 20 half-size subsets; FID is not reported (biased at this N); colour_acc: the "
                   "colour two-sample test (seigan.realism), out of fold over whole animals and "
                   f"{params.eval.c2st_seeds} fold draws, ± its standard error over animals",
        "ceiling": "enhancement.ceiling: the gain and shift per channel fitted to the true swap inside the true object "
                   "(an oracle for G_enh's colour transform), pasted with the true mask; a variant's ceiling_*: "
                   "the same with its own mask, against its own paste",
        "baselines": "cut_and_paste: G_seg taught by D_obj on its shifted paste alone (Remez et al. 2018), from "
                     f"scratch with the warm start's settings for {runs.get(params, runs.CUT_AND_PASTE).train.steps} "
                     "steps; masks only",
        "segmentation_128": (f"at {HI_RES} px: each run's mask (and the supervised bound's) upsampled bilinearly "
                             f"from {params.model.resolution} px against the true mask at {HI_RES} px; the box priors "
                             f"and GrabCut computed on the {HI_RES}-px image"),
        "supervised": f"same G_seg trained on the true masks for {params.eval.supervised_steps} steps at lr "
                      f"{params.eval.supervised_lr:g} "
                      "(the `supervised` stage; its validation curve: supervised/val.csv)",
        "not_run": [v for v in params.variants if v not in variants],
    }}
    result = {"n_test": n, **{key: res[key] for key in ("segmentation", "segmentation_128", "inpainting", "enhancement",
                                                         "realism", "realism_bg", "paired", "paired_128")}}
    atomic.save_json(runs.metrics_file(out_dir), result)
    atomic.save_json(runs.eval_file("details.json", out_dir), details)
    table = per_image_table(ts, res["per_image"])
    atomic.write(runs.eval_file("per_image.csv", out_dir),
                 lambda f: f.write(table.to_csv(index=False, float_format="%.6g").encode()))
    atomic.save(runs.eval_file("examples.pt", out_dir), examples)
    return result
