"""Folder datasets (``folder:PATH``): reading, order, resume, training, class names, fine-tuning.

The folder is built here: 3 classes x 12 images of mixed sizes in PNG, JPEG,
BMP and GIF, with one grayscale and one RGBA image per class.
"""

import json
import os

import keras
import numpy as np
import pytest
import yaml
from PIL import Image

from ganzoo import cli, data, presets
from ganzoo.data import folder as folder_source

BACKEND = keras.backend.backend()
CLASSES = ("cat", "dog", "eel")
FORMATS = ("png", "jpg", "bmp", "gif")


def make_folder(root, per_class=12):
    """Writes the test folder; class k's images are brighter with k (so classes differ)."""
    rng = np.random.RandomState(0)
    for k, name in enumerate(CLASSES):
        os.makedirs(os.path.join(root, name))
        for i in range(per_class):
            height, width = rng.randint(9, 41, size=2)
            pixels = np.clip(rng.randint(0, 120, size=(height, width, 3)) + 60 * k, 0, 255).astype(np.uint8)
            image = Image.fromarray(pixels)
            if i == 0:
                image = image.convert("L")
            elif i == 1:
                image = image.convert("RGBA")
            suffix = "png" if i < 2 else FORMATS[i % len(FORMATS)]
            image.save(os.path.join(root, name, f"{i:02d}.{suffix}"))
    return root


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_folder(str(tmp_path_factory.mktemp("folder") / "images"))


def _config(path, images, *, conditional=False, **train):
    raw = {
        "name": "folder_test",
        "model": {"family": "dcgan", "latent_dim": 8, "generator": {"base_filters": 4},
                  "discriminator": {"base_filters": 4, "batch_norm": False}},
        "data": {"dataset": f"folder:{images}", "batch_size": 6, "image_size": [8, 8]},
        "train": {"epochs": 2, "steps_per_epoch": 2, "seed": 0, **train},
        "output": {"sample_every": 1, "samples": 6},
    }
    if conditional:
        raw["model"]["conditional"] = "projection"
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(raw, f)
    return str(path)


def test_info_labels_and_options(images):
    described = data.info(f"folder:{images}", image_size=[16, 12])
    assert described.shape == (16, 12, 3) and described.num_examples == {"train": 36}
    assert described.class_names == CLASSES and described.num_classes == 3
    x, y = data.load_arrays(f"folder:{images}", with_labels=True, image_size=(16, 12))
    assert x.shape == (36, 16, 12, 3) and x.dtype == np.float32 and -1 <= x.min() < x.max() <= 1
    np.testing.assert_array_equal(y, np.repeat([0, 1, 2], 12))
    assert x[y == 2].mean() > x[y == 1].mean() > x[y == 0].mean()  # the classes' brightness survives
    gray, _ = data.load_arrays(f"folder:{images}", channels=1, image_size=(16, 12))
    assert gray.shape == (36, 16, 12, 1)
    stretched, _ = data.load_arrays(f"folder:{images}", resize="stretch", image_size=(16, 12))
    assert np.abs(stretched - x).max() > 0.1  # crop (the default) and stretch differ


def test_pixels_are_keras_image_dataset_from_directory(images):
    x, _ = data.load_arrays(f"folder:{images}", image_size=(8, 8))
    direct = keras.utils.image_dataset_from_directory(
        images, labels=None, batch_size=None, image_size=(8, 8), shuffle=False, crop_to_aspect_ratio=True,
        verbose=False)
    expected = np.stack([np.round(np.asarray(image)) for image in direct.as_numpy_iterator()])
    np.testing.assert_allclose((x + 1) * 127.5, expected, atol=1e-3)


def _batches(ds, n):
    return [tuple(np.asarray(part) for part in batch) for _, batch in zip(range(n), ds)]


def test_streamed_folder_and_resumed_stream_see_the_same_batches(images, monkeypatch):
    name, kwargs = f"folder:{images}", {"batch_size": 5, "with_labels": True, "image_size": (8, 8), "seed": 3}
    held, per_epoch = data.epoch_stream(name, **kwargs)
    assert per_epoch == 7  # 36 // 5
    unbroken = _batches(held, 3 * per_epoch)
    monkeypatch.setenv(folder_source.ENV_MEMORY, "1")  # nothing fits: decode batch by batch
    assert not folder_source.fits_in_memory(36, folder_source.options(image_size=(8, 8)))
    streamed = _batches(data.epoch_stream(name, **kwargs)[0], 3 * per_epoch)
    for a, b in zip(unbroken, streamed):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    for start in (4, 7, 16):  # mid-epoch, epoch start, third epoch: the resumed stream continues exactly
        resumed = _batches(data.epoch_stream(name, start_batch=start, **kwargs)[0], 2)
        for a, b in zip(unbroken[start:start + 2], resumed):
            np.testing.assert_array_equal(a[0], b[0])
    first, second = (np.concatenate([b[1] for b in unbroken[e * 7:(e + 1) * 7]]) for e in (0, 1))
    assert not np.array_equal(first, second)  # every epoch has its own order


@pytest.mark.parametrize("conditional", [False, True], ids=["unconditional", "conditional"])
def test_ganzoo_train_on_a_folder(images, tmp_path, capsys, conditional):
    config = _config(tmp_path / "folder.yaml", images, conditional=conditional)
    out = str(tmp_path / "run")
    assert cli.main(["train", config, "--out", out, "--quiet"]) == 0, capsys.readouterr().err
    assert os.path.isfile(os.path.join(out, "samples", "final.png"))
    assert os.path.isfile(os.path.join(out, "gan.keras"))
    assert [f for f in os.listdir(os.path.join(out, "checkpoints")) if f.endswith(".keras")]
    if not conditional:
        assert not os.path.exists(os.path.join(out, "classes.json"))
        return
    assert json.load(open(os.path.join(out, "classes.json"), encoding="utf-8")) == list(CLASSES)
    png = str(tmp_path / "dogs.png")
    assert cli.main(["sample", out, "--labels", "dog,eel,0", "--out", png]) == 0
    assert os.path.isfile(png)
    capsys.readouterr()
    assert cli.main(["sample", out, "--labels", "dgo", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "unknown class 'dgo'" in err and "cat, dog, eel" in err and len(err.strip().splitlines()) == 1
    if BACKEND != "tensorflow":  # the zoo entry's export is backend-neutral and costs a TFLite conversion
        return
    from ganzoo.export import entry  # pylint: disable=import-outside-toplevel

    preset = str(tmp_path / "preset")
    entry.build_entry(out, preset, latency_rounds=1, verbose=0)
    assert presets.read_metadata(preset)["class_names"] == list(CLASSES)  # the preset keeps the names
    assert cli.main(["sample", preset, "--labels", "eel,cat", "--out", png]) == 0


def test_fine_tune_a_preset_on_a_folder(images, tmp_path, capsys):
    """dcgan_digits' networks start the run; with learning rates 0 its generator kernels stay the preset's."""
    model = presets.read_metadata("dcgan_digits")["training_config"]["model"]
    raw = {"name": "tuned", "model": model,
           "data": {"dataset": f"folder:{images}", "batch_size": 6, "image_size": [8, 8], "channels": 1},
           "train": {"epochs": 1, "steps_per_epoch": 1, "d_learning_rate": 0.0, "g_learning_rate": 0.0},
           "output": {"samples": 4}}
    config = tmp_path / "tune.yaml"
    config.write_text(yaml.safe_dump(raw))
    out = str(tmp_path / "tuned")
    assert cli.main(["train", str(config), "--from-preset", "dcgan_digits", "--out", out, "--quiet"]) == 0
    tuned = keras.saving.load_model(os.path.join(out, "gan.keras"))
    preset = presets.from_preset("dcgan_digits")
    for mine, theirs in zip(tuned.generator.trainable_weights, preset.generator.trainable_weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(mine), keras.ops.convert_to_numpy(theirs))
    raw["data"]["channels"] = 3  # the preset makes one-channel images
    config.write_text(yaml.safe_dump(raw))
    capsys.readouterr()
    other = str(tmp_path / "mismatch")
    assert cli.main(["train", str(config), "--from-preset", "dcgan_digits", "--out", other, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cannot fine-tune from preset 'dcgan_digits'" in err and len(err.strip().splitlines()) == 1
    assert not os.path.exists(other)


@pytest.mark.skipif(BACKEND != "torch", reason="the kill/resume machinery has no backend code; "
                    "tests/test_resume.py kills real processes on TensorFlow for built-in datasets")
def test_folder_run_killed_and_resumed_matches_the_unbroken_run(images, tmp_path, monkeypatch):
    import test_resume  # pylint: disable=import-outside-toplevel  (tests/ is on sys.path)

    config = _config(tmp_path / "folder.yaml", images, conditional=True, epochs=3, steps_per_epoch=4,
                     checkpoint_every=1)
    # Stopped in this process right after the checkpoint in the middle of the second epoch.
    _, got, want = test_resume._killed_and_resumed(tmp_path, str(config), (1, 2), monkeypatch)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
