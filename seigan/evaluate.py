"""Held-out evaluation of every trained variant against baselines; writes reports/metrics.json.

Everything is computed on the test split, which shares no animal and no background region with training.
Each trained variant is evaluated at its final checkpoint (never the best-on-test). `evaluate()` composes
named phases: variants, box priors, the supervised bound, inpainting baselines, realism references.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from seigan import baselines, checkpoint, config, metrics, runs
from seigan.data.layout import Split, load_split
from seigan.paths import resolve


def collapse_stats(m: torch.Tensor) -> dict:
    """Mask-collapse diagnostics: mean value, mean area, soft share, near-empty / near-full shares."""
    area = (m >= 0.5).float().mean(dim=(1, 2, 3))
    stats = metrics.mask_stats(m)
    return {"mean_soft": stats["mask_mean"], "mean_area": float(area.mean()), "frac_soft": stats["soft"],
            "frac_empty": stats["empty"], "frac_full": stats["full"]}


@dataclass
class TestSet:
    split: Split
    y: torch.Tensor      # one test background per object image
    hole: torch.Tensor   # where the object truly is (true mask >= 0.5)

    def seg_entry(self, masks: torch.Tensor) -> dict:
        mean, se = metrics.mean_se(metrics.iou_per_image(masks, self.split.mask))
        return {"iou": mean, "iou_se": se}


def load_test(params: config.Params) -> TestSet:
    test = load_split(resolve(params.data.root), "test", params.model.resolution, with_truth=True,
                      limit=params.eval.limit)
    y = test.y[torch.arange(len(test.x)) % len(test.y)]  # pair each test object with a test background
    return TestSet(test, y, (test.mask >= 0.5).float())


class Realism:
    """C2ST, FID and KID of generated images against the real test x (Inception features computed once)."""

    def __init__(self, params: config.Params, real: torch.Tensor, device):
        self.params, self.real = params, real
        self.inception = metrics.InceptionFeatures(device=device)
        self.real_feats = self.inception(real, params.eval.batch_size)

    def __call__(self, fake: torch.Tensor) -> dict:
        feats = self.inception(fake, self.params.eval.batch_size)
        return {"c2st_acc": metrics.c2st_accuracy(self.real, fake, self.params.eval.c2st_epochs,
                                                  self.params.train.seed),
                "fid": metrics.fid_from_features(self.real_feats, feats),
                "kid": metrics.kid_from_features(self.real_feats, feats)}

    def real_vs_real(self) -> dict:
        half = len(self.real) // 2
        a, b = self.real[:half], self.real[half:2 * half]
        fa, fb = self.real_feats[:half], self.real_feats[half:2 * half]
        return {"c2st_acc": metrics.c2st_accuracy(a, b, self.params.eval.c2st_epochs, self.params.train.seed),
                "fid": metrics.fid_from_features(fa, fb), "kid": metrics.kid_from_features(fa, fb)}


def evaluate_variants(params, names, ts: TestSet, realism: Realism, device, res: dict, progress=True) -> dict:
    """Masks, inpainting and composites of each trained variant; returns the first examples of each."""
    k, examples = params.eval.n_examples, {}
    for name in names:
        state = checkpoint.load(runs.last_checkpoint(name))
        model = runs.load_trained(runs.checkpoint_dir(name), device, state=state)
        out = runs.batched(model.predict, (ts.split.x, ts.y), params.eval.batch_size, device)
        res["masks"][name] = out["m"]
        res["segmentation"][name] = ts.seg_entry(out["m"])
        res["inpainting"][name] = metrics.hole_metrics(out["x_hat"], ts.split.clean, ts.hole, with_n=False)
        res["realism"][name] = realism(out["y_hat"])
        res["collapse"][name] = collapse_stats(out["m"])
        res["training"][name] = {"step": state["step"], "steps": state["config"]["train"]["steps"],
                                 "seconds": round(state["seconds"], 1)}
        examples[name] = {key: out[key][:k].clone() for key in ("m", "y_hat", "x_hat", "z")}
        if progress:
            print(f"{name}: IoU {res['segmentation'][name]['iou']:.3f}, soft {res['collapse'][name]['frac_soft']:.2f}, "
                  f"hole PSNR {res['inpainting'][name]['psnr']:.2f}, C2ST {res['realism'][name]['c2st_acc']:.2f}, "
                  f"KID {res['realism'][name]['kid']:.4f}")
    return examples


def box_priors(ts: TestSet, size: int) -> dict:
    """Segmentations that need no learning, given the same image and box as SEIGAN."""
    return {"box": ts.seg_entry(baselines.box_masks(ts.split.boxes, size)),
            "ellipse": ts.seg_entry(baselines.ellipse_masks(ts.split.boxes, size)),
            "grabcut": ts.seg_entry(baselines.grabcut_masks(ts.split.x, ts.split.boxes))}


def supervised_bound(params: config.Params, ts: TestSet, device, out_dir: Path, progress=True):
    """The same G_seg trained on the true train masks until its validation IoU levels off; its validation
    curve goes to eval/supervised_val.csv. Returns the test masks, or None when eval.supervised_steps is 0."""
    if params.eval.supervised_steps <= 0:
        return None
    root, r = resolve(params.data.root), params.model.resolution
    train = load_split(root, "train", r, with_truth=True)
    val = load_split(root, "val", r, with_truth=True)
    seg, curve = baselines.train_supervised(train.x, train.mask, params.model, params.train,
                                            params.eval.supervised_steps, progress, device,
                                            val=(val.x, val.mask), val_every=params.train.val_every)
    checkpoint.write_csv(runs.eval_file("supervised_val.csv", out_dir), curve)
    return runs.batched_masks(seg, ts.split.x, device, params.eval.batch_size)


def inpainting_baselines(ts: TestSet, ref: str, ref_masks: torch.Tensor) -> dict:
    """OpenCV Telea with a variant's predicted mask and with the true mask."""
    return {f"telea_{name}_mask": metrics.hole_metrics(baselines.telea_inpaint(ts.split.x, mask), ts.split.clean,
                                                        ts.hole, with_n=False)
            for name, mask in ((ref, ref_masks), ("true", ts.split.mask))}


def trained_variants(params: config.Params) -> list:
    """The variants `dvc repro` trains (`run: true`), in params.yaml's order."""
    return [name for name, v in params.variants.items() if v.run]


def evaluate(params: config.Params, variants: list | None = None, out_dir: str | Path | None = None,
             progress: bool = True) -> dict:
    """Compute metrics.json plus eval/details.json and the example arrays of eval/examples.pt."""
    variants = variants or trained_variants(params)
    if not variants:
        raise config.ConfigError("params.yaml: no variant has run: true; nothing to evaluate")
    device = config.torch_device(params.train.device)
    out_dir = resolve(out_dir or runs.reports_dir())
    ts = load_test(params)
    realism = Realism(params, ts.split.x, device)
    res = {"segmentation": {}, "inpainting": {}, "realism": {}, "collapse": {}, "training": {}, "masks": {}}
    k = params.eval.n_examples
    # .clone(): a slice would drag its whole batch's storage into the saved file
    examples = {"x": ts.split.x[:k].clone(), "mask": ts.split.mask[:k].clone(), "y": ts.y[:k].clone(),
                "clean": ts.split.clean[:k].clone()}
    examples.update(evaluate_variants(params, variants, ts, realism, device, res, progress))
    res["segmentation"].update(box_priors(ts, params.model.resolution))
    sup_masks = supervised_bound(params, ts, device, out_dir, progress)
    if sup_masks is not None:
        res["segmentation"]["supervised"] = ts.seg_entry(sup_masks)
        res["collapse"]["supervised"] = collapse_stats(sup_masks)
        examples["supervised"] = {"m": sup_masks[:k].clone()}
    res["collapse"]["true"] = collapse_stats(ts.split.mask)
    ref = variants[0]
    res["inpainting"].update(inpainting_baselines(ts, ref, res["masks"][ref]))
    res["realism"]["paste_true_mask"] = realism(ts.split.mask * ts.split.x + (1 - ts.split.mask) * ts.y)
    res["realism"]["real_vs_real"] = realism.real_vs_real()
    n, half = len(ts.split.x), len(ts.split.x) // 2
    details = {"collapse": res["collapse"], "training": res["training"], "notes": {
        "real_vs_real": f"two disjoint halves of the real test images ({half} each): the floor of each measure",
        "paste_true_mask": "the object pasted onto y with its true mask, no enhancement",
        f"telea_{ref}_mask": f"OpenCV Telea given the mask predicted by {ref}",
        "hole": "inpainting metrics are measured where the true mask >= 0.5 (where the object was)",
        "supervised": f"same G_seg trained on the true masks for {params.eval.supervised_steps} steps "
                      "(its validation curve: eval/supervised_val.csv)",
        "fid_n": f"FID/KID use N = {n} real and N generated images (real_vs_real: {half} vs {half})",
        "not_run": [v for v in params.variants if v not in variants],
    }}
    result = {"n_test": n, **{key: res[key] for key in ("segmentation", "inpainting", "realism")}}
    checkpoint.save_json(runs.metrics_file(out_dir), result)
    checkpoint.save_json(runs.eval_file("details.json", out_dir), details)
    checkpoint.save(runs.eval_file("examples.pt", out_dir), examples)
    return result
