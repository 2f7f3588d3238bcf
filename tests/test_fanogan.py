"""The f-AnoGAN encoder on a frozen zoo GAN: the conformance checks an encoder has, scores, saving, refusals."""

import os

import keras
import numpy as np
import pytest

import ganzoo
from ganzoo.models import dcgan, fanogan, GAN
from test_ganomaly import _anomalous, _normal

SHAPE = (8, 8, 1)


def _values(variables):
    return [keras.ops.convert_to_numpy(v).copy() for v in variables]


@pytest.fixture(scope="module")
def gan():
    """A tiny R1 DCGAN trained on the normal stripes: the GAN f-AnoGAN puts an encoder before."""
    keras.utils.set_random_seed(0)
    model = GAN(dcgan.build_generator(SHAPE, latent_dim=4, base_filters=4),
                dcgan.build_discriminator(SHAPE, base_filters=4), latent_dim=4, r1_weight=0.1, seed=0)
    model.compile(d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5))
    model.fit(_normal(256, 1), batch_size=32, epochs=4, verbose=0)
    return model


def _scorer(gan, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    scorer = fanogan.build_fanogan(gan, base_filters=4, **kwargs)
    scorer.compile(optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5))
    return scorer


@pytest.fixture(scope="module")
def trained(gan):
    """The scorer of seed 3 and its twin, each fitted one epoch, with what the checks read."""
    scorer, twin = _scorer(gan, 3), _scorer(gan, 3)
    before = {"encoder": _values(scorer.encoder.trainable_variables),
              "frozen": _values(scorer.generator.weights + scorer.features.weights)}
    history = scorer.fit(_normal(64, 1), batch_size=16, epochs=1, shuffle=False, verbose=0,
                         validation_data=(_normal(32, 2),))
    twin.fit(_normal(64, 1), batch_size=16, epochs=1, shuffle=False, verbose=0)
    return {"scorer": scorer, "twin": twin, "history": history.history, "before": before}


def test_one_epoch_moves_every_encoder_weight_and_nothing_of_the_gan(trained, gan):
    scorer = trained["scorer"]
    moved = [np.array_equal(a, b) for a, b in zip(trained["before"]["encoder"],
                                                   _values(scorer.encoder.trainable_variables))]
    assert not any(moved), "encoder weights not updated"
    for a, b in zip(trained["before"]["frozen"], _values(scorer.generator.weights + scorer.features.weights)):
        np.testing.assert_array_equal(a, b)
    # The GAN it was built from is untouched and still trainable (the scorer holds frozen copies).
    assert gan.generator.trainable and scorer.generator is not gan.sampling_generator
    for key in ("loss", "image_residual", "feature_residual", "val_loss"):
        assert np.all(np.isfinite(trained["history"][key])), key
    assert int(keras.ops.convert_to_numpy(scorer.optimizer.iterations)) == 4


def test_evaluate_is_repeatable_and_updates_nothing(trained):
    scorer = trained["scorer"]
    before = _values(scorer.variables)
    first = scorer.evaluate(_normal(32, 2), batch_size=16, verbose=0, return_dict=True)
    again = scorer.evaluate(_normal(32, 2), batch_size=16, verbose=0, return_dict=True)
    assert set(first) == {"loss", "image_residual", "feature_residual"}
    np.testing.assert_allclose(list(again.values()), list(first.values()), rtol=1e-5)
    for a, b in zip(before, _values(scorer.variables)):
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_scores_and_saved_scorer_resumes(trained, tmp_path):
    scorer, twin = trained["scorer"], trained["twin"]
    images = _normal(8, 5)
    np.testing.assert_allclose(scorer.score(images), twin.score(images), rtol=1e-4, atol=1e-6)
    scorer.calibrate(_normal(64, 6), fpr=0.1)
    path = os.path.join(tmp_path, "scorer.keras")
    scorer.save(path)
    reloaded = ganzoo.load_model(path)
    assert isinstance(reloaded, fanogan.FAnoGAN) and reloaded.threshold == scorer.threshold
    np.testing.assert_array_equal(reloaded.score(images), scorer.score(images))
    # The next epoch from the saved state (weights, Adam's slots) matches the uninterrupted one.
    start = _values(scorer.encoder.weights)
    for model in (scorer, reloaded):
        model.fit(_normal(64, 1), batch_size=16, epochs=1, shuffle=False, verbose=0)
    for s, a, b in zip(start, _values(scorer.encoder.weights), _values(reloaded.encoder.weights)):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-2 * np.max(np.abs(a - s), initial=0.0) + 1e-6)


def test_scores_rank_anomalies_above_normal_images(gan):
    scorer = _scorer(gan)
    scorer.fit(_normal(256, 1), batch_size=32, epochs=6, verbose=0)
    normal, anomalous = _normal(64, 2), _anomalous(64, 3)
    aurocs = {}
    for kind in fanogan.SCORE_KINDS:
        scores = scorer.score(np.concatenate([normal, anomalous]), kind=kind)
        assert scores.shape == (128,) and np.all(scores >= 0)
        a, b = scores[64:, None], scores[None, :64]
        aurocs[kind] = np.mean((a > b) + 0.5 * (a == b))
    assert aurocs["izif"] > 0.9, aurocs
    np.testing.assert_allclose(scorer.score(normal[:4]), scorer.score(normal[:4], kind="image")
                               + scorer.kappa * scorer.score(normal[:4], kind="features"), rtol=1e-4)


def test_gans_without_one_image_per_judgement_are_refused(gan):
    packed = GAN(dcgan.build_generator(SHAPE, latent_dim=4, base_filters=4),
                 dcgan.build_discriminator(SHAPE, base_filters=4, pack=2), latent_dim=4, pack=2)
    with pytest.raises(ValueError, match="without packing"):
        fanogan.build_fanogan(packed)
    stddev = GAN(dcgan.build_generator(SHAPE, latent_dim=4, base_filters=4),
                 dcgan.build_discriminator(SHAPE, base_filters=4, minibatch_stddev=True), latent_dim=4)
    with pytest.raises(ValueError, match="minibatch-stddev"):
        fanogan.build_fanogan(stddev)
    with pytest.raises(ValueError, match="score_kind"):
        fanogan.build_fanogan(gan, score_kind="latent")
    with pytest.raises(ValueError, match="normal images"):
        _scorer(gan).fit(_normal(8, 0), _normal(8, 0), epochs=1, verbose=0)
