"""One SEIGAN training step: both passes (docs/method.md, "Forward pass"), the generator losses, then both
discriminators from their fake pools. Which terms a run trains comes from its `Objective` (the ablation switches).
Names follow docs/method.md: m' -> m_prime, z' -> z_prime, z̃ -> z_tilde, x̂̂ -> x_hathat, ŷ̂ -> y_hathat.
"""
from __future__ import annotations

import contextlib
import copy

import torch
import torch.nn.functional as F
from torch import nn

from seigan import losses as L
from seigan import networks
from seigan.config import LossConfig, ModelConfig, Objective, TrainConfig
from seigan.pool import ImagePool


NETWORKS = ("seg", "enh", "inp", "d_bg", "d_obj", "d_col")
GENERATORS = ("seg", "enh", "inp")
AVERAGED = tuple(f"{g}_avg" for g in GENERATORS)  # the generators' moving averages (train.ema), used for inference


def plain(net: nn.Module | None) -> nn.Module | None:
    """The network itself, also when wrapped for multi-process training."""
    return getattr(net, "module", net)


def paste(m: torch.Tensor, obj: torch.Tensor, bg: torch.Tensor) -> torch.Tensor:
    """The naive composite z = m*obj + (1-m)*bg."""
    return m * obj + (1 - m) * bg


def hard_hole(m: torch.Tensor, grow: int = 0) -> torch.Tensor:
    """The mask thresholded at 0.5 and grown by `grow` pixels: a hole with no translucent edge through which the
    object's outline would show (inference; training composes with the soft mask so that D_bg reaches G_seg)."""
    hole = (m >= 0.5).to(m.dtype)
    return F.max_pool2d(hole, 2 * grow + 1, stride=1, padding=grow) if grow > 0 else hole


def linear_decay(total: int, decay_start: float):
    """LR factor: 1 for the first `decay_start` fraction of steps, then linearly down to 0 (CycleGAN)."""
    start = int(total * decay_start)

    def factor(step: int) -> float:
        if step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / max(1, total - start))
    return factor


class SEIGAN(nn.Module):
    """Holds the five networks, both optimisers, both pools, the noise RNG and the count of steps taken (a run
    that continues a warm start goes on counting from the warm start's)."""

    def __init__(self, model: ModelConfig, loss: LossConfig, train: TrainConfig, variant: Objective,
                 vgg: L.VGGFeatures | None = None, with_texture: bool = True):
        super().__init__()
        self.cfg_model, self.cfg_loss, self.cfg_train, self.variant = model, loss, train, variant
        with networks.seeded(train.seed):  # every run of a seed starts from the same weights
            self.seg = networks.make_seg(model)
            self.inp = networks.make_inp(model)
            self.d_bg = networks.make_disc(model)
            self.d_obj = networks.make_disc(model)
            self.enh = networks.make_enh(model) if variant.enhancement else None
            self.d_col = networks.make_colour_disc(model) if variant.enhancement and loss.adv_colour > 0 else None
        if not variant.inpainting:  # the cut-and-paste baseline: built above so that D_obj starts as in SEIGAN
            self.inp = self.d_bg = None
        needs_vgg = with_texture and variant.second_pass and (
            loss.vgg_feature > 0 or (variant.texture and loss.vgg_gram > 0))
        self.texture = L.TextureLoss(vgg if vgg is not None else L.load_vgg(train.vgg_weights)) \
            if needs_vgg else None
        betas = (train.beta1, train.beta2)
        # train.seg_lr_scale 0: G_seg stays as handed on (no gradient is computed for it, and it has no optimiser group)
        seg_learns = train.seg_lr_scale > 0
        self.seg.requires_grad_(seg_learns)
        seg_group = [{"params": list(self.seg.parameters()), "lr": train.lr * train.seg_lr_scale}] if seg_learns else []
        enh_group = [{"params": list(self.enh.parameters()), "lr": train.lr * train.enh_lr_scale}] if self.enh else []
        inp_group = [{"params": list(self.inp.parameters())}] if self.inp else []
        self.opt_g = torch.optim.Adam(seg_group + inp_group + enh_group, lr=train.lr, betas=betas)
        # D_col learns at G_enh's rate (train.enh_lr_scale): at the others' it barely moved in a variant's 100 steps
        d_col_group = [{"params": list(self.d_col.parameters()), "lr": train.lr * train.d_lr_scale * train.enh_lr_scale}] \
            if self.d_col is not None else []
        self.opt_d = torch.optim.Adam([{"params": [p for d in (self.d_bg, self.d_obj) if d is not None
                                                   for p in d.parameters()]}] + d_col_group,
                                      lr=train.lr * train.d_lr_scale, betas=betas)
        decay = linear_decay(train.steps, train.decay_start)
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, decay)
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, decay)
        self.pool_bg = ImagePool(train.pool_size, seed=train.seed + 1)
        self.pool_obj = ImagePool(train.pool_size, seed=train.seed + 2)
        self.noise_rng = torch.Generator().manual_seed(train.seed + 3)
        self.aug_rng = torch.Generator().manual_seed(train.seed + 4)  # the colour jitter of loss.enh_restore
        for name in GENERATORS:
            net = getattr(self, name)
            setattr(self, f"{name}_avg", copy.deepcopy(net).requires_grad_(False) if train.ema > 0 and net else None)
        self.steps_done = 0  # optimisation steps taken, the warm start's included (the binarisation ramp reads it)
        self.enh_updates = 0  # G_enh's own updates (it starts in this run): its average's ramp reads it

    def reseed(self, seed: int) -> None:
        """Give this process its own fake pools and noise (one seed per rank; the weights stay as they are)."""
        self.pool_bg.rng.seed(seed + 1)
        self.pool_obj.rng.seed(seed + 2)
        self.noise_rng.manual_seed(seed + 3)
        self.aug_rng.manual_seed(seed + 4)

    def wrap_networks(self, wrap) -> None:
        """Replace each network by `wrap(network)`: multi-process training gives each its own
        DistributedDataParallel (never G and D in one wrapper). Checkpoints keep the plain networks."""
        for name in NETWORKS:
            net = getattr(self, name)
            if net is not None and any(p.requires_grad for p in net.parameters()):  # a fixed G_seg needs no wrapper
                setattr(self, name, wrap(net))

    def frozen_discriminators(self) -> contextlib.ExitStack:
        """The generators' step: D_bg and D_obj judge without learning, so no gradient accumulates in them and,
        when wrapped for multi-process training, they neither expect nor send one (`no_sync`)."""
        stack = contextlib.ExitStack()
        for d in self.discriminators():
            d.requires_grad_(False)
            stack.callback(d.requires_grad_, True)
            if hasattr(d, "no_sync"):
                stack.enter_context(d.no_sync())
        return stack

    def generators(self) -> list:
        return [n for n in (self.seg, self.enh, self.inp) if n is not None]

    def discriminators(self) -> list:
        return [d for d in (self.d_bg, self.d_obj, self.d_col) if d is not None]

    def for_inference(self, name: str) -> nn.Module | None:
        """The generator inference uses: its moving average when `train.ema` > 0, else the trained one."""
        avg = getattr(self, name + "_avg")
        return avg if avg is not None else plain(getattr(self, name))

    @torch.no_grad()
    def update_averages(self) -> None:
        """avg <- ema * avg + (1 - ema) * trained, after each step (Polyak averaging; the last steps' noise in the
        weights averages out, so what the warm start hands on does not depend on which step it stopped at)."""
        for name in GENERATORS:
            avg, net = getattr(self, f"{name}_avg"), plain(getattr(self, name))
            if avg is None:
                continue
            decay = self.average_decay(name)
            for a, p in zip(avg.parameters(), net.parameters()):
                a.lerp_(p.detach(), 1 - decay)
            for a, p in zip(avg.buffers(), net.buffers()):
                a.copy_(p)

    def average_decay(self, name: str) -> float:
        """The average's decay this step: `train.ema`, except for G_enh under `train.enh_ema_ramp`, whose average
        starts close behind it (Karras et al.'s EMA ramp-up): G_enh starts from the identity in a variant's short
        phase, and a 200-step average would still hold mostly the identity at its end (docs/learning.md)."""
        ema, ramp = self.cfg_train.ema, self.cfg_train.enh_ema_ramp
        if name != "enh" or ramp <= 0:
            return ema
        return min(ema, (1 + self.enh_updates) / (ramp + self.enh_updates))

    def noise(self, like: torch.Tensor) -> torch.Tensor:
        b, _, h, w = like.shape
        return torch.randn(b, self.cfg_model.noise_channels, h, w, generator=self.noise_rng).to(like.device)

    def enhance(self, z, obj, bg, m, net=None):
        """G_enh (or `net`, its average), or the identity on z for the `no_enhancement` ablation."""
        if self.enh is None:
            return z
        return (self.enh if net is None else net)(z, obj, bg, m, self.noise(z))

    def forward(self, x: torch.Tensor, y: torch.Tensor, box: torch.Tensor | None = None) -> dict:
        """Both passes and every image the losses and discriminators use. Keys: m z y_hat x_hat z_tilde, and with
        the second pass m_prime z_prime x_hathat y_hathat. `box`: x's box map, which G_seg reads under
        `model.seg_box` or cuts the mask to under `model.mask_in_box: always` (ŷ keeps x's object where it was, so the
        second pass reads the same box).

        With `loss.mask_grad: adversarial` the mask reaches the losses only through the paste judged by D_obj,
        the inpainted x_hat judged by D_bg and the mask priors; everything else (G_enh, identity, the second
        pass and its reconstructions) sees a detached mask, since a soft grey mask that carries both images
        satisfies the reconstructions best (docs/learning.md)."""
        size = self.cfg_model.resolution
        networks.expect_image(x, 3, "object image x", size)
        networks.expect_image(y, 3, "background image y", size)
        adversarial_only = self.cfg_loss.mask_grad == "adversarial"
        out = {}
        out["m"] = m = self.seg(x, box)
        mg = self.mask_for_others(m)
        out["z"] = z = paste(m, x, y)
        out["y_hat"] = y_hat = self.enhance(paste(mg, x, y) if adversarial_only else z, x, y, mg)
        if self.inp is not None:
            hole = self.inp((1 - mg) * x, mg)
            out["x_hat"] = self.fill(hole, m, x)  # judged by D_bg: the mask reaches it
        # roles swapped: ŷ is the object image, x̂ (with the mask others see) the background
        if self.variant.second_pass and self.inp is not None:
            bg = self.fill(hole, mg, x)
            with torch.no_grad() if adversarial_only else contextlib.nullcontext():
                m_prime = self.seg(y_hat, box)
            out["m_prime"] = m_prime
            out["z_prime"] = z_prime = paste(m_prime, y_hat, bg)
            out["x_hathat"] = self.enhance(z_prime, y_hat, bg, m_prime)
            out["y_hathat"] = self.fill(self.inp((1 - m_prime) * y_hat, m_prime), m_prime, y_hat)
        out["z_tilde"] = self.shifted_paste(m, x, y)  # what D_obj judges instead of z (drawn after the passes' noise)
        return out

    def fakes(self, out: dict) -> dict:
        """What each discriminator judges as fake: D_bg the inpainted backgrounds x̂ (and ŷ̂), D_obj the shifted
        paste z̃ (and ŷ when G_enh runs)."""
        v = self.variant
        return {"d_bg": [out[k] for k in ("x_hat", "y_hathat") if k in out],
                "d_obj": [out["z_tilde"]] + ([out["y_hat"]] if v.enhancement else [])}

    def objectless(self, y: torch.Tensor) -> list:
        """What D_obj also learns as fake under `objectless_fake`: the backgrounds, which hold no object (an empty
        mask pastes exactly such an image, so D_obj can no longer be fooled by it; cf. Remez et al.'s guard against
        degenerate masks). Nothing depends on the generators, so only D_obj's step sees it."""
        return [y] if self.variant.objectless_fake else []

    def mask_for_others(self, m: torch.Tensor) -> torch.Tensor:
        """The mask as the non-adversarial terms see it: detached under `loss.mask_grad: adversarial`."""
        return m.detach() if self.cfg_loss.mask_grad == "adversarial" else m

    def fill(self, inpainted: torch.Tensor, m: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """G_inp's output composed with the known pixels, or the whole output (the paper) when not composing."""
        return (1 - m) * known + m * inpainted if self.cfg_loss.compose_inpaint else inpainted

    def shifted_paste(self, m: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The paste judged by D_obj, with the object and its mask moved by a random whole-pixel offset of up to
        `loss.paste_shift` of the side, zero-padded: with m = 1 the shifted image shows an empty band and a
        displaced photo, so the all-ones mask no longer fools D_obj (Remez et al. 2018)."""
        s = self.cfg_loss.paste_shift
        if s <= 0:
            return paste(m, x, y)
        b, _, h, w = x.shape
        reach = max(1, int(round(s * w)))
        d = torch.randint(-reach, reach + 1, (b, 2), generator=self.noise_rng).to(x.device, x.dtype)
        theta = torch.zeros(b, 2, 3, device=x.device, dtype=x.dtype)
        theta[:, 0, 0] = theta[:, 1, 1] = 1
        theta[:, 0, 2], theta[:, 1, 2] = -2 * d[:, 0] / w, -2 * d[:, 1] / h
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        moved = F.grid_sample(torch.cat([m * x, m], 1), grid, mode="bilinear", padding_mode="zeros",
                              align_corners=False)
        return moved[:, :3] + (1 - moved[:, 3:]) * y

    @property
    def uses_boxes(self) -> bool:
        """Whether a loss or G_seg reads x's box (then training batches carry it)."""
        return self.cfg_loss.uses_boxes or self.cfg_model.seg_box or self.cfg_model.mask_in_box == "always"

    def generator_losses(self, out: dict, x: torch.Tensor, y: torch.Tensor, box: torch.Tensor | None = None) -> dict:
        """Named, unweighted generator losses (zeros for switched-off terms are left out); `box`: x's box as a map
        (1 inside), needed when `uses_boxes`."""
        v, c = self.variant, self.cfg_loss
        lo, fakes = {}, self.fakes(out)
        if fakes["d_bg"]:
            lo["adv_bg"] = sum(L.lsgan_g(self.d_bg(f)) for f in fakes["d_bg"])
        scores = [self.d_obj(f) for f in fakes["d_obj"]]
        lo["adv_obj"] = sum(L.lsgan_g(s) for s in scores)
        # D_obj's mean score (LSGAN: 1 = real, 0 = fake) on the paste and on ŷ, logged to see what G_enh is told
        out["d_obj_z"] = scores[0].detach().float().mean()
        if v.enhancement:
            out["d_obj_y_hat"] = scores[1].detach().float().mean()
        if self.d_col is not None:  # ŷ's object against its new surroundings, in the mask's region
            lo["adv_colour"] = L.lsgan_g(self.d_col(out["y_hat"], self.mask_for_others(out["m"])))
        if "y_hathat" in out:
            lo["rec_bg"] = L.l1(out["y_hathat"], y)
            lo["rec_obj"] = L.l1(out["x_hathat"], x)
            if self.texture is not None:
                feat_bg, gram_bg = self.texture(out["y_hathat"], y, with_gram=v.texture)
                feat_obj, _ = self.texture(out["x_hathat"], x, with_gram=False)
                lo["vgg_feature"] = feat_obj + (feat_bg if v.texture else 0)
                if v.texture:
                    lo["vgg_gram"] = gram_bg
        if v.enhancement and v.identity_weight > 0:
            ident = self.enh(x, x, x, self.mask_for_others(out["m"]), self.noise(x))
            lo["identity"] = L.l1(ident, x)
        if c.hole_rec > 0 and self.inp is not None:  # G_inp learns to fill an object-shaped hole cut from a real y
            n = max(1, round(c.hole_rec_share * len(y)))  # the first n of the batch (batches are shuffled)
            hole, y_h = hard_hole(out["m"][:n].detach()).to(y.dtype), y[:n]
            lo["hole_rec"] = L.region_l1(self.fill(self.inp((1 - hole) * y_h, hole), hole, y_h), y_h, hole)
        if v.enhancement and c.enh_restore > 0:  # G_enh learns to harmonise: undo a colour jitter of x's object
            obj = hard_hole(out["m"].detach()).to(x.dtype)
            # the scene the jittered object seems to come from: y, whose colours the transfer moved it towards
            if c.enh_jitter == "transfer":
                jittered, source = L.transfer_colours(x, obj, y, self.aug_rng), y
            else:
                jittered = source = L.jitter_colours(x, obj, self.aug_rng, c.enh_jitter_gain, c.enh_jitter_shift)
            lo["enh_restore"] = L.region_l1(self.enh(jittered, source, jittered, obj, self.noise(x)), x, obj)
        if c.mask_area > 0:
            lo["mask_area"] = L.mask_area_prior(out["m"], c.area_min, c.area_max)
        if c.binarize > 0:
            lo["binarize"] = L.binarization(out["m"])
        if self.uses_boxes:
            if box is None:
                raise ValueError("loss.box_outside / box_tight / box_pairwise need each object's box: "
                                 "the batch has none")
            if c.box_outside > 0:
                lo["box_outside"] = L.outside_box(out["m"], box)
            if c.box_tight > 0:
                lo["box_tight"] = L.box_tightness(out["m"], box)
            if c.box_pairwise > 0:
                lo["box_pairwise"] = L.colour_affinity(out["m"], x, box)
        return lo

    def weight(self, name: str) -> float:
        """A loss term's weight; the binarisation weight rises linearly over the first `loss.binarize_ramp` steps
        of training (a warm start's steps count), so that the mask finds the object before it must commit."""
        if name == "identity":
            return self.variant.identity_weight
        if name == "binarize" and self.cfg_loss.binarize_ramp > 0:
            done = self.steps_done + 1
            return self.cfg_loss.binarize * min(1.0, done / self.cfg_loss.binarize_ramp)
        return getattr(self.cfg_loss, name)

    def discriminator_losses(self, out: dict, x: torch.Tensor, y: torch.Tensor) -> dict:
        fakes = self.fakes(out)
        fake_obj = self.pool_obj.query(torch.cat(fakes["d_obj"] + self.objectless(y), 0))
        lo = {"d_obj": L.lsgan_d(self.d_obj(x), self.d_obj(fake_obj))}
        if fakes["d_bg"]:
            fake_bg = self.pool_bg.query(torch.cat(fakes["d_bg"], 0))
            lo["d_bg"] = L.lsgan_d(self.d_bg(y), self.d_bg(fake_bg))
        if self.d_col is not None:  # real: x with its own mask; fake: ŷ, x's object at the same place on y
            lo["d_col"] = L.lsgan_d(self.d_col(x, out["m"]), self.d_col(out["y_hat"], out["m"]))
        return lo

    def autocast(self, x: torch.Tensor):
        """bf16 autocast on a GPU when `train.amp` is on (the fast path); a no-op on the CPU."""
        return torch.autocast(x.device.type, dtype=torch.bfloat16,
                              enabled=self.cfg_train.amp and x.device.type == "cuda")

    def generator_step(self, x: torch.Tensor, y: torch.Tensor, box: torch.Tensor | None = None) -> tuple:
        """Update G_seg, G_enh and G_inp; the discriminators are frozen so no gradient accumulates in them.
        Returns the forward outputs (detached) and the named losses with their weighted total."""
        with self.frozen_discriminators():
            with self.autocast(x):
                out = self(x, y, box)
                lo = self.generator_losses(out, x, y, box)
                lo["g_total"] = sum(self.weight(k) * val for k, val in lo.items())
            self.opt_g.zero_grad(set_to_none=True)
            lo["g_total"].backward()
        self.opt_g.step()
        return {k: t.detach() for k, t in out.items()}, lo

    def discriminator_step(self, out: dict, x: torch.Tensor, y: torch.Tensor) -> dict:
        """Update D_bg and D_obj on real images against the (pooled) detached fakes of `out`."""
        with self.autocast(x):
            ld = self.discriminator_losses(out, x, y)
        self.opt_d.zero_grad(set_to_none=True)
        sum(ld.values()).backward()
        self.opt_d.step()
        return ld

    def step(self, x: torch.Tensor, y: torch.Tensor, box: torch.Tensor | None = None) -> dict:
        """One optimisation step of generators then discriminators; returns named float losses. `box`: x's box as
        a map, for the box losses."""
        self.train()
        out, lo = self.generator_step(x, y, box)
        ld = self.discriminator_step(out, x, y)
        self.sched_g.step()
        self.sched_d.step()
        self.update_averages()
        self.steps_done += 1
        self.enh_updates += self.enh is not None
        record = {k: float(val.detach()) for k, val in {**lo, **ld}.items()}
        record["mask_mean"] = float(out["m"].mean())
        record.update({k: float(out[k]) for k in ("d_obj_z", "d_obj_y_hat") if k in out})
        return record

    @contextlib.contextmanager
    def evaluating(self):
        """Eval mode for an inference call, then back to the mode the model was in (training resumes unchanged)."""
        was = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was)

    @torch.no_grad()
    def segment(self, x: torch.Tensor, box: torch.Tensor | None = None, x_seg: torch.Tensor | None = None,
                box_seg: torch.Tensor | None = None) -> torch.Tensor:
        """G_seg's mask of x in eval mode, at x's resolution. Given `x_seg` (the same image at a finer resolution,
        `eval.seg_scale`; `box_seg` its box map), G_seg reads that and its mask is resized to x's and cut to x's box
        again: trained at 48 px, G_seg draws the object's edge better at 96 (docs/learning.md, "G_seg at twice
        its training resolution")."""
        seg = self.for_inference("seg")
        with self.evaluating():
            return seg(x, box) if x_seg is None else read_finer(seg, x, box, x_seg, box_seg)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, y: torch.Tensor | None = None, box: torch.Tensor | None = None,
                x_seg: torch.Tensor | None = None, box_seg: torch.Tensor | None = None) -> dict:
        """Inference in eval mode: the mask, the inpainted x_hat and, given y, the composites z and y_hat. `box`:
        x's box map (`networks.box_maps`), needed under `model.seg_box` or `model.mask_in_box`; `x_seg`, `box_seg`:
        a finer view of x for G_seg (`segment`)."""
        with self.evaluating():
            m = self.segment(x, box, x_seg, box_seg)
            res = {"m": m, "x_hat": self.inpaint(x, m)} if self.inp is not None else {"m": m}
            if y is not None:
                res["z"] = paste(m, x, y)
                res["y_hat"] = self.enhance(res["z"], x, y, m, self.for_inference("enh"))
        return res

    @torch.no_grad()
    def enhance_with(self, x: torch.Tensor, y: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """ŷ for a given mask (the true one, in evaluation): the paste of x on y enhanced, in eval mode."""
        with self.evaluating():
            return self.enhance(paste(m, x, y), x, y, m, self.for_inference("enh"))

    @torch.no_grad()
    def inpaint(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """x̂ for a given mask (the predicted one, or a thresholded or true one in evaluation), in eval mode."""
        with self.evaluating():
            return self.fill(self.for_inference("inp")((1 - m) * x, m), m, x)

    # -- state for checkpoints -------------------------------------------------------------------------
    def full_state(self) -> dict:
        nets = {k: plain(getattr(self, k)).state_dict() for k in NETWORKS + AVERAGED if getattr(self, k) is not None}
        return {"nets": nets, "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "sched_g": self.sched_g.state_dict(), "sched_d": self.sched_d.state_dict(),
                "pool_bg": self.pool_bg.state_dict(), "pool_obj": self.pool_obj.state_dict(),
                "noise_rng": self.noise_rng.get_state(), "aug_rng": self.aug_rng.get_state(),
                "steps_done": self.steps_done, "enh_updates": self.enh_updates}

    def load_full_state(self, state: dict) -> None:
        for k, sd in state["nets"].items():
            plain(getattr(self, k)).load_state_dict(sd)
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])
        self.pool_bg.load_state_dict(state["pool_bg"])
        self.pool_obj.load_state_dict(state["pool_obj"])
        self.noise_rng.set_state(state["noise_rng"])
        self.aug_rng.set_state(state["aug_rng"])
        self.steps_done = state["steps_done"]
        self.enh_updates = state.get("enh_updates", 0)  # checkpoints written before the ramp existed: unused


# -- inference in chunks (evaluation, validation, the supervised bound) -------------------------------------
@torch.no_grad()
def batched(fn, tensors: tuple, batch: int, device) -> dict:
    """Run `fn` (returning a dict of tensors) over chunks of `tensors` on `device`; results on the CPU."""
    parts = [{k: v.cpu() for k, v in fn(*(c.to(device) for c in chunks)).items()}
             for chunks in zip(*(t.split(batch) for t in tensors))]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def batched_masks(segment, images: torch.Tensor, device, batch: int = 50,
                  boxes: torch.Tensor | None = None, fine: "FineView | None" = None) -> torch.Tensor:
    """Masks of `images` from `segment` ((images, box maps or None[, finer images, their box maps]) -> masks), run in
    chunks on `device`; returned on the CPU. `boxes`: the images' boxes in pixels (N, 4), for a G_seg that reads them
    or whose masks end at them; `fine`: the same images at the resolution G_seg reads at inference
    (`eval.seg_scale`), which comes with the boxes."""
    if boxes is None:
        if fine is not None:
            raise ValueError("a finer view of the images needs their boxes (the mask is cut to them)")
        return batched(lambda chunk: {"m": segment(chunk, None)}, (images,), batch, device)["m"]
    views = (images, networks.box_maps(boxes, images.shape[-1])) + (() if fine is None else fine.inputs)
    return batched(lambda *chunks: {"m": segment(*chunks)}, views, batch, device)["m"]


def predict_masks(model: SEIGAN, images: torch.Tensor, device, batch: int = 50,
                  boxes: torch.Tensor | None = None, fine: "FineView | None" = None) -> torch.Tensor:
    """A SEIGAN's masks of `images` (G_seg alone, `SEIGAN.segment`: no inpainting is computed for them)."""
    return batched_masks(model.segment, images, device, batch, boxes, fine)


def read_finer(seg: networks.SegNet, x: torch.Tensor, box, x_seg: torch.Tensor, box_seg) -> torch.Tensor:
    """`seg`'s mask of x (at x's resolution) from its reading of x_seg, the same image at a finer one: the mask is
    resized to x's and, where G_seg's masks end at the box, cut to x's box again."""
    m = F.interpolate(seg(x_seg, box_seg), size=x.shape[-2:], mode="bilinear", align_corners=False)
    return m * box if box is not None and seg.ends_at_box else m


def seg_size(cfg: ModelConfig, scale: float) -> int:
    """The side at which G_seg reads x at inference for `eval.seg_scale`: scale x the model's resolution, rounded to
    a multiple the U-Net's downsamplings divide."""
    step = 2 ** cfg.seg_depth
    return max(step, round(cfg.resolution * scale / step) * step)


class FineView:
    """Images at a finer resolution than the model's, with their box maps: what G_seg reads at inference when
    `eval.seg_scale` > 1 (the data's own pixels, not the model-resolution images upsampled)."""

    def __init__(self, x: torch.Tensor, boxes: torch.Tensor):
        self.x, self.boxes = x, boxes
        self.box_maps = networks.box_maps(boxes, x.shape[-1])

    @property
    def inputs(self) -> tuple:
        """(x_seg, box_seg), as `SEIGAN.segment` and `predict` take them."""
        return self.x, self.box_maps
