"""Conditional GANs (projection and ACGAN heads) through the conformance suite, and labels."""

import json
import os

import keras
import numpy as np
import pytest

from conformance import GANConformance
from ganzoo import cli, synthetic
from ganzoo import config as config_lib
from ganzoo.models import ConditionalGAN, build_gan
from ganzoo.models import conditional, dcgan, loading
from ganzoo.models.sampling import check_labels, generate

NUM_CLASSES = 3


def images(n):
    return np.random.default_rng(0).uniform(-1, 1, (n, 8, 8, 1))


def labels(n):
    return np.arange(n) % NUM_CLASSES


def tiny_conditional(seed, head, **gan_kwargs):
    return build_gan(
        "dcgan", (8, 8, 1), latent_dim=8, seed=seed, conditional=head, num_classes=NUM_CLASSES,
        generator={"base_filters": 4}, discriminator={"base_filters": 4}, **gan_kwargs,
    )


class TestProjectionCGAN(GANConformance):
    """Projection discriminator (Miyato & Koyama 2018), R1 and an EMA generator."""

    def build_model(self, seed):
        return tiny_conditional(seed, "projection", r1_weight=1.0, ema_decay=0.9)

    def make_data(self, n):
        return images(n)

    def make_labels(self, n):
        return labels(n)


class TestACGAN(GANConformance):
    """ACGAN (Odena et al. 2017): real/fake logit plus class logits, hinge loss, DiffAugment."""
    check_callbacks = False

    loss = "hinge"

    def build_model(self, seed):
        return tiny_conditional(seed, "acgan", augment=["translation"], classification_weight=0.5)

    def make_data(self, n):
        return images(n)

    def make_labels(self, n):
        return labels(n)


def test_the_label_changes_the_sample_and_labels_are_honoured():
    keras.utils.set_random_seed(0)
    gan = tiny_conditional(0, "projection")
    same_latent = gan.generate(NUM_CLASSES, labels=[0, 1, 2], seed=5)
    per_class = [gan.generate(1, labels=k, seed=5)[0] for k in range(NUM_CLASSES)]
    # Sample i of a batch uses latent i, so compare class k's first latent only.
    np.testing.assert_allclose(same_latent[0], per_class[0], atol=1e-5)
    assert not np.allclose(per_class[0], per_class[1])
    default = gan.generate(6, seed=5)  # cycles 0, 1, 2, 0, 1, 2
    np.testing.assert_allclose(default, gan.generate(6, labels=labels(6), seed=5), atol=1e-6)


@pytest.mark.parametrize(
    "bad, message",
    [
        ([0, 1], "got 2 labels for 3 samples"),
        ([0, 1, 3], "label 3 is out of range"),
        ([0, -1, 2], "label -1 is out of range"),
        ([0.5, 1, 2], "must be integers"),
        (["a", "b", "c"], "must be integers"),
    ],
)
def test_bad_labels_give_one_line_errors(bad, message):
    with pytest.raises(ValueError, match=message) as error:
        check_labels(bad, 3, NUM_CLASSES)
    assert "\n" not in str(error.value)


def test_unconditional_generator_refuses_labels():
    keras.utils.set_random_seed(0)
    generator = dcgan.build_generator((8, 8, 1), latent_dim=4, base_filters=4)
    with pytest.raises(ValueError, match="unconditional"):
        generate(generator, 2, labels=[0, 1])


def test_training_needs_labels():
    keras.utils.set_random_seed(0)
    gan = tiny_conditional(0, "acgan")
    gan.compile(d_optimizer="adam", g_optimizer="adam")
    with pytest.raises(ValueError, match="with_labels=True"):
        gan.fit(images(8).astype("float32"), batch_size=4, epochs=1, verbose=0)


def test_mismatched_networks_are_refused():
    keras.utils.set_random_seed(0)
    generator = conditional.build_conditional_generator((8, 8, 1), latent_dim=4, num_classes=3)
    projection = conditional.build_projection_discriminator((8, 8, 1), num_classes=3)
    with pytest.raises(ValueError, match="acgan discriminator"):
        ConditionalGAN(generator, projection, latent_dim=4, num_classes=3, head="acgan")
    with pytest.raises(ValueError, match="build_conditional_generator"):
        ConditionalGAN(generator, projection, latent_dim=4, num_classes=4)
    with pytest.raises(ValueError, match="Unknown conditional head"):
        ConditionalGAN(generator, projection, latent_dim=4, num_classes=3, head="proj")


def test_saved_generator_keeps_its_classes(tmp_path):
    keras.utils.set_random_seed(0)
    gan = tiny_conditional(0, "projection")
    path = os.path.join(tmp_path, "generator.keras")
    gan.generator.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        generate(reloaded, 4, labels=[2, 1, 0, 2], seed=1),
        generate(gan.generator, 4, labels=[2, 1, 0, 2], seed=1),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="out of range"):
        generate(reloaded, 1, labels=[NUM_CLASSES])


@pytest.mark.parametrize(
    "model, message",
    [
        ({"conditional": "projektion"}, "Did you mean 'projection'"),
        ({"conditional": "acgan", "family": "mlp"}, "needs 'model.family: dcgan'"),
    ],
)
def test_config_checks_conditional_keys(tmp_path, model, message):
    base = {"family": "dcgan", "latent_dim": 8, **model}
    raw = {"name": "c", "model": base, "data": {"dataset": "digits"}}
    with pytest.raises(config_lib.ConfigError, match=message):
        config_lib.from_dict(raw)


@pytest.mark.parametrize(
    "name, head, shape",
    [
        pytest.param("cgan_digits", "projection", (8, 8, 1), id="cgan_digits"),
        pytest.param("cgan_fashion_mnist", "projection", (28, 28, 1), id="cgan_fashion_mnist"),
        pytest.param("acgan_fashion_mnist", "acgan", (28, 28, 1), id="acgan_fashion_mnist"),
    ],
)
def test_conditional_zoo_configs_build(name, head, shape):
    """`ganzoo train`'s builder makes each conditional zoo config a ConditionalGAN of its head.

    Built (not trained) at the dataset's shape; both datasets have 10 classes.
    """
    from ganzoo.training import run

    config = config_lib.load(name)
    assert config.model.conditional == head
    keras.utils.set_random_seed(0)
    gan = run.build_from_config(config)
    assert isinstance(gan, ConditionalGAN), type(gan).__name__
    assert (gan.head, gan.num_classes) == (head, 10)
    assert gan.classification_weight == config.model.classification_weight
    built = gan.get_config()
    for key in ("latent_dim", "ema_decay", "r1_weight", "augment"):
        given = getattr(config.model, key)
        assert built[key] == (0.0 if key == "r1_weight" and given is None else given), key  # left out: GAN's 0
    assert gan.adversarial_loss.name == config.model.loss
    # The head's networks: projection judges [images, labels] with one logit; ACGAN judges
    # images with a real/fake logit and one logit per class. Both generators embed 10 labels.
    expected = (2, 1) if head == "projection" else (1, 1 + 10)
    assert (len(gan.discriminator.inputs), gan.discriminator.outputs[0].shape[-1]) == expected
    assert tuple(gan.discriminator.inputs[0].shape[1:]) == shape
    assert [tuple(i.shape[1:]) for i in gan.generator.inputs] == [(config.model.latent_dim,), ()]

    samples = gan.generate(4, labels=[0, 3, 9, 3], seed=0)
    assert samples.shape == (4, *shape) and samples.dtype == np.float32
    assert np.all(np.isfinite(samples)) and np.abs(samples).max() <= 1.0
    # The label reaches the image: one latent, two classes, two images.
    first, other = (gan.generate(1, labels=k, seed=0)[0] for k in (0, 9))
    np.testing.assert_allclose(first, samples[0], atol=1e-5)
    assert np.abs(first - other).max() > 1e-3
    with pytest.raises(ValueError, match="out of range"):
        gan.generate(1, labels=10)


# ------------------------------------------------------------------ the CLI
@pytest.fixture(scope="module")
def cgan_run(train_tiny_run):
    return train_tiny_run("cgan_digits")


def test_sample_with_labels(cgan_run, tmp_path, capsys):
    path = str(tmp_path / "s.png")
    assert cli.main(["sample", cgan_run, "--labels", "0,1,2", "--out", path]) == 0
    assert "wrote 3 samples" in capsys.readouterr().out
    assert cli.main(["sample", cgan_run, "--labels", "7", "--n", "4", "--out", path]) == 0
    assert "wrote 4 samples" in capsys.readouterr().out


def test_augment_writes_a_dataset_keras_reads(cgan_run, tmp_path, capsys):
    out = str(tmp_path / "synthetic")
    assert cli.main(["augment", cgan_run, "--per-class", "3", "--out", out, "--seed", "4"]) == 0
    assert "3 images x 10 classes" in capsys.readouterr().out
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    assert manifest["per_class"] == 3 and manifest["seed"] == 4 and manifest["generator"] == cgan_run
    dataset = keras.utils.image_dataset_from_directory(
        out, labels="inferred", color_mode="grayscale", image_size=(8, 8), shuffle=False, batch_size=64,
    )
    assert dataset.class_names == manifest["class_folders"]
    _, folder_labels = next(iter(dataset))
    np.testing.assert_array_equal(np.asarray(folder_labels), np.repeat(np.arange(10), 3))
    # The PNGs hold what the generator made for those labels and seeds.
    images, read_labels = synthetic.read_labelled_dataset(out)
    generator = loading.load_generator(cgan_run)
    expected = generate(generator, 3, labels=5, seed=4 + 5)
    np.testing.assert_allclose(images[read_labels == 5], expected, atol=1 / 127.5 + 1e-6)


def _one_line_exit_2(args, capsys, *words):
    status = cli.main(args)
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("ganzoo: error: ") and "Traceback" not in err
    for word in words:
        assert word in err


def test_bad_labels_and_outputs_exit_2_and_keep_files(cgan_run, tmp_path, capsys):
    png = str(tmp_path / "s.png")
    _one_line_exit_2(["sample", cgan_run, "--labels", "0,10", "--out", png], capsys, "label 10 is out of range")
    _one_line_exit_2(["sample", cgan_run, "--labels", "0,1", "--n", "3", "--out", png], capsys, "2 labels for 3")
    assert not os.path.exists(png)
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "mine.txt").write_text("precious")
    _one_line_exit_2(["augment", cgan_run, "--per-class", "2", "--out", str(kept)], capsys, "not empty")
    assert os.listdir(kept) == ["mine.txt"] and (kept / "mine.txt").read_text() == "precious"
    generator = dcgan.build_generator((8, 8, 1), latent_dim=4, base_filters=4)
    plain = str(tmp_path / "plain.keras")
    generator.save(plain)
    _one_line_exit_2(["sample", plain, "--labels", "1", "--out", png], capsys, "unconditional")
    _one_line_exit_2(["augment", plain, "--per-class", "2", "--out", str(tmp_path / "a")], capsys,
                     "unconditional")
    assert not os.path.exists(tmp_path / "a")
    assert sorted(os.listdir(tmp_path)) == ["kept", "plain.keras"]  # no staging folder left behind


def test_bad_labels_exit_2(cgan_run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:  # an empty item is refused by the parser
        cli.main(["sample", "x", "--labels", "0,,1", "--out", "x.png"])
    assert exit_info.value.code == 2
    capsys.readouterr()
    png = str(tmp_path / "s.png")  # a class name needs a model trained on a folder of class folders
    _one_line_exit_2(["sample", cgan_run, "--labels", "0,shirt", "--out", png], capsys, "no class names")
    assert not os.path.exists(png)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the conditional entry's parts (labels in "
                    "every file, GAN-test), in-process on TensorFlow; the worker path of a zoo entry is "
                    "test_presets.py's, on torch")
def test_zoo_entry_of_a_conditional_run_ships_exports_with_gan_test(cgan_run, tmp_path, capsys):
    import ganzoo
    from ganzoo.runtime import TFLiteGenerator

    out = str(tmp_path / "entry")
    assert cli.main(["export", cgan_run, "--out", out, "--zoo-entry", "--quiet"]) == 0
    metadata = json.load(open(os.path.join(out, "metadata.json")))
    assert metadata["num_classes"] == 10 and metadata["export"]["condition"]["name"] == "labels"
    report = json.load(open(os.path.join(out, "metrics.json")))
    for judge in report["judges"].values():  # both shipped digits classifiers
        assert 0.0 <= judge["metrics"]["label_accuracy"] <= 1.0
        assert judge["real_floor"]["label_accuracy"] > 0.9  # on real test images
    assert report["verdict"]["label_accuracy"]["judge"] in report["judges"]
    int8 = metadata["export"]["formats"]["tflite_int8"]
    assert set(int8["label_accuracy"]) == set(int8["fid_change"]) == {"cnn", "resnet"}
    card = open(os.path.join(out, "MODEL_CARD.md")).read()
    assert "| label accuracy |" in card and "int8 beside fp32: label accuracy" in card
    gan = ganzoo.from_preset(out)
    reference = loading.load_generator(cgan_run)
    expected = generate(reference, 4, labels=[3, 3, 9, 0], seed=2)
    np.testing.assert_allclose(gan.generate(4, labels=[3, 3, 9, 0], seed=2), expected, atol=1e-5)
    tflite = TFLiteGenerator(os.path.join(out, "generator.tflite"))
    np.testing.assert_allclose(tflite.generate(4, labels=[3, 3, 9, 0], seed=2), expected, atol=1e-4)
    # A plain export of the conditional run: serve(z, labels).
    capsys.readouterr()
    assert cli.main(["export", cgan_run, "--out", str(tmp_path / "x"), "--formats", "tflite"]) == 0
    assert "takes z and labels (int32, 0..9: class label)" in capsys.readouterr().out
