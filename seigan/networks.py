"""SEIGAN's five networks (SPEC section 3), with small factory functions.

G_seg is a pix2pix U-Net with a sigmoid mask; G_enh and G_inp are CycleGAN ResNet encoder-decoders;
D_bg and D_obj are 70x70 PatchGANs. Width, depth and resolution come from `ModelConfig`, so one code path
serves the CPU smoke run and the GPU paper-scale run.
"""
from __future__ import annotations

import functools

import torch
from torch import nn

from seigan.config import ConfigError, ModelConfig


def norm_layer(kind: str):
    if kind == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d
    if kind == "none":
        return lambda ch: nn.Identity()
    raise ConfigError(f"params.yaml: model.norm must be instance, batch or none, got {kind!r}")


def expect_image(t: torch.Tensor, channels: int, name: str, size: int | None = None) -> None:
    """Fail with one clear line, not a shape error deep inside a convolution."""
    if t.dim() != 4 or t.shape[1] != channels:
        raise ValueError(f"{name}: expected a (B, {channels}, H, W) tensor, got shape {tuple(t.shape)}")
    if size is not None and tuple(t.shape[2:]) != (size, size):
        raise ValueError(f"{name}: expected {size}x{size} images, got {t.shape[2]}x{t.shape[3]}")


def check_resolution(cfg: ModelConfig) -> None:
    """Every network halves the image: reject sizes that would reach odd or 1x1 feature maps."""
    r = cfg.resolution
    if r % 2 ** cfg.seg_depth or r // 2 ** cfg.seg_depth < 2:
        raise ConfigError(f"params.yaml: model.resolution {r} must be a multiple of 2**seg_depth "
                          f"({2 ** cfg.seg_depth}) and at least {2 ** (cfg.seg_depth + 1)}")
    if r % 4:
        raise ConfigError(f"params.yaml: model.resolution {r} must be a multiple of 4 (ResNet generators)")
    if r // 2 ** cfg.d_layers < 2:
        raise ConfigError(f"params.yaml: model.resolution {r} too small for {cfg.d_layers} PatchGAN layers")


class UNet(nn.Module):
    """pix2pix U-Net: 4x4 stride-2 convolutions down, transposed convolutions up, skips between."""

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


class ResnetBlock(nn.Module):
    def __init__(self, ch: int, Norm):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), Norm(ch), nn.ReLU(),
                                  nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), Norm(ch))

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN generator: c7s1-ngf, d2ngf, d4ngf, residual blocks, u2ngf, ungf, c7s1-out, tanh."""

    def __init__(self, in_ch: int, out_ch: int, ngf: int, n_blocks: int, norm: str):
        super().__init__()
        Norm = norm_layer(norm)
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7), Norm(ngf), nn.ReLU()]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1), Norm(ngf * mult * 2), nn.ReLU()]
        layers += [ResnetBlock(ngf * 4, Norm) for _ in range(n_blocks)]
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1),
                       Norm(ngf * mult // 2), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

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


class SegNet(nn.Module):
    """G_seg: image -> soft object mask m in [0, 1]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.unet = UNet(3, 1, cfg.ngf, cfg.seg_depth, cfg.norm)

    def forward(self, x):
        expect_image(x, 3, "G_seg input x")
        return torch.sigmoid(self.unet(x))


class EnhanceNet(nn.Module):
    """G_enh: (z, x, y, m, noise) -> the enhanced composite y_hat (patent: it sees all four)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.noise_channels = cfg.noise_channels
        self.net = ResnetGenerator(10 + cfg.noise_channels, 3, cfg.ngf, cfg.n_blocks, cfg.norm)

    def forward(self, z, x, y, m, noise):
        for t, name in ((z, "z"), (x, "x"), (y, "y")):
            expect_image(t, 3, f"G_enh input {name}")
        expect_image(m, 1, "G_enh input m")
        expect_image(noise, self.noise_channels, "G_enh input noise")
        return self.net(torch.cat([z, x, y, m, noise], 1))


class InpaintNet(nn.Module):
    """G_inp: ((1-m)*x, m) -> x_hat, the background with the hole filled."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.net = ResnetGenerator(4, 3, cfg.ngf, cfg.n_blocks, cfg.norm)

    def forward(self, masked, m):
        expect_image(masked, 3, "G_inp input (1-m)*x")
        expect_image(m, 1, "G_inp input m")
        return self.net(torch.cat([masked, m], 1))


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """CycleGAN's normal(0, 0.02) initialisation."""
    for mod in net.modules():
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(mod.weight, 0.0, gain)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.normal_(mod.weight, 1.0, gain)
            nn.init.zeros_(mod.bias)
    return net


def make_seg(cfg: ModelConfig) -> SegNet:
    check_resolution(cfg)
    return init_weights(SegNet(cfg))


def make_enh(cfg: ModelConfig) -> EnhanceNet:
    return init_weights(EnhanceNet(cfg))


def make_inp(cfg: ModelConfig) -> InpaintNet:
    return init_weights(InpaintNet(cfg))


def make_disc(cfg: ModelConfig) -> PatchDiscriminator:
    return init_weights(PatchDiscriminator(3, cfg.ndf, cfg.d_layers, cfg.norm))
