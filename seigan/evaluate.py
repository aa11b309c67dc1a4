"""Held-out evaluation of every variant against baselines (SPEC section 7); writes reports/metrics.json.

Everything is computed on the test split, which shares no animal and no background region with training.
Each trained variant is evaluated at its final checkpoint (never the best-on-test).
"""
from __future__ import annotations

from pathlib import Path

import torch

from seigan import baselines, checkpoint, config, metrics
from seigan.data.layout import load_split
from seigan.paths import resolve
from seigan.train import load_trained


def collapse_stats(m: torch.Tensor) -> dict:
    """Mask-collapse diagnostics: mean area and the share of near-empty / near-full masks."""
    area = (m >= 0.5).float().mean(dim=(1, 2, 3))
    return {"mean_soft": float(m.mean()), "mean_area": float(area.mean()),
            "frac_empty": float((area < 0.02).float().mean()), "frac_full": float((area > 0.98).float().mean())}


def supervised_bound(params: config.Params, steps: int, progress: bool = True, device="cpu") -> torch.nn.Module:
    """The supervised G_seg, trained on the true train masks with the same data (and optimiser)."""
    train = load_split(resolve(params.data.root), "train", params.model.resolution, with_truth=True)
    return baselines.train_supervised(train.x, train.mask, params.model, params.train, steps, progress, device)


def evaluate(params: config.Params, variants: list | None = None, out_dir: str | Path = "reports",
             progress: bool = True) -> dict:
    """Compute metrics.json (exact shape of the evaluation issue) plus details and example arrays."""
    variants = variants or list(params.variants)
    device = config.torch_device(params.train.device)
    out_dir = resolve(out_dir)
    res = params.model.resolution
    test = load_split(resolve(params.data.root), "test", res, with_truth=True, limit=params.eval.limit)
    n = len(test.x)
    y = test.y[torch.arange(n) % len(test.y)]  # pair each test object with a test background
    hole = (test.mask >= 0.5).float()
    bs = params.eval.batch_size
    seg, inp, real, details, examples = {}, {}, {}, {"collapse": {}, "training": {}}, {}

    def batched(fn, *tensors):
        parts = [{k: v.cpu() for k, v in fn(*(c.to(device) for c in chunks)).items()}
                 for chunks in zip(*(t.split(bs) for t in tensors))]
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}

    def seg_entry(masks):
        mean, se = metrics.mean_se(metrics.iou_per_image(masks, test.mask))
        return {"iou": mean, "iou_se": se}

    inception = metrics.InceptionFeatures(device=device)
    real_feats = inception(test.x, bs)

    def realism(fake: torch.Tensor) -> dict:
        feats = inception(fake, bs)
        return {"c2st_acc": metrics.c2st_accuracy(test.x, fake, params.eval.c2st_epochs, params.train.seed),
                "fid": metrics.fid_from_features(real_feats, feats),
                "kid": metrics.kid_from_features(real_feats, feats)}

    k = params.eval.n_examples
    # .clone(): a slice would drag its whole batch's storage into the saved file
    examples["x"], examples["mask"] = test.x[:k].clone(), test.mask[:k].clone()
    examples["y"], examples["clean"] = y[:k].clone(), test.clean[:k].clone()
    for name in variants:
        model = load_trained(resolve(f"checkpoints/{name}"), device)
        out = batched(lambda a, b: model.predict(a, b), test.x, y)
        if name == variants[0]:
            ref_masks = out["m"]  # the Telea baseline below reuses these masks
        seg[name] = seg_entry(out["m"])
        inp[name] = {key: v for key, v in metrics.hole_metrics(out["x_hat"], test.clean, hole).items() if key != "n"}
        real[name] = realism(out["y_hat"])
        details["collapse"][name] = collapse_stats(out["m"])
        state = checkpoint.load(resolve(f"checkpoints/{name}/last.pt"))
        details["training"][name] = {"step": state["step"], "steps": state["config"]["train"]["steps"],
                                     "seconds": round(state["seconds"], 1)}
        examples[name] = {key: out[key][:k].clone() for key in ("m", "y_hat", "x_hat", "z")}
        if progress:
            print(f"{name}: IoU {seg[name]['iou']:.3f}, hole PSNR {inp[name]['psnr']:.2f}, "
                  f"C2ST {real[name]['c2st_acc']:.2f}, KID {real[name]['kid']:.4f}")

    # segmentation baselines, given the same image and box
    seg["box"] = seg_entry(baselines.box_masks(test.boxes, res))
    seg["ellipse"] = seg_entry(baselines.ellipse_masks(test.boxes, res))
    seg["grabcut"] = seg_entry(baselines.grabcut_masks(test.x, test.boxes))
    bounds = {"supervised": params.eval.supervised_steps, "supervised_long": params.eval.supervised_long_steps}
    for name, steps in bounds.items():
        if steps <= 0:
            continue
        sup = supervised_bound(params, steps, progress, device)
        with torch.no_grad():
            masks = torch.cat([sup(c.to(device)).cpu() for c in test.x.split(bs)])
        seg[name] = seg_entry(masks)
        details["collapse"][name] = collapse_stats(masks)
        if name == "supervised":
            sup_masks = masks
    details["collapse"]["true"] = collapse_stats(test.mask)
    examples["supervised"] = {"m": sup_masks[:k].clone()}

    # inpainting baselines: Telea with the first variant's predicted mask and with the true mask
    ref = variants[0]
    for name, mask in ((f"telea_{ref}_mask", ref_masks), ("telea_true_mask", test.mask)):
        inp[name] = {key: v for key, v in metrics.hole_metrics(baselines.telea_inpaint(test.x, mask),
                                                                 test.clean, hole).items() if key != "n"}

    # realism references: a naive paste with the true mask, and real-vs-real (the floor of each measure)
    real["paste_true_mask"] = realism(test.mask * test.x + (1 - test.mask) * y)
    half = n // 2
    a, b = test.x[:half], test.x[half:2 * half]
    fa, fb = real_feats[:half], real_feats[half:2 * half]
    real["real_vs_real"] = {"c2st_acc": metrics.c2st_accuracy(a, b, params.eval.c2st_epochs, params.train.seed),
                            "fid": metrics.fid_from_features(fa, fb), "kid": metrics.kid_from_features(fa, fb)}
    details["notes"] = {
        "real_vs_real": f"two disjoint halves of the real test images ({half} each): the floor of each measure",
        "paste_true_mask": "the object pasted onto y with its true mask, no enhancement",
        f"telea_{ref}_mask": f"OpenCV Telea given the mask predicted by {ref}",
        "hole": "inpainting metrics are measured where the true mask >= 0.5 (where the object was)",
        "supervised": f"same G_seg trained on the true masks for {params.eval.supervised_steps} steps (SEIGAN's budget)",
        "supervised_long": f"the same for {params.eval.supervised_long_steps} steps (a longer-trained reference)",
        "fid_n": f"FID/KID use N = {n} real and N generated images (real_vs_real: {half} vs {half})",
    }
    result = {"n_test": n, "segmentation": seg, "inpainting": inp, "realism": real}
    checkpoint.save_json(out_dir / "metrics.json", result)
    checkpoint.save_json(out_dir / "eval" / "details.json", details)
    checkpoint.save(out_dir / "eval" / "examples.pt", examples)
    return result
