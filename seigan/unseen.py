"""Segmentation on background photos that training never saw (the `unseen` stage, notebooks/05_unseen.ipynb).

The test split's animals on whole photos from other Debian packages (seigan.data.unseen), segmented from the same
crop and box as on the test split, against the same box-only priors and the supervised bound (the `supervised`
stage's network): does a mask learnt on the training photos hold on photos of other kinds? Writes reports/unseen.json,
whose keys (`unseen.<method>.iou`, `.iou_se`; each run's per-image difference from each prior,
`paired.<run>-<prior>.iou`, `.iou_se`; the same at 128 px, `unseen_128` and `paired_128`) `dvc metrics show` lists
beside metrics.json.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from seigan import atomic, config, evaluate, metrics, runs
from seigan.data.unseen import build_unseen
from seigan.model import predict_masks
from seigan.paths import resolve

COUNT = 200          # composites, as many as the test split
DATA = "data_unseen"  # built by the stage (deterministic), tracked as its output


def data_root() -> Path:
    return resolve(DATA)


def results_file() -> Path:
    return runs.reports_dir() / "unseen.json"


def build(params: config.Params, log=print) -> dict:
    """Build the set: COUNT composites, or `eval.limit` of them (the tiny profile evaluates only that many)."""
    return build_unseen(data_root(), params.data.build, params.eval.limit or COUNT, log)


def evaluate_unseen(params: config.Params, progress: bool = True,
                    cache_dir: str | Path | None = "cache/unseen") -> tuple:
    """IoU (± SE clustered by animal) of the box priors and every evaluated run on the unseen photos, with the
    masks of each run (for the notebook's figure). Writes reports/unseen.json. The box priors' masks are kept in
    `cache_dir` (seigan.cache)."""
    device = config.torch_device(params.train.device)
    on_unseen = dataclasses.replace(params, data=dataclasses.replace(params.data, root=str(data_root())))
    ts = evaluate.load_test(on_unseen)
    size = params.model.resolution
    priors = evaluate.prior_masks(ts, size, cache_dir)
    table = {name: ts.seg_entry(m) for name, m in priors.items()}
    masks = {}
    sup_masks = evaluate.supervised_bound(params, ts, device)
    if sup_masks is not None:
        masks["supervised"] = sup_masks
        table["supervised"] = {**ts.seg_entry(masks["supervised"]),
                               "soft": metrics.mask_stats(masks["supervised"])["soft"]}
    names = evaluate.evaluated_runs(params, evaluate.trained_variants(params)) + evaluate.trained_baselines(params)
    for name in names:
        model = runs.load_trained(runs.checkpoint_dir(name), device)
        masks[name] = predict_masks(model, ts.split.x, device, params.eval.batch_size, ts.split.boxes, ts.fine)
        table[name] = {**ts.seg_entry(masks[name]), "soft": metrics.mask_stats(masks[name])["soft"]}
        if progress:
            print(f"{name}: unseen IoU {table[name]['iou']:.3f} ± {table[name]['iou_se']:.3f}")
    table_128, paired_128 = evaluate.segmentation_at(on_unseen, masks, cache_dir=cache_dir)
    result = {"n": len(ts.split.x), "animals": len(set(ts.groups)), "unseen": table, "unseen_128": table_128,
              "paired": ts.versus_priors(masks, priors), "paired_128": paired_128}
    atomic.save_json(results_file(), result)
    return result, ts, masks
