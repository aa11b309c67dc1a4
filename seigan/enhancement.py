"""How much room the enhancement has: the best result G_enh's colour parameterisation could reach on each test image.

G_enh (`model.enh_output: colour`) changes the pasted object by a gain and a shift per channel. Its ceiling on an
image is that transform fitted to the true swap ŷ* by least squares inside the true object (an oracle: it reads ŷ*),
then applied inside the mask as G_enh applies it. Beside what a run reaches, this says whether its ŷ - z is most of
what is possible or almost none of it. What no colour transform can draw (the contact shadow, edges) stays outside.
"""
from __future__ import annotations

import torch


def fit_gain_shift(src: torch.Tensor, ref: torch.Tensor, where: torch.Tensor) -> tuple:
    """Per image and channel, (a, b) minimising sum over `where` of (a*src + b - ref)^2: each (N, 3, 1, 1)."""
    w = (where >= 0.5).to(torch.float64)
    s, r = src.double(), ref.double()
    n = w.sum((2, 3), keepdim=True).clamp_min(1)
    ms, mr = (s * w).sum((2, 3), keepdim=True) / n, (r * w).sum((2, 3), keepdim=True) / n
    cov = ((s - ms) * (r - mr) * w).sum((2, 3), keepdim=True)
    var = ((s - ms) ** 2 * w).sum((2, 3), keepdim=True)
    a = cov / var.clamp_min(1e-12)
    return a.float(), (mr - a * ms).float()


def fitted_colours(x: torch.Tensor, swap: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """x under the gain and shift that best map its object to ŷ* inside the true object `hole`. ŷ at the ceiling is
    this pasted onto y with a mask (the true one, or a run's own): `model.paste(m, fitted_colours(...), y)`."""
    a, b = fit_gain_shift(x, swap, hole)
    return (a * x + b).clamp(-1, 1)
