"""Enhancement's ceiling (seigan.enhancement): the fitted gain and shift must recover an affine colour change exactly,
so that the ceiling is G_enh's parameterisation at its best and not a weaker fit."""
import torch

from seigan import enhancement, metrics
from seigan.model import paste
from tests.conftest import images


def test_the_fit_recovers_a_per_channel_gain_and_shift():
    x = images(4, 16)
    a = torch.tensor([0.5, 1.2, 0.8]).view(1, 3, 1, 1)
    b = torch.tensor([0.1, -0.2, 0.05]).view(1, 3, 1, 1)
    where = torch.zeros(4, 1, 16, 16)
    where[:, :, 4:12, 4:12] = 1
    ga, gb = enhancement.fit_gain_shift(x, a * x + b, where)
    assert torch.allclose(ga, a.expand(4, 3, 1, 1), atol=1e-5) and torch.allclose(gb, b.expand(4, 3, 1, 1), atol=1e-5)


def test_the_ceiling_reaches_a_swap_that_is_a_colour_change_and_the_paste_does_not():
    x, y = images(4, 16), images(4, 16, seed=1)
    m = torch.zeros(4, 1, 16, 16)
    m[:, :, 4:12, 4:12] = 1
    swap = paste(m, (0.7 * x + 0.2).clamp(-1, 1), y)
    region = metrics.dilate(m, 1)
    ceiling = metrics.region_errors(paste(m, enhancement.fitted_colours(x, swap, m), y), swap, region)["psnr"]
    plain = metrics.region_errors(paste(m, x, y), swap, region)["psnr"]
    assert (ceiling > 60).all() and (plain < 30).all()
