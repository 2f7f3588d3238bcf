"""Training where TensorFlow is not installed (a JAX or torch install, a CUDA machine without TF).

The environment is built here: a folder of links to every installed package
except TensorFlow, read by ``python -S``
(so the real site-packages is not on the path). In it ``ganzoo train`` runs
on the NumPy stream (`ganzoo.data.streams.NumpyEpochStream`), resumes
exactly (checked on torch: the stream is backend-neutral), and ``ganzoo
export`` says in one line that it needs TensorFlow.
"""

import json
import os
import subprocess
import sys
import sysconfig

import keras
import numpy as np
import pytest

from ganzoo import data
from ganzoo.data import streams

BACKEND = keras.backend.backend()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What `pip install ganzoo[jax]` or `ganzoo[torch]` leaves out: TensorFlow itself. Its pure-Python
# neighbours (tensorflow-datasets, tensorboard) are ganzoo requirements and stay.
HIDDEN = ("tensorflow-", "tensorflow_cpu-", "tf_keras")
RUN_CLI = ("import sys\n"
           "try:\n    import tensorflow\nexcept ImportError:\n    pass\n"
           "else:\n    sys.exit('tensorflow is importable')\n"
           "from ganzoo import cli\nsys.exit(cli.main(sys.argv[1:]))\n")


def test_numpy_stream_is_seeded_and_resumable(monkeypatch):
    monkeypatch.setattr(streams, "tensorflow_available", lambda: False)
    stream, per_epoch = data.epoch_stream("digits", batch_size=100, seed=5, with_labels=True)
    assert isinstance(stream, keras.utils.PyDataset) and per_epoch == 15
    unbroken = [stream[i] for i in range(2 * per_epoch + 3)]
    x, y = data.load_arrays("digits", "train", with_labels=True)
    seen = np.concatenate([labels for _, labels in unbroken[:per_epoch]])
    assert sorted(np.bincount(seen)) == sorted(np.bincount(y))  # an epoch visits every example once
    assert not np.array_equal(unbroken[0][1], unbroken[per_epoch][1])  # and each epoch has its order
    for start in (7, per_epoch, 2 * per_epoch + 1):
        resumed, _ = data.epoch_stream("digits", batch_size=100, seed=5, with_labels=True, start_batch=start)
        np.testing.assert_array_equal(resumed[0][0], unbroken[start][0])
        np.testing.assert_array_equal(resumed[1][1], unbroken[start + 1][1])
    with pytest.raises(data.DatasetError, match="need|read with TensorFlow"):
        data.epoch_stream("folder:/nonexistent", batch_size=4)


def _site_without_tensorflow(folder):
    site = sysconfig.get_paths()["purelib"]
    os.makedirs(folder)
    for entry in os.listdir(site):
        if entry != "tensorflow" and not entry.startswith(HIDDEN):
            os.symlink(os.path.join(site, entry), os.path.join(folder, entry))
    return folder


def _ganzoo(site, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([site, REPO]), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_BACKEND", None)
    return subprocess.run([sys.executable, "-S", "-c", RUN_CLI, *args, "--backend", BACKEND],
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(BACKEND == "tensorflow", reason="the TensorFlow backend needs TensorFlow")
def test_train_resume_and_export_without_tensorflow(tmp_path):
    site = _site_without_tensorflow(str(tmp_path / "site"))
    unbroken, resumed = str(tmp_path / "unbroken"), str(tmp_path / "resumed")
    common = ["dcgan_digits", "--steps-per-epoch", "3", "--quiet"]
    done = _ganzoo(site, "train", *common, "--epochs", "2", "--out", unbroken)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    for name in ("gan.keras", "generator.keras", os.path.join("samples", "final.png")):
        assert os.path.isfile(os.path.join(unbroken, name)), name
    assert [f for f in os.listdir(os.path.join(unbroken, "checkpoints")) if f.endswith(".keras")]
    _export_is_refused(site, unbroken, tmp_path)
    if BACKEND != "torch":
        return  # resuming is backend-neutral (the NumPy stream's state): its check runs on torch, for time
    first = _ganzoo(site, "train", *common, "--epochs", "1", "--out", resumed)
    assert first.returncode == 0, first.stderr[-3000:]
    second = _ganzoo(site, "train", *common, "--epochs", "2", "--out", resumed, "--resume")
    assert second.returncode == 0, second.stderr[-3000:]
    histories = [json.load(open(os.path.join(run, "history.json"), encoding="utf-8"))
                 for run in (unbroken, resumed)]
    for key in ("d_loss", "g_loss"):
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-5)


def _export_is_refused(site, run, tmp_path):
    export = _ganzoo(site, "export", run, "--out", str(tmp_path / "export"))
    assert export.returncode == 2, export.stderr[-3000:]
    lines = export.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs TensorFlow" in lines[0] and "pip install" in lines[0], lines
    assert not os.path.exists(tmp_path / "export")
