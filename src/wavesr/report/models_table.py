"""The README's table of shipped models, generated from the registry so that each figure exists once.

:func:`models_markdown` reads :func:`wavesr.pretrained.available_models` (no model is loaded, so
torch is not imported) and returns a markdown table. The README holds it between
:data:`START` and :data:`END`; ``python -m wavesr.report.models_table`` rewrites that block in
place (``--check`` only says whether it is current), and ``tests/test_docs.py`` checks it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..constants import CONTENTS
from ..pretrained import ModelInfo, available_models

START = "<!-- models:start -->"
END = "<!-- models:end -->"
README = Path(__file__).resolve().parents[3] / "README.md"  # src/wavesr/report/ -> the repository root


def rates(info: ModelInfo) -> str:
    """What a model does to the rate: ``x4, 4 -> 16 kHz``, or for a full-band model (ratio 1)
    ``any rate -> 48 kHz (full band)``."""
    if info.ratio == 1:
        return f"any rate -> {info.sr / 1000:g} kHz (full band)"
    return f"x{info.ratio}, {info.sr_lowres / 1000:.3g} -> {info.sr / 1000:g} kHz"


def network(info: ModelInfo) -> str:
    if info.passes > 1:
        return f"{info.network}, self-ensemble of {info.passes} passes"
    return info.network


def scores(info: ModelInfo) -> str:
    files = info.scores.get("test_files")
    text = info.scores_text()
    return f"{files} test files: {text}" if files else text


def _order(info: ModelInfo) -> tuple[bool, int, int, str]:
    """Full-band models first, then by content and ratio."""
    content = CONTENTS.index(info.content) if info.content in CONTENTS else len(CONTENTS)
    return (info.ratio != 1, content, info.ratio, info.name)


def models_markdown(registry: str | os.PathLike[str] | None = None) -> str:
    """The shipped models as a markdown table (one row per registry entry), ending in a newline."""
    lines = [
        "| model | what it does | content | network | parameters | held-out scores |",
        "|---|---|---|---|---|---|",
    ]
    for info in sorted(available_models(registry), key=_order):
        cells = [
            f"`{info.name}`",
            rates(info),
            info.content,
            network(info),
            f"{info.params / 1e6:.2f} M",
            scores(info),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def replace_block(text: str, table: str) -> str:
    """``text`` with the part between :data:`START` and :data:`END` replaced by ``table``."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"expected one {START} ... {END} block")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{table}{END}{tail}"


def block(text: str) -> str:
    """The part of ``text`` between :data:`START` and :data:`END`, without the newline after START."""
    if text.count(START) != 1 or text.count(END) != 1:
        raise ValueError(f"expected one {START} ... {END} block")
    return text.split(START)[1].split(END)[0].removeprefix("\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Rewrite the README's table of shipped models from the registry."
    )
    ap.add_argument("readme", nargs="?", default=str(README), help="the file to rewrite (default README.md)")
    ap.add_argument("--check", action="store_true", help="only check: exit 1 when the block is not current")
    args = ap.parse_args(argv)
    path = Path(args.readme)
    text = path.read_text(encoding="utf-8")
    new = replace_block(text, models_markdown())
    if args.check:
        if new != text:
            print(f"{path}: the models table is out of date (python -m wavesr.report.models_table)")
            return 1
        return 0
    if new != text:
        path.write_text(new, encoding="utf-8")
        print(f"{path}: models table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
