"""Config loading and validation: every zoo config is valid, every bad one is one clear line."""

import os

import pytest

from ganzoo import config

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
}


@pytest.mark.parametrize("name", config.zoo_config_names())
def test_zoo_configs_are_valid(name):
    entry = config.load(name)
    assert entry.name == name
    assert entry.run_dir == os.path.join("runs", name)


def test_zoo_has_the_foundation_configs():
    assert {"dcgan_digits", "dcgan_fashion_mnist", "gan_ring8", "gan_grid25"} <= set(
        config.zoo_config_names()
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
