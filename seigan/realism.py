"""A realism test that can tell a paste from a real object image: a two-sample test on colour statistics.

Why not the image C2ST alone: a small CNN trained on 200 test images cannot tell the builder's plain paste (true
mask, no harmonisation, no shadow) from a real object image, so it cannot rank enhancements (docs/learning.md). What
tells them apart is the relation between an object's colours and its surroundings' (a paste keeps the object's old
lighting; harmonisation moves it towards the new background). So each image is described by the mean and spread of
each channel inside the object's region and in a ring around it, with their pairwise products, and a logistic
regression is trained on these (Lopez-Paz & Oquab's classifier two-sample test, on hand-made features).

The test is shown to have power before it ranks anything (`power`): two halves of the real images must score
0.50 (nothing to find), and the plain paste with the true mask must be found. Accuracies are out-of-fold over
folds of whole animals (an animal never sits in the training and the held-out fold at once), repeated over
`seeds` fold draws; the standard error is bootstrapped over animals, and two sets of fakes of the same images are
compared per image (`paired`).
"""
from __future__ import annotations

import numpy as np
import torch

from seigan import metrics
from seigan.networks import ring_stats

FOLDS = 5
L2 = 1e-2  # ridge weight on the logistic regression's coefficients (standardised features)


def base_features(images: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Per image: mean and spread of each channel inside `region` (the object) and in the ring around it (1/8 of the
    side; `networks.ring_stats`): (N, 12). Images in [-1, 1]; region (N, 1, H, W) in {0, 1}."""
    return torch.cat(ring_stats(images, region, eps=0.0), 1).double()


def expand(f: torch.Tensor) -> torch.Tensor:
    """The base features and their pairwise products (with squares): the relation object-vs-surroundings is a product."""
    i, j = torch.triu_indices(f.shape[1], f.shape[1])
    return torch.cat([f, f[:, i] * f[:, j]], 1)


def fit_logistic(x: torch.Tensor, y: torch.Tensor, l2: float = L2):
    """L2-regularised logistic regression on standardised features, by L-BFGS (deterministic). Returns a scorer."""
    mu, sd = x.mean(0), x.std(0).clamp_min(1e-8)
    z = (x - mu) / sd
    w = torch.zeros(z.shape[1], dtype=z.dtype, requires_grad=True)
    b = torch.zeros((), dtype=z.dtype, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z @ w + b, y) + l2 * (w * w).sum()
        loss.backward()
        return loss
    opt.step(closure)
    w, b = w.detach(), b.detach()
    return lambda q: ((q - mu) / sd) @ w + b


def group_folds(groups: list, k: int, seed: int) -> dict:
    """A fold per animal: all images of one animal share a fold, so none is judged by a classifier that saw it."""
    names = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(names))
    return {names[i]: n % k for n, i in enumerate(order)}


def hits_out_of_fold(a: torch.Tensor, b: torch.Tensor, groups_a: list, groups_b: list, seed: int,
                     k: int = FOLDS) -> tuple:
    """Base features of two sets -> per image, 1 if a classifier trained on the other folds put it on its own side
    (a: 'real', b: 'fake'); folds are drawn over the animals of both sets together."""
    fold_of = group_folds(list(groups_a) + list(groups_b), k, seed)
    fa_, fb_ = np.array([fold_of[g] for g in groups_a]), np.array([fold_of[g] for g in groups_b])
    xa, xb = expand(a), expand(b)
    hit_a, hit_b = np.zeros(len(a)), np.zeros(len(b))
    for f in range(k):
        ta, tb = torch.as_tensor(fa_ == f), torch.as_tensor(fb_ == f)
        if not (ta.any() or tb.any()):
            continue
        x = torch.cat([xa[~ta], xb[~tb]])
        y = torch.cat([torch.ones(int((~ta).sum())), torch.zeros(int((~tb).sum()))]).double()
        score = fit_logistic(x, y)
        hit_a[ta.numpy()] = (score(xa[ta]) > 0).double().numpy()
        hit_b[tb.numpy()] = (score(xb[tb]) <= 0).double().numpy()
    return hit_a, hit_b


class ColourTest:
    """The colour two-sample test of a set of images against the real object images of the same scenes. Features of
    every image are taken in the true object's region (where x's object is, in x and in any composite of it)."""

    def __init__(self, real: torch.Tensor, region: torch.Tensor, groups: list, seeds: int = 5, seed: int = 0):
        self.region, self.groups, self.seeds, self.seed = region, list(groups), seeds, seed
        self.real = base_features(real, region)

    def per_image(self, fake: torch.Tensor) -> np.ndarray:
        """Per image i: (real x_i judged real + fake_i judged fake) / 2, out of fold, averaged over the fold draws."""
        f = base_features(fake, self.region)
        runs = [hits_out_of_fold(self.real, f, self.groups, self.groups, self.seed + s) for s in range(self.seeds)]
        return np.mean([(ha + hb) / 2 for ha, hb in runs], 0)

    def __call__(self, fake: torch.Tensor) -> tuple:
        """({acc, acc_se}, per-image accuracies): 0.5 = indistinguishable from the real images, 1 = always told."""
        p = self.per_image(fake)
        return {"acc": float(p.mean()), "acc_se": metrics.cluster_se(p, self.groups)}, p

    def real_vs_real(self) -> dict:
        """The real images split in two halves (each animal's images alternately into one and the other), one half
        against the other: what the test finds where there is nothing to find (it must score 0.50)."""
        seen, side = {}, []
        for g in self.groups:
            side.append(seen.get(g, 0) % 2)
            seen[g] = seen.get(g, 0) + 1
        side = np.array(side)
        a, b = np.flatnonzero(side == 0), np.flatnonzero(side == 1)
        ga, gb = [self.groups[i] for i in a], [self.groups[i] for i in b]
        runs = [hits_out_of_fold(self.real[a], self.real[b], ga, gb, self.seed + s) for s in range(self.seeds)]
        hits = np.mean([np.concatenate(r) for r in runs], 0)
        return {"acc": float(hits.mean()), "acc_se": metrics.cluster_se(hits, ga + gb)}


# The power checks a realism test must pass before it ranks anything (docs/learning.md): real against real at chance,
# the builder's plain paste with the true mask found.
REAL_VS_REAL = (0.47, 0.53)
PASTE_FOUND = 0.65


def power(entries: dict, key: str = "colour_acc") -> tuple:
    """(has power, why in words) of a realism test from its `real_vs_real` and `paste_true_mask` entries."""
    rr, pt = entries.get("real_vs_real", {}).get(key), entries.get("paste_true_mask", {}).get(key)
    if rr is None or pt is None:
        return False, "its power checks were not run"
    lo, hi = REAL_VS_REAL
    fails = ([f"real against real scores {rr:.3f}, outside {lo:.2f}-{hi:.2f}"] if not lo <= rr <= hi else []) + \
        ([f"it finds the plain paste with the true mask at only {pt:.3f} (< {PASTE_FOUND})"] if pt < PASTE_FOUND else [])
    if fails:
        return False, "; ".join(fails)
    return True, (f"real against real {rr:.3f} (within {lo:.2f}-{hi:.2f}), the plain paste with the true mask found "
                  f"at {pt:.3f} (≥ {PASTE_FOUND})")
