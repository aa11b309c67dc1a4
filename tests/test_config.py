import dataclasses
import typing

import pytest

from seigan import config
from tests.conftest import ROOT
from tests.conftest import BASE, tiny_params


def test_repository_params_parse_for_every_profile():
    for profile in ("cpu", "gpu", "tiny"):
        p = config.load(profile=profile)
        assert {"full", "no_enhancement", "no_identity", "no_texture", "single_pass"} <= set(p.variants)
    assert config.load(profile="gpu").model.resolution >= 128
    assert config.load(profile="gpu").model.ngf == 64


def test_unknown_key_is_named():
    with pytest.raises(config.ConfigError, match=r"unknown key train\.stpes"):
        tiny_params(train={"stpes": 3})


def test_wrong_type_is_named():
    with pytest.raises(config.ConfigError, match=r"train\.steps must be int, got str"):
        tiny_params(train={"steps": "100"})
    with pytest.raises(config.ConfigError, match=r"variants\.full\.enhancement must be bool"):
        config.parse({**BASE, "variants": {"full": {"enhancement": "yes"}}})


def test_bool_is_not_a_number_and_int_is_a_float():
    with pytest.raises(config.ConfigError, match=r"model\.ngf must be int, got bool"):
        tiny_params(model={"ngf": True})
    assert tiny_params(train={"lr": 1}).train.lr == 1.0


def test_unknown_variant_and_profile_and_missing_section():
    p = tiny_params()
    with pytest.raises(config.ConfigError, match="unknown variant 'fulll'"):
        p.variant("fulll")
    with pytest.raises(config.ConfigError, match="unknown profile 'tpu'"):
        config.parse({**BASE, "profile": "tpu"})
    raw = dict(BASE)
    raw.pop("loss")
    with pytest.raises(config.ConfigError, match="missing section 'loss'"):
        config.parse(raw)


def test_profile_overrides_merge_deeply():
    raw = {**BASE, "profile": "big", "profiles": {"big": {"model": {"ngf": 64}}}}
    p = config.parse(raw)
    assert p.model.ngf == 64 and p.model.resolution == 32


def test_bad_base_value_is_rejected_even_when_a_profile_overrides_it():
    raw = {**BASE, "train": {"steps": "many"}, "profile": "big", "profiles": {"big": {"train": {"steps": 3}}}}
    with pytest.raises(config.ConfigError, match=r"train\.steps must be int"):
        config.parse(raw)


def test_params_file_must_hold_every_key(tmp_path):
    import yaml
    raw = config.read_yaml()
    del raw["train"]["steps"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(config.ConfigError, match=r"missing key train\.steps"):
        config.load(tmp_path / "params.yaml")
    raw = config.read_yaml()
    del raw["variants"]["no_identity"]["identity_weight"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(config.ConfigError, match=r"missing key variants\.no_identity\.identity_weight"):
        config.load(tmp_path / "params.yaml")


def test_device_choice():
    import torch
    assert config.torch_device("cpu") == torch.device("cpu")
    assert config.torch_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(config.ConfigError, match="train.device must be cpu, cuda or auto"):
        config.torch_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(config.ConfigError, match="train.device is cuda but torch sees no CUDA device"):
            config.torch_device("cuda")


def test_cpu_profile_keys_apply_and_warmup_is_reserved():
    raw = {**BASE, "profile": "cpu", "profiles": {"cpu": {"model": {"ngf": 12}}}}
    assert config.parse(raw).model.ngf == 12  # never silently ignored
    with pytest.raises(config.ConfigError, match="variants.warmup: the name is taken"):
        config.parse({**BASE, "variants": {**BASE["variants"], "warmup": BASE["variants"]["full"]}})


def literal_fields():
    for section, cls in config.SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if typing.get_origin(hints[f.name]) is typing.Literal:
                yield section, f.name


@pytest.mark.parametrize("section,key", list(literal_fields()))
def test_every_choice_is_checked_when_params_are_read(section, key):
    """Allowed values live beside each field (Literal) and are checked once, when params.yaml is parsed."""
    raw = config.read_yaml()
    raw[section][key] = "no-such-choice"
    with pytest.raises(config.ConfigError, match=rf"params.yaml: {section}\.{key} must be one of .*got 'no-such-choice'"):
        config.parse(raw)


def test_bounds_and_resolution_rules_are_checked_when_params_are_read():
    for section, over, message in [("train", {"workers": -1}, r"train\.workers must be >= 0"),
                                   ("train", {"nproc": 0}, r"train\.nproc must be >= 1"),
                                   ("model", {"resolution": 40}, r"model\.resolution 40 must be a multiple")]:
        raw = config.read_yaml()
        raw[section].update(over)
        with pytest.raises(config.ConfigError, match=message):
            config.parse(raw)


def test_unknown_kind_of_background_photo_is_named():
    raw = config.read_yaml()
    raw["data"]["build"]["kinds"] = ["scene", "indoor"]
    with pytest.raises(config.ConfigError, match=r"data\.build\.kinds must be a non-empty list of scene, close, aerial"):
        config.parse(raw)


def test_dataclass_defaults_are_the_shipped_recipe():
    """A config made in code (as the unit tests make theirs) is params.yaml's CPU default, not another recipe."""
    shipped = config.load(ROOT / "params.yaml", profile="cpu")
    for name, cls in config.SECTIONS.items():
        assert getattr(shipped, name) == cls(), f"{name}: the dataclass defaults differ from params.yaml"
    assert shipped.variants["full"] == config.VariantConfig()
