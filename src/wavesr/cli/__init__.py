"""The ``wavesr`` command: a thin layer that maps flags onto library calls.

Each module here holds a few subcommands: an ``add_<name>`` function declares a subcommand's
flags and a ``_cmd_<name>`` function calls the library and prints. Errors the user can cause
(:class:`WavesrError`) print one line and exit with status 1; ``--debug`` shows the traceback
instead. Building the parser imports nothing heavy, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import __version__
from ..constants import CONTENTS, DEGRADE_CHANNELS, PASSES  # noqa: F401 (the flags' choices, public here)
from ..errors import WavesrError
from . import data, evaluate, info, recipe, report, train, upsample
from .options import Number, document_ranges, os_error  # noqa: F401 (Number is public here)
from .stream import add_stream


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wavesr", description="Neural audio super-resolution.")
    parser.add_argument("--version", action="version", version=f"wavesr {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        data.add_corpus,
        data.add_prepare,
        train.add_train,
        upsample.add_upsample,
        upsample.add_models,
        add_stream,
        info.add_info,
        evaluate.add_evaluate,
        evaluate.add_plot,
        report.add_samples,
        report.add_paper,
        recipe.add_recipe,
        recipe.add_export,
    ):
        add(sub)
    document_ranges(parser)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (what ``timeout``, systemd and docker send): handled as Ctrl-C is, so that
    every temporary file is removed and nothing half-written stays."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)  # only in wavesr's own process: a forked one has the default back


_FORK_HOOK: list[bool] = []


def _default_in_child() -> None:
    """In a process forked from wavesr's (a pool's or a data loader's worker), SIGTERM and SIGHUP
    kill at once again. A Python-level handler runs only between bytecodes: a signal that lands as
    a worker enters a blocking wait (``multiprocessing.Pool.terminate`` sends it to workers waiting
    on the task queue's lock) would only be noted, the worker would sleep on, and the pool's join
    would hang for ever."""
    import signal

    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is _terminated:
            signal.signal(signum, signal.SIG_DFL)


def _handle_signals() -> dict[int, Any]:
    """Install :func:`_terminated` for SIGTERM and SIGHUP (not where they are ignored, as under nohup),
    and :func:`_default_in_child` for the processes forked from this one."""
    import os
    import signal

    if not _FORK_HOOK:
        os.register_at_fork(after_in_child=_default_in_child)
        _FORK_HOOK.append(True)
    before: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            before[signum] = signal.signal(signum, _terminated)
    return before


def _escape_undecodable_names() -> None:
    """A file name that is not valid UTF-8 prints with its odd bytes as ``\\xNN`` (not a traceback)."""
    import codecs

    def escape(e: UnicodeError) -> tuple[str, int]:
        bad = e.object[e.start : e.end]  # type: ignore[attr-defined]
        return "".join(
            f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else f"\\u{ord(c):04x}" for c in bad
        ), e.end  # type: ignore[attr-defined]

    codecs.register_error("wavesr-escape", escape)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="wavesr-escape")


def main(argv: list[str] | None = None) -> int:
    import signal

    args = build_parser().parse_args(argv)
    _escape_undecodable_names()
    before = _handle_signals()
    try:
        return int(args.func(args) or 0)
    except WavesrError as e:
        if args.debug:
            raise
        print(f"wavesr: error: {e}", file=sys.stderr)
        return 1
    except Terminated as e:
        print(
            f"wavesr: terminated ({signal.Signals(e.signum).name}); nothing half-written was kept",
            file=sys.stderr,
        )
        return 128 + e.signum
    except KeyboardInterrupt:
        print("wavesr: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `wavesr corpus show speech | head`
        sys.stderr.close()
        return 0
    except OSError as e:  # the system refused (permission denied, ...): the user's environment, one line
        if args.debug:
            raise
        print(f"wavesr: error: {os_error(e)}", file=sys.stderr)
        return 1
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
