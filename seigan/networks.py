"""SEIGAN's five networks (docs/method.md, "Networks"), with small factory functions.

G_seg is a U-Net with a sigmoid mask (classic or pix2pix); G_enh and G_inp are CycleGAN ResNet encoder-decoders;
D_bg and D_obj are 70x70 PatchGANs. Width, depth and resolution come from `ModelConfig`, so one code path
serves the CPU smoke run and the GPU paper-scale run.
"""
from __future__ import annotations

import contextlib
import functools

import torch
from torch import nn

from seigan import metrics
from seigan.config import ModelConfig


def norm_layer(kind: str):
    """`model.norm` (its values are checked in seigan.config)."""
    if kind == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    return nn.BatchNorm2d if kind == "batch" else (lambda ch: nn.Identity())


def expect_image(t: torch.Tensor, channels: int, name: str, size: int | None = None) -> None:
    """Fail with one clear line, not a shape error deep inside a convolution."""
    if t.dim() != 4 or t.shape[1] != channels:
        raise ValueError(f"{name}: expected a (B, {channels}, H, W) tensor, got shape {tuple(t.shape)}")
    if size is not None and tuple(t.shape[2:]) != (size, size):
        raise ValueError(f"{name}: expected {size}x{size} images, got {t.shape[2]}x{t.shape[3]}")


class Pix2PixUNet(nn.Module):
    """pix2pix U-Net (`model.seg_arch: pix2pix`): 4x4 stride-2 convolutions down, transposed convolutions up, skips between."""

    def __init__(self, in_ch: int, out_ch: int, ngf: int, depth: int, norm: str):
        super().__init__()
        Norm = norm_layer(norm)
        chans = [min(ngf * 2 ** i, ngf * 8) for i in range(depth)]
        self.downs = nn.ModuleList()
        for i, ch in enumerate(chans):
            if i == 0:
                self.downs.append(nn.Conv2d(in_ch, ch, 4, 2, 1))
            elif i == depth - 1:  # innermost: no norm on the bottleneck (pix2pix; avoids 1x1 instance norm)
                self.downs.append(nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(chans[i - 1], ch, 4, 2, 1)))
            else:
                self.downs.append(nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(chans[i - 1], ch, 4, 2, 1),
                                                Norm(ch)))
        self.ups = nn.ModuleList()
        for i in reversed(range(depth)):
            in_up = chans[i] if i == depth - 1 else chans[i] * 2
            if i == 0:
                self.ups.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(in_up, out_ch, 4, 2, 1)))
            else:
                self.ups.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(in_up, chans[i - 1], 4, 2, 1),
                                              Norm(chans[i - 1])))

    def forward(self, x):
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()
        for i, up in enumerate(self.ups):
            if i > 0:
                x = torch.cat([x, skips.pop()], 1)
            x = up(x)
        return x


class UNet(nn.Module):
    """Classic U-Net (Ronneberger et al.; `model.seg_arch: unet`): two 3x3 conv layers at every level, full resolution included,
    max-pooling down, bilinear up-sampling and concatenated skips. A mask learnt without labels needs
    full-resolution features to follow object edges; pix2pix's U-Net has none at the top level and learns slowly
    here (docs/learning.md)."""

    def __init__(self, in_ch: int, out_ch: int, ngf: int, depth: int, norm: str):
        super().__init__()
        Norm = norm_layer(norm)

        def pair(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), Norm(cout), nn.LeakyReLU(0.2),
                                 nn.Conv2d(cout, cout, 3, padding=1), Norm(cout), nn.LeakyReLU(0.2))
        chans = [min(ngf * 2 ** i, ngf * 8) for i in range(depth + 1)]
        self.downs = nn.ModuleList([pair(in_ch, chans[0])] +
                                   [pair(chans[i - 1], chans[i]) for i in range(1, depth + 1)])
        self.ups = nn.ModuleList([pair(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(depth))])
        self.head = nn.Conv2d(chans[0], out_ch, 1)

    def forward(self, x):
        skips = []
        for i, down in enumerate(self.downs):
            x = down(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        skips.pop()
        for up in self.ups:
            skip = skips.pop()
            x = up(torch.cat([nn.functional.interpolate(x, size=skip.shape[2:], mode="bilinear",
                                                        align_corners=False), skip], 1))
        return self.head(x)


class ResnetBlock(nn.Module):
    def __init__(self, ch: int, Norm):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), Norm(ch), nn.ReLU(),
                                  nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), Norm(ch))

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN generator: c7s1-ngf, d2ngf, d4ngf, residual blocks, u2ngf, ungf, c7s1-out, tanh.

    `upsample: bilinear` replaces the transposed convolutions by bilinear up-sampling and a 3x3 conv (no dot grid:
    Odena et al. 2016). `residual=True` drops the tanh and starts the last conv at zero, so the output is a
    correction that is 0 until training moves it (the caller adds it to its input)."""

    def __init__(self, in_ch: int, out_ch: int, ngf: int, n_blocks: int, norm: str,
                 upsample: str = "transposed", residual: bool = False):
        super().__init__()
        Norm = norm_layer(norm)
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7), Norm(ngf), nn.ReLU()]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1), Norm(ngf * mult * 2), nn.ReLU()]
        layers += [ResnetBlock(ngf * 4, Norm) for _ in range(n_blocks)]
        for mult in (4, 2):
            if upsample == "bilinear":
                layers += [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                           nn.ReflectionPad2d(1), nn.Conv2d(ngf * mult, ngf * mult // 2, 3)]
            else:
                layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1)]
            layers += [Norm(ngf * mult // 2), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7)] + ([] if residual else [nn.Tanh()])
        self.net = nn.Sequential(*layers)

    def zero_last(self) -> None:
        """Start the output at exactly 0 (after any weight init)."""
        last = [m for m in self.net if isinstance(m, nn.Conv2d)][-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self, x):
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """pix2pix/CycleGAN PatchGAN; with 3 strided layers each output sees a 70x70 patch."""

    def __init__(self, in_ch: int, ndf: int, n_layers: int, norm: str):
        super().__init__()
        Norm = norm_layer(norm)
        layers = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        ch = ndf
        for i in range(1, n_layers + 1):
            out = ndf * min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(ch, out, 4, stride, 1), Norm(out), nn.LeakyReLU(0.2)]
            ch = out
        layers += [nn.Conv2d(ch, 1, 4, 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        expect_image(x, 3, "discriminator input")
        return self.net(x)


def box_maps(boxes: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 1, size, size): 1 inside each box (x0, y0, x1, y1 in pixels, exclusive ends), 0 outside."""
    boxes = torch.as_tensor(boxes, dtype=torch.float32)
    r = torch.arange(size, dtype=boxes.dtype)
    cols = (r >= boxes[:, 0, None]) & (r < boxes[:, 2, None])
    rows = (r >= boxes[:, 1, None]) & (r < boxes[:, 3, None])
    return (rows[:, :, None] & cols[:, None, :]).to(torch.float32)[:, None]


class SegNet(nn.Module):
    """G_seg: image (and, with `model.seg_box`, x's box as a fourth channel) -> soft object mask m in [0, 1].

    The paper crops x to the object's box, so its G_seg knows where the object is and never marks a pixel outside
    it; our crops hold the object at 45-85% of the side anywhere. `model.seg_box` gives the box back as an input,
    `model.mask_in_box` cuts the mask to the box as the paper's crop does, at inference or also in training
    (docs/method.md, "Networks")."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.takes_box, self.in_box = cfg.seg_box, cfg.mask_in_box
        arch = {"unet": UNet, "pix2pix": Pix2PixUNet}[cfg.seg_arch]
        self.unet = arch(3 + int(self.takes_box), 1, cfg.ngf, cfg.seg_depth, cfg.norm)

    @property
    def ends_at_box(self) -> bool:
        """Whether the masks it gives at inference are 0 outside x's box (`model.mask_in_box` other than never)."""
        return self.in_box != "never"

    @property
    def needs_box(self) -> bool:
        """Whether calls must be given x's box map (under `mask_in_box: inference`, only calls in eval mode)."""
        return self.takes_box or self.ends_at_box

    def forward(self, x, box=None):
        """`box`: x's box as a map (1 inside; `box_maps`), needed with `model.seg_box` or `model.mask_in_box` and
        ignored without."""
        expect_image(x, 3, "G_seg input x")
        cut = self.in_box == "always" or (self.ends_at_box and not self.training)
        if not (self.takes_box or cut):
            return torch.sigmoid(self.unet(x))
        if box is None:
            raise ValueError("G_seg takes the object's box (model.seg_box / model.mask_in_box), but none was given")
        expect_image(box, 1, "G_seg input box", x.shape[-1])
        box = box.to(x.dtype)
        m = torch.sigmoid(self.unet(torch.cat([x, box * 2 - 1], 1) if self.takes_box else x))
        return m * box if cut else m


class EnhanceNet(nn.Module):
    """G_enh: (z, x, y, m, noise) -> the enhanced composite y_hat (patent: it sees all four). With
    `model.enh_output: residual`, y_hat = z + G(...), the correction starting at 0: G_enh cannot destroy its input,
    training can only move the composite away from the paste (docs/method.md, "Networks")."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.noise_channels = cfg.noise_channels
        self.residual = cfg.enh_output == "residual"
        self.net = ResnetGenerator(10 + cfg.noise_channels, 3, cfg.ngf, cfg.n_blocks, cfg.norm, cfg.upsample,
                                   residual=self.residual)

    def forward(self, z, x, y, m, noise):
        for t, name in ((z, "z"), (x, "x"), (y, "y")):
            expect_image(t, 3, f"G_enh input {name}")
        expect_image(m, 1, "G_enh input m")
        expect_image(noise, self.noise_channels, "G_enh input noise")
        out = self.net(torch.cat([z, x, y, m, noise], 1))
        return z + out if self.residual else out


def masked_stats(img: torch.Tensor, w: torch.Tensor, eps: float = 1e-4) -> tuple:
    """Per-image, per-channel mean and standard deviation of `img` weighted by `w` (N, 1, H, W), as (N, C) each."""
    total = w.sum(dim=(2, 3)) + eps
    mean = (w * img).sum(dim=(2, 3)) / total
    var = (w * (img - mean[..., None, None]) ** 2).sum(dim=(2, 3)) / total
    return mean, (var + eps).sqrt()


def ring_stats(img: torch.Tensor, region: torch.Tensor, eps: float = 1e-4) -> list:
    """Each channel's mean and spread inside `region` ({0, 1}, (N, 1, H, W)) and in the ring around it (1/8 of the
    side, at least 2 px), as four (N, C) tensors: how an object's colours relate to its surroundings', the cue a paste
    breaks. The colour test (seigan.realism, eps 0) and D_col read the same statistics."""
    ring = (metrics.dilate(region, max(2, img.shape[-1] // 8)) - region).clamp(0, 1)
    return [s for r in (region, ring) for s in masked_stats(img, r, eps)]


class ColourEnhanceNet(nn.Module):
    """G_enh as a colour transform of the pasted object (`model.enh_output: colour`). From the mean and spread of each
    channel of the object (inside m) and of its new surroundings (outside m), a small MLP predicts a gain about the
    object's mean and a shift per channel, applied inside m only. An object is harmonised by moving exactly these
    statistics towards its background's, which a paste onto another background breaks (the data builder's
    colour_match; harmonisation networks predict such colour transforms rather than pixels: Harmonizer, PCT-Net). It
    can express that correction and nothing that destroys the object; the last layer starts at zero, so ŷ = z at
    first. It reads z and m (z outside m is the new background y) and, with `model.enh_source`, also the statistics
    of x outside m: the scene the object comes from, whose lighting the paste carries (the paper's G_enh sees x).
    Without it the old scene must be guessed from the object alone. y and the noise are accepted and unused."""

    def __init__(self, cfg: ModelConfig, hidden: int = 32):
        super().__init__()
        self.noise_channels = cfg.noise_channels
        self.source = cfg.enh_source
        self.mlp = nn.Sequential(nn.Linear(18 if self.source else 12, hidden), nn.ReLU(), nn.Linear(hidden, 6))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, z, x, y, m, noise):
        expect_image(z, 3, "G_enh input z")
        expect_image(m, 1, "G_enh input m")
        mu_o, sd_o = masked_stats(z, m)
        mu_b, sd_b = masked_stats(z, 1 - m)
        stats = [mu_o, sd_o, mu_b, sd_b]
        if self.source:
            expect_image(x, 3, "G_enh input x")
            stats += list(masked_stats(x, 1 - m))
        log_gain, shift = self.mlp(torch.cat(stats, 1)).chunk(2, dim=1)
        change = (z - mu_o[..., None, None]) * torch.expm1(log_gain)[..., None, None] + shift[..., None, None]
        return z + m * change  # exactly z while the last layer is zero


class ColourDiscriminator(nn.Module):
    """D_col: judges an image by how its object's colours relate to its surroundings', the cue a paste breaks and a
    PatchGAN, seeing 48-px patches one at a time, hardly weighs. From the mean and spread of each channel inside the
    mask (thresholded at 0.5) and in a ring around it (1/8 of the side), an MLP scores real (1) or fake (0): the
    adversary's view of G_enh's own inputs (`loss.adv_colour`; 0 = not built)."""

    def __init__(self, hidden: int = 64):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(12, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, img: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.cat(ring_stats(img, (m >= 0.5).to(img.dtype)), 1))


class InpaintNet(nn.Module):
    """G_inp: ((1-m)*x, m) -> x_hat, the background with the hole filled."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.net = ResnetGenerator(4, 3, cfg.ngf, cfg.n_blocks, cfg.norm, cfg.upsample)

    def forward(self, masked, m):
        expect_image(masked, 3, "G_inp input (1-m)*x")
        expect_image(m, 1, "G_inp input m")
        return self.net(torch.cat([masked, m], 1))


def init_weights(net: nn.Module, kind: str = "normal", gain: float = 0.02) -> nn.Module:
    """CycleGAN's normal(0, 0.02) initialisation, or PyTorch's default (Kaiming-uniform) for `kind="default"`."""
    if kind == "default":
        return net
    for mod in net.modules():
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(mod.weight, 0.0, gain)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.normal_(mod.weight, 1.0, gain)
            nn.init.zeros_(mod.bias)
    return net


@contextlib.contextmanager
def seeded(seed: int | None):
    """Build networks from `seed` without touching the caller's global torch RNG (None: the global RNG)."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def make_seg(cfg: ModelConfig, seed: int | None = None) -> SegNet:
    with seeded(seed):
        return init_weights(SegNet(cfg), cfg.init)


def make_enh(cfg: ModelConfig) -> nn.Module:
    if cfg.enh_output == "colour":
        return ColourEnhanceNet(cfg)
    net = init_weights(EnhanceNet(cfg), cfg.init)
    if net.residual:
        net.net.zero_last()
    return net


def make_inp(cfg: ModelConfig) -> InpaintNet:
    return init_weights(InpaintNet(cfg), cfg.init)


def make_disc(cfg: ModelConfig) -> PatchDiscriminator:
    return init_weights(PatchDiscriminator(3, cfg.ndf, cfg.d_layers, cfg.norm), cfg.init)


def make_colour_disc(cfg: ModelConfig) -> ColourDiscriminator:
    return ColourDiscriminator()
