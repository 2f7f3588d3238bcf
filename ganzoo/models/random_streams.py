"""Random-stream states in saved files, keyed by where each stream lives in the model.

Keras saves weights but not seed-generator states; saving every random
stream (latents, augmentation, dropout) lets a reloaded GAN continue
training exactly as the original would have.

Each state is saved under `rng_state:<path>`, where <path> names the
stream by where it lives in the model, the way Keras addresses a layer's
weights in a `.keras` file, with "." for "/" (a "/" would nest HDF5
groups): a public attribute by its name, the layers of a
Sequential/Functional (or any other model's layers not held by an
attribute) as `layers.<class name in snake case>` with `_1`, `_2`, ...
for later ones of the same class, and the stream by the attribute of its
layer that holds the SeedGenerator. A DCGAN with DiffAugment has

    rng_state:seed_generator                                (latents)
    rng_state:augmenter.layers.random_translation.generator

and an MLP discriminator's second dropout would be
`rng_state:discriminator.layers.dropout_1.seed_generator`. No part is
an auto-numbered name (`seed_generator_3`, `random_translation_1`
depend on what the process built before), so a path is the same in
every process and does not move when a stream is added elsewhere in
the model. A state no attribute reaches gets its variable's path with
auto-number suffixes stripped (`rng_state:~<path>`).

Files written before these keys (up to commit 70a12fd) hold the states
by position, `rng_state_<i>` in the order of `stream_keys`; they load
by position when the counts agree, and otherwise not at all (a warning
says so) rather than hand one stream's state to another.
"""

import logging
import re

import keras

logger = logging.getLogger(__name__)

PREFIX = "rng_state:"
POSITIONAL_PREFIX = "rng_state_"


def stream_keys(model):
    """The non-weight variables of `model` (random-stream states) as `(key, variable)` pairs.

    In the order of `model.variables`, which is the position a file of the
    positional format (`rng_state_<i>`) gives them.
    """
    def snake(name):  # keras' naming.to_snake_case, as in its weight paths
        name = re.sub(r"\W+", "", name)
        name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
        return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()

    def numbered(items, used):
        for item in items:
            name = snake(type(item).__name__)
            used[name] = used.get(name, -1) + 1
            yield (f"{name}_{used[name]}" if used[name] else name), item

    keys, seen = {}, set()

    def walk(layer, path):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        own = dict(vars(layer))
        own.update(own.get("_modules") or {})  # torch.nn.Module keeps sub-layers out of __dict__
        attributes = sorted(own.items(), key=lambda item: (item[0].startswith("_"), item[0]))
        for name, value in attributes:
            if isinstance(value, keras.random.SeedGenerator):
                keys.setdefault(id(value.state), path + name)
        children = []
        for name, value in attributes:
            if name.startswith("_"):
                continue
            if isinstance(value, keras.layers.Layer):
                children.append((path + name, value))
            elif isinstance(value, (list, tuple)) and any(isinstance(v, keras.layers.Layer) for v in value):
                children.extend((f"{path}{name}.{n}", v) for n, v in numbered(
                    [v for v in value if isinstance(v, keras.layers.Layer)], {}))
        if isinstance(layer, keras.Model):
            held = {id(child) for _, child in children}
            children.extend((f"{path}layers.{n}", v) for n, v in numbered(
                [v for v in layer.layers if id(v) not in held], {}))
        for child_path, child in children:
            walk(child, child_path + ".")

    walk(model, "")
    weight_ids = {id(w) for w in model.weights}
    pairs, used = [], set()
    for variable in model.variables:
        if id(variable) in weight_ids:
            continue
        key = keys.get(id(variable))
        if key is None:
            key = "~" + re.sub(r"_\d+(?=/|$)", "", variable.path).replace("/", ".")
        base, n = key, 0
        while key in used:
            n += 1
            key = f"{base}#{n}"
        used.add(key)
        pairs.append((key, variable))
    return pairs


def save(model, store):
    """Writes `model`'s random-stream states into `store` (a Keras weights store) by key."""
    for key, variable in stream_keys(model):
        store[PREFIX + key] = variable


def load(model, store):
    """Assigns `model`'s random-stream states from `store`; returns the store's other entries."""
    keys = list(store.keys())
    streams = stream_keys(model)
    keyed = {k[len(PREFIX):]: k for k in keys if k.startswith(PREFIX)}
    old = POSITIONAL_PREFIX
    positional = {int(k[len(old):]): k for k in keys if k.startswith(old) and k[len(old):].isdigit()}
    if keyed:
        ours = dict(streams)
        for key in sorted(set(keyed) - set(ours)):
            logger.warning("%s: the file holds the state of random stream %r, which this model "
                           "does not have; it is ignored.", model.name, key)
        fresh = [key for key, _ in streams if key not in keyed]
        if fresh:
            logger.info("%s: the file holds no state for random stream(s) %s; they keep their "
                        "fresh state.", model.name, ", ".join(fresh))
        for key, variable in streams:
            if key in keyed:
                variable.assign(store[keyed[key]])
    elif positional:
        if sorted(positional) == list(range(len(streams))):
            for i, (_, variable) in enumerate(streams):
                variable.assign(store[positional[i]])
        else:
            logger.warning("%s: the file holds %d random-stream states by position (a file from "
                           "before keyed states) and this model has %d streams (%s); which is "
                           "which cannot be told, so every stream keeps its fresh state.",
                           model.name, len(positional), len(streams),
                           ", ".join(key for key, _ in streams))
    elif streams:
        logger.info("%s: the file holds no random-stream states; every stream keeps its "
                    "fresh state.", model.name)
    return {
        k: store[k] for k in keys
        if not k.startswith(PREFIX) and not (k.startswith(old) and k[len(old):].isdigit())
    }
