"""Runs and their artefacts: one owner for what the warm start and each variant train (`Run`, `plan`), a run's
identity (its config and hash), how a trained model is rebuilt from its checkpoint, and every checkpoint and report
path.

Training, evaluation, the study kit, the notebooks and every command line ask this module; no other file spells
`checkpoints/...` or `reports/...` (the three folder functions live in seigan.paths, which imports no torch, so
that `seigan.declared` can use them without loading it; they are this module's API too).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from seigan import atomic, config
from seigan.data.layout import Split, load_split
from seigan.model import SEIGAN
from seigan.paths import checkpoint_dir, reports_dir, resolve, train_log_dir  # noqa: F401 (this module's API)

# The shared warm start's name: its stage, checkpoint folder and report folder (params.yaml's `warmup` section).
WARMUP = "warmup"
# The cut-and-paste baseline's name (params.yaml's `cut_and_paste` section): a run of its own, from scratch.
CUT_AND_PASTE = "cut_and_paste"


# -- paths ---------------------------------------------------------------------------------------------------
def last_checkpoint(name: str) -> Path:
    return checkpoint_dir(name) / "last.pt"


def metrics_file(reports: str | Path | None = None) -> Path:
    """<reports>/metrics.json: the held-out numbers (`dvc metrics show`)."""
    return resolve(reports or reports_dir()) / "metrics.json"


def eval_file(name: str, reports: str | Path | None = None) -> Path:
    """<reports>/eval/<name>: details.json, examples.pt, supervised_val.csv."""
    return resolve(reports or reports_dir()) / "eval" / name


def data_summary_file() -> Path:
    """reports/data/summary.json, written by notebooks/01_data."""
    return reports_dir() / "data" / "summary.json"


def seed_dirs(seed: int, name: str) -> tuple:
    """checkpoints_seeds/<seed>/<name> and reports/seeds/<seed>/<name>: a run of the seeds command
    (`python -m seigan.seeds`), kept apart from the pipeline's own checkpoints."""
    return resolve("checkpoints_seeds") / str(seed) / name, reports_dir() / "seeds" / str(seed) / name


def seeds_file() -> Path:
    """reports/seeds.json: the paper's variants retrained over several seeds (the report reads it when present)."""
    return reports_dir() / "seeds.json"


def study_dir() -> Path:
    """reports/study: the blind human-study kit."""
    return reports_dir() / "study"


# -- data ----------------------------------------------------------------------------------------------------
def load_data(params: config.Params, split: str, **kwargs) -> Split:
    """A split of params.yaml's data set (`data.root`) at the model's resolution; kwargs as `load_split`'s."""
    return load_split(resolve(params.data.root), split, params.model.resolution, **kwargs)


def run_data(run: "Run") -> tuple:
    """What a run trains and validates on: the training split (its first `train.limit` x and y when set) and the
    validation split (with true masks), at its resolution, from its data set."""
    root = resolve(run.data_root)
    return (load_split(root, "train", run.model.resolution, limit=run.train.limit),
            load_split(root, "val", run.model.resolution, with_truth=True))


# -- run identity --------------------------------------------------------------------------------------------
# Settings that change where or how often a run reports, not what it learns: a checkpoint resumes across them.
BOOKKEEPING = ("device", "threads", "checkpoint_every", "log_every", "val_every", "backend", "workers", "data_on")


# Settings only G_enh reads.
ENHANCER_ONLY = {"model": ("enh_output", "enh_source"), "train": ("enh_lr_scale", "enh_ema_ramp"),
                 "loss": ("enh_jitter_gain", "enh_jitter_shift", "enh_jitter", "adv_colour")}

# Settings added after runs were trained, with the value that does what was done before them: at that value they stay
# out of a run's identity, so that adding a setting retrains nothing that was trained without it.
ADDED = {"model": {"enh_source": False},
         "train": {"d_lr_scale": 1.0, "limit": None, "enh_ema_ramp": 0},
         "loss": {"enh_jitter_gain": 0.3, "enh_jitter_shift": 0.3, "box_outside": 0.0, "box_tight": 0.0,
                  "box_pairwise": 0.0, "enh_jitter": "uniform", "adv_colour": 0.0,
                  "hole_rec_share": 1.0},
         "objective": {"inpainting": True, "objectless_fake": False}}


@dataclass(frozen=True)
class Run:
    """One training run: what it trains (`objective`), with which settings, and which run's networks it starts
    from. The warm start and each variant are Runs; a variant's `start_from` is the warm start."""
    name: str
    objective: config.Objective
    model: config.ModelConfig
    loss: config.LossConfig
    train: config.TrainConfig
    data_root: str
    start_from: "Run | None" = None
    inherits: tuple = ()           # networks copied from start_from's finished checkpoint
    run: bool = True               # False: declared in params.yaml but not trained by `dvc repro`
    data_id: str | None = None     # the data set's fingerprint (data_fingerprint): other data, another run

    def config(self) -> dict:
        """Everything that determines the run, as stored in its checkpoints. The warm start it starts from enters
        by its hash, so a changed warm start retrains every variant; G_enh's settings do not enter a run without
        G_enh (the warm start, no_enhancement), so changing them does not retrain it."""
        parts = {"objective": config.as_dict(self.objective), "model": config.as_dict(self.model),
                 "loss": config.as_dict(self.loss), "train": config.as_dict(self.train)}
        for section, added in ADDED.items():  # at its neutral value a setting stays out of the identities trained before
            for key, neutral in added.items():
                if parts[section][key] == neutral:
                    parts[section].pop(key)
        if not self.objective.enhancement:
            for section, keys in ENHANCER_ONLY.items():
                for key in keys:
                    parts[section].pop(key, None)
        out = {"name": self.name, **parts, "data_root": self.data_root,
               "start_from": self.start_from.hash if self.start_from else None, "inherits": list(self.inherits)}
        if self.data_id is not None:  # a checkpoint trained on other data (same path, rebuilt) is not resumed
            out["data"] = self.data_id
        return out

    @property
    def hash(self) -> str:
        return config_hash(self.config())

    @property
    def checkpoint(self) -> Path:
        return last_checkpoint(self.name)


def data_fingerprint(root: str) -> str | None:
    """The MD5 of the data set's manifest.json (its sources, build settings, counts and photo lists), or None where
    there is none: what tells a rebuilt data set at the same path from the one a checkpoint was trained on."""
    path = resolve(root) / "manifest.json"
    return hashlib.md5(path.read_bytes()).hexdigest() if path.is_file() else None


def plan(params: config.Params) -> dict:
    """Every run params.yaml declares, by name: the warm start (when `warmup.steps` > 0), the variants, then the
    cut-and-paste baseline."""
    w = params.warmup
    data_id = data_fingerprint(params.data.root)
    warm_loss = dataclasses.replace(params.loss, binarize=w.binarize)

    def warm_train(steps: int) -> config.TrainConfig:
        return dataclasses.replace(params.train, steps=steps, lr=w.lr, decay_start=w.decay_start,
                                   seg_lr_scale=w.seg_lr_scale)
    warm = None
    if w.steps > 0:
        warm = Run(WARMUP, w.objective, params.model, warm_loss, warm_train(w.steps), params.data.root,
                   data_id=data_id)
    variants = {name: Run(name, objective_of(v), params.model, params.loss, params.train, params.data.root,
                          start_from=warm, inherits=tuple(w.hands_on) if warm else (), run=v.run, data_id=data_id)
                for name, v in params.variants.items()}
    cp = params.cut_and_paste
    # the warm start's settings, steps and data; only D_obj (and the mask priors) teach the mask
    baseline = Run(CUT_AND_PASTE, config.Objective(enhancement=False, second_pass=False, texture=False,
                                                   identity_weight=0.0, inpainting=False,
                                                   objectless_fake=cp.objectless_fake),
                   params.model, warm_loss, warm_train(cp.steps or w.steps or params.train.steps), params.data.root,
                   run=cp.run, data_id=data_id)
    return {**({WARMUP: warm} if warm else {}), **variants, CUT_AND_PASTE: baseline}


def with_seed(params: config.Params, seed: int) -> config.Params:
    """params with `train.seed` set to `seed` (every run of the plan takes its seed from there)."""
    return dataclasses.replace(params, train=dataclasses.replace(params.train, seed=seed))


def recipe(params: config.Params) -> dict:
    """The identity of every run `dvc repro` trains, with the seed left out: results over seeds (reports/seeds.json)
    describe the current params only when their recipe equals this."""
    return {name: r.hash for name, r in plan(with_seed(params, 0)).items() if r.run}


def get(params: config.Params, name: str) -> Run:
    """The run called `name` (a variant, or the warm start), or one line naming what params.yaml declares."""
    runs = plan(params)
    if name not in runs:
        raise config.ConfigError(f"unknown variant {name!r}; params.yaml declares: {', '.join(runs)}")
    return runs[name]


def objective_of(v: config.VariantConfig) -> config.Objective:
    return config.Objective(**{f.name: getattr(v, f.name) for f in dataclasses.fields(config.Objective)})


def config_hash(cfg: dict) -> str:
    """A run's identity: resuming (and starting from a warm start) needs the same hash."""
    train_cfg = {k: v for k, v in cfg["train"].items() if k not in BOOKKEEPING}
    return hashlib.sha256(json.dumps({**cfg, "train": train_cfg}, sort_keys=True).encode()).hexdigest()[:16]


def build_model(cfg: dict, with_texture: bool = True) -> SEIGAN:
    """A SEIGAN from a run config (as stored in checkpoints). A setting of `ADDED` missing there was at its neutral
    value (Run.config leaves it out), not at today's default."""
    cfg = {**cfg, **{section: {**added, **cfg[section]} for section, added in ADDED.items()}}
    return SEIGAN(config.from_dict(config.ModelConfig, cfg["model"], "model"),
                  config.from_dict(config.LossConfig, cfg["loss"], "loss"),
                  config.from_dict(config.TrainConfig, cfg["train"], "train"),
                  config.from_dict(config.Objective, cfg["objective"], f"{cfg['name']}.objective"),
                  with_texture=with_texture)


def load_trained(ckpt_dir: str | Path, device="cpu", state: dict | None = None) -> SEIGAN:
    """The trained model of a finished (or interrupted) run, for evaluation; no VGG needed. `state`: the
    already-loaded last.pt, so that a caller who needs its details reads the file once."""
    path = Path(ckpt_dir) / "last.pt"
    if state is None:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no checkpoint; train this variant first")
        state = atomic.load(path)
    model = build_model(state["config"], with_texture=False)
    model.load_full_state(state["model"])
    model.eval()
    return model.to(device)
