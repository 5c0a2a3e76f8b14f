"""``wavesr info``: what a file holds (rate, channels, length, where its real content ends) and what
``wavesr upsample`` would do with it, before anything is run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..constants import CONTENTS
from ..errors import WavesrError
from .options import POSITIVE, os_error


def add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="rate, channels, duration and the measured bandwidth of audio files",
        description="For each file: its rate, channels, duration and format, where its real content ends "
        "(audio.cutoff: a codec's cliff, a resampler's or a filter's transition, a noise floor), per "
        "stretch when it changes along the file, and the shipped model wavesr upsample would use.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files")
    p.add_argument(
        "--stretch-seconds",
        type=POSITIVE,
        default=30.0,
        metavar="S",
        help="measure the bandwidth over stretches of S seconds too (default 30)",
    )
    p.add_argument(
        "--content",
        choices=CONTENTS,
        help="which shipped model to name (default: the file's, as wavesr upsample measures it)",
    )
    p.set_defaults(func=_cmd_info)


def _khz(hz: float) -> str:
    return f"{hz / 1000:.1f} kHz"


def describe(path: str, measured: Any, header: Any, content: str) -> list[str]:
    """The lines ``wavesr info`` prints for one file."""
    from .. import pretrained

    nyquist = measured.sr / 2
    lines = [
        f"{path}: {measured.sr} Hz, {measured.channels} ch, {measured.seconds:.2f} s, "
        f"{header.format} {header.subtype}"
    ]
    if measured.cutoff == 0:
        lines.append("  silent: no content at all")
    elif measured.cutoff >= nyquist - 1:
        lines.append(f"  content reaches the top of its band ({_khz(nyquist)}): full band at this rate")
    else:
        lines.append(
            f"  content ends at {_khz(measured.cutoff)} of {_khz(nyquist)} (a codec's or a filter's "
            "cliff, a lower rate resampled up, or a noise floor)"
        )
    if measured.varies():
        for start, end, hz in measured.stretches:
            lines.append(f"    {start:8.1f}-{end:.1f} s: content ends at {_khz(hz)}")
    full_band = {m.content: m for m in reversed(pretrained.available_models()) if m.ratio == 1}
    if full_band:
        from ..extend import plan

        model = full_band.get(content) or full_band.get("speech") or next(iter(full_band.values()))
        note = plan(measured.cutoff, measured.sr).note
        lines.append(f"  wavesr upsample would use {model.name} ({content}): {note}")
        return lines
    try:
        model = pretrained.pick_model(pretrained.ratio_for_rate(measured.sr, content), content)
    except WavesrError as e:
        lines.append(f"  wavesr upsample: {e}")
        return lines
    lines.append(
        f"  wavesr upsample would use {model.name}: resampled to {model.sr_lowres:g} Hz, "
        f"x{model.ratio} to {model.sr} Hz"
    )
    if measured.cutoff > model.sr_lowres / 2 + 1:
        lines.append(
            f"  note: content above {_khz(model.sr_lowres / 2)} is discarded and regenerated: "
            f"this file holds real content up to {_khz(measured.cutoff)}"
        )
    return lines


def _cmd_info(args: argparse.Namespace) -> int:
    from .. import audio
    from ..extend import file_content

    failed = []
    for path in args.files:
        try:
            header = audio.info(path)
            measured = audio.file_cutoff(path, args.stretch_seconds)
        except (WavesrError, OSError) as e:
            text = os_error(e) if isinstance(e, OSError) else str(e)
            print(f"wavesr: {text if path in text else f'{path}: {text}'}", file=sys.stderr)
            failed.append(path)
            continue
        try:
            content = args.content or file_content(path)
        except WavesrError:
            content = "speech"
        print("\n".join(describe(path, measured, header, content)))
    if failed:
        done = len(args.files) - len(failed)
        print(f"{done} of {len(args.files)} files measured; failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
