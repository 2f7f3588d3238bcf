"""Every leaf of every zoo config, mutated: the config is accepted and trains, or is refused in one line.

A mutation replaces one key path of a zoo config (a section, a value, a list
item, or a builder argument under ``model.generator``/``model.discriminator``,
given in the file or not) by a wrong type, an out-of-range number (negative,
zero, huge, NaN, infinite), an unknown name, null, a list or a mapping.

- `ganzoo.config.from_dict` returns a config or raises a one-line
  `ConfigError` (every backend; pure Python, fast).
- On one backend (torch) only, since the CLI and the builders are backend-neutral and
  building and training are the slow part: an accepted mutation of a builder
  argument builds its networks, and ``ganzoo train`` on a mutated config either
  trains (exit 0) or refuses with one line on stderr and exit 2, leaving no run
  folder. The leaves that were not mutated are capped to one short step, and
  ``--epochs 1 --steps-per-epoch 1`` caps a mutated epoch count; every other
  size that could make a run slow has a declared upper bound, and the drawn
  numbers are either small or beyond every bound (``tests/test_config.py``
  checks the bounds themselves).
"""

import contextlib
import copy
import io
import math
import os
import re
import tempfile

import keras
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganzoo import arguments, cli, config, config_checks, config_files
from ganzoo.training import run

ZOO = config_files.zoo_config_names()
# torch's is the shortest pass of `make test`, so the one-backend tests run there.
ON_ONE_BACKEND = pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="building and training mutated configs runs on one backend (torch): the CLI and config checks "
           "are backend-neutral, and the time budget allows one backend",
)
# Names a config might hold, valid in some places and not in others, and strings that look like numbers.
NAMES = ["tanh", "sigmoid", "linear", "relu", "abc", "projection", "acgan", "dcgan", "mlp", "digits",
         "ring8", "grid25", "tfds:", "non_saturating", "hinge", "wasserstein", "least_squares", "minimax",
         "translation", "flip", "contrast", "../escape", "a/b", "1e30", "-1", ".nan", ""]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 8),
    st.sampled_from([-(10**9), 2**31, 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1e-4, 0.5, 0.999, 1.0, -0.5, 1e30, math.nan, math.inf, -math.inf]),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=6),
    st.sampled_from(NAMES),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(st.characters(exclude_categories=("Cs",)), max_size=3), SCALARS, max_size=2),
)
# One short step: applied to every leaf that is not the mutated one.
CAPS = {("train", "epochs"): 1, ("train", "steps_per_epoch"): 1, ("data", "limit"): 64,
        ("data", "batch_size"): 16, ("output", "samples"): 4, ("output", "sample_every"): 1}
FUZZ = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _paths(value, prefix=()):
    """Every key path of plain data: sections, values and list items."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield prefix + (key,)
        yield from _paths(item, prefix + (key,))


def _zoo(name):
    """A zoo config as complete plain data, and every key path to mutate."""
    entry = config.load(name)
    raw = entry.to_dict()
    paths = list(_paths(raw))
    for role, builder in config_checks.builders(entry.model).items():
        paths += [("model", role, keyword) for keyword in arguments.keyword_hints(builder, config_checks.SET_ELSEWHERE)
                  if keyword not in raw["model"][role]]
    return raw, paths


ZOO_DATA = {name: _zoo(name) for name in ZOO}


def _mutate(raw, path, value):
    mutated = copy.deepcopy(raw)
    parent = mutated
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return mutated


def _check(raw):
    """`from_dict(raw)`: the config, or None after checking that the refusal is one line naming a key."""
    try:
        entry = config.from_dict(raw)
    except config.ConfigError as error:
        message = str(error)
        # repr() quotes a key holding a single quote with double quotes
        assert "\n" not in message and re.search(r"[Kk]ey ['\"][a-z_]+[.'\"\[]", message), repr(message)
        return None
    # What a run writes as config.yaml reads back as the same config (resume relies on it).
    assert config.from_dict(yaml.safe_load(yaml.safe_dump(entry.to_dict()))) == entry
    return entry


def _label(path):
    return ".".join(f"[{key}]" if isinstance(key, int) else str(key) for key in path).replace(".[", "[")


def _each_leaf_mutated(name, data, under=()):
    """Checks the zoo config `name` with each leaf (under the prefixes `under`, if any) mutated in turn.

    Yields:
        The accepted configs.
    """
    raw, paths = ZOO_DATA[name]
    for path in paths:
        if not under or path[:2] in under:
            entry = _check(_mutate(raw, path, data.draw(VALUES, label=_label(path))))
            if entry is not None:
                yield entry


@ON_ONE_BACKEND
@pytest.mark.parametrize("name", ZOO)
@settings(FUZZ, max_examples=8)
@given(data=st.data())
def test_every_mutated_leaf_is_accepted_or_refused_in_one_line(name, data):
    for _ in _each_leaf_mutated(name, data):
        pass


_BUILT = set()  # the mutated model sections built so far (many mutations give the same networks)


@ON_ONE_BACKEND
@pytest.mark.parametrize("name", ZOO)
@settings(FUZZ, max_examples=3)
@given(data=st.data())
def test_accepted_builder_arguments_build(name, data):
    for entry in _each_leaf_mutated(name, data, under=(("model", "generator"), ("model", "discriminator"))):
        key = repr((entry.model, entry.data.dataset))
        if key not in _BUILT:
            gan = run.build_from_config(entry)  # raises (a traceback) if a value slipped through
            assert gan.generator.count_params() > 0 and gan.discriminator.count_params() > 0
            _BUILT.add(key)  # only once built: a failing example fails again when replayed


def _train(argv):
    """`ganzoo ARGV` in this process: (exit status, stderr)."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = cli.main(argv)
        except SystemExit as exit_:  # argparse
            status = exit_.code
    return status, stderr.getvalue()


@ON_ONE_BACKEND
@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_ganzoo_train_trains_or_refuses_in_one_line(data):
    name = data.draw(st.sampled_from(ZOO), label="config")
    raw, paths = ZOO_DATA[name]
    path = data.draw(st.sampled_from(paths), label="key")
    value = data.draw(VALUES, label=_label(path))
    capped = raw
    for leaf, cap in CAPS.items():
        capped = _mutate(capped, leaf, cap)
    mutated = _mutate(capped, path, value)
    with tempfile.TemporaryDirectory() as folder:
        config_path, out = os.path.join(folder, "config.yaml"), os.path.join(folder, "run")
        with open(config_path, "w", encoding="utf-8") as f:
            yaml.safe_dump(mutated, f)
        status, stderr = _train(["train", config_path, "--out", out, "--quiet", "--epochs", "1",
                                 "--steps-per-epoch", "1"])
        if status == 0:
            assert os.path.isfile(os.path.join(out, "generator.keras"))
        else:
            lines = stderr.strip().splitlines()
            assert status == 2, f"exit {status}: {stderr}"
            assert len(lines) == 1 and lines[0].startswith("ganzoo: error: "), stderr
            assert not os.path.exists(out), f"refused, but wrote {os.listdir(out)}"
