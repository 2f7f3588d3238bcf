"""The conformance suite every ganzoo model passes, on every backend.

A model's test module subclasses `GANConformance`, names the class
`Test<Model>` and provides `build_model(seed)` (an uncompiled GAN) and
`make_data(n)` (a float32 array of samples), and conditional models
`make_labels(n)`. Image-to-image models give inputs as `make_data`, targets as
`make_labels` (Keras' ``fit(x, y)``) and override `samples` and `sample_shape`. pytest then runs each check below
for that model; `make test` runs pytest once per Keras backend.
"""

import os

import keras
import numpy as np
import pytest

import ganzoo

# A variant of a family (another loss, penalty or option on the same networks) runs on TensorFlow
# and torch; JAX's pass, the longest, runs each family's main class (for the time budget).
VARIANT = pytest.mark.skipif(keras.backend.backend() == "jax",
                             reason="a variant of a family checked on JAX by its main class; run on TF and torch")

BATCH_SIZE = 8
N_SAMPLES = 32  # four steps per epoch: enough to move every weight, fast on 2 cores


def values(variables):
    """Returns NumPy copies of the variables' current values."""
    return [keras.ops.convert_to_numpy(v).copy() for v in variables]


def iterations(optimizer):
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


class GANConformance:
    """Checks shared by all GAN models. Subclasses define the two hooks."""

    # Whether to run the Keras-callbacks check: the callbacks see the GAN's step, logs and saving, the
    # same for every model of one batch convention and step; one class per convention and own step
    # runs it (DCGAN, conditional, pairs, unpaired, StyleGAN2, GANomaly), the others set False.
    check_callbacks = True
    # Bounds of the generator's output, or None when unbounded (2-D points).
    sample_range = (-1.0, 1.0)
    loss = "non_saturating"
    d_learning_rate = 1e-3

    def build_model(self, seed):
        raise NotImplementedError

    def make_data(self, n):
        raise NotImplementedError

    def samples(self, model, n, seed):
        """What the model makes, for the checks: `n` samples from latent seed `seed`.

        Image-to-image models override it: their outputs for `n` inputs drawn with `seed`.
        """
        return model.generate(n, seed=seed, batch_size=2)

    def sample_shape(self):
        """Shape of one sample the model makes (the data's, unless overridden)."""
        return tuple(self.data().shape[1:])

    def networks(self, model):
        """The networks whose every weight one epoch must move (CycleGAN has four)."""
        return (model.generator, *model.discriminators)

    def unchanged_by_design(self, model):
        """Paths of weights that get no gradient by construction (say why where overridden)."""
        return []

    # ------------------------------------------------------------- helpers
    def compiled_model(self, seed=0, **compile_kwargs):
        keras.utils.set_random_seed(seed)
        model = self.build_model(seed)
        model.compile(
            d_optimizer=keras.optimizers.Adam(self.d_learning_rate, beta_1=0.5),
            g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
            loss=self.loss,
            **compile_kwargs,
        )
        return model

    def data(self):
        return np.asarray(self.make_data(N_SAMPLES), dtype="float32")

    def make_labels(self, n):
        """Labels of the `n` samples for conditional models; None for unconditional ones."""
        return None

    def held_out(self):
        """Validation data: the training samples reversed (and their labels), as Keras takes it."""
        labels = self.make_labels(N_SAMPLES)
        x = self.data()[::-1].copy()
        return (x,) if labels is None else (x, np.asarray(labels)[::-1].copy())

    def fit(self, model, epochs=1, validate=False):
        return model.fit(
            self.data(), self.make_labels(N_SAMPLES), batch_size=BATCH_SIZE, epochs=epochs,
            shuffle=False, verbose=0, validation_data=self.held_out() if validate else None,
        )

    # -------------------------------------------------------------- checks
    def test_builds_and_generates_in_range(self):
        model = self.compiled_model()
        samples = self.samples(model, 5, seed=0)
        assert samples.shape == (5,) + self.sample_shape()
        assert samples.dtype == np.float32
        assert np.all(np.isfinite(samples))
        if self.sample_range is not None:
            low, high = self.sample_range
            assert samples.min() >= low and samples.max() <= high

    def trained(self):
        """The model of seed 3 trained for one epoch, with what the checks need, built once per class.

        Tracing a train step is most of a check's time (JAX compiles it), so the checks share one
        trained model and its same-seed twin. Only the save/resume check trains it further, after
        reading what it needs; the others read values recorded here.
        """
        cache = type(self).__dict__.get("_trained")
        if cache is None:
            model = self.compiled_model(seed=3)
            networks = self.networks(model)
            trainable = [v for net in networks for v in net.trainable_variables]
            statistics = [v for net in networks for v in net.non_trainable_variables if "moving" in v.path]
            before = (values(trainable), values(statistics))
            # Validation must not touch training: the twin trains without it and must match.
            history = self.fit(model, validate=True)
            twin = self.compiled_model(seed=3)
            self.fit(twin)
            cache = {
                "model": model,
                "history": history.history,
                "unchanged": [
                    v.path for v, b, a in zip(trainable, before[0], values(trainable))
                    if np.array_equal(b, a) and v.path not in self.unchanged_by_design(model)
                ],
                "frozen": [v.path for v, b, a in zip(statistics, before[1], values(statistics))
                           if np.array_equal(b, a)],
                "samples": (self.samples(model, 6, seed=1), self.samples(twin, 6, seed=1)),
            }
            type(self)._trained = cache
        return cache

    def test_one_epoch_changes_every_weight_and_logs_finite_losses(self):
        trained = self.trained()
        assert not trained["unchanged"], f"trainable weights not updated: {trained['unchanged']}"
        assert not trained["frozen"], f"batch-norm statistics not updated: {trained['frozen']}"
        history = trained["history"]
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert key in history, f"{key} missing from the logs"
            assert np.all(np.isfinite(history[key])), key
        for key in ("d_real", "d_fake"):
            assert 0.0 <= history[key][-1] <= 1.0

    def test_evaluate_and_validation_data_score_held_out_data_without_updates(self):
        trained = self.trained()
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):  # fit(..., validation_data=...)
            assert np.all(np.isfinite(trained["history"][f"val_{key}"])), key
        model = trained["model"]
        before = values(model.variables)
        first = model.evaluate(*self.held_out(), batch_size=BATCH_SIZE, verbose=0, return_dict=True)
        again = model.evaluate(*self.held_out(), batch_size=BATCH_SIZE, verbose=0, return_dict=True)
        assert set(first) == {m.name for m in model.metrics} >= {"d_loss", "g_loss", "d_real", "d_fake"}
        assert all(np.isfinite(v) for v in first.values()), first
        # Fixed latents and inference mode: the same numbers twice, and no variable moved
        # (weights, batch-norm statistics, optimizer slots, the random stream).
        np.testing.assert_allclose(list(again.values()), list(first.values()), rtol=1e-5)
        for a, b, v in zip(before, values(model.variables), model.variables):
            np.testing.assert_array_equal(a, b, err_msg=v.path)

    def assert_update_counts(self, model, epochs):
        """Each optimizer's `iterations` equals its number of updates."""
        steps = epochs * N_SAMPLES // BATCH_SIZE
        assert iterations(model.g_optimizer) == steps
        assert iterations(model.d_optimizer) == (
            steps * model.d_steps_per_g_step + model.d_pretrain_steps
        )

    def test_counts_updates_saves_reloads_identically_and_resumes(self, tmp_path):
        model = self.trained()["model"]
        self.assert_update_counts(model, epochs=1)
        path = os.path.join(tmp_path, "gan.keras")
        model.save(path)
        reloaded = ganzoo.load_model(path)

        np.testing.assert_array_equal(self.samples(model, 8, seed=0), self.samples(reloaded, 8, seed=0))
        assert iterations(reloaded.d_optimizer) == iterations(model.d_optimizer)
        assert iterations(reloaded.g_optimizer) == iterations(model.g_optimizer)
        for a, b in zip(values(model.optimizer.variables), values(reloaded.optimizer.variables)):
            np.testing.assert_array_equal(a, b)

        # The same next epoch from the saved state (weights, optimizer slots, RNG) as without saving.
        # Multi-threaded float32 reductions are not bit-reproducible across traces, and Adam
        # divides by a root of tiny second moments, so compare each weight's change over the
        # epoch: the resumed change must match the uninterrupted one to 1% of its largest entry
        # (a lost RNG stream or optimizer slot changes it by about 100%).
        before = values(model.weights)
        self.fit(model)
        self.fit(reloaded)
        for start, a, b, v in zip(before, values(model.weights), values(reloaded.weights), model.weights):
            tolerance = 1e-2 * np.max(np.abs(a - start), initial=0.0) + 1e-6
            np.testing.assert_allclose(b, a, rtol=0, atol=tolerance, err_msg=v.path)
        self.assert_update_counts(reloaded, epochs=2)

    def test_same_seed_gives_identical_samples(self):
        runs = self.trained()["samples"]  # two models built and trained from seed 3
        # Two traces of the step may add multi-threaded float32 partial sums in different orders
        # (a CI run under load differed by 2.6e-6 on TensorFlow); a different seed differs by O(0.1).
        np.testing.assert_allclose(runs[0], runs[1], rtol=0, atol=1e-4)
        # The seed matters: another seed gives another initial generator.
        initial = [self.samples(self.compiled_model(seed=s), 6, seed=1) for s in (3, 4)]
        assert np.abs(initial[0] - initial[1]).max() > 1e-2

    def test_standard_keras_callbacks_work_and_keep_the_learning_rate_ratio(self, tmp_path):
        if not self.check_callbacks:
            pytest.skip("same batch convention and step as a class that runs this check")
        model = self.trained()["model"]  # runs last: it trains the shared model further
        d, g = model.d_optimizer, model.g_optimizer
        d.learning_rate, g.learning_rate = 4e-4, 1e-4  # two time scales, D/G = 4
        csv, best = tmp_path / "log.csv", tmp_path / "best.keras"
        callbacks = [
            keras.callbacks.CSVLogger(str(csv)),
            keras.callbacks.ModelCheckpoint(str(best), monitor="g_loss", mode="min"),
            keras.callbacks.ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True),
            keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
            keras.callbacks.EarlyStopping(monitor="g_loss", mode="min", patience=5),
            keras.callbacks.TerminateOnNaN(),
            # An absolute schedule: it sets the generator's rate, and D keeps 4x it.
            keras.callbacks.LearningRateScheduler(lambda epoch: 5e-5 / (epoch + 1)),
        ]
        history = model.fit(self.data(), self.make_labels(N_SAMPLES), batch_size=BATCH_SIZE,
                            epochs=2, shuffle=False, verbose=0, callbacks=callbacks)
        assert len(history.history["g_loss"]) == 2
        assert float(keras.ops.convert_to_numpy(g.learning_rate)) == pytest.approx(2.5e-5)
        assert float(keras.ops.convert_to_numpy(d.learning_rate)) == pytest.approx(1e-4)
        rows = csv.read_text(encoding="utf-8").splitlines()
        assert len(rows) == 3 and "d_loss" in rows[0] and "g_loss" in rows[0]
        assert ganzoo.load_model(best).latent_dim == model.latent_dim
        assert (tmp_path / "w.weights.h5").is_file()

        # ReduceLROnPlateau halves both rates after the second epoch (the first sets the best;
        # nothing improves by 1e9): the ratio survives.
        plateau = keras.callbacks.ReduceLROnPlateau(monitor="g_loss", mode="min", factor=0.5, patience=0,
                                                    min_delta=1e9, min_lr=0.0)
        model.fit(self.data(), self.make_labels(N_SAMPLES), batch_size=BATCH_SIZE, epochs=2,
                  shuffle=False, verbose=0, callbacks=[plateau])
        assert float(keras.ops.convert_to_numpy(g.learning_rate)) == pytest.approx(1.25e-5)
        assert float(keras.ops.convert_to_numpy(d.learning_rate)) == pytest.approx(5e-5)
