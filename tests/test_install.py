"""Works when installed: the zoo configs and the presets are found outside the checkout.

The unit tests check the preset lookup order (a folder path, ``$GANZOO_PRESETS``,
``~/.ganzoo/presets``, the checkout's ``exported/``) and the one-line errors, on
every backend. The install test builds a wheel from this checkout (offline, no
build isolation), installs it into a fresh venv that sees this environment's
dependencies but not its editable ganzoo, and from a folder outside the
checkout loads a zoo config, lists the zoo, loads a preset (or gets the
one-line error naming where it looked) and runs a short
``ganzoo train dcgan_digits`` with the installed console script. Installing
is backend-neutral, so that part runs on the TensorFlow pass only.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import keras
import pytest

from ganzoo import config, config_files, presets

ROOT = Path(__file__).resolve().parent.parent
EXPORTED = ROOT / "exported"
CHECKOUT_EXPORTED = Path(presets.__file__).resolve().parent.parent / "exported"
TIMEOUT = 300


def fake_preset(folder):
    """A folder `is_preset` accepts (the lookup only checks that the three files exist)."""
    folder.mkdir(parents=True)
    for name in (presets.CONFIG_FILE, presets.WEIGHTS_FILE, presets.METADATA_FILE):
        (folder / name).write_text("{}", encoding="utf-8")
    return folder


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty $HOME and no $GANZOO_PRESETS."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.setenv("USERPROFILE", str(folder))  # what expanduser reads on Windows
    monkeypatch.delenv(presets.ENV_DIR, raising=False)
    return folder


def test_default_lookup_is_user_folder_then_checkout(home):
    user = home / ".ganzoo" / "presets"
    checkout = [CHECKOUT_EXPORTED] if CHECKOUT_EXPORTED.is_dir() else []
    assert presets.preset_dirs() == [user, *checkout]
    assert presets.presets_dir() == user
    fake_preset(user / "mine")
    fake_preset(user / "dcgan_digits")  # the user folder wins over the checkout's
    assert presets.find_preset("mine") == user / "mine"
    assert presets.find_preset("dcgan_digits") == user / "dcgan_digits"
    assert {"mine", "dcgan_digits"} <= set(presets.list_presets())
    if (CHECKOUT_EXPORTED / "dcgan_fashion_mnist").is_dir():
        assert "dcgan_fashion_mnist" in presets.list_presets()  # the union of all folders


def test_env_folders_come_before_the_defaults(home, tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    fake_preset(first / "shared")
    fake_preset(second / "shared")
    fake_preset(second / "only_second")
    fake_preset(home / ".ganzoo" / "presets" / "shared")
    fake_preset(home / ".ganzoo" / "presets" / "in_home")

    monkeypatch.setenv(presets.ENV_DIR, os.pathsep.join([str(first), str(second)]))
    assert presets.preset_dirs()[:3] == [first, second, home / ".ganzoo" / "presets"]
    assert presets.find_preset("shared") == first / "shared"  # first folder wins
    assert presets.find_preset("only_second") == second / "only_second"
    assert presets.find_preset("in_home") == home / ".ganzoo" / "presets" / "in_home"
    assert {"only_second", "shared", "in_home"} <= set(presets.list_presets())

    monkeypatch.setenv(presets.ENV_DIR, "~/elsewhere")
    assert presets.preset_dirs()[:2] == [home / "elsewhere", home / ".ganzoo" / "presets"]


def test_a_folder_path_wins_over_names(home, tmp_path, monkeypatch):
    fake_preset(tmp_path / "named" / "p")
    direct = fake_preset(tmp_path / "cwd" / "p")
    monkeypatch.setenv(presets.ENV_DIR, str(tmp_path / "named"))
    monkeypatch.chdir(tmp_path / "cwd")
    assert presets.find_preset("p") == Path("p")  # the folder ./p, given directly
    assert presets.find_preset(direct) == direct
    assert presets.find_preset(str(tmp_path / "nothing" / "p")) is None
    fake_preset(tmp_path / "named" / "sub" / "q")
    monkeypatch.chdir(tmp_path)
    for outside in ("", ".", "..", "sub/q", os.path.join("sub", "q")):  # names stay inside the folders
        assert presets.find_preset(outside) is None, outside


def test_missing_name_is_one_line_naming_every_folder(home, tmp_path, monkeypatch):
    present = tmp_path / "present"
    fake_preset(present / "other")
    absent = tmp_path / "absent"
    monkeypatch.setenv(presets.ENV_DIR, os.pathsep.join([str(present), str(absent)]))
    with pytest.raises(presets.PresetError) as info:
        presets.from_preset("no_such_preset")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("no preset 'no_such_preset'")
    assert repr(str(present)) in message and f"{str(absent)!r} (missing)" in message
    assert repr(str(home / ".ganzoo" / "presets")) + " (missing)" in message
    assert "known: " in message and "other" in message and presets.ENV_DIR in message and "path" in message

    monkeypatch.delenv(presets.ENV_DIR)
    message = str(pytest.raises(presets.PresetError, presets.read_metadata, "nope").value)
    assert repr(str(home / ".ganzoo" / "presets")) + " (missing)" in message

    message = str(pytest.raises(presets.PresetError, presets.from_preset, str(tmp_path / "x" / "y")).value)
    assert "\n" not in message and "not a folder with config.json" in message


def test_zoo_configs_come_from_the_checkout_first():
    dirs = config_files.zoo_config_dirs()
    assert dirs[0] == str(ROOT / "zoo_configs")
    assert any(d.endswith(os.path.join("share", "ganzoo", "zoo_configs")) for d in dirs[1:])
    assert config_files.zoo_config_dir() == str(ROOT / "zoo_configs")
    assert "dcgan_digits" in config_files.zoo_config_names()


def test_no_zoo_configs_is_one_line_naming_where_it_looked(tmp_path, monkeypatch):
    missing = [str(tmp_path / "a"), str(tmp_path / "b")]
    monkeypatch.setattr(config_files, "zoo_config_dirs", lambda: missing)
    assert config_files.zoo_config_names() == []
    with pytest.raises(config.ConfigError) as info:
        config.load("dcgan_digits")
    message = str(info.value)
    assert "\n" not in message and all(repr(folder) in message for folder in missing)
    assert "reinstall" in message


# ---- the installed wheel, in a fresh venv (TensorFlow pass only) ----

install_only_once = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="installing is backend-neutral: checked on the TensorFlow pass only, to save time")

SOURCES = ("ganzoo", "zoo_configs", "setup.cfg", "pyproject.toml", "README.md")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built offline from a copy of the checkout (so no build/ lands in the checkout)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--no-cache-dir", "-q", "-w", str(base / "dist"), str(source)],
        capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = (base / "dist").glob("ganzoo-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A fresh venv with the wheel installed; this environment's site-packages supply the dependencies."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=TIMEOUT)
    scripts = folder / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / ("python.exe" if os.name == "nt" else "python")
    # pip of this environment, run with the new interpreter: it installs there, offline.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
         "--no-cache-dir", "-q", str(wheel)],
        capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True, timeout=TIMEOUT).stdout.strip()
    # Plain directory lines: Python adds them to sys.path after the venv's own site-packages and
    # runs no .pth file inside them, so the editable install's finder stays out.
    deps = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    Path(site, "_ganzoo_test_deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    return folder, python, Path(site)


def run_installed(args, cwd, **env):
    """Runs a command of the fresh venv, from `cwd`, without this checkout's settings."""
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", presets.ENV_DIR)}
    full_env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", **env)
    return subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=TIMEOUT,
                          check=False)


# One process for the Python API and `ganzoo list` (its code, in-process: a process more would cost a
# TensorFlow import); the console script itself runs in the training test.
API_CHECK = """
import contextlib, io, json, os, sys
import ganzoo
from ganzoo import cli, config, config_files, presets
facts = {"ganzoo": ganzoo.__file__, "zoo_config_dir": config_files.zoo_config_dir(),
         "config": config.load("dcgan_digits").name,
         "editable": any("editable" in repr(finder) for finder in sys.meta_path)}
try:
    presets.from_preset("dcgan_digits")
except presets.PresetError as e:
    facts["error"] = str(e)
with contextlib.redirect_stdout(io.StringIO()) as listed:
    facts["list_status"] = cli.main(["list"])
facts["list"] = listed.getvalue()
os.environ[presets.ENV_DIR] = sys.argv[1]
gan = ganzoo.from_preset("dcgan_digits")
facts["preset_samples"] = list(gan.generate(2, seed=0).shape)
facts["list_presets"] = ganzoo.list_presets()
print(json.dumps(facts))
"""


@install_only_once
def test_installed_wheel_finds_configs_and_presets(venv, tmp_path):
    folder, python, site = venv
    home = tmp_path / "home"
    home.mkdir()
    result = run_installed([str(python), "-c", API_CHECK, str(EXPORTED)], tmp_path, HOME=str(home))
    assert result.returncode == 0, result.stderr[-3000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(facts["ganzoo"]).resolve().is_relative_to(site.resolve()) and not facts["editable"]
    assert Path(facts["zoo_config_dir"]).resolve() == (folder / "share" / "ganzoo" / "zoo_configs").resolve()
    assert facts["config"] == "dcgan_digits"
    assert facts["list_status"] == 0 and "dcgan_digits" in facts["list"] and "gan_ring8" in facts["list"]
    # No $GANZOO_PRESETS, an empty home, no checkout: one line saying where it looked.
    error = facts["error"]
    assert "\n" not in error and error.startswith("no preset 'dcgan_digits'")
    assert f"{str(home / '.ganzoo' / 'presets')!r} (missing)" in error and presets.ENV_DIR in error
    assert str(EXPORTED) not in error
    if (EXPORTED / "dcgan_digits").is_dir():
        assert facts["preset_samples"] == [2, 8, 8, 1]
        assert "dcgan_digits" in facts["list_presets"]


@install_only_once
def test_installed_ganzoo_command_trains_a_zoo_config(venv, tmp_path):
    folder, _, _ = venv
    ganzoo = folder / ("Scripts" if os.name == "nt" else "bin") / "ganzoo"
    result = run_installed([str(ganzoo), "train", "dcgan_digits", "--out", "run", "--epochs", "1",
                            "--steps-per-epoch", "2", "--backend", "tensorflow", "--quiet"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "training dcgan_digits on the tensorflow backend" in result.stdout
    for name in ("gan.keras", "generator.keras", "history.json", "config.yaml"):
        assert (tmp_path / "run" / name).is_file(), name
    assert json.loads((tmp_path / "run" / "history.json").read_text(encoding="utf-8"))["epoch"] == [1]
