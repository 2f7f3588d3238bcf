"""Slimmer zoo entries: a generator-only preset and no SavedModel folders, checked against the fingerprint.

A zoo entry as `ganzoo.export.entry.build_entry` writes it carries the whole
training state (both networks, the EMA generator, both optimizers' state) and
a SavedModel beside the TFLite files. `slim_entry` re-saves an entry for
shipping: the generator's weights only (`ganzoo.presets`' generator-only
preset; ``training_state=True`` keeps the full state, for entries meant for
fine-tuning), no ``saved_model/`` folder (``ganzoo export NAME --out DIR``
writes it again), and a card section saying so. Run it with
``python benchmarks/slim_entries.py``.
"""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile

from ganzoo import presets
from ganzoo.export.entry import card_for
from ganzoo.export.errors import ExportError
from ganzoo.files import write_text_atomically

__all__ = ["fingerprint_problems", "slim_entry"]


def slim_entry(folder, *, training_state: bool = False) -> dict:
    """Makes a shipped entry smaller: no ``saved_model/`` folder and, unless `training_state`, the generator only.

    The preset is re-saved from its own weights (nothing retrained) as a
    generator-only preset (`ganzoo.presets`), and the re-saved one must match
    the entry's fingerprint before anything in `folder` changes. Every
    ``saved_model/`` folder goes (``ganzoo export NAME --out DIR`` writes it
    again, with the TFLite files); the card and ``metadata["shipped"]`` say
    what is left out and how to get it back.

    Returns:
        The entry's new metadata.
    """
    folder = os.path.abspath(os.fspath(folder))
    metadata = presets.read_metadata(folder)
    gan = presets.from_preset(folder)
    name = metadata["name"]
    full = os.path.isfile(os.path.join(folder, presets.WEIGHTS_FILE))
    left_out = [] if training_state or not full else ["the discriminator and both optimizers' state (the preset holds the "
                                           "generator's weights, the EMA copy where there is one)"]
    saved_models = [os.path.join(root, "saved_model") for root, dirs, _ in os.walk(folder) if "saved_model" in dirs]
    if saved_models:
        left_out.append("the `saved_model/` folder" + ("s" if len(saved_models) > 1 else "") + " measured above")
    if not left_out:
        raise ExportError(f"{folder!r} ships neither a training state nor a SavedModel already; nothing to leave out")
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    note = (f"To keep `exported/` small this entry ships without {' and '.join(left_out)} ({date[:10]}, "
            "`ganzoo.export.slim.slim_entry`; nothing was retrained and the fingerprint is unchanged). "
            f"`ganzoo export {name} --out DIR` writes the SavedModel and the TFLite files again from the shipped "
            "weights." + ("" if training_state else
                          " `ganzoo.from_preset` loads the generator with a freshly initialised discriminator and "
                          "fresh optimizers, so `fit` starts a new adversarial game from the trained generator; "
                          "`ganzoo train` of the config gives the full training state."))
    metadata.update(training_state=training_state, shipped={"date": date, "training_state": training_state,
                                                           "saved_model": False, "note": note})
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.slim-", dir=os.path.dirname(folder))
    try:
        preset = os.path.join(staging, "preset")
        presets.save_preset(gan, preset, metadata=metadata, training_state=training_state)
        problems = fingerprint_problems(presets.from_preset(preset), metadata)
        if problems:
            raise ExportError(f"the re-saved preset of {folder!r} does not match its fingerprint: {problems[0]}")
        for stem in ("model", *presets.inference_networks(gan)):
            path = os.path.join(folder, f"{stem}.weights.h5")
            if os.path.exists(path):
                os.remove(path)
        for file in os.listdir(preset):
            os.replace(os.path.join(preset, file), os.path.join(folder, file))
        for path in saved_models:
            shutil.rmtree(path)
        metadata = presets.read_metadata(folder)
        write_text_atomically(os.path.join(folder, "MODEL_CARD.md"), card_for(gan, metadata, folder))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return metadata


def fingerprint_problems(gan, metadata):
    """What differs between `gan`'s fingerprint and the one an entry's `metadata` records."""
    from ganzoo.export.fingerprint import check_fingerprint  # pylint: disable=import-outside-toplevel

    return check_fingerprint(gan, metadata["dataset"], metadata["fingerprint"])
