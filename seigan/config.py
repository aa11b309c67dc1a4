"""Plain dataclass configs built from params.yaml.

params.yaml holds the CPU default at top level; `profiles.<name>` holds overrides merged on top when
`profile: <name>` is selected (the GPU paper-scale run, the tiny test run). Unknown keys and wrong types
are rejected with a one-line error naming the key, before any work starts.
"""
from __future__ import annotations

import copy
import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Literal
from pathlib import Path

import yaml

from seigan.paths import resolve


class ConfigError(ValueError):
    """A bad params.yaml: the message names the key."""


class Checked:
    """Settings checked once, when a config is made (from params.yaml or in code): each `Literal` field must hold one
    of its values, each field of `MINIMA` at least its minimum, and `check()` covers rules between fields. The
    message names the key as params.yaml spells it (`SECTION.field`)."""
    SECTION = ""
    MINIMA: typing.ClassVar[dict] = {}

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value, choices = getattr(self, f.name), typing.get_args(hints[f.name])
            if typing.get_origin(hints[f.name]) is typing.Literal and value not in choices:
                raise ConfigError(f"params.yaml: {self.SECTION}.{f.name} must be one of {', '.join(choices)}, "
                                  f"got {value!r}")
            if f.name in self.MINIMA and value is not None and value < self.MINIMA[f.name]:
                raise ConfigError(f"params.yaml: {self.SECTION}.{f.name} must be >= {self.MINIMA[f.name]}, got {value}")
        self.check()

    def check(self) -> None:
        """Rules between fields (none unless a section declares them)."""


@dataclass
class BuildConfig(Checked):
    """How the embedded data set is composited (see seigan.data.build)."""
    SECTION = "data.build"
    resolution: int = 128
    n_train: int = 800
    n_val: int = 100
    n_test: int = 200
    seed: int = 0
    object_fraction: list = field(default_factory=lambda: [0.45, 0.85])  # box side / crop side
    colour_match: float = 0.5      # 0 = raw paste, 1 = object mean/std equal to the local background's
    feather: float = 1.0           # Gaussian radius (px at 128) applied to the alpha edge
    shadow: float = 0.35           # darkening of the soft contact shadow under the object (0 = none)
    test_fraction: float = 0.2     # of animal identities and of each package's background photos (whole photos)
    val_fraction: float = 0.1      # of animal identities and of each package's photos, carved from training
    kinds: list = field(default_factory=lambda: ["scene", "close"])  # which kinds of background photos the set uses
    # (seigan.data.photos: scene, close = close-range ground, aerial); aerial photos made the masks worse on validation

    def check(self) -> None:
        known = ("scene", "close", "aerial")
        if not self.kinds or not all(k in known for k in self.kinds):
            raise ConfigError(f"params.yaml: data.build.kinds must be a non-empty list of {', '.join(known)}, "
                              f"got {self.kinds!r}")


@dataclass
class DataConfig:
    root: str = "data"             # a folder in the layout of seigan.data.layout
    build: BuildConfig = field(default_factory=BuildConfig)


@dataclass
class ModelConfig(Checked):
    SECTION = "model"
    resolution: int = 48
    ngf: int = 16                  # generator width (paper scale: 64)
    ndf: int = 32                  # discriminator width (paper scale: 64)
    seg_depth: int = 4             # U-Net down-samplings
    n_blocks: int = 3              # residual blocks in G_enh and G_inp (CycleGAN: 6 at 128 px, 9 at 256 px)
    d_layers: int = 2              # PatchGAN strided layers (3 gives the 70x70 receptive field; 2 learns faster at 48 px)
    norm: Literal["instance", "batch", "none"] = "instance"
    noise_channels: int = 1        # channels of the noise map fed to G_enh
    seg_box: bool = False          # G_seg also sees x's box as a fourth input channel (the paper's G_seg sees the box's crop)
    mask_in_box: Literal["never", "inference", "always"] = "inference"  # G_seg's mask is 0 outside x's box at inference
    # (evaluation, validation, seigan.api) or also in training: the paper's G_seg sees only the box's crop
    seg_arch: Literal["pix2pix", "unet"] = "unet"  # pix2pix: 4x4 strided U-Net; unet: 3x3 conv pairs per level
    init: Literal["normal", "default"] = "default"    # normal: CycleGAN's N(0, 0.02); default: PyTorch's own
    upsample: Literal["transposed", "bilinear"] = "bilinear"  # G_enh/G_inp decoders: CycleGAN's transposed convs
                                                           # (a dot grid) or bilinear up-sampling then a 3x3 conv
    enh_output: Literal["image", "residual", "colour"] = "colour"  # G_enh: a whole image through tanh (CycleGAN),
    # y_hat = z + a residual whose last conv starts at zero, or a colour transform of the pasted object (gain and
    # shift per channel from the object's and its surroundings' colour statistics; networks.ColourEnhanceNet)
    enh_source: bool = True        # the colour G_enh also reads the statistics of the scene the object comes from (x
    # outside m): a paste carries its old scene's lighting, which it cannot undo without knowing that scene

    def check(self) -> None:
        """Every network halves the image: reject sizes that would reach odd or 1x1 feature maps."""
        r = self.resolution
        if r % 2 ** self.seg_depth or r // 2 ** self.seg_depth < 2:
            raise ConfigError(f"params.yaml: model.resolution {r} must be a multiple of 2**seg_depth "
                              f"({2 ** self.seg_depth}) and at least {2 ** (self.seg_depth + 1)}")
        if r % 4:
            raise ConfigError(f"params.yaml: model.resolution {r} must be a multiple of 4 (ResNet generators)")
        if r // 2 ** self.d_layers < 2:
            raise ConfigError(f"params.yaml: model.resolution {r} too small for {self.d_layers} PatchGAN layers")


@dataclass
class LossConfig(Checked):
    """Generator loss weights and the mask recipe (docs/method.md, "Losses"); the identity weight is per variant."""
    SECTION = "loss"
    MINIMA: typing.ClassVar[dict] = {"enh_jitter_gain": 0, "enh_jitter_shift": 0, "box_outside": 0, "box_tight": 0,
                                     "box_pairwise": 0, "adv_colour": 0, "hole_rec_share": 0.01}
    adv_obj: float = 1.0
    adv_bg: float = 6.0            # the inpainting adversary asks the mask to cover the whole object
    rec_bg: float = 10.0           # L1, y_hathat vs y
    rec_obj: float = 10.0          # L1, x_hathat vs x
    vgg_feature: float = 1.0       # feature distance on the first five VGG layers (both reconstructions)
    vgg_gram: float = 1.0          # Gram distance on the last five VGG layers (background reconstruction)
    mask_area: float = 1.0         # per-image hinges keeping each mask's mean area in [area_min, area_max]
    area_min: float = 0.1
    area_max: float = 0.9
    binarize: float = 10.0         # weight of mean(min(m, 1 - m)) in the variants: pushes every pixel to 0 or 1
    binarize_ramp: int = 1500      # steps over which the binarisation weight rises from 0 (0 = at once)
    compose_inpaint: bool = True   # x_hat = (1-m)*x + m*G_inp(...): only the hole is inpainted
    paste_shift: float = 0.125     # the pasted object judged by D_obj moves up to this fraction of the side
    mask_grad: Literal["all", "adversarial"] = "adversarial"  # all: every loss reaches G_seg (paper); adversarial: only
                                                              # D_obj, D_bg and the priors
    hole_rec: float = 10.0         # L1 in a hole cut from a real background y (the shape of x's thresholded mask)
    hole_rec_share: float = 1.0    # the share of the batch that loss is computed on (its G_inp call is a third of a
                                   # warm-start step; a smaller share is cheaper)
    enh_restore: float = 10.0      # L1: G_enh gives x back from x with its object's colours jittered
    enh_jitter_gain: float = 0.3   # that jitter: a gain per channel in 1 +- this
    enh_jitter_shift: float = 0.6  # and a shift per channel in +- this (images in [-1, 1]; 0.3 until 2026-12-07)
    enh_jitter: Literal["uniform", "transfer"] = "transfer"  # uniform: that gain and shift | transfer: the object's
                                   # colour statistics moved part of the way to another background's (a paste's change)
    adv_colour: float = 1.0        # D_col (the object's colours against its ring's) judging ŷ, for G_enh; 0 = no D_col
    box_outside: float = 5.0       # mean of m outside x's box (the box is the data's only supervision; 0 = unused)
    box_tight: float = 5.0         # every row and column of the box holds some mask: mean(1 - max m) over them
    box_pairwise: float = 5.0      # neighbours of nearly one colour in the box take one label (BoxInst's pairwise term)

    @property
    def uses_boxes(self) -> bool:
        """Whether a loss reads x's box (then training batches carry it, and the report names the departure)."""
        return self.box_outside > 0 or self.box_tight > 0 or self.box_pairwise > 0

    def check(self) -> None:
        if self.hole_rec_share > 1:
            raise ConfigError(f"params.yaml: loss.hole_rec_share is a share of the batch, at most 1, "
                              f"got {self.hole_rec_share}")


@dataclass
class TrainConfig(Checked):
    SECTION = "train"
    MINIMA: typing.ClassVar[dict] = {"nproc": 1, "workers": 0, "seg_lr_scale": 0, "enh_lr_scale": 0, "d_lr_scale": 0,
                                     "limit": 1}
    steps: int = 100               # per variant (the warm start's are warmup.steps)
    seg_lr_scale: float = 0.0      # G_seg's learning rate / lr in the variants (the warm start: warmup.seg_lr_scale); 0 = fixed
    enh_lr_scale: float = 100.0    # G_enh's learning rate / lr (the colour G_enh is a small MLP: it needs larger steps)
    d_lr_scale: float = 1.0        # the discriminators' learning rate / lr (TTUR, Heusel et al. 2017, when > 1)
    limit: typing.Optional[int] = None  # train on the first N object and N background images only (smoke tests)
    batch_size: int = 16
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    decay_start: float = 0.5       # fraction of steps with constant lr, then linear decay to 0
    pool_size: int = 0             # CycleGAN's fake pool holds 50
    seed: int = 0
    threads: int = 0               # torch threads; 0 keeps torch's default
    checkpoint_every: int = 100
    log_every: int = 10
    val_every: int = 50
    flip: bool = True
    zoom: float = 0.3              # random zoom of x and y by up to 1 + zoom (0 = off): fresh views every step
    vgg_weights: typing.Optional[str] = None  # torchvision-format vgg19 state dict; None = offline VGG16
    device: Literal["cpu", "cuda", "auto"] = "cpu"  # auto: cuda when available
    amp: bool = False              # bf16 autocast on a GPU (ignored on the CPU)
    channels_last: bool = False    # NHWC memory layout for the networks and batches
    compile: bool = False          # torch.compile every network
    nproc: int = 1                 # processes (one per device); > 1 trains under torchrun, global batch nproc x batch_size
    backend: Literal["auto", "gloo", "nccl"] = "auto"  # torch.distributed; auto: nccl on cuda, gloo on cpu
    workers: int = 0               # loader processes drawing batches from host memory (0 = the training process)
    data_on: Literal["auto", "host", "device"] = "auto"  # training images in host or device memory (auto: device
                                                         # when they fit)
    ema: float = 0.995             # inference uses an exponential moving average of each generator's weights
                                   # (this decay per step; 0 = the trained weights themselves)
    enh_ema_ramp: int = 10         # G_enh's average starts close behind it: decay min(ema, (1 + n) / (ramp + n)) over
                                   # its n updates (0 = the plain ema, whose 200-step memory outlasts a 100-step phase)


@dataclass
class Objective:
    """Which parts of SEIGAN's objective a run trains (the paper's Fig. 4 ablations switch them off; docs/method.md,
    "Training schedule")."""
    enhancement: bool = True       # False: y_hat = z, G_enh never runs
    second_pass: bool = True       # False: no CycleGAN-style second application
    texture: bool = True           # False: L1 only on the background reconstruction
    identity_weight: float = 5.0   # 0 switches the identity loss off
    inpainting: bool = True        # False: no G_inp and no D_bg (the cut-and-paste baseline: D_obj alone teaches G_seg)
    objectless_fake: bool = False  # D_obj also judges the background y (no object) as fake: the baseline's guard
                                   # against the empty mask, whose paste is a background (SEIGAN's guard is D_bg)
    OPTIONAL_KEYS: typing.ClassVar[set] = {"inpainting", "objectless_fake"}  # params.yaml may leave these out


@dataclass
class VariantConfig(Objective):
    """A variant of the ablation: its objective, trained from the warm start for `train.steps`."""
    run: bool = True               # False: declared, but `dvc repro` does not train or evaluate it


NETWORK_NAMES = ("seg", "enh", "inp", "d_bg", "d_obj")


@dataclass
class WarmupConfig(Checked):
    """The shared warm start (docs/method.md, "Training schedule"): one run, its own pipeline stage, that trains
    `objective` for `steps` and hands the networks in `hands_on` to every variant. steps 0: no warm start."""
    SECTION = "warmup"
    MINIMA: typing.ClassVar[dict] = {"steps": 0, "seg_lr_scale": 0}
    steps: int = 1800
    lr: float = 5e-4               # the variants use train.lr
    seg_lr_scale: float = 2.0      # G_seg's learning rate / lr in the warm start
    decay_start: float = 1.0       # as train.decay_start; 1.0 keeps the learning rate constant
    binarize: float = 5.0          # loss.binarize during the warm start
    objective: Objective = field(default_factory=lambda: Objective(
        enhancement=False, second_pass=False, texture=False, identity_weight=0.0))
    hands_on: list = field(default_factory=lambda: ["seg", "inp", "d_bg", "d_obj"])

    def check(self) -> None:
        unknown = [n for n in self.hands_on if n not in NETWORK_NAMES]
        if unknown:
            raise ConfigError(f"params.yaml: warmup.hands_on: unknown network {unknown[0]!r} "
                              f"(known: {', '.join(NETWORK_NAMES)})")
        if "enh" in self.hands_on and not self.objective.enhancement:
            raise ConfigError("params.yaml: warmup.hands_on names enh, but the warm start's objective has no "
                              "enhancement")


@dataclass
class BaselineConfig(Checked):
    """The cut-and-paste baseline (Remez et al., ECCV 2018): G_seg taught only by D_obj judging its shifted paste on
    another background, with the mask priors; no inpainting, no G_enh, no second pass. It is trained from scratch with
    the warm start's data, settings and (by default) steps, so that it differs from SEIGAN's warm start only in
    what teaches the mask."""
    SECTION = "cut_and_paste"
    MINIMA: typing.ClassVar[dict] = {"steps": 1}
    run: bool = True                       # False: declared, not trained or evaluated by `dvc repro`
    steps: typing.Optional[int] = None     # None: warmup.steps (the same budget as the warm start)
    objectless_fake: bool = True           # D_obj also learns that a background without an object is fake


@dataclass
class EvalConfig(Checked):
    SECTION = "eval"
    MINIMA: typing.ClassVar[dict] = {"seg_scale": 1}
    n_examples: int = 8            # first N test images in every example grid (never cherry-picked)
    c2st_epochs: int = 15
    c2st_seeds: int = 5            # classifier seeds of each C2ST: its accuracy is a mean with a spread
    batch_size: int = 50
    supervised_steps: int = 2000   # the supervised G_seg upper bound (same architecture, true masks), trained
                                   # until its validation IoU levels off; 0 = skip it
    supervised_lr: float = 1e-3    # its Adam learning rate
    limit: typing.Optional[int] = None  # use only the first N test images (smoke tests); None = all
    seg_scale: float = 2.0         # SEIGAN's and the baseline's G_seg read x at this multiple of model.resolution at
                                   # inference (the data's own pixels), the mask resized back; 1 = as trained


@dataclass
class Params:
    profile: str
    data: DataConfig
    model: ModelConfig
    loss: LossConfig
    train: TrainConfig
    warmup: WarmupConfig
    eval: EvalConfig
    variants: dict
    cut_and_paste: BaselineConfig = field(default_factory=BaselineConfig)

    def variant(self, name: str) -> VariantConfig:
        if name not in self.variants:
            raise ConfigError(f"unknown variant {name!r}; params.yaml declares: {', '.join(self.variants)}")
        return self.variants[name]


def _check(value, typ, key: str):
    """Type-check one leaf value; ints are accepted where floats are expected, bools never as numbers."""
    origin = typing.get_origin(typ)
    if origin is typing.Union:
        if value is None and type(None) in typing.get_args(typ):
            return None
        typ = next(t for t in typing.get_args(typ) if t is not type(None))
    if typ is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if typ is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if typ in (bool, str, list, dict) and isinstance(value, typ):
        return value
    if typing.get_origin(typ) is typing.Literal and isinstance(value, str):
        return value  # which values are allowed is checked when the config is made (Checked)
    name = "str" if typing.get_origin(typ) is typing.Literal else typ.__name__
    raise ConfigError(f"params.yaml: {key} must be {name}, got {type(value).__name__} {value!r}")


def from_dict(cls, raw, key: str, strict: bool = False):
    """Build dataclass `cls` from a mapping, naming the offending key on any mismatch.

    `strict` (used for params.yaml itself) also rejects missing keys, so that a run never silently falls back
    to a default the file does not show."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"params.yaml: {key} must be a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(f"params.yaml: unknown key {key}.{unknown[0]} (known: {', '.join(sorted(names))})")
    missing = sorted(names - set(raw) - getattr(cls, "OPTIONAL_KEYS", set())) if strict else []
    if missing:
        raise ConfigError(f"params.yaml: missing key {key}.{missing[0]}")
    kwargs = {}
    for name, value in raw.items():
        typ = hints[name]
        if dataclasses.is_dataclass(typ):
            kwargs[name] = from_dict(typ, value, f"{key}.{name}", strict)
        else:
            kwargs[name] = _check(value, typ, f"{key}.{name}")
    return cls(**kwargs)


def torch_device(name: str):
    """The torch device for `train.device`, or one line saying why it cannot be had."""
    import torch
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"params.yaml: train.device must be cpu, cuda or auto, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("params.yaml: train.device is cuda but torch sees no CUDA device (use cpu or auto)")
    return torch.device(name)


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


SECTIONS = {"data": DataConfig, "model": ModelConfig, "loss": LossConfig, "train": TrainConfig,
            "warmup": WarmupConfig, "eval": EvalConfig}
OPTIONAL = {"cut_and_paste": BaselineConfig}  # sections with a default when params.yaml leaves them out


def read_yaml(path: str | Path | None = None) -> dict:
    path = resolve(path or "params.yaml")
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found")
    with open(path) as f:
        raw = yaml.safe_load(f)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must hold a mapping of sections")
    return raw


def parse(raw: dict, profile: str | None = None, strict: bool = False) -> Params:
    """Params from an already-read params mapping; `profile` overrides the file's `profile` key.
    `strict`: every key of every section must be present (as in params.yaml)."""
    raw = dict(raw)
    profiles = raw.pop("profiles", {}) or {}
    profile = profile or raw.pop("profile", "cpu")
    raw.pop("profile", None)
    if not isinstance(profile, str):
        raise ConfigError(f"params.yaml: profile must be a string, got {profile!r}")
    for name, cls in {**SECTIONS, **OPTIONAL}.items():  # the base is checked too, even where a profile overrides it
        if name in raw:
            from_dict(cls, raw[name], name, strict)
    if profile not in profiles and profile != "cpu":
        raise ConfigError(f"params.yaml: unknown profile {profile!r} (known: cpu, {', '.join(profiles)})")
    over = profiles.get(profile) or {}
    if not isinstance(over, dict):
        raise ConfigError(f"params.yaml: profiles.{profile} must be a mapping of sections")
    raw = _merge(raw, over)  # every profile's keys apply, the CPU default's too
    missing = [s for s in (*SECTIONS, "variants") if s not in raw]
    if missing:
        raise ConfigError(f"params.yaml: missing section {missing[0]!r}")
    unknown = sorted(set(raw) - set(SECTIONS) - set(OPTIONAL) - {"variants"})
    if unknown:
        raise ConfigError(f"params.yaml: unknown section {unknown[0]!r}")
    variants = raw["variants"]
    if not isinstance(variants, dict) or not variants:
        raise ConfigError("params.yaml: variants must be a non-empty mapping of name -> switches")
    for taken in ("warmup", "cut_and_paste"):
        if taken in variants:
            raise ConfigError(f"params.yaml: variants.{taken}: the name is taken (the {taken} section)")
    return Params(
        profile=profile,
        variants={name: from_dict(VariantConfig, v, f"variants.{name}", strict) for name, v in variants.items()},
        **{name: from_dict(cls, raw[name], name, strict) for name, cls in SECTIONS.items()},
        **{name: from_dict(cls, raw[name], name, strict) for name, cls in OPTIONAL.items() if name in raw},
    )


def load(path: str | Path | None = None, profile: str | None = None) -> Params:
    """Read and validate params.yaml (default: the repository's); every key must be present."""
    return parse(read_yaml(path), profile, strict=True)


def as_dict(obj) -> dict:
    return dataclasses.asdict(obj)
