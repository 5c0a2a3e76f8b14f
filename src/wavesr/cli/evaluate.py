"""``wavesr evaluate`` and ``wavesr plot`` (Figure 2)."""

from __future__ import annotations

import argparse

from ..constants import DEGRADE_CHANNELS, PASSES
from ..errors import WavesrError
from .options import (
    COUNT,
    POSITIVE,
    RATE,
    RATIO,
    Number,
    device_type,
    parse_ratios,
    progress,
)


def add_evaluate(sub: argparse._SubParsersAction) -> None:
    from ..configs import EvalConfig

    d = EvalConfig()
    p = sub.add_parser(
        "evaluate",
        help="score methods (cubic, bandlimited, models) on a test split",
        description="Evaluate methods on a corpus split or on files: each file is loaded mono, made "
        "low-resolution with audio.degrade, rebuilt by each method and scored (SNR, LSD "
        "in both conventions, LSD-HF/LF, PESQ and STOI when installed). Per-file rows, "
        "tables and settings go to OUT; rerunning resumes (see wavesr.evaluate).",
    )
    p.add_argument(
        "methods",
        nargs="+",
        metavar="METHOD",
        help="cubic, bandlimited, a shipped model name, a checkpoint or a run folder; LABEL=SPEC names it",
    )
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--corpus", metavar="SPEC", help="a default corpus, a reader with --root, or a manifest")
    g.add_argument(
        "--files", nargs="+", metavar="PATH", help="audio files and/or folders instead of a corpus"
    )
    p.add_argument("--root", metavar="DIR", help="folder the corpus reader reads from")
    p.add_argument(
        "--split", choices=("train", "val", "test"), default="test", help="corpus split (default test)"
    )
    p.add_argument(
        "--source",
        metavar="NAME[,NAME...]",
        help="only the split's files from these sources (a default corpus's packages, e.g. megaglest-data)",
    )
    p.add_argument("-o", "--out", required=True, help="evaluation folder (resumed when it exists)")
    p.add_argument(
        "--ratio",
        "--ratios",
        dest="ratios",
        metavar="R[,R...]",
        help="upsampling ratios (default: the networks' ratios, else 4)",
    )
    p.add_argument(
        "--channel",
        choices=DEGRADE_CHANNELS,
        default=d.channel,
        help=f"the channel low-resolution input comes through (default {d.channel}; full band: --channels)",
    )
    p.add_argument(
        "--sr", type=RATE, metavar="HZ", help="evaluation rate (default: the networks' rate, else 16000)"
    )
    p.add_argument(
        "--max-files", type=COUNT, metavar="N", help="at most N files, evenly spaced over the split"
    )
    p.add_argument(
        "--max-seconds", type=POSITIVE, metavar="S", help="score only the first S seconds of each file"
    )
    p.add_argument(
        "--pesq",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compute PESQ (default: when the pesq package is installed)",
    )
    p.add_argument(
        "--stoi",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compute STOI (default: when the pystoi package is installed)",
    )
    p.add_argument(
        "--figures",
        type=Number(0, 1000, integer=True),
        default=0,
        metavar="N",
        help="spectrogram figures of the first N files",
    )
    p.add_argument(
        "--save-audio",
        type=Number(0, 1000, integer=True),
        default=0,
        metavar="N",
        help="WAVs (hr, lr, every method) of the first N files per ratio, for wavesr samples",
    )
    p.add_argument(
        "--interesting",
        type=Number(0, 1000, integer=True),
        default=0,
        metavar="N",
        help="also save the N files where the first network falls furthest below cubic in SNR",
    )
    p.add_argument("--title", help="name of this evaluation on the samples page (default: the corpus name)")
    p.add_argument("--device", default=d.device, type=device_type, help="auto (default), cpu, cuda, cuda:N")
    p.add_argument(
        "--chunk-seconds",
        type=Number(0, 60),
        default=d.chunk_seconds,
        metavar="S",
        help=f"network chunk length (default {d.chunk_seconds:g}; 0 = whole files)",
    )
    p.add_argument(
        "--limiter", action="store_true", help="soft-limit network outputs (default: score the raw output)"
    )
    p.add_argument(
        "--passes",
        type=int,
        choices=PASSES,
        help="self-ensemble passes of every network (default: each model's own)",
    )
    p.add_argument(
        "--fullband",
        action="store_true",
        help="the full-band protocol (wavesr.fullband): inputs at --input-rates back to --sr "
        "(default 48000), methods sinc, cubic and full-band networks, clamped standard LSD, LSD-HF/LF, SNR",
    )
    p.add_argument(
        "--input-rates",
        metavar="HZ,...",
        help="full-band input rates (default 8000,12000,16000,24000 at 48 kHz; 11025,22050 at 44.1 kHz)",
    )
    p.add_argument(
        "--channels",
        metavar="NAME,...",
        help="full-band: channels that make the input, the first the protocol's (default "
        "resample:soxr-vhq; e.g. brickwall,lowpass:ellip:o8:r0.1:s80:zero,codec:mp3:q0.6)",
    )
    p.add_argument(
        "--min-band",
        type=Number(0, 1),
        metavar="F",
        help="full-band: score only files whose content reaches F x the Nyquist frequency of --sr "
        "(default 0.85; the full-band recipes score 0.75 at 48 kHz, wavesr.fullband.MIN_BAND)",
    )
    p.add_argument(
        "-f", "--force", action="store_true", help="start again in a folder evaluated with other settings"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_evaluate)


def _items(args: argparse.Namespace) -> tuple[list, dict]:
    from ..data.readers import open_corpus

    if not args.corpus:
        if args.source:
            raise WavesrError("--source selects files of a --corpus")
        return args.files, {"files": args.files}
    corpus = open_corpus(args.corpus, root=args.root)
    items = corpus.split(args.split)
    info = {"name": corpus.name, "root": corpus.root, "spec": args.corpus, "split": args.split}
    if args.source:
        wanted = [s.strip() for s in args.source.split(",") if s.strip()]
        known = sorted({it.source for it in corpus.items if it.source})
        if unknown := [s for s in wanted if s not in known]:
            names = ", ".join(known) or "none named"
            raise WavesrError(f"{corpus.name}: no source {', '.join(unknown)} (its sources: {names})")
        items, info["sources"] = [it for it in items if it.source in wanted], wanted
    if not items:
        raise WavesrError(
            f"{corpus.name}: split {args.split!r} has no files"
            + (f" from {args.source}" if args.source else "")
        )
    return items, info


def _cmd_fullband(args: argparse.Namespace) -> int:
    from ..fullband import CHANNEL, FullbandConfig, evaluate_fullband

    rates = tuple(parse_ratios(args.input_rates)) if args.input_rates else ()
    chans = tuple(c.strip() for c in args.channels.split(",") if c.strip()) if args.channels else (CHANNEL,)
    cfg = FullbandConfig(
        sr=args.sr or 48000,
        input_rates=rates,
        channels=chans,
        max_files=args.max_files,
        max_seconds=args.max_seconds,
        save_audio=args.save_audio or 0,
        title=args.title,
        pesq=args.pesq,
        stoi=args.stoi,
        **({} if args.min_band is None else {"min_band": args.min_band}),
    )
    items, info = _items(args)
    summary = evaluate_fullband(args.methods, items, args.out, cfg, corpus_info=info, force=args.force)
    from pathlib import Path

    print((Path(args.out) / "summary.md").read_text().rstrip())
    print(f"\nper-file rows and settings: {args.out} ({summary['settings']['seconds']} s)")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..evaluate import EvalConfig, evaluate, resolve_method

    if args.fullband:
        return _cmd_fullband(args)

    cfg = EvalConfig(
        sr=args.sr,
        channel=args.channel,
        max_files=args.max_files,
        max_seconds=args.max_seconds,
        pesq=args.pesq,
        stoi=args.stoi,
        chunk_seconds=args.chunk_seconds or None,
        limiter=args.limiter,
        passes=args.passes,
        device=args.device,
        figures=args.figures,
        save_audio=args.save_audio,
        interesting=args.interesting,
        title=args.title,
        progress=progress(args),
    )
    methods = [resolve_method(m, args.device) for m in args.methods]
    ratios = (
        parse_ratios(args.ratios) if args.ratios else sorted({m.ratio for m in methods if m.ratio}) or [4]
    )
    items, info = _items(args)
    summary = evaluate(methods, items, ratios, args.out, cfg, corpus_info=info, force=args.force)
    print((Path(args.out) / "summary.md").read_text().split("\n## Settings")[0].rstrip())
    for note in summary["settings"]["notes"]:
        print(f"note: {note}")
    print(f"\nper-file rows, tables and settings: {args.out}")
    return 0


def add_plot(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot",
        help="Figure 2: spectrograms of high-res / low-res / super-resolved / cubic",
        description="Spectrograms of a file (high resolution), its low-resolution version "
        "(audio.degrade), the model's reconstruction and the cubic interpolation, "
        "stacked with a shared dB scale (Figure 2 of the paper).",
    )
    p.add_argument("file", metavar="FILE", help="an audio file")
    p.add_argument("--ratio", type=RATIO, required=True, metavar="R", help="upsampling ratio")
    p.add_argument(
        "--model", metavar="NAME|PATH", help="a shipped model, checkpoint or run folder (else 3 panels)"
    )
    p.add_argument("-o", "--out", required=True, help="figure file: .png, .svg or .pdf")
    p.add_argument(
        "--channel", choices=DEGRADE_CHANNELS, default="decimate", help="the channel the input comes through"
    )
    p.add_argument(
        "--sr",
        type=RATE,
        metavar="HZ",
        help="rate of the high-resolution signal (default: the model's, else 16000)",
    )
    p.add_argument("--start", type=Number(0), default=0.0, metavar="S", help="start of the excerpt (seconds)")
    p.add_argument(
        "--seconds", type=POSITIVE, metavar="S", help="length of the excerpt (default: the whole file)"
    )
    p.add_argument("--device", default="auto", type=device_type)
    p.add_argument("-f", "--force", action="store_true", help="overwrite the figure")
    p.set_defaults(func=_cmd_plot)


def _cmd_plot(args: argparse.Namespace) -> int:
    from ..evaluate import figure2

    out = figure2(
        args.file,
        args.ratio,
        args.out,
        model=args.model,
        sr=args.sr,
        channel=args.channel,
        start=args.start,
        seconds=args.seconds,
        device=args.device,
        force=args.force,
    )
    print(out)
    return 0
