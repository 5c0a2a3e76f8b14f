"""The ``wavesr`` command: a thin layer that maps flags onto library calls.

Every subcommand has an ``_add_<name>`` function that declares its flags and a ``_cmd_<name>``
function that calls the library. Errors the user can cause (:class:`WavesrError`) print one line
and exit with status 1; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .errors import WavesrError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wavesr", description="Neural audio super-resolution.")
    parser.add_argument("--version", action="version", version=f"wavesr {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_corpus, _add_prepare):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except WavesrError as e:
        if args.debug:
            raise
        print(f"wavesr: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("wavesr: interrupted", file=sys.stderr)
        return 130


# ------------------------------------------------------------------------------------ corpus

def _add_corpus(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("corpus", help="build, list and inspect corpora")
    p.set_defaults(func=lambda args: p.print_help())


# ----------------------------------------------------------------------------------- prepare

def _add_prepare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare", help="cut a corpus split into (low-res, high-res) training patches")
    p.set_defaults(func=lambda args: p.print_help())


if __name__ == "__main__":
    sys.exit(main())
