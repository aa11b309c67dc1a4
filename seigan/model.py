"""One SEIGAN training step: both passes of SPEC section 2, the generator losses of section 4, then both
discriminators from their fake pools. Ablation switches come from `VariantConfig`.
"""
from __future__ import annotations

import torch
from torch import nn

from seigan import losses as L
from seigan import networks
from seigan.config import LossConfig, ModelConfig, TrainConfig, VariantConfig
from seigan.pool import ImagePool


def paste(m: torch.Tensor, obj: torch.Tensor, bg: torch.Tensor) -> torch.Tensor:
    """The naive composite z = m*obj + (1-m)*bg."""
    return m * obj + (1 - m) * bg


def linear_decay(total: int, decay_start: float):
    """LR factor: 1 for the first `decay_start` fraction of steps, then linearly down to 0 (CycleGAN)."""
    start = int(total * decay_start)

    def factor(step: int) -> float:
        if step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / max(1, total - start))
    return factor


class SEIGAN(nn.Module):
    """Holds the five networks, both optimisers, both pools and the noise RNG."""

    def __init__(self, model: ModelConfig, loss: LossConfig, train: TrainConfig, variant: VariantConfig,
                 vgg: L.VGGFeatures | None = None, with_texture: bool = True):
        super().__init__()
        self.cfg_model, self.cfg_loss, self.cfg_train, self.variant = model, loss, train, variant
        torch.manual_seed(train.seed)
        self.seg = networks.make_seg(model)
        self.enh = networks.make_enh(model) if variant.enhancement else None
        self.inp = networks.make_inp(model)
        self.d_bg = networks.make_disc(model)
        self.d_obj = networks.make_disc(model)
        needs_vgg = with_texture and variant.second_pass and (
            loss.vgg_feature > 0 or (variant.texture and loss.vgg_gram > 0))
        self.texture = L.TextureLoss(vgg if vgg is not None else L.load_vgg(train.vgg_weights)) \
            if needs_vgg else None
        betas = (train.beta1, train.beta2)
        self.opt_g = torch.optim.Adam(self.generator_parameters(), lr=train.lr, betas=betas)
        self.opt_d = torch.optim.Adam(list(self.d_bg.parameters()) + list(self.d_obj.parameters()),
                                      lr=train.lr, betas=betas)
        decay = linear_decay(train.steps, train.decay_start)
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, decay)
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, decay)
        self.pool_bg = ImagePool(train.pool_size, seed=train.seed + 1)
        self.pool_obj = ImagePool(train.pool_size, seed=train.seed + 2)
        self.noise_rng = torch.Generator().manual_seed(train.seed + 3)

    def generators(self) -> list:
        return [n for n in (self.seg, self.enh, self.inp) if n is not None]

    def generator_parameters(self) -> list:
        return [p for n in self.generators() for p in n.parameters()]

    def noise(self, like: torch.Tensor) -> torch.Tensor:
        b, _, h, w = like.shape
        return torch.randn(b, self.cfg_model.noise_channels, h, w, generator=self.noise_rng).to(like.device)

    def enhance(self, z, obj, bg, m):
        """G_enh, or the identity on z for the `no_enhancement` ablation."""
        if self.enh is None:
            return z
        return self.enh(z, obj, bg, m, self.noise(z))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        """Both passes. Keys: m z y_hat x_hat, and with the second pass m2 z2 x_hathat y_hathat."""
        size = self.cfg_model.resolution
        networks.expect_image(x, 3, "object image x", size)
        networks.expect_image(y, 3, "background image y", size)
        out = {}
        out["m"] = m = self.seg(x)
        out["z"] = z = paste(m, x, y)
        out["y_hat"] = y_hat = self.enhance(z, x, y, m)
        out["x_hat"] = x_hat = self.inp((1 - m) * x, m)
        if self.variant.second_pass:  # roles swapped: y_hat is the object image, x_hat the background
            out["m2"] = m2 = self.seg(y_hat)
            out["z2"] = z2 = paste(m2, y_hat, x_hat)
            out["x_hathat"] = self.enhance(z2, y_hat, x_hat, m2)
            out["y_hathat"] = self.inp((1 - m2) * y_hat, m2)
        return out

    def generator_losses(self, out: dict, x: torch.Tensor, y: torch.Tensor) -> dict:
        """Named, unweighted generator losses (zeros for switched-off terms are left out)."""
        v, c = self.variant, self.cfg_loss
        lo = {}
        bg_fakes = [out["x_hat"]] + ([out["y_hathat"]] if v.second_pass else [])
        lo["adv_bg"] = sum(L.lsgan_g(self.d_bg(f)) for f in bg_fakes)
        obj_fakes = [out["z"]] + ([out["y_hat"]] if v.enhancement else [])
        lo["adv_obj"] = sum(L.lsgan_g(self.d_obj(f)) for f in obj_fakes)
        if v.second_pass:
            lo["rec_bg"] = L.l1(out["y_hathat"], y)
            lo["rec_obj"] = L.l1(out["x_hathat"], x)
            if self.texture is not None:
                feat_bg, gram_bg = self.texture(out["y_hathat"], y, with_gram=v.texture)
                feat_obj, _ = self.texture(out["x_hathat"], x, with_gram=False)
                lo["vgg_feature"] = feat_obj + (feat_bg if v.texture else 0)
                if v.texture:
                    lo["vgg_gram"] = gram_bg
        if v.enhancement and v.identity_weight > 0:
            ident = self.enh(x, x, x, out["m"], self.noise(x))
            lo["identity"] = L.l1(ident, x)
        if c.mask_area > 0:
            lo["mask_area"] = L.mask_area_prior(out["m"], c.area_min, c.area_max)
        return lo

    def weight(self, name: str) -> float:
        return self.variant.identity_weight if name == "identity" else getattr(self.cfg_loss, name)

    def discriminator_losses(self, out: dict, x: torch.Tensor, y: torch.Tensor) -> dict:
        v = self.variant
        bg_fakes = torch.cat([out["x_hat"]] + ([out["y_hathat"]] if v.second_pass else []), 0)
        obj_fakes = torch.cat([out["z"]] + ([out["y_hat"]] if v.enhancement else []), 0)
        fake_bg = self.pool_bg.query(bg_fakes)
        fake_obj = self.pool_obj.query(obj_fakes)
        return {"d_bg": L.lsgan_d(self.d_bg(y), self.d_bg(fake_bg)),
                "d_obj": L.lsgan_d(self.d_obj(x), self.d_obj(fake_obj))}

    def step(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        """One optimisation step of generators then discriminators; returns named float losses."""
        self.train()
        for d in (self.d_bg, self.d_obj):
            d.requires_grad_(False)  # no gradient accumulates in D during the generator step
        out = self(x, y)
        lo = self.generator_losses(out, x, y)
        g_total = sum(self.weight(k) * val for k, val in lo.items())
        self.opt_g.zero_grad(set_to_none=True)
        g_total.backward()
        self.opt_g.step()
        for d in (self.d_bg, self.d_obj):
            d.requires_grad_(True)
        detached = {k: t.detach() for k, t in out.items()}
        ld = self.discriminator_losses(detached, x, y)
        self.opt_d.zero_grad(set_to_none=True)
        (ld["d_bg"] + ld["d_obj"]).backward()
        self.opt_d.step()
        self.sched_g.step()
        self.sched_d.step()
        record = {k: float(val.detach()) for k, val in {**lo, **ld}.items()}
        record["g_total"] = float(g_total.detach())
        record["mask_mean"] = float(out["m"].detach().mean())
        return record

    @torch.no_grad()
    def predict(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict:
        """Inference in eval mode: the mask, the inpainted x_hat and, given y, the composites z and y_hat."""
        was = self.training
        self.eval()
        m = self.seg(x)
        res = {"m": m, "x_hat": self.inp((1 - m) * x, m)}
        if y is not None:
            res["z"] = paste(m, x, y)
            res["y_hat"] = self.enhance(res["z"], x, y, m)
        self.train(was)
        return res

    # -- state for checkpoints -------------------------------------------------------------------------
    def full_state(self) -> dict:
        nets = {k: n.state_dict() for k, n in (("seg", self.seg), ("enh", self.enh), ("inp", self.inp),
                                               ("d_bg", self.d_bg), ("d_obj", self.d_obj)) if n is not None}
        return {"nets": nets, "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "sched_g": self.sched_g.state_dict(), "sched_d": self.sched_d.state_dict(),
                "pool_bg": self.pool_bg.state_dict(), "pool_obj": self.pool_obj.state_dict(),
                "noise_rng": self.noise_rng.get_state()}

    def load_full_state(self, state: dict) -> None:
        for k, sd in state["nets"].items():
            getattr(self, k).load_state_dict(sd)
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])
        self.pool_bg.load_state_dict(state["pool_bg"])
        self.pool_obj.load_state_dict(state["pool_obj"])
        self.noise_rng.set_state(state["noise_rng"])
