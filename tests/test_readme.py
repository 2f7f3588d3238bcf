"""README.md's code runs as written, its zoo table matches the shipped metrics, and the guides' links resolve.

The Python blocks run in a subprocess on the backend of this pytest run; the
shell blocks' ``ganzoo ...`` lines run on TensorFlow only (the command line has
no backend code of its own), with ``--epochs 1 --steps-per-epoch 2`` appended
to training commands; ``make ...`` lines are exempt. Any other shell line fails
the test: what the test cannot run belongs in ``docs/``, not in the README.
"""

import json
import math
import os
import re
import shlex
import subprocess
import sys

import keras
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
DOCS = os.path.join(ROOT, "docs")
EXPORTED = os.path.join(ROOT, "exported")
BACKEND = keras.backend.backend()
MAX_README_BYTES = 12_000
TRAIN_FLAGS = ["--epochs", "1", "--steps-per-epoch", "2"]
PYTHON = ("python", "py")
SHELL = ("bash", "sh", "shell", "console")
_FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def readme_text():
    with open(README, encoding="utf-8") as f:
        return f.read()


def fenced_blocks(text):
    """`(language, body)` of every fenced code block of a Markdown text, in order."""
    return [(lang.lower(), body) for lang, body in _FENCE.findall(text)]


def shell_commands(body):
    """The commands of a shell block: continuation lines joined, comments dropped, as argv lists."""
    commands = []
    for line in body.replace("\\\n", " ").splitlines():
        argv = shlex.split(line, comments=True)
        if argv:
            commands.append(argv)
    return commands


def readme_shell_commands():
    return [argv for lang, body in fenced_blocks(readme_text()) if lang in SHELL for argv in shell_commands(body)]


def python_blocks():
    return [body for lang, body in fenced_blocks(readme_text()) if lang in PYTHON]


def subcommand(args):
    """The ganzoo subcommand of `args` (ganzoo's arguments), and the backend a `--backend` asks for."""
    command, backend, i = None, None, 0
    while i < len(args):
        if args[i] == "--backend":
            backend, i = args[i + 1], i + 2
            continue
        if args[i].startswith("--backend="):
            backend = args[i].split("=", 1)[1]
        elif command is None and not args[i].startswith("-"):
            command = args[i]
        i += 1
    return command, backend


def test_fenced_blocks_parser():
    text = "a\n```python\nprint(1)\n```\n\n```bash\nganzoo list  # names\nmake demo \\\n  X=1\n```\n"
    blocks = fenced_blocks(text)
    assert blocks == [("python", "print(1)\n"), ("bash", "ganzoo list  # names\nmake demo \\\n  X=1\n")]
    assert shell_commands(blocks[1][1]) == [["ganzoo", "list"], ["make", "demo", "X=1"]]
    assert subcommand(["--backend", "jax", "train", "x", "--epochs", "3"]) == ("train", "jax")


def test_readme_is_short_and_keeps_the_two_commands():
    text = readme_text()
    assert len(text.encode("utf-8")) < MAX_README_BYTES, len(text.encode("utf-8"))
    commands = [" ".join(argv[:2]) for argv in readme_shell_commands()]
    assert "make demo" in commands and "make test" in commands, commands
    assert python_blocks(), "the README has no Python quick start"


def test_readme_shell_lines_are_ganzoo_or_make():
    for argv in readme_shell_commands():
        assert argv[0] in ("ganzoo", "make"), (
            f"README shell line {' '.join(argv)!r} is neither `ganzoo ...` (run by this test) nor "
            "`make ...` (exempt); move it to docs/")


@pytest.mark.skipif(BACKEND != "torch", reason="the quick start names no backend code (each backend's training is "
                    "the model tests'); it runs once, on torch, the shortest pass, for the test budget")
@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_python_block_runs(index, tmp_path):
    """Runs the block as written, in a fresh folder and process, on this run's backend."""
    code = python_blocks()[index]
    check = f"\nimport keras as _keras\nassert _keras.backend.backend() == {BACKEND!r}, _keras.backend.backend()\n"
    script = tmp_path / f"readme_block_{index}.py"
    script.write_text(code + check, encoding="utf-8")
    env = dict(os.environ, KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("GANZOO_PRESETS", None)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, f"README Python block {index} failed:\n{code}\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-5000:]}"


@pytest.mark.skipif(
    BACKEND != "torch",
    reason="the command line has no backend code of its own (each backend's training is the model "
    "tests'); its README lines run once, on torch, to keep the test budget small",
)
def test_readme_cli_lines_run(tmp_path, monkeypatch):
    from ganzoo import cli

    lines = [argv[1:] for argv in readme_shell_commands() if argv[0] == "ganzoo"]
    assert lines, "the README has no ganzoo command lines"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KERAS_BACKEND", BACKEND)  # restored afterwards; cli.main sets it from --backend
    monkeypatch.setenv("GANZOO_KEEP_FREED_MEMORY", "0")  # leave this pytest process's malloc alone
    monkeypatch.delenv("GANZOO_PRESETS", raising=False)
    for args in lines:
        command, backend = subcommand(args)
        if command == "train":
            args = args + TRAIN_FLAGS  # the last value of a repeated option wins
        shown = "ganzoo " + " ".join(args)
        if backend in (None, BACKEND):
            try:
                status = cli.main(args)
            except SystemExit as e:  # argparse: an unknown command or option
                pytest.fail(f"{shown}: exit {e.code} (bad arguments)")
        else:  # another backend needs its own process
            done = subprocess.run([sys.executable, "-m", "ganzoo.cli", *args], cwd=tmp_path, capture_output=True,
                                  text=True, timeout=600, check=False)
            status = done.returncode
            assert status == 0, f"{shown}: exit {status}\n{done.stderr[-3000:]}"
        assert status == 0, f"{shown}: exit {status}"
        if "--out" in args:
            out = args[args.index("--out") + 1]
            assert os.path.exists(out), f"{shown} did not write {out}"


def _table_rows(text):
    """Markdown table rows as lists of stripped cells."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.lstrip().startswith("|")]


def _matches(shown, value):
    """Whether the README's rounded `shown` is `value` rounded to as many decimals."""
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return math.isclose(float(shown), value, abs_tol=0.5 * 10 ** -decimals + 1e-12)


def _entries():
    return sorted(name for name in os.listdir(EXPORTED) if os.path.isfile(os.path.join(EXPORTED, name, "MODEL_CARD.md")))


def _metrics(name):
    with open(os.path.join(EXPORTED, name, "metrics.json"), encoding="utf-8") as f:
        return json.load(f)


def test_readme_image_to_image_table_lists_every_such_entry_with_its_scores():
    """Image-in entries: PSNR (bicubic's, for super-resolution) and the stricter judge's label accuracy
    (the one lower relative to the targets' own), with the targets' in brackets."""
    rows = _table_rows(readme_text())
    for name in (n for n in _entries() if "psnr" in _metrics(n).get("scores", {})):
        scores = _metrics(name)["scores"]
        matching = [row for row in rows if f"(exported/{name}/MODEL_CARD.md)" in row[0]]
        assert len(matching) == 1, f"the README's image-to-image table needs one line for {name}"
        psnr, accuracy = matching[0][2], matching[0][3]
        shown = re.fullmatch(r"([\d.]+)(?: \(bicubic ([\d.]+)\))?", psnr)
        assert shown and _matches(shown.group(1), scores["psnr"]), (name, psnr)
        if "psnr_baseline" in scores:
            assert shown.group(2) and _matches(shown.group(2), scores["psnr_baseline"]), (name, psnr)
        judge = min(("cnn", "resnet"), key=lambda j: scores[f"label_accuracy_{j}"] / scores[f"label_accuracy_{j}_targets"])
        shown = re.fullmatch(r"([\d.]+) \(([\d.]+)\), (\w+)", accuracy)
        assert shown and shown.group(3) == judge, (name, accuracy, judge)
        assert _matches(shown.group(1), scores[f"label_accuracy_{judge}"]), (name, accuracy)
        assert _matches(shown.group(2), scores[f"label_accuracy_{judge}_targets"]), (name, accuracy)


def test_readme_unpaired_table_lists_every_cyclegan_entry_with_its_translation_accuracy():
    """CycleGAN entries: each direction's translation accuracy by the stricter judge (the lower one), named."""
    rows = _table_rows(readme_text())
    for name in (n for n in _entries() if "domains" in _metrics(n)):
        scores = _metrics(name)["scores"]
        matching = [row for row in rows if f"(exported/{name}/MODEL_CARD.md)" in row[0]]
        assert len(matching) == 1, f"the README's unpaired table needs one line for {name}"
        for direction, cell in zip(("a_to_b", "b_to_a"), matching[0][2:4]):
            judge = min(("cnn", "resnet"), key=lambda j: scores[f"translation_accuracy_{direction}_{j}"])
            shown = re.fullmatch(r"([\d.]+) \(([\d.]+)\), (\w+)", cell)
            assert shown and shown.group(3) == judge, (name, cell, judge)
            assert _matches(shown.group(1), scores[f"translation_accuracy_{direction}_{judge}"]), (name, cell)
            assert _matches(shown.group(2), scores[f"translation_accuracy_{direction}_{judge}_targets"]), (name, cell)


def test_readme_anomaly_table_lists_every_scorer_entry_with_its_auroc_and_rates():
    rows = _table_rows(readme_text())
    for name in (n for n in _entries() if "normal_class" in _metrics(n)):
        report = _metrics(name)
        matching = [row for row in rows if f"(exported/{name}/MODEL_CARD.md)" in row[0]]
        assert len(matching) == 1, f"the README's anomaly table needs one line for {name}"
        auroc = re.fullmatch(r"([\d.]+) \((\w+)\)", matching[0][2])
        kind = report["score_kind"]
        assert auroc and auroc.group(2) == kind and _matches(auroc.group(1), report["scores"][f"auroc_{kind}"])
        rates = re.fullmatch(r"([\d.]+) %, ([\d.]+) %", matching[0][3])
        assert rates and _matches(rates.group(1), 100 * report["scores"]["false_positive_rate"])
        assert _matches(rates.group(2), 100 * report["scores"]["detection_rate"])


def test_readme_zoo_table_lists_every_entry_with_its_metrics():
    rows = _table_rows(readme_text())
    header = next(row for row in rows if row and row[0] == "entry")
    columns = {name.split()[0].lower(): i for i, name in enumerate(header)}
    entries = [name for name in _entries() if "verdict" in _metrics(name)]
    assert entries, "no shipped entries in exported/"
    for name in entries:
        link = f"(exported/{name}/MODEL_CARD.md)"
        matching = [row for row in rows if link in row[0]]
        assert len(matching) == 1, f"the README's zoo table needs one line linking {link}"
        with open(os.path.join(EXPORTED, name, "metrics.json"), encoding="utf-8") as f:
            report = json.load(f)
        # FID as a multiple of each judge's floor, in the judges' order.
        cell = matching[0][columns["fid"]]
        shown = re.fullmatch(r"([\d.]+)×, ([\d.]+)×", cell)
        assert shown, f"{name} FID: expected 'cnn×, resnet×', got {cell!r}"
        for text, judge in zip(shown.groups(), report["judges"].values()):
            multiple = judge["metrics"]["fid"] / judge["real_floor"]["fid"]
            assert _matches(text, multiple), (name, cell, multiple)
        # Recall by the stricter judge: value (its floor) and its name.
        cell = matching[0][columns["recall"]]
        shown = re.fullmatch(r"([\d.]+) \(([\d.]+)\), (\w+)", cell)
        assert shown, f"{name} recall: expected 'value (floor), judge', got {cell!r}"
        stricter = report["verdict"]["recall"]
        assert _matches(shown.group(1), stricter["value"]), (name, cell)
        assert _matches(shown.group(2), stricter["real_floor"]), (name, cell)
        assert shown.group(3) == stricter["judge"], (name, cell)


def _markdown_files():
    docs = sorted(os.path.join(DOCS, name) for name in os.listdir(DOCS) if name.endswith(".md"))
    return [README, *docs]


def test_readme_links_every_guide_and_every_relative_link_resolves():
    guides = [name for name in os.listdir(DOCS) if name.endswith(".md")]
    text = readme_text()
    for name in guides:
        assert f"(docs/{name})" in text, f"README.md does not link docs/{name}"
    for path in _markdown_files():
        with open(path, encoding="utf-8") as f:
            body = _FENCE.sub("", f.read())  # code blocks hold no links
        for target in re.findall(r"\]\(([^)\s]+)\)", body):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), target.split("#")[0]))
            assert os.path.exists(resolved), f"{os.path.relpath(path, ROOT)} links {target}, which does not exist"
