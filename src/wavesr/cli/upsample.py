"""``wavesr upsample`` (over :func:`wavesr.batch.upsample_batch`) and ``wavesr models``."""

from __future__ import annotations

import argparse
import sys

from ..constants import CONTENTS, PASSES
from .options import (
    RATE,
    RATIO,
    Number,
    device_type,
    progress,
)


def add_upsample(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "upsample",
        help="upsample audio files with a trained or shipped model",
        description="Upsample audio files or folders (recursive) at any sample rate and bandwidth. By "
        "default each input's real bandwidth is measured and a full-band model generates only what is "
        "missing, to 48 kHz (44.1 kHz for inputs of that family; see wavesr.extend); --ratio or a paper "
        "model (speech-x4, ...) resamples the input to the model's low rate and returns 16 kHz. Outputs "
        "are written as <stem>.sr.wav beside each input or under -o.",
    )
    p.add_argument("inputs", nargs="+", metavar="IN", help="audio files and/or folders")
    p.add_argument("-o", "--out", metavar="OUT", help="output file (one input) or folder (keeps the tree)")
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--model",
        metavar="NAME|PATH",
        help="a shipped model (wavesr models), a .pt checkpoint or a training run folder",
    )
    g.add_argument(
        "--ratio", type=RATIO, metavar="R", help="use the shipped model for this ratio and --content"
    )
    p.add_argument(
        "--content",
        choices=CONTENTS,
        help="which shipped model to use: the full-band speech or music model (default: chosen per "
        "file by how its level moves, wavesr.extend.content_of), or with --ratio the paper's (default "
        "speech); telephone: phone calls, 300-3400 Hz at 8 kHz, for models you add",
    )
    p.add_argument("--target-sr", type=RATE, metavar="HZ", help="resample the output to this rate")
    p.add_argument("--device", default="auto", type=device_type, help="auto (default), cpu, cuda, cuda:N")
    # defaults None: inference's own defaults apply (10 s chunks, 1 s overlap)
    p.add_argument(
        "--chunk-seconds", type=Number(0, 60, low_open=True), metavar="S", help="chunk length (default 10)"
    )
    p.add_argument(
        "--overlap-seconds", type=Number(0, 10), metavar="S", help="overlap of consecutive chunks (default 1)"
    )
    p.add_argument("--format", choices=("wav", "flac"), help="output format (default wav, or -o's extension)")
    p.add_argument("--subtype", help="e.g. PCM_16, PCM_24, FLOAT (default PCM_16, or the input's if deeper)")
    p.add_argument(
        "--no-limiter",
        dest="limiter",
        action="store_false",
        help="keep samples over full scale (clipped by PCM formats, reported) instead of soft-limiting",
    )
    p.add_argument(
        "--passes",
        type=int,
        choices=PASSES,
        help="self-ensemble: average this many sign-flipped and shifted runs of the network (higher SNR, "
        "somewhat higher LSD, that many times slower; default: the model's own, 1 unless its card says)",
    )
    p.add_argument(
        "--strength",
        type=Number(0, 1),
        metavar="S",
        help="a full-band model's generated band scaled by S (0: none, the input resampled; default: the "
        "model's own, chosen on validation)",
    )
    p.add_argument(
        "--equalize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a full-band model lifts the top of the input's band where the filter that made it (a "
        "resampler's transition band) attenuated it (default: the model's own, chosen on validation)",
    )
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    p.add_argument(
        "--compare",
        action="store_true",
        help="also write the cubic-spline version (<stem>.cubic.wav) and a spectrogram PNG",
    )
    p.add_argument(
        "--shard",
        metavar="K/N",
        help="do the K-th of N shares of the inputs (default: from torchrun's "
        "RANK/WORLD_SIZE or a SLURM array's task id and count, else all)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="leave outputs wavesr already wrote as they are (a stopped batch goes on where it was)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_upsample)


def _cmd_upsample(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..batch import parse_shard, upsample_batch

    def show(outcome) -> None:
        if outcome.error is not None:
            tqdm.write(f"wavesr: skipped {outcome.error}", file=sys.stderr)
            return
        tqdm.write(outcome.result.summary())
        for note in outcome.result.notes[1:]:
            tqdm.write(f"  {note}")
        if outcome.compare:
            tqdm.write(f"  compare: {outcome.compare[0]}, {outcome.compare[1]}")
        if outcome.compare_error:
            tqdm.write(
                f"wavesr: --compare failed for {outcome.compare_error} (its output {outcome.output} "
                "is written)",
                file=sys.stderr,
            )

    options = {
        k: getattr(args, k) for k in ("chunk_seconds", "overlap_seconds") if getattr(args, k) is not None
    }
    report = upsample_batch(
        args.inputs,
        args.out,
        model=args.model,
        ratio=args.ratio,
        content=args.content,
        device=args.device,
        fmt=args.format,
        compare=args.compare,
        force=args.force,
        progress=progress(args),
        on_file=show,
        raise_errors=args.debug,
        shard=parse_shard(args.shard) if args.shard else None,
        resume=args.resume,
        target_sr=args.target_sr,
        limiter=args.limiter,
        subtype=args.subtype,
        passes=args.passes,
        strength=args.strength,
        equalize=args.equalize,
        **options,
    )
    if report.failed or report.compare_failed:
        print(report.summary(), file=sys.stderr)
        return 1
    if len(report.outcomes) > 1 or report.skipped or report.shard[1] > 1:
        print(report.summary())
    return 0


def add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the shipped pretrained models",
        description="The pretrained models shipped with wavesr (or in $WAVESR_PRETRAINED), "
        "with their rates and held-out scores against cubic interpolation.",
    )
    p.set_defaults(func=_cmd_models)


def _cmd_models(args: argparse.Namespace) -> int:
    from .. import pretrained

    models = pretrained.available_models()
    if not models:
        print(
            f"no pretrained models are shipped yet (registry: {pretrained.registry_dir()}); "
            "train one (wavesr train) and use wavesr upsample --model RUN_FOLDER"
        )
        return 0
    for m in models:
        passes = f", {m.passes} passes" if m.passes > 1 else ""
        rates = f"any rate -> {m.sr} Hz" if m.ratio == 1 else f"x{m.ratio}  {m.sr_lowres:g} -> {m.sr} Hz"
        print(
            f"{m.name:16s} {rates}  {m.content:7s} {m.network} "
            f"({m.params / 1e6:.1f} M params{passes})  {m.scores_text()}"
        )
    return 0
