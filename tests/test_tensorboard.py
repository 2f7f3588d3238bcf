"""`ganzoo train --tensorboard`: Keras' TensorBoard callback plus sample images, on every backend."""

import glob
import json
import os

import pytest
import yaml

from ganzoo import cli, config, tensorboard


def read_events(folder):
    """{(writer folder, tag): [steps]} from every event file under `folder` (TensorFlow's reader)."""
    import tensorflow as tf

    found = {}
    for path in glob.glob(os.path.join(folder, "**", "events.out.tfevents.*"), recursive=True):
        writer = os.path.basename(os.path.dirname(path))
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                found.setdefault((writer, value.tag), []).append(event.step)
    return found


def test_a_run_writes_scalars_per_step_and_epoch_metrics_and_sample_images(tmp_path):
    raw = yaml.safe_load(open(config.resolve_path("dcgan_digits"), encoding="utf-8"))
    raw["output"].update(metrics=["fid"], metrics_every=2, metrics_n=50)  # MetricCallback, configured
    path = tmp_path / "metrics.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "run"
    assert cli.main(["train", str(path), "--epochs", "2", "--steps-per-epoch", "2", "--out",
                     str(out), "--quiet", "--tensorboard"]) == 0
    events = read_events(out / "tb")
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert events[("train", f"batch_{name}")] == [1, 2, 3, 4], name  # every step
        assert events[("train", f"epoch_{name}")] == [0, 1], name  # every epoch
    for name in ("fid_cnn", "fid_resnet", "fid_vs_floor"):  # every metrics_every epochs
        assert events[("train", f"epoch_{name}")] == [1], name
    history = json.load(open(out / "history.json", encoding="utf-8"))
    assert history["fid_cnn"][0] is None and history["fid_cnn"][1] > 0  # scored at epoch 2 only
    # dcgan_digits draws a grid every 10 epochs: in 2 epochs, only the final one (epoch index 1).
    assert events[("samples", "samples")] == [1]


def test_sample_images_follow_sample_every(tmp_path):
    import keras
    import numpy as np

    from ganzoo import models

    keras.utils.set_random_seed(0)
    gan = models.build_gan("dcgan", (8, 8, 1), latent_dim=8, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4), g_optimizer=keras.optimizers.Adam(2e-4))
    x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    gan.fit(x, batch_size=8, epochs=3, verbose=0,
            callbacks=tensorboard.callbacks(tmp_path / "tb", every=2, n=4))
    events = read_events(tmp_path / "tb")
    assert events[("samples", "samples")] == [1, 2]  # epoch 2 (index 1), then the final epoch
    assert len(events[("train", "batch_g_loss")]) == 6


def test_missing_tensorboard_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else real(name, *a))
    out = tmp_path / "run"
    assert cli.main(["train", "dcgan_digits", "--out", str(out), "--tensorboard"]) == 2
    err = capsys.readouterr().err
    assert "pip install tensorboard" in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
    with pytest.raises(RuntimeError, match="needs tensorboard"):
        tensorboard.callbacks(tmp_path / "tb")
