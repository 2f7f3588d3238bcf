"""The bad-input corpus (tests/bad_inputs/cases.yaml) through the CLI and the Python API.

Every case must give one line that names the problem, exit status 2 from the
CLI (the documented exception from the API), no traceback, and leave the
output folder exactly as it was.
"""

import importlib
import os

import pytest
import yaml

from ganzoo import cli

HERE = os.path.dirname(os.path.abspath(__file__))
INPUTS = os.path.join(HERE, "bad_inputs")
with open(os.path.join(INPUTS, "cases.yaml"), encoding="utf-8") as _f:
    CASES = yaml.safe_load(_f)


def _fill(value, out):
    if isinstance(value, str):
        return value.format(inputs=INPUTS, configs=os.path.join(HERE, "bad_configs"), out=out)
    if isinstance(value, list):
        return [_fill(v, out) for v in value]
    return value


def _resolve(dotted):
    if "." not in dotted:
        return getattr(__builtins__, dotted, None) or __import__("builtins").__dict__[dotted]
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _snapshot(folder):
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = open(path, "rb").read() if os.path.isfile(path) else None
    return found


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "keep.txt").write_text("results the user already has\n")
    (folder / "file.txt").write_text("a file where a folder is expected\n")
    return str(folder)


def test_the_corpus_is_large_and_every_case_is_checked_somewhere():
    assert len(CASES) >= 30
    for name, case in CASES.items():
        assert "cli" in case or "api" in case, name
        assert case.get("words"), name


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "cli" in c))
def test_cli_gives_one_line_and_exit_2(name, out, capsys, monkeypatch):
    monkeypatch.chdir(HERE)  # relative names such as ../exported resolve the same everywhere
    case = CASES[name]
    before = _snapshot(out)
    capsys.readouterr()
    status = cli.main(_fill(case["cli"], out))
    captured = capsys.readouterr()
    assert status == 2, f"{name}: status {status}; stderr {captured.err!r}"
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganzoo: error: "), f"{name}: {captured.err!r}"
    assert "Traceback" not in captured.err + captured.out
    for word in case["words"]:
        assert _fill(word, out) in lines[0], f"{name}: {word!r} not in {lines[0]!r}"
    assert _snapshot(out) == before, f"{name}: the output folder changed"


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "api" in c))
def test_api_raises_the_documented_error_in_one_line(name, out, monkeypatch):
    monkeypatch.chdir(HERE)
    case = CASES[name]
    function, *arguments, raises = case["api"]
    kwargs = arguments.pop() if arguments and isinstance(arguments[-1], dict) else {}
    before = _snapshot(out)
    with pytest.raises(_resolve(raises)) as error:
        _resolve(function)(*_fill(arguments, out), **kwargs)
    message = str(error.value)
    assert "\n" not in message.strip(), f"{name}: {message!r}"
    for word in case["words"]:
        assert _fill(word, out) in message, f"{name}: {word!r} not in {message!r}"
    assert _snapshot(out) == before
