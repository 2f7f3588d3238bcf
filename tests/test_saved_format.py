"""Saved files stay loadable as models gain random streams.

A GAN saves every random-stream state (its latents' SeedGenerator, the DiffAugment
layers', dropout's) beside the weights. Files up to commit 70a12fd hold them by
position (`rng_state_0`, `rng_state_1`, ...); later ones by the stream's path in the
model (`rng_state:augmenter.layers.random_flip.generator`, see `ganzoo.models.random_streams`),
so a model with one more stream than the file gets each shared stream's own state.

The fixture tests/fixtures/old_rng_format.{keras,json} is a checkpoint of the
positional format: tests/fixtures/make_old_checkpoint.py run against a worktree of
commit 70a12fd on the TensorFlow backend (its docstring has the command). It is a
DCGAN on 8x8x1 (base_filters 8, latent_dim 8, augment translation + flip: three
streams), compiled and trained two steps of batch 8.
"""

import io
import json
import logging
import os
import zipfile

import h5py
import keras
import numpy as np

import ganzoo.models  # noqa: F401  (registers the classes load_model needs)
from ganzoo import models
from ganzoo.models import random_streams

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
OLD_KERAS = os.path.join(FIXTURES, "old_rng_format.keras")
OLD_JSON = os.path.join(FIXTURES, "old_rng_format.json")
# The streams of the fixture's model, in the order the positional format saved them.
OLD_STREAMS = [
    "seed_generator",
    "augmenter.layers.random_translation.generator",
    "augmenter.layers.random_flip.generator",
]


def _numpy(variable):
    return keras.ops.convert_to_numpy(variable).copy()


def _states(gan):
    return {key: _numpy(variable).astype("int64") for key, variable in random_streams.stream_keys(gan)}


def _data(n=16):
    return np.random.default_rng(0).uniform(-1.0, 1.0, (n, 8, 8, 1)).astype("float32")


def _build(augment, seed=0):
    return models.build_gan(
        "dcgan", (8, 8, 1), latent_dim=8, augment=augment, seed=seed,
        generator={"base_filters": 8}, discriminator={"base_filters": 8, "batch_norm": False},
    )


def _set_states(gan):
    """Gives every stream a distinct state, so a stream given another's state shows."""
    for i, (_, variable) in enumerate(random_streams.stream_keys(gan)):
        variable.assign(np.array([100 + i, 7 * i + 1], dtype=np.dtype(variable.dtype)))


def _file_rng_keys(path):
    """The random-stream keys in the GAN's own entry of a saved file."""
    if path.endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            h5 = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    else:
        h5 = h5py.File(path, "r")
    with h5:
        return sorted(k for k in h5["vars"].keys() if k.startswith("rng_state"))


def test_old_positional_checkpoint_loads_and_continues_training():
    with open(OLD_JSON, encoding="utf-8") as f:
        expected = json.load(f)
    assert _file_rng_keys(OLD_KERAS) == ["rng_state_0", "rng_state_1", "rng_state_2"]
    gan = keras.saving.load_model(OLD_KERAS)

    states = _states(gan)
    assert list(states) == OLD_STREAMS
    for key, record in zip(OLD_STREAMS, expected["rng_states"]):
        np.testing.assert_array_equal(states[key], record["value"], err_msg=key)
    # Different values per stream, so the check above would catch a swap.
    assert len({tuple(r["value"]) for r in expected["rng_states"]}) == len(OLD_STREAMS)

    assert len(gan.weights) == len(expected["weights"])
    for weight, record in zip(gan.weights, expected["weights"]):
        value = _numpy(weight).astype("float64")
        assert list(value.shape) == record["shape"], record["path"]
        np.testing.assert_allclose(value.sum(), record["sum"], rtol=1e-6, atol=1e-6, err_msg=record["path"])
        np.testing.assert_allclose(np.abs(value).sum(), record["abs_sum"], rtol=1e-6, err_msg=record["path"])
    assert int(_numpy(gan.d_optimizer.iterations)) == expected["d_iterations"] == 2
    assert int(_numpy(gan.g_optimizer.iterations)) == expected["g_iterations"] == 2
    np.testing.assert_allclose(gan.generate(2, seed=0), expected["samples_seed0"], atol=1e-4)

    before = [_numpy(w) for w in gan.trainable_weights]
    history = gan.fit(_data(), batch_size=8, epochs=1, shuffle=False, verbose=0)
    for name in ("d_loss", "g_loss"):
        assert np.all(np.isfinite(history.history[name])), name
    assert int(_numpy(gan.d_optimizer.iterations)) == 4
    assert int(_numpy(gan.g_optimizer.iterations)) == 4
    changed = [not np.array_equal(b, _numpy(w)) for b, w in zip(before, gan.trainable_weights)]
    assert all(changed), [w.path for w, c in zip(gan.trainable_weights, changed) if not c]
    # Every stream went on from the file's state (its counter moved on from there).
    for key, record in zip(OLD_STREAMS, expected["rng_states"]):
        now = _states(gan)[key]
        assert now[0] == record["value"][0] and now[1] > record["value"][1], (key, now, record["value"])


def test_new_format_round_trip_restores_every_stream_by_key(tmp_path):
    gan = _build(["translation", "flip"])
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    _set_states(gan)
    saved = _states(gan)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    assert _file_rng_keys(path) == sorted("rng_state:" + key for key in OLD_STREAMS)

    loaded = keras.saving.load_model(path)
    restored = _states(loaded)
    assert list(restored) == OLD_STREAMS
    for key in OLD_STREAMS:
        np.testing.assert_array_equal(restored[key], saved[key], err_msg=key)


def test_keys_do_not_depend_on_what_the_process_built_before():
    # Keras numbers SeedGenerators and layers process-wide (seed_generator_3/..., random_flip_1);
    # the keys name attributes and per-model class counts instead.
    first, second = _build(["translation", "flip"]), _build(["translation", "flip"])
    assert [v.path for _, v in random_streams.stream_keys(first)] != [v.path for _, v in random_streams.stream_keys(second)]
    assert list(_states(first)) == list(_states(second)) == OLD_STREAMS


def test_one_more_stream_gets_no_other_streams_state(tmp_path, caplog):
    # The file's model has streams [latents, flip]; the loading model one more, between them:
    # [latents, translation, flip]. By position (the format before keys), the file's flip state
    # (position 1) would have gone to translation and flip would have kept a fresh state.
    # By key, flip gets its own state and translation keeps its fresh one.
    older = _build(["flip"])
    _set_states(older)
    saved = _states(older)
    path = str(tmp_path / "older.weights.h5")
    older.save_weights(path)

    newer = _build(["translation", "flip"], seed=5)
    fresh = _states(newer)
    with caplog.at_level(logging.INFO, logger="ganzoo.models.random_streams"):
        newer.load_weights(path)
    loaded = _states(newer)
    flip = "augmenter.layers.random_flip.generator"
    translation = "augmenter.layers.random_translation.generator"
    np.testing.assert_array_equal(loaded["seed_generator"], saved["seed_generator"])
    np.testing.assert_array_equal(loaded[flip], saved[flip])
    np.testing.assert_array_equal(loaded[translation], fresh[translation])
    assert any(translation in r.getMessage() and "fresh" in r.getMessage() for r in caplog.records)
    # What position would have done: the file's second state (flip's) onto the model's second
    # stream (translation), and flip, third, left fresh; both differ from the keyed result.
    by_position = dict(zip(loaded, saved.values()))
    assert list(by_position) == ["seed_generator", translation]
    np.testing.assert_array_equal(by_position[translation], saved[flip])
    assert not np.array_equal(by_position[translation], loaded[translation])
    assert not np.array_equal(fresh[flip], loaded[flip])
    assert _file_rng_keys(path) == ["rng_state:augmenter.layers.random_flip.generator",
                                    "rng_state:seed_generator"]

    # The other way round: the file's translation state has no stream here; it is ignored, loudly.
    caplog.clear()
    newer_path = str(tmp_path / "newer.weights.h5")
    _set_states(newer)
    newer.save_weights(newer_path)
    again = _build(["flip"], seed=5)
    with caplog.at_level(logging.WARNING, logger="ganzoo.models.random_streams"):
        again.load_weights(newer_path)
    np.testing.assert_array_equal(_states(again)[flip], _states(newer)[flip])
    assert any(translation in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_old_positional_file_with_other_stream_count_assigns_nothing(caplog):
    # The positional fixture (3 streams) into a model with 4: which state is whose cannot be
    # told, so every stream keeps its fresh state and a warning says so.
    gan = _build(["translation", "flip", "brightness"], seed=5)
    fresh = _states(gan)
    with caplog.at_level(logging.WARNING, logger="ganzoo.models.random_streams"):
        gan.load_weights(OLD_KERAS)
    for key, value in _states(gan).items():
        np.testing.assert_array_equal(value, fresh[key], err_msg=key)
    assert any("by position" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    # The weights did load.
    with open(OLD_JSON, encoding="utf-8") as f:
        first_weight = json.load(f)["weights"][0]
    np.testing.assert_allclose(_numpy(gan.weights[0]).astype("float64").sum(), first_weight["sum"], rtol=1e-6)
