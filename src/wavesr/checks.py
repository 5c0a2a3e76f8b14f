"""Checks of values that come from outside: flags, API arguments and the files wavesr reads back.

Each check raises :class:`WavesrError` with one line that names the value and says what was
expected, so that a hand-edited config, a damaged settings file or a flag such as ``--lr nan``
ends in that line, never in a traceback from deep inside. Nothing heavy is imported here.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import WavesrError

T = TypeVar("T")


def number(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    integer: bool = False,
    low_open: bool = False,
    high_open: bool = False,
    optional: bool = False,
) -> Any:
    """``value`` if it is a finite number within ``[low, high]`` (an open end with ``low_open`` or
    ``high_open``), a whole number with ``integer``, ``None`` with ``optional``; else a WavesrError
    naming ``name``."""
    if value is None and optional:
        return value
    kind = "a whole number" if integer else "a number"
    ok = not isinstance(value, bool) and isinstance(value, numbers.Integral if integer else numbers.Real)
    ok = ok and math.isfinite(float(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        raise WavesrError(
            f"{name} must be {kind}{describe_range(low, high, low_open, high_open)}, got {value!r}"
        )
    return value


@dataclass(frozen=True)
class Range:
    """Where a number must lie: :func:`number`'s bounds, kept with a setting (flags, configs)."""

    low: float | None = None
    high: float | None = None
    integer: bool = False
    low_open: bool = False
    high_open: bool = False

    def check(self, value: Any, name: str, optional: bool = False) -> Any:
        return number(
            value,
            name,
            self.low,
            self.high,
            integer=self.integer,
            low_open=self.low_open,
            high_open=self.high_open,
            optional=optional,
        )

    def describe(self) -> str:
        """``whole number >= 1``, ``number in (0, 1]``, ..."""
        kind = "whole number" if self.integer else "number"
        return kind + describe_range(self.low, self.high, self.low_open, self.high_open)


def device_name(name: Any) -> str:
    """``name`` if it names a device wavesr runs on: auto, cpu, cuda, cuda:N or mps."""
    if not isinstance(name, str) or not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", name):
        raise WavesrError(f"unknown device {name!r} (choose auto, cpu, cuda, cuda:N or mps)")
    return name


def describe_range(
    low: float | None, high: float | None, low_open: bool = False, high_open: bool = False
) -> str:
    """`` > 0``, `` in [1, 8]``, ... as the error messages and the flags' help say it."""
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{_text(low)}, {_text(high)}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {_text(low)}"
    if high is not None:
        return f" {'<' if high_open else '<='} {_text(high)}"
    return " (finite)"


def _text(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _matches(value: Any, hint: Any) -> bool:
    """Whether a value read from JSON (or a checkpoint) fits a dataclass field's type hint."""
    if hint is Any:
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return any(_matches(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is float:
        return not isinstance(value, bool) and isinstance(value, numbers.Real)
    if hint is int:
        return not isinstance(value, bool) and isinstance(value, numbers.Integral)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is list or len(args) == 2 and args[1] is Ellipsis:
            return not args or all(_matches(v, args[0]) for v in value)
        return not args or len(args) == len(value) and all(_matches(v, a) for v, a in zip(value, args))
    if origin is dict:
        return isinstance(value, dict)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # a hint this check does not know: the dataclass's own checks decide


def from_dict(cls: type[T], values: Any, where: str, partial: bool = False) -> T:
    """Build dataclass ``cls`` from ``values`` (a dict read from a file), naming what does not fit:
    not a dict, an unknown key, a missing one (``partial``: missing keys take the defaults) or a
    value of the wrong type."""
    if not isinstance(values, dict):
        raise WavesrError(
            f"{where}: expected a mapping of {cls.__name__} settings, got {type(values).__name__}"
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise WavesrError(f"{where}: unknown setting {', '.join(map(str, unknown))} for {cls.__name__}")
    required = [
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [n for n in (required if partial else fields) if n not in values]
    if missing:
        raise WavesrError(f"{where}: missing setting {', '.join(missing)} for {cls.__name__}")
    hints = typing.get_type_hints(cls)
    for key, value in values.items():
        if not _matches(value, hints.get(key, Any)):
            raise WavesrError(f"{where}: setting {key} = {value!r} is not of type {_type_name(hints[key])}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise WavesrError(f"{where}: {e}") from None


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
