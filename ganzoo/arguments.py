"""Declared argument types and ranges, and the one checker that reads them.

A builder declares what each keyword accepts in its annotation, e.g.
``output_activation: Annotated[Optional[str], OneOf("tanh", "sigmoid", "linear", None)]``
or ``hidden_units: Annotated[tuple[int, ...], Range(1, 65536), Length(maximum=16)]``.
`check_arguments` reads them (``typing.get_type_hints(builder, include_extras=True)``)
and checks a config's ``model.generator`` against them, so the checks cannot
drift from the builders; `check_value` checks one value against one
annotation, for the config sections too. A problem raises `ArgumentError`,
one line naming the key, what was given and what is expected. Values come
from YAML: a list stands for a tuple, ``2e-4`` may arrive as a string (YAML
1.1), and no number may be NaN or infinite. No Keras is imported here.
"""

import dataclasses
import difflib
import inspect
import math
import operator
import re
import reprlib
import types
import typing
from typing import Annotated

_EXPECTED = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
             dict: "a mapping", list: "a list", tuple: "a list"}


class ArgumentError(ValueError):
    """A value that its declaration does not allow, described in one line."""


@dataclasses.dataclass(frozen=True)
class Range:
    """Bounds of a number, or of every item of a list; the exclusive ones are not allowed themselves."""

    minimum: typing.Optional[float] = None
    maximum: typing.Optional[float] = None
    exclusive_minimum: typing.Optional[float] = None
    exclusive_maximum: typing.Optional[float] = None

    def _bounds(self):
        return ((">=", self.minimum, operator.ge), (">", self.exclusive_minimum, operator.gt),
                ("<=", self.maximum, operator.le), ("<", self.exclusive_maximum, operator.lt))

    def contains(self, value):
        """Whether the number `value` lies within the bounds."""
        return all(holds(value, bound) for _, bound, holds in self._bounds() if bound is not None)

    def __str__(self):
        return " and ".join(f"{sign} {bound}" for sign, bound, _ in self._bounds() if bound is not None)


@dataclasses.dataclass(frozen=True)
class Length:
    """Allowed number of items of a list."""

    minimum: int = 0
    maximum: typing.Optional[int] = None

    def __str__(self):
        if self.maximum is None:
            return f"at least {self.minimum}"
        return f"at most {self.maximum}" if self.minimum == 0 else f"{self.minimum} to {self.maximum}"


class OneOf:
    """Allowed values (names), None meaning YAML's null."""

    def __init__(self, *choices):
        self.choices = choices

    def __str__(self):
        names = ["null" if c is None else repr(c) for c in self.choices]
        return f"one of {', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]


@dataclasses.dataclass(frozen=True)
class Pattern:
    """Allowed strings: those that `regex` matches in full, described in words."""

    regex: str
    description: str


def describe(value):
    """`value` for a message: its repr (shortened) and its type."""
    return f"{reprlib.repr(value)} ({type(value).__name__})"


def check_value(key, value, hint, constraints=()):
    """Checks `value` against the annotation `hint`; returns it normalised.

    A ``float`` becomes a float (from a YAML 1.1 string such as ``"2e-4"`` too),
    a list or tuple a list of checked items; other values come back as given.

    Args:
        key: The value's name in messages, e.g. ``"model.generator.hidden_units"``.
        value: The value.
        hint: ``int``, ``float``, ``str``, ``bool``, ``dict``, ``list``/``tuple``
            (of an item type or not), ``Optional`` of one, or ``Annotated`` of
            these with `Range`, `Length`, `OneOf` and `Pattern` markers.
        constraints: Markers that apply in addition to those in `hint`.

    Raises:
        ArgumentError: if the value is not allowed.
    """
    origin = typing.get_origin(hint)
    if origin is Annotated:
        base, *markers = typing.get_args(hint)
        return check_value(key, value, base, tuple(constraints) + tuple(markers))
    if origin in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(hint) if m is not type(None)]
        if value is None and len(members) < len(typing.get_args(hint)):
            return None
        if len(members) != 1:
            raise TypeError(f"{key}: only Optional[X] unions are supported, not {hint}.")
        return check_value(key, value, members[0], constraints)
    one_of = next((c for c in constraints if isinstance(c, OneOf)), None)
    if value is None:
        kind = origin or hint
        wanted = f"; give {one_of}" if one_of else (f"; give {_EXPECTED[kind]}" if kind in _EXPECTED else "")
        raise ArgumentError(f"Key {key!r} must not be empty (null){wanted}.")
    if hint in (list, tuple) or origin in (list, tuple):
        return _check_list(key, value, hint, constraints)
    if one_of is not None:
        if not any(value == choice and type(value) is type(choice) for choice in one_of.choices):
            names = [c for c in one_of.choices if isinstance(c, str)]
            close = difflib.get_close_matches(value, names, n=1) if isinstance(value, str) else []
            hint_text = f" Did you mean {close[0]!r}?" if close else ""
            raise ArgumentError(f"Key {key!r} must be {one_of}, got {describe(value)}.{hint_text}")
        return value
    if hint not in _EXPECTED:
        return value  # an undeclared type: nothing to check
    value = _check_type(key, value, hint, constraints)
    for constraint in constraints:
        if isinstance(constraint, Range) and not constraint.contains(value):
            raise ArgumentError(f"Key {key!r} must be {constraint}, got {value!r}.")
        if isinstance(constraint, Pattern) and not re.fullmatch(constraint.regex, value):
            raise ArgumentError(f"Key {key!r} must be {constraint.description}, got {value!r}.")
    return value


def _check_type(key, value, hint, constraints):
    if hint is float and isinstance(value, str):
        try:  # YAML 1.1 reads 2e-4 (no dot) as a string
            value = float(value)
        except ValueError:
            pass
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, hint) and not isinstance(value, bool)
    if not ok:
        expected = " ".join([_EXPECTED[hint]] + [str(c) for c in constraints if isinstance(c, Range)])
        raise ArgumentError(f"Key {key!r} must be {expected}, got {describe(value)}.")
    if hint is float:
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range
            number = math.inf
        if not math.isfinite(number):
            raise ArgumentError(f"Key {key!r} must be a finite number, got {describe(value)}.")
        return number
    return value


def _check_list(key, value, hint, constraints):
    if not isinstance(value, (list, tuple)):
        raise ArgumentError(f"Key {key!r} must be a list, got {describe(value)}.")
    for length in (c for c in constraints if isinstance(c, Length)):
        if len(value) < length.minimum or (length.maximum is not None and len(value) > length.maximum):
            raise ArgumentError(f"Key {key!r} must hold {length} items, got {len(value)}.")
    item = (typing.get_args(hint) or (object,))[0]
    for_items = tuple(c for c in constraints if not isinstance(c, Length))
    return [check_value(f"{key}[{i}]", v, item, for_items) for i, v in enumerate(value)]


def keyword_hints(builder, exclude=()):
    """The annotations of `builder`'s keyword-only parameters but `exclude`, ``{name: annotation}``.

    Raises:
        TypeError: if one has no annotation (a builder must declare them all).
    """
    hints = typing.get_type_hints(builder, include_extras=True)
    names = [p.name for p in inspect.signature(builder).parameters.values()
             if p.kind is p.KEYWORD_ONLY and p.name not in exclude]
    missing = [name for name in names if name not in hints]
    if missing:
        raise TypeError(f"{builder.__qualname__} declares no type for {', '.join(missing)}; annotate it.")
    return {name: hints[name] for name in names}


def check_arguments(builder, values, *, key, exclude=None, context=""):
    """Checks the keyword arguments `values` of `builder` against its annotations.

    Args:
        builder: The function the values are for.
        values: A mapping of keyword names to values.
        key: The mapping's name in messages, e.g. ``"model.generator"``.
        exclude: ``{keyword: the key that sets it}`` for keywords the caller sets.
        context: Words after the key in an unknown-key message, e.g. ``" for family 'mlp'"``.

    Returns:
        A new dict of the normalised values (see `check_value`).

    Raises:
        ArgumentError: on an unknown or excluded keyword, or a value its declaration does not allow.
    """
    exclude = exclude or {}
    declared = keyword_hints(builder)
    accepted = {name: hint for name, hint in declared.items() if name not in exclude}
    checked = {}
    for name, value in values.items():
        full = f"{key}.{name}"
        if name in exclude and name in declared:
            raise ArgumentError(f"Key {full!r} is set by {exclude[name]!r}; remove it here.")
        if name not in accepted:
            close = difflib.get_close_matches(str(name), accepted, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else f" Valid: {', '.join(accepted)}."
            raise ArgumentError(f"Unknown key {full!r}{context}.{hint}")
        checked[name] = check_value(full, value, accepted[name])
    return checked


# Declarations shared by the network builders (ganzoo.models) and the config.
LatentSize = Annotated[int, Range(1, 4096)]
Filters = Annotated[int, Range(1, 4096)]
HiddenUnits = Annotated[tuple[int, ...], Range(1, 65536), Length(maximum=16)]
GroupSize = Annotated[int, Range(1, 65536)]
PackSize = Annotated[int, Range(1, 64)]
