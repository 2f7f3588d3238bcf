"""Config loading and validation: every zoo config is valid, every bad one is one clear line."""

import dataclasses
import os
import types
import typing

import pytest
import yaml

from ganzoo import arguments, config, config_checks, config_files, models

BAD = os.path.join(os.path.dirname(__file__), "bad_configs")

# file -> words the one-line message must contain
BAD_CASES = {
    "unknown_key.yaml": ["model.latnt_dim", "Did you mean", "latent_dim"],
    "wrong_type.yaml": ["data.batch_size", "integer", "sixty-four"],
    "unknown_family.yaml": ["dcgann", "dcgan"],
    "unknown_dataset.yaml": ["ring9", "ring8"],
    "zero_batch.yaml": ["data.batch_size", ">= 1"],
    "malformed.yaml": ["malformed YAML", "line"],
    "unknown_builder_arg.yaml": ["model.generator.base_filter", "base_filters"],
    "unknown_loss.yaml": ["wasserstien"],
    "lr_string.yaml": ["train.d_learning_rate", "number", "fast"],
    "missing_model.yaml": ["Missing required key", "model"],
    "output_activation_unknown.yaml": ["model.generator.output_activation", "'abc'", "'tanh'", "null"],
    "hidden_units_too_large.yaml": ["model.generator.hidden_units[1]", "'1e30'", ">= 1 and <= 65536"],
}
MLP_ON_RING8 = {"name": "x", "model": {"family": "mlp"}, "data": {"dataset": "ring8"}}


@pytest.mark.parametrize("name", config_files.zoo_config_names())
def test_zoo_configs_are_valid(name):
    entry = config.load(name)
    assert entry.name == name
    assert entry.run_dir == os.path.join("runs", name)


def test_zoo_has_the_foundation_configs():
    assert {"dcgan_digits", "dcgan_fashion_mnist", "gan_ring8", "gan_grid25"} <= set(
        config_files.zoo_config_names()
    )


@pytest.mark.parametrize("filename", sorted(BAD_CASES))
def test_bad_config_is_one_clear_line(filename):
    with pytest.raises(config.ConfigError) as error:
        config.load(os.path.join(BAD, filename))
    message = str(error.value)
    assert "\n" not in message
    assert filename in message  # names the file
    for word in BAD_CASES[filename]:
        assert word in message, f"{word!r} not in {message!r}"


def test_missing_file_suggests_zoo_config():
    with pytest.raises(config.ConfigError, match="not found.*dcgan_digits"):
        config.load("dcgan_digit")


def test_values_are_typed_and_defaults_filled():
    entry = config.from_dict(
        {"name": "x", "model": {"family": "mlp", "latent_dim": 3}, "data": {"dataset": "ring8"},
         "train": {"d_learning_rate": "1e-3", "epochs": 2}}
    )
    assert entry.train.d_learning_rate == pytest.approx(1e-3)  # YAML 1.1 reads 1e-3 as a string
    assert entry.train.g_learning_rate == pytest.approx(2e-4)
    assert entry.train.epochs == 2 and entry.data.batch_size == 64
    assert config.from_dict(entry.to_dict()) == entry


def test_bool_is_not_an_integer():
    with pytest.raises(config.ConfigError, match="train.epochs.*integer"):
        config.from_dict(
            {"name": "x", "model": {"family": "mlp"}, "data": {"dataset": "ring8"},
             "train": {"epochs": True}}
        )


def _declared(hint, markers=()):
    """(the type, its markers) of an annotation, through Annotated and Optional."""
    if typing.get_origin(hint) is typing.Annotated:
        base, *more = typing.get_args(hint)
        return _declared(base, (*markers, *more))
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return _declared(next(a for a in typing.get_args(hint) if a is not type(None)), markers)
    return hint, markers


def _bounded_keys():
    """(path, type, largest allowed value) of every config field and builder argument with a maximum."""
    sections = [((), config.Config)]
    while sections:
        prefix, cls = sections.pop()
        hints = typing.get_type_hints(cls, include_extras=True)
        for field in dataclasses.fields(cls):
            kind, markers = _declared(hints[field.name], (field.metadata.get("range"),))
            if dataclasses.is_dataclass(kind):
                sections.append(((*prefix, field.name), kind))
            for marker in markers:
                if isinstance(marker, arguments.Range) and marker.maximum is not None:
                    yield (*prefix, field.name), kind, marker.maximum
    for family, dataset in (("mlp", "ring8"), ("dcgan", "digits"), ("pix2pix", "fashion_mnist_edges"),
                            ("srgan", "digits_x2"), ("stylegan2", "digits")):
        module = models.get_family(family)
        for role, builder in (("generator", module.build_generator), ("discriminator", module.build_discriminator)):
            for name, hint in arguments.keyword_hints(builder, config_checks.SET_ELSEWHERE).items():
                kind, markers = _declared(hint)
                for marker in markers:
                    if isinstance(marker, arguments.Range) and marker.maximum is not None:
                        yield ("model", role, name, family, dataset), kind, marker.maximum


IMAGE_TO_IMAGE_KEYS = {("model", "reconstruction_weight"), ("model", "adversarial_weight"),
                       ("model", "perceptual_weight")}
UNPAIRED_KEYS = {("model", "cycle_weight"), ("model", "identity_weight"), ("model", "pool_size")}
STYLEGAN2_KEYS = {("model", "r1_interval"), ("model", "pl_weight"), ("model", "pl_interval"), ("model", "style_mixing")}


def _with(path, value):
    raw = {"name": "x", "model": {"family": "mlp"}, "data": {"dataset": "ring8"}}
    if len(path) == 5:  # a builder argument of a family, on a dataset it builds for
        *path, raw["model"]["family"], raw["data"]["dataset"] = path
    elif tuple(path) in IMAGE_TO_IMAGE_KEYS:
        raw = {"name": "x", "model": {"family": "srgan"}, "data": {"dataset": "digits_x2"}}
        if path[-1] == "perceptual_weight":  # it needs its feature network
            raw["model"]["perceptual"] = "fashion_mnist"
    elif tuple(path) in UNPAIRED_KEYS:
        raw = {"name": "x", "model": {"family": "cyclegan"}, "data": {"dataset": "digits[label=0]|digits[label=1]"}}
    elif tuple(path) in STYLEGAN2_KEYS:
        raw = {"name": "x", "model": {"family": "stylegan2"}, "data": {"dataset": "digits"}}
    elif tuple(path) == ("model", "encoder_weight"):
        raw = {"name": "x", "model": {"family": "ganomaly"}, "data": {"dataset": "digits[label=0]"}}
    elif tuple(path) == ("data", "scale"):  # super-resolution pairs of a folder, for an image-to-image family
        folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad_inputs", "images")
        raw = {"name": "x", "model": {"family": "srgan"}, "data": {"dataset": f"folder:{folder}", "image_size": [16, 16]}}
    elif tuple(path) == ("train", "decay_epochs"):  # at most train.epochs
        raw["train"] = {"epochs": 1_000_000}
    parent = raw
    for key in path[:-1]:
        parent = parent.setdefault(key, {})
    parent[path[-1]] = value
    return raw


BOUNDED = list(_bounded_keys())


def test_sizes_and_rates_have_declared_upper_bounds():
    keys = {".".join(path[:3]) for path, _, _ in BOUNDED}
    for key in ("model.latent_dim", "model.pack", "model.num_generators", "data.batch_size", "data.limit",
                "train.epochs", "train.steps_per_epoch", "train.d_learning_rate", "train.seed",
                "output.samples", "model.generator.base_filters", "model.generator.hidden_units",
                "model.discriminator.base_filters", "model.discriminator.minibatch_group_size"):
        assert key in keys, key


@pytest.mark.parametrize("path, kind, maximum", BOUNDED, ids=[".".join(path) for path, _, _ in BOUNDED])
def test_the_largest_allowed_value_loads_and_the_next_is_one_clear_line(path, kind, maximum):
    listed = typing.get_origin(kind) in (list, tuple)  # a bound of each item: [maximum]
    largest = int(maximum) if (typing.get_args(kind) or (kind,))[0] is int else maximum
    too_large = largest + 1 if isinstance(largest, int) else largest * 1.5
    if path[:3] == ("data", "batch_size") or path[:2] == ("model", "pack"):
        config.from_dict(_with(path, largest))  # batch_size 65536 is a multiple of pack 1, pack 64 of 64
    else:
        config.from_dict(_with(path, [largest] if listed else largest))
    with pytest.raises(config.ConfigError) as error:
        config.from_dict(_with(path, [too_large] if listed else too_large))
    key = ".".join(path[:3]) + ("[0]" if listed else "")
    assert f"Key '{key}' must be" in str(error.value) and f"<= {maximum}" in str(error.value)


def test_nan_and_infinity_are_refused():
    for value in (float("nan"), float("inf"), "-inf", yaml.safe_load("-.inf"), 10**400):
        with pytest.raises(config.ConfigError, match="train.g_learning_rate.*finite number"):
            config.from_dict({**MLP_ON_RING8, "train": {"g_learning_rate": value}})


def test_builder_values_are_checked_and_lists_stand_for_tuples():
    entry = config.from_dict({**MLP_ON_RING8, "model": {
        "family": "mlp", "generator": {"hidden_units": [8, 4], "output_activation": "sigmoid"},
        "discriminator": {"hidden_units": (16,), "dropout": "5e-1"}}})
    assert entry.model.generator == {"hidden_units": [8, 4], "output_activation": "sigmoid"}
    assert entry.model.discriminator == {"hidden_units": [16], "dropout": 0.5}
    bad = {("generator", "hidden_units"): [8] * 17, ("discriminator", "dropout"): 1.0,
           ("discriminator", "pack"): 2, ("generator", "batch_norm"): "yes please"}
    words = {"hidden_units": "at most 16 items", "dropout": "< 1.0", "pack": "set by 'model.pack'",
             "batch_norm": "true or false"}
    for (role, key), value in bad.items():
        with pytest.raises(config.ConfigError, match=f"model.{role}.{key}.*{words[key]}"):
            config.from_dict({**MLP_ON_RING8, "model": {"family": "mlp", role: {key: value}}})


def test_arguments_that_must_agree_are_checked_together():
    with pytest.raises(config.ConfigError, match="batch_norm=True and spectral_norm=True"):
        config.from_dict({"name": "x", "model": {"family": "dcgan", "discriminator": {
            "batch_norm": True, "spectral_norm": True}}, "data": {"dataset": "digits"}})
    with pytest.raises(config.ConfigError, match="data.batch_size.*minibatch_group_size.*multiple of 8"):
        config.from_dict({"name": "x", "model": {"family": "mlp", "pack": 2, "discriminator": {
            "minibatch_stddev": True}}, "data": {"dataset": "ring8", "batch_size": 12}})
    with pytest.raises(config.ConfigError, match="data.batch_size.*minibatch_group_size.*multiple of 4"):
        config.from_dict({"name": "x", "model": {"family": "stylegan2"}, "data": {"dataset": "digits", "batch_size": 30}})


@pytest.mark.parametrize("name", ["../run", "a/b", "", ".hidden", "x" * 129])
def test_name_is_path_safe(name):
    with pytest.raises(config.ConfigError, match="Key 'name' must be a path-safe name"):
        config.from_dict({**MLP_ON_RING8, "name": name})


def test_every_builder_argument_is_declared():
    for builder in (models.dcgan.build_generator, models.dcgan.build_discriminator, models.mlp.build_generator,
                    models.mlp.build_discriminator, models.conditional.build_conditional_generator):
        assert arguments.keyword_hints(builder)  # raises TypeError on an undeclared keyword


def test_output_metrics_need_known_names_and_a_dataset_with_judges():
    digits = {"name": "x", "model": {"family": "dcgan"}, "data": {"dataset": "digits"}}
    assert config.from_dict({**digits, "output": {"metrics": ["fid", "kid"]}}).output.metrics == ["fid", "kid"]
    with pytest.raises(config.ConfigError, match="output.metrics.*'fdi'.*choose from"):
        config.from_dict({**digits, "output": {"metrics": ["fdi"]}})
    with pytest.raises(config.ConfigError, match="output.metrics.*shipped judges.*digits.*'ring8'"):
        config.from_dict({**MLP_ON_RING8, "output": {"metrics": ["fid"]}})
