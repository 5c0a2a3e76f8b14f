"""What the commands share: numeric flag types with stated ranges, and small helpers.

Nothing heavy is imported here (the parser is built on every start).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import WavesrError


class Number:
    """An argparse ``type`` for a number within a range (:class:`wavesr.checks.Range`): ``nan``, ``inf``
    and values outside give argparse's one-line error, and :func:`document_ranges` adds the range to
    the flag's help."""

    def __init__(
        self,
        low: float | None = None,
        high: float | None = None,
        integer: bool = False,
        low_open: bool = False,
        high_open: bool = False,
    ) -> None:
        from ..checks import Range

        self.range = Range(low, high, integer, low_open, high_open)
        self.__name__ = "whole number" if integer else "number"  # argparse names the type in its errors

    @classmethod
    def of(cls, limits: Any) -> Number:
        """The flag type of a config field's range."""
        return cls(limits.low, limits.high, limits.integer, limits.low_open, limits.high_open)

    def __call__(self, text: str) -> float:
        try:
            return self.range.check(int(text) if self.range.integer else float(text), "value")
        except (ValueError, WavesrError):
            raise argparse.ArgumentTypeError(f"must be a {self.describe()}, got {text!r}") from None

    def describe(self) -> str:
        return self.range.describe()


COUNT = Number(1, integer=True)  # at least one
NATURAL = Number(0, integer=True)  # zero or more
POSITIVE = Number(0, low_open=True)
RATE = Number(1, 1_000_000, integer=True)  # Hz
RATIO = Number(2, 64, integer=True)
SEED = Number(0, 2**32 - 1, integer=True)
WORKERS = Number(0, 64, integer=True)


def device_type(text: str) -> str:
    """argparse ``type`` of ``--device``: auto, cpu, cuda, cuda:N or mps."""
    from ..checks import device_name

    try:
        return device_name(text)
    except WavesrError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def document_ranges(parser: argparse.ArgumentParser) -> None:
    """Append each numeric flag's range to its help, so that ``--help`` states every one."""
    for action in parser._actions:
        if isinstance(action.type, Number) and action.help is not argparse.SUPPRESS:
            action.help = f"{action.help + '; ' if action.help else ''}{action.type.describe()}"
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                document_ranges(sub)


def progress(args: argparse.Namespace) -> bool:
    """Progress bars only on a terminal: logs and pipes get the result lines alone (no carriage returns)."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def os_error(e: OSError) -> str:
    return f"{e.filename}: {e.strerror}" if e.filename and e.strerror else str(e)


def parse_overrides(pairs: list[str]) -> dict:
    import json

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise WavesrError(f"--set {pair!r}: expected KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def parse_ratios(text: str) -> list[int]:
    try:
        return [int(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise WavesrError(f"ratios must be integers separated by commas, got {text!r}") from None


def print_skipped(lines: list[str], most: int = 20) -> None:
    """One line per file that could not be used (each names the file and the problem)."""
    for line in lines[:most]:
        print(f"wavesr: skipped {line}", file=sys.stderr)
    if len(lines) > most:
        print(f"wavesr: ... and {len(lines) - most} more (all listed in settings.json)", file=sys.stderr)
