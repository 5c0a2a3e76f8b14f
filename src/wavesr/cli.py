"""The ``wavesr`` command: a thin layer that maps flags onto library calls.

Every subcommand has an ``_add_<name>`` function that declares its flags and a ``_cmd_<name>``
function that calls the library. Errors the user can cause (:class:`WavesrError`) print one line
and exit with status 1; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .constants import CONTENTS, DEGRADE_METHODS, PASSES
from .errors import WavesrError


class Number:
    """An argparse ``type`` for a number within a range: ``nan``, ``inf`` and values outside give
    argparse's one-line error, and the range is added to the flag's help (:func:`_document_ranges`)."""

    def __init__(
        self,
        low: float | None = None,
        high: float | None = None,
        integer: bool = False,
        low_open: bool = False,
        high_open: bool = False,
    ) -> None:
        self.low, self.high, self.integer, self.low_open, self.high_open = (
            low,
            high,
            integer,
            low_open,
            high_open,
        )
        self.__name__ = "whole number" if integer else "number"  # argparse names the type in its errors

    def __call__(self, text: str) -> float:
        from .checks import number

        try:
            value = int(text) if self.integer else float(text)
            return number(
                value,
                "value",
                self.low,
                self.high,
                integer=self.integer,
                low_open=self.low_open,
                high_open=self.high_open,
            )
        except (ValueError, WavesrError):
            raise argparse.ArgumentTypeError(f"must be a {self.describe()}, got {text!r}") from None

    def describe(self) -> str:
        from .checks import describe_range

        kind = "whole number" if self.integer else "number"
        return kind + describe_range(self.low, self.high, self.low_open, self.high_open)


COUNT = Number(1, integer=True)  # at least one
NATURAL = Number(0, integer=True)  # zero or more
POSITIVE = Number(0, low_open=True)
RATE = Number(1, 1_000_000, integer=True)  # Hz
RATIO = Number(2, 64, integer=True)
SEED = Number(0, 2**32 - 1, integer=True)
WORKERS = Number(0, 64, integer=True)


def _device(text: str) -> str:
    from .checks import device_name

    try:
        return device_name(text)
    except WavesrError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _document_ranges(parser: argparse.ArgumentParser) -> None:
    """Append each numeric flag's range to its help, so that ``--help`` states every one."""
    for action in parser._actions:
        if isinstance(action.type, Number) and action.help is not argparse.SUPPRESS:
            action.help = f"{action.help + '; ' if action.help else ''}{action.type.describe()}"
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _document_ranges(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wavesr", description="Neural audio super-resolution.")
    parser.add_argument("--version", action="version", version=f"wavesr {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_corpus,
        _add_prepare,
        _add_train,
        _add_upsample,
        _add_models,
        _add_evaluate,
        _add_plot,
        _add_samples,
        _add_paper,
        _add_recipe,
        _add_export,
    ):
        add(sub)
    _document_ranges(parser)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (what ``timeout``, systemd and docker send): handled as Ctrl-C is, so that
    every temporary file is removed and nothing half-written stays."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminated(signum: int, frame: object) -> None:
    import os
    import signal

    if os.getpid() != _MAIN_PID[0]:  # a worker process forked from this one: die as the signal says
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise Terminated(signum)


_MAIN_PID = [0]


def _handle_signals() -> dict[int, object]:
    """Install :func:`_terminated` for SIGTERM and SIGHUP (not where they are ignored, as under nohup)."""
    import os
    import signal

    _MAIN_PID[0] = os.getpid()
    before = {}
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
        print(f"wavesr: error: {_os_error(e)}", file=sys.stderr)
        return 1
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]


def _progress(args: argparse.Namespace) -> bool:
    """Progress bars only on a terminal: logs and pipes get the result lines alone (no carriage returns)."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def _os_error(e: OSError) -> str:
    return f"{e.filename}: {e.strerror}" if e.filename and e.strerror else str(e)


# ------------------------------------------------------------------------------------ corpus


def _add_corpus(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "corpus",
        help="build, list and inspect corpora",
        description="The default corpora are built from Debian packages and music21's scores "
        "into the cache (see wavesr.data.defaults).",
    )
    p.set_defaults(func=lambda args: p.print_help())
    csub = p.add_subparsers(dest="corpus_command", metavar="ACTION")
    q = csub.add_parser("list", help="the default corpora and whether they are built")
    q.set_defaults(func=_cmd_corpus_list)
    q = csub.add_parser("build", help="build a default corpus into the cache")
    q.add_argument("name", metavar="NAME", help="speech, speech-single, piano or music")
    q.add_argument("--limit", type=COUNT, metavar="N", help="keep at most N files (a quick build)")
    q.add_argument(
        "--target-sr",
        type=RATE,
        default=16000,
        metavar="HZ",
        help="high-resolution rate: drop files below it or narrower than HZ/2 (default 16000)",
    )
    q.add_argument("--sources", metavar="PKG,...", help="only these packages (speech, music)")
    q.add_argument(
        "--chorales", action="store_true", help="piano: also render the ~400 Bach chorales (~3.5 h)"
    )
    q.add_argument("-f", "--force", action="store_true", help="rebuild a corpus that is already built")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    q.set_defaults(func=_cmd_corpus_build)
    q = csub.add_parser("show", help="summary of a default corpus or a manifest")
    q.add_argument(
        "corpus", metavar="NAME|MANIFEST", help="a default corpus name, a manifest.json or its folder"
    )
    q.set_defaults(func=_cmd_corpus_show)


def _cmd_corpus_list(args: argparse.Namespace) -> int:
    from .data.corpus import Corpus
    from .data.defaults import DEFAULT_CORPORA, corpus_dir, is_built

    for name, text in DEFAULT_CORPORA.items():
        if is_built(name):
            corpus = Corpus.load(corpus_dir(name))
            hours = sum(it.duration for it in corpus.items) / 3600
            state = f"built: {len(corpus.items)} files, {hours:.2f} h"
        else:
            state = "not built"
        print(f"{name:14s} {state:32s} {text}")
    print(f"(cache: {corpus_dir('speech').parent})")
    return 0


def _cmd_corpus_build(args: argparse.Namespace) -> int:
    from .data.defaults import build_default, describe

    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else None
    corpus = build_default(
        args.name,
        target_sr=args.target_sr,
        limit=args.limit,
        force=args.force,
        progress=_progress(args),
        sources=sources,
        chorales=args.chorales,
    )
    print(describe(corpus))
    return 0


def _cmd_corpus_show(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .data.corpus import Corpus
    from .data.defaults import DEFAULT_CORPORA, describe, load_default

    if args.corpus in DEFAULT_CORPORA:
        corpus = load_default(args.corpus)
    elif Path(args.corpus).exists():
        corpus = Corpus.load(args.corpus)
    else:
        raise WavesrError(
            f"{args.corpus}: neither a default corpus ({', '.join(DEFAULT_CORPORA)}) nor a manifest"
        )
    print(describe(corpus))
    return 0


# ----------------------------------------------------------------------------------- prepare


def _add_prepare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="cut a corpus split into (low-res, high-res) training patches",
        description="Cut a corpus split into (low-res, high-res) patch pairs, written as "
        "float32 arrays with a settings.json (see wavesr.data.patches).",
    )
    p.add_argument(
        "corpus",
        metavar="CORPUS",
        help="a default corpus (e.g. speech), a reader with --root (vctk-multi, folder, ...) "
        "or a manifest path",
    )
    p.add_argument("--root", metavar="DIR", help="folder the reader reads from")
    p.add_argument(
        "--split",
        choices=("train", "val", "test", "all"),
        default="train",
        help="split to prepare; all writes OUT/train, OUT/val, OUT/test (default train)",
    )
    p.add_argument("-o", "--out", required=True, help="output folder")
    # defaults None: PrepareConfig's own defaults apply (kept in one place)
    p.add_argument("--sr", type=RATE, metavar="HZ", help="high-resolution rate in Hz (default 16000)")
    p.add_argument("--ratio", type=RATIO, metavar="R", help="downsampling ratio (default 4)")
    p.add_argument("--method", choices=DEGRADE_METHODS, help="low-resolution simulation (default decimate)")
    p.add_argument(
        "--patch-len",
        type=Number(1, 1 << 20, integer=True),
        metavar="N",
        help="high-res samples per patch (default 8192)",
    )
    p.add_argument(
        "--stride",
        type=Number(1, 1 << 20, integer=True),
        metavar="N",
        help="hop between patches (default patch-len / 2)",
    )
    p.add_argument(
        "--silence-db",
        type=Number(-200, 0),
        metavar="DB",
        help="drop patches quieter than this RMS in dBFS (e.g. -60)",
    )
    p.add_argument(
        "--max-files", type=COUNT, metavar="N", help="use at most N files (a random subset chosen by --seed)"
    )
    p.add_argument("--seed", type=SEED, metavar="N", help="seed of the --max-files subset (default 0)")
    p.add_argument("--workers", type=WORKERS, metavar="N", help="decoding processes (default 2)")
    p.add_argument("-f", "--force", action="store_true", help="replace an existing prepared dataset")
    p.set_defaults(func=_cmd_prepare)


def _cmd_prepare(args: argparse.Namespace) -> int:
    import warnings
    from pathlib import Path

    from .data.patches import PrepareConfig, check_output, load_settings, prepare_corpus
    from .data.readers import open_corpus

    fields = ("sr", "ratio", "method", "patch_len", "stride", "silence_db", "max_files", "seed", "workers")
    cfg = PrepareConfig(**{f: getattr(args, f) for f in fields if getattr(args, f) is not None})
    with warnings.catch_warnings(
        record=True
    ) as caught:  # the reader's "skipped N files": listed below instead
        warnings.simplefilter("always")
        corpus = open_corpus(args.corpus, root=args.root)
    skipped = corpus.settings.get("skipped") or []
    for w in caught:
        if not (skipped and "skipped" in str(w.message)):
            print(f"wavesr: warning: {w.message}", file=sys.stderr)
    _print_skipped(skipped)
    out = Path(args.out)
    if args.split == "all":
        targets = [(s, out / s) for s in ("train", "val", "test") if corpus.split(s)]
        for s in ("train", "val", "test"):
            if not corpus.split(s):
                print(f"{corpus.name}: no {s} files, {out / s} not written")
    else:
        targets = [(args.split, out)]
    for _, folder in targets:  # refuse before any work is done
        check_output(folder, args.force)
    unreadable = len(skipped)
    for split, folder in targets:
        prepare_corpus(corpus, split, folder, cfg, force=args.force, spec=args.corpus)
        bad = [f["detail"] for f in load_settings(folder)["skipped_files"] if f["reason"] == "unreadable"]
        _print_skipped(bad)
        unreadable += len(bad)
        print(_prepare_summary(folder))
    if unreadable:  # the datasets are complete without them, but the user must know: exit 1
        print(
            f"wavesr: {unreadable} files could not be read (listed above and in settings.json)",
            file=sys.stderr,
        )
        return 1
    return 0


def _print_skipped(lines: list[str], most: int = 20) -> None:
    """One line per file that could not be used (each names the file and the problem)."""
    for line in lines[:most]:
        print(f"wavesr: skipped {line}", file=sys.stderr)
    if len(lines) > most:
        print(f"wavesr: ... and {len(lines) - most} more (all listed in settings.json)", file=sys.stderr)


def _prepare_summary(folder) -> str:
    from .data.patches import load_settings

    s = load_settings(folder)
    t = s["totals"]
    line = (
        f"{folder}: {t['patches']} patches of {s['patch_len']} at {s['sr']} Hz, ratio {s['ratio']} "
        f"({t['hours']:.2f} h of patches from {t['files_used']} files, {t['source_seconds'] / 3600:.2f} h)"
    )
    if t["silent_patches"]:
        line += f"; {t['silent_patches']} silent patches dropped"
    if t["files_skipped"]:
        line += (
            f"; {t['files_skipped']} files skipped ("
            + ", ".join(f"{why}: {n}" for why, n in s["skipped"].items())
            + ")"
        )
    return line


# ------------------------------------------------------------------------------------- train


def _add_train(sub: argparse._SubParsersAction) -> None:
    from .configs import TrainConfig

    d = TrainConfig(data="", out="")
    p = sub.add_parser(
        "train",
        help="train a network on prepared patches",
        description="Train a network on a prepared patch dataset (the paper's recipe by "
        "default: Adam 1e-4, L2 loss, linear decay over the second half). Under "
        "torchrun the same command trains with DistributedDataParallel.",
    )
    p.add_argument("data", nargs="?", help="prepared training patches (wavesr prepare)")
    p.add_argument("-o", "--out", help="run folder (checkpoints, logs, config)")
    p.add_argument("--val", dest="val_data", help="prepared validation patches (their files are scored too)")
    p.add_argument("--model", default=d.model, help=f"network (default {d.model})")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a model config field, e.g. --set blocks=4 (JSON values)",
    )
    p.add_argument("--epochs", type=COUNT, default=d.epochs)
    p.add_argument("--max-steps", type=COUNT)
    p.add_argument("--max-minutes", type=POSITIVE, help="wall-clock budget for the run")
    p.add_argument("--batch-size", type=Number(1, 4096, integer=True), default=d.batch_size)
    p.add_argument("--lr", type=Number(0, 10, low_open=True), default=d.lr)
    p.add_argument("--decay", choices=("linear-second-half", "none"), default=d.decay)
    p.add_argument(
        "--loss",
        default=d.loss,
        help="auto (the network's own), l2 (paper), rmse (original code), l2+stft, rmse+logspec, lps (DNN)",
    )
    p.add_argument("--stft-weight", type=Number(0, 1e6), default=d.stft_weight)
    p.add_argument("--grad-clip", type=POSITIVE)
    p.add_argument(
        "--ema",
        type=Number(0, 1, high_open=True),
        default=d.ema,
        help="validate and keep a moving average of the weights with this decay, e.g. 0.999 (default off)",
    )
    p.add_argument(
        "--brightness-db",
        type=Number(0, 24),
        default=d.brightness_db,
        help="augment: a random high shelf of up to +-DB on every training patch (default off)",
    )
    p.add_argument(
        "--mix-degrade",
        choices=DEGRADE_METHODS,
        default=d.mix_degrade or None,
        help="augment: rebuild the input of a share of the patches with this degradation instead of "
        "the data's own (e.g. plain decimation mixed into phone-band data)",
    )
    p.add_argument(
        "--mix-fraction",
        type=Number(0, 1, low_open=True),
        default=d.mix_fraction,
        help="the share of patches --mix-degrade rebuilds (default %(default)s)",
    )
    p.add_argument("--seed", type=SEED, default=d.seed)
    p.add_argument("--device", default=d.device, type=_device, help="auto, cpu, cuda, cuda:N")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default=d.precision)
    p.add_argument("--workers", type=WORKERS, default=d.workers, help="DataLoader worker processes")
    p.add_argument("--val-files", type=Number(0, 10_000, integer=True), default=d.val_files)
    p.add_argument("--val-patches", type=Number(0, 1_000_000, integer=True), default=d.val_patches)
    p.add_argument("--checkpoint-minutes", type=POSITIVE, default=d.checkpoint_minutes)
    p.add_argument("--checkpoint-steps", type=COUNT)
    p.add_argument("--log-every", type=COUNT, default=d.log_every)
    p.add_argument("--resume", metavar="RUN", help="continue the run in this folder from its last checkpoint")
    p.add_argument("--force", action="store_true", help="restart a run folder that already has checkpoints")
    p.set_defaults(func=_cmd_train)


def _parse_overrides(pairs: list[str]) -> dict:
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


def _cmd_train(args: argparse.Namespace) -> None:
    from .train import TrainConfig, train

    if args.resume:
        run = train(TrainConfig(data="", out=args.resume), resume=True, progress=_progress(args)).run
    else:
        if not args.data or not args.out:
            raise WavesrError("train needs DATA and -o RUN (or --resume RUN)")
        cfg = TrainConfig(
            data=args.data,
            out=args.out,
            val_data=args.val_data,
            model=args.model,
            model_config=_parse_overrides(args.set),
            epochs=args.epochs,
            max_steps=args.max_steps,
            max_minutes=args.max_minutes,
            batch_size=args.batch_size,
            lr=args.lr,
            decay=args.decay,
            loss=args.loss,
            stft_weight=args.stft_weight,
            grad_clip=args.grad_clip,
            ema=args.ema,
            brightness_db=args.brightness_db,
            mix_degrade=args.mix_degrade or "",
            mix_fraction=args.mix_fraction,
            seed=args.seed,
            device=args.device,
            precision=args.precision,
            workers=args.workers,
            val_files=args.val_files,
            val_patches=args.val_patches,
            checkpoint_minutes=args.checkpoint_minutes,
            checkpoint_steps=args.checkpoint_steps,
            log_every=args.log_every,
        )
        run = train(cfg, force=args.force, progress=_progress(args)).run
    print(f"run folder: {run} (best.pt, last.pt, model.pt, metrics.jsonl)")


# ---------------------------------------------------------------------------------- upsample


def _add_upsample(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "upsample",
        help="upsample audio files with a trained or shipped model",
        description="Upsample audio files or folders (recursive) at any sample rate: each input "
        "is resampled to the model's low rate, upsampled in overlapping chunks and "
        "written as <stem>.sr.wav beside it or under -o (see wavesr.inference).",
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
        default="speech",
        help="which shipped model --ratio or the input's rate picks (default speech; telephone: "
        "phone calls, 300-3400 Hz at 8 kHz, for models you add: none is shipped)",
    )
    p.add_argument("--target-sr", type=RATE, metavar="HZ", help="resample the output to this rate")
    p.add_argument("--device", default="auto", type=_device, help="auto (default), cpu, cuda, cuda:N")
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
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    p.add_argument(
        "--compare",
        action="store_true",
        help="also write the cubic-spline version (<stem>.cubic.wav) and a spectrogram PNG",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_upsample)


def _cmd_upsample(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .batch import upsample_batch

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
        progress=_progress(args),
        on_file=show,
        raise_errors=args.debug,
        target_sr=args.target_sr,
        limiter=args.limiter,
        subtype=args.subtype,
        passes=args.passes,
        **options,
    )
    if report.failed or report.compare_failed:
        print(report.summary(), file=sys.stderr)
        return 1
    if len(report.outcomes) > 1:
        print(report.summary())
    return 0


# ------------------------------------------------------------------------------------ models


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the shipped pretrained models",
        description="The pretrained models shipped with wavesr (or in $WAVESR_PRETRAINED), "
        "with their rates and held-out scores against cubic interpolation.",
    )
    p.set_defaults(func=_cmd_models)


def _cmd_models(args: argparse.Namespace) -> int:
    from . import pretrained

    models = pretrained.available_models()
    if not models:
        print(
            f"no pretrained models are shipped yet (registry: {pretrained.registry_dir()}); "
            "train one (wavesr train) and use wavesr upsample --model RUN_FOLDER"
        )
        return 0
    for m in models:
        passes = f", {m.passes} passes" if m.passes > 1 else ""
        print(
            f"{m.name:16s} x{m.ratio}  {m.sr_lowres:g} -> {m.sr} Hz  {m.content:7s} {m.network} "
            f"({m.params / 1e6:.1f} M params{passes})  {m.scores_text()}"
        )
    return 0


# ---------------------------------------------------------------------------------- evaluate


def _ratios(text: str) -> list[int]:
    try:
        return [int(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise WavesrError(f"ratios must be integers separated by commas, got {text!r}") from None


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    from .configs import EvalConfig

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
    p.add_argument("-o", "--out", required=True, help="evaluation folder (resumed when it exists)")
    p.add_argument(
        "--ratio",
        "--ratios",
        dest="ratios",
        metavar="R[,R...]",
        help="upsampling ratios (default: the networks' ratios, else 4)",
    )
    p.add_argument(
        "--degrade",
        choices=DEGRADE_METHODS,
        default=d.degrade,
        help=f"low-resolution simulation (default {d.degrade})",
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
    p.add_argument("--device", default=d.device, type=_device, help="auto (default), cpu, cuda, cuda:N")
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
        "-f", "--force", action="store_true", help="start again in a folder evaluated with other settings"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .data.readers import open_corpus
    from .evaluate import EvalConfig, evaluate, resolve_method

    cfg = EvalConfig(
        sr=args.sr,
        degrade=args.degrade,
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
        progress=_progress(args),
    )
    methods = [resolve_method(m, args.device) for m in args.methods]
    ratios = _ratios(args.ratios) if args.ratios else sorted({m.ratio for m in methods if m.ratio}) or [4]
    if args.corpus:
        corpus = open_corpus(args.corpus, root=args.root)
        items = corpus.split(args.split)
        if not items:
            raise WavesrError(f"{corpus.name}: split {args.split!r} has no files")
        info = {"name": corpus.name, "root": corpus.root, "spec": args.corpus, "split": args.split}
    else:
        items, info = args.files, {"files": args.files}
    summary = evaluate(methods, items, ratios, args.out, cfg, corpus_info=info, force=args.force)
    print((Path(args.out) / "summary.md").read_text().split("\n## Settings")[0].rstrip())
    for note in summary["settings"]["notes"]:
        print(f"note: {note}")
    print(f"\nper-file rows, tables and settings: {args.out}")
    return 0


# -------------------------------------------------------------------------------------- plot


def _add_plot(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument("--degrade", choices=DEGRADE_METHODS, default="decimate")
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
    p.add_argument("--device", default="auto", type=_device)
    p.add_argument("-f", "--force", action="store_true", help="overwrite the figure")
    p.set_defaults(func=_cmd_plot)


def _cmd_plot(args: argparse.Namespace) -> int:
    from .evaluate import figure2

    out = figure2(
        args.file,
        args.ratio,
        args.out,
        model=args.model,
        sr=args.sr,
        degrade=args.degrade,
        start=args.start,
        seconds=args.seconds,
        device=args.device,
        force=args.force,
    )
    print(out)
    return 0


# ----------------------------------------------------------------------------------- samples


def _add_samples(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "samples",
        help="build the static samples page from evaluation folders",
        description="A self-contained HTML page (relative links only; opens from disk) with audio "
        "players, spectrograms and scores for the files that wavesr evaluate saved "
        "(--save-audio N, --interesting N).",
    )
    p.add_argument(
        "eval_dirs",
        nargs="+",
        metavar="EVAL_DIR",
        help="evaluation folders, one section per folder and ratio",
    )
    p.add_argument("-o", "--out", required=True, metavar="PAGE_DIR", help="folder of the page (index.html)")
    p.add_argument("--title", default="Audio super-resolution samples")
    p.add_argument(
        "--methods", metavar="LABEL,...", help="only these methods' players and scores (default all)"
    )
    p.add_argument(
        "--max-samples", type=COUNT, metavar="N", help="at most N samples per section (default all saved)"
    )
    p.add_argument(
        "--flac", action="store_true", help="store the audio as FLAC (lossless, about half the size)"
    )
    p.add_argument("-f", "--force", action="store_true", help="rebuild an existing page")
    p.add_argument("--serve", action="store_true", help="then serve it with http.server until Ctrl-C")
    p.add_argument(
        "--port", type=Number(0, 65535, integer=True), default=8000, help="port for --serve (default 8000)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address for --serve (default 127.0.0.1)")
    p.set_defaults(func=_cmd_samples)


def _cmd_samples(args: argparse.Namespace) -> int:
    from .report.samples import build_page, serve

    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    if args.max_samples is not None and args.max_samples < 1:
        raise WavesrError(f"--max-samples must be at least 1, got {args.max_samples}")
    index = build_page(
        args.eval_dirs,
        args.out,
        title=args.title,
        methods=methods,
        force=args.force,
        max_samples=args.max_samples,
        flac=args.flac,
    )
    print(f"samples page: {index} (open it in a browser, or wavesr samples ... --serve)")
    if args.serve:
        serve(args.out, host=args.host, port=args.port)
    return 0


# ------------------------------------------------------------------------------------- paper


def _add_paper(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "paper",
        help="reproduce the paper: Table 1 by one command",
        description="Reproduce Table 1 of Kuleshov et al. (2017): prepare data, train the networks "
        "for a budget, evaluate cubic / DNN / AudioUNet / fast on the test splits and "
        "write the tables, a JSON with everything and the samples page. Resumable: a "
        "rerun skips finished steps (see wavesr.paper).",
    )
    psub = p.add_subparsers(dest="paper_command", metavar="WHAT", required=True)
    q = psub.add_parser("table1", help="Table 1: SNR and LSD per task and ratio")
    q.add_argument("-o", "--out", required=True, help="output folder (data cache, runs, evaluations, tables)")
    q.add_argument(
        "--budget",
        default="quick",
        metavar="quick|full|FILE.json",
        help="quick (minutes per network on a CPU, reduced networks), full (the paper's 400 epochs, "
        "for a GPU) or a JSON file of Budget fields (default quick)",
    )
    q.add_argument(
        "--tasks",
        default="single,multi,piano,music",
        metavar="TASK,...",
        help="among single, multi, piano, music (default all)",
    )
    q.add_argument(
        "--ratios", metavar="R,...", help="only these ratios (default the paper's: 2,4,6; music 4)"
    )
    q.add_argument(
        "--networks", metavar="NAME,...", help="networks beside cubic (default dnn,audiounet,fast)"
    )
    q.add_argument("--vctk", metavar="DIR", help="VCTK 0.80 / 0.92 folder: single and multi use it")
    q.add_argument("--beethoven", metavar="DIR", help="SampleRNN Beethoven folder: piano uses it")
    q.add_argument("--magnatagatune", metavar="DIR", help="MagnaTagATune folder: music uses it")
    q.add_argument(
        "--corpus",
        action="append",
        default=[],
        metavar="TASK=SPEC[@ROOT]",
        help="any corpus for a task, e.g. piano=folder@/data/piano (repeatable)",
    )
    q.add_argument("--device", type=_device, help="override the budget's device (auto, cpu, cuda)")
    q.add_argument(
        "--no-shipped",
        dest="shipped",
        action="store_false",
        help="train every network even where a shipped model fits",
    )
    q.add_argument("--force-eval", action="store_true", help="restart evaluations made with other settings")
    q.add_argument(
        "--dry-run", action="store_true", help="print the plan (what is done, what would run) and stop"
    )
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    q.set_defaults(func=_cmd_paper_table1)


def _cmd_paper_table1(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from .paper import Table1Config, load_budget, plan, run_table1

    budget = load_budget(args.budget)
    if args.device:
        budget = dataclasses.replace(budget, device=args.device)
    corpora = {}
    for task, spec in (("single", "vctk-single"), ("multi", "vctk-multi")):
        if args.vctk:
            corpora[task] = f"{spec}@{args.vctk}"
    if args.beethoven:
        corpora["piano"] = f"beethoven@{args.beethoven}"
    if args.magnatagatune:
        corpora["music"] = f"magnatagatune@{args.magnatagatune}"
    for pair in args.corpus:
        task, sep, spec = pair.partition("=")
        if not sep or not spec:
            raise WavesrError(f"--corpus {pair!r}: expected TASK=SPEC or TASK=SPEC@ROOT")
        corpora[task] = spec
    cfg = Table1Config(
        out=args.out,
        budget=budget,
        tasks=[t.strip() for t in args.tasks.split(",") if t.strip()],
        ratios=_ratios(args.ratios) if args.ratios else None,
        corpora=corpora,
        networks=[n.strip() for n in args.networks.split(",") if n.strip()] if args.networks else None,
        shipped=args.shipped,
        force_eval=args.force_eval,
        progress=_progress(args),
    )
    if args.dry_run:
        print(f"plan for {args.out} ({budget.describe()}):")
        for step in plan(cfg):
            print("  " + step.line())
        return 0
    result = run_table1(cfg)
    print((Path(result["table"])).read_text())
    for key, path in result.items():
        print(f"{key}: {path}")
    return 0


# ------------------------------------------------------------------------------------ recipe


def _add_recipe(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recipe",
        help="rebuild a shipped model from scratch (corpus, prepare, train, evaluate)",
        description="Run the recipe of a shipped model: build its default corpus, prepare "
        "patches, train for the recipe's budget, evaluate on the held-out test "
        "split against cubic and band-limited baselines; --ship puts it into the "
        "package's model registry with its model card.",
    )
    p.add_argument("name", nargs="?", help="recipe name (see --list)")
    p.add_argument("--list", action="store_true", help="list the recipes")
    p.add_argument("--work", default="runs/recipes", help="working folder (default runs/recipes)")
    p.add_argument("--minutes", type=POSITIVE, help="override the training budget")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a candidate: change a training setting (loss, stft_weight, brightness_db, ema, weights, "
        "lr, batch_size, minutes); use its own --work folder and compare it on the validation split",
    )
    p.add_argument(
        "--no-test",
        action="store_true",
        help="stop after training: no look at the test split yet (choose on validation first)",
    )
    p.add_argument(
        "--ship",
        action="store_true",
        help="add the result to the package's registry (the recipe as it stands, no --set)",
    )
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=_cmd_recipe)


def _cmd_recipe(args: argparse.Namespace) -> None:
    from .pretrained import available_models
    from .recipes import RECIPES, WEIGHTS, get_recipe, run_recipe, vary

    if args.list or not args.name:
        shipped = {m.name for m in available_models()}
        for r in RECIPES.values():
            degrade = f", {r.degrade} degradation" if r.degrade != "decimate" else ""
            ships = "ships" if r.name in shipped else "not shipped; would ship"
            passes = f", upsamples with {r.passes} passes" if r.passes > 1 else ""
            print(
                f"{r.name:12s} {r.network} on {r.corpus}{degrade}, x{r.ratio}, {r.objective}, {r.minutes:g} "
                "min, "
                f"{ships} {WEIGHTS[r.weights]} ({r.weights}){passes}"
            )
        return
    if args.ship and args.set:
        raise WavesrError("--ship ships a recipe as it stands; change the recipe itself to ship a candidate")
    recipe = vary(get_recipe(args.name), _parse_overrides(args.set))
    record = run_recipe(
        recipe, args.work, args.minutes, ship=args.ship, progress=_progress(args), test=not args.no_test
    )
    if args.no_test:
        print(
            f"trained: {record['run']}; it would ship {record['weights']}. Score it on the validation split: "
            f"wavesr evaluate cubic {record['weights']} --corpus {recipe.corpus} --split val --ratios "
            f"{recipe.ratio}" + (f" --degrade {recipe.degrade}" if recipe.degrade != "decimate" else "")
        )
        return
    for key, what in (("scores", f"{recipe.degrade} input"), ("scores_real", "real low-rate input")):
        for method, row in record.get(key, {}).items():
            print(
                f"{method:12s} SNR {row['snr']:6.2f}  LSD {row['lsd']:5.2f}  LSD-std "
                f"{row['lsd_standard']:5.3f}"
                f"  LSD-HF {row['lsd_hf']:5.3f}  ({row['files']} test files, {what})"
            )


# ------------------------------------------------------------------------------------ export


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a network to TorchScript or ONNX (checked against the model)",
        description="Export a shipped model, checkpoint or run folder to TorchScript or ONNX "
        "with a dynamic time axis; the file is checked against the eager model "
        "before it is kept.",
    )
    p.add_argument("model", metavar="NAME|PATH")
    p.add_argument("out", metavar="OUT", help="output file (.pt / .ts for TorchScript, .onnx for ONNX)")
    p.add_argument("--format", choices=("torchscript", "onnx"), help="default: from OUT's extension")
    p.add_argument("-f", "--force", action="store_true")
    p.set_defaults(func=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> None:
    from .export import export_model
    from .pretrained import load_model

    fmt = args.format or ("onnx" if args.out.lower().endswith(".onnx") else "torchscript")
    path = export_model(load_model(args.model), args.out, format=fmt, force=args.force)
    print(f"{path}: {fmt} export of {args.model} (settings in {path}.json)")


if __name__ == "__main__":
    sys.exit(main())
