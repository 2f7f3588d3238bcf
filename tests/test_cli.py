"""The `ganzoo` command: train, sample, list, and one-line errors with exit status 2."""

import json
import os
import subprocess
import sys

import keras
import pytest
from PIL import Image

import ganzoo.models  # noqa: F401 - registers GAN for keras.saving.load_model
from ganzoo import cli

HERE = os.path.dirname(__file__)
BAD = os.path.join(HERE, "bad_configs")


def run_cli(*args, env=None):
    """Runs `ganzoo ARGS` in a fresh process on this test run's backend."""
    full_env = dict(os.environ, KERAS_BACKEND=keras.backend.backend(), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "ganzoo.cli", *args],
        capture_output=True, text=True, env=full_env, timeout=600,
    )


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("cli") / "ring8")
    result = run_cli(
        "train", "gan_ring8", "--epochs", "2", "--steps-per-epoch", "3", "--out", out, "--quiet",
        "--backend", keras.backend.backend(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return out, result


def test_train_writes_the_run_directory(ring_run):
    out, result = ring_run
    assert f"on the {keras.backend.backend()} backend" in result.stdout
    for name in ("gan.keras", "generator.keras", "history.json", "loss.png", "config.yaml", "run.json"):
        assert os.path.isfile(os.path.join(out, name)), name
    history = json.load(open(os.path.join(out, "history.json")))
    assert history["epoch"] == [1, 2]
    assert set(history) >= {"d_loss", "g_loss", "d_real", "d_fake"}
    samples = sorted(os.listdir(os.path.join(out, "samples")))
    assert "final.png" in samples
    gan = keras.saving.load_model(os.path.join(out, "gan.keras"))
    assert int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations)) == 6
    facts = json.load(open(os.path.join(out, "run.json")))
    assert facts["generator_steps"] == 6 and facts["backend"] == keras.backend.backend()
    assert facts["fit_seconds"] > 0
    coverage = json.load(open(os.path.join(out, "metrics.json")))["mode_coverage"]
    assert coverage["num_modes"] == 8 and 0 <= coverage["modes_covered"] <= 8
    assert "Mode coverage of 2500 samples" in result.stderr


def test_sample_writes_a_png(ring_run, tmp_path):
    out, _ = ring_run
    target = str(tmp_path / "grid.png")
    assert cli.main(["sample", out, "--n", "100", "--seed", "1", "--out", target]) == 0
    assert Image.open(target).size[0] > 100


def test_sample_from_generator_file_matches_gan(ring_run, tmp_path):
    out, _ = ring_run
    from ganzoo.models import sampling

    gan = keras.saving.load_model(os.path.join(out, "gan.keras"))
    generator = keras.saving.load_model(os.path.join(out, "generator.keras"))
    assert (gan.generate(5, seed=2) == sampling.generate(generator, 5, seed=2)).all()


def test_existing_run_is_not_overwritten(ring_run, capsys):
    out, _ = ring_run
    before = {f: os.path.getmtime(os.path.join(out, f)) for f in os.listdir(out)}
    status = cli.main(["train", "gan_ring8", "--epochs", "1", "--out", out])
    assert status == 2
    assert "--force" in capsys.readouterr().err
    assert before == {f: os.path.getmtime(os.path.join(out, f)) for f in os.listdir(out)}


def test_list_names_configs_families_and_datasets(capsys):
    assert cli.main(["list"]) == 0
    text = capsys.readouterr().out
    for word in ("dcgan_digits", "gan_ring8", "dcgan", "mlp", "fashion_mnist", "non_saturating"):
        assert word in text


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", os.path.join(BAD, "unknown_key.yaml")], ["latnt_dim", "latent_dim"]),
        (["train", os.path.join(BAD, "wrong_type.yaml")], ["batch_size", "integer"]),
        (["train", os.path.join(BAD, "unknown_family.yaml")], ["dcgann"]),
        (["train", os.path.join(BAD, "unknown_dataset.yaml")], ["ring9"]),
        (["train", "no_such_config.yaml"], ["not found"]),
        (["sample", "no_such_run", "--out", "x.png"], ["not found"]),
        (["sample", HERE, "--out", "x.jpg"], [".png"]),
    ],
)
def test_bad_input_is_one_line_exit_2(args, words, capsys, tmp_path):
    status = cli.main(args + (["--out", str(tmp_path / "run")] if args[0] == "train" else []))
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("ganzoo: error: ")
    assert "Traceback" not in err
    for word in words:
        assert word in err
    assert not os.path.exists(tmp_path / "run")


def test_absent_fashion_mnist_is_one_line_exit_2(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "run"
    result = run_cli(
        "train", os.path.join(BAD, "fashion_mnist_absent.yaml"), "--out", str(out),
        env={"GANZOO_DATA": str(empty), "GANZOO_DATA_ONLY": "1"},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error_lines = [l for l in result.stderr.splitlines() if l.startswith("ganzoo: error:")]
    assert len(error_lines) == 1 and "dataset-fashion-mnist" in error_lines[0]
    assert not out.exists()


def test_bad_argument_exits_2():
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "gan_ring8", "--epochs", "0"])
    assert exit_info.value.code == 2
