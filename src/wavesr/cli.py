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
    for add in (_add_corpus, _add_prepare, _add_train, _add_upsample, _add_models):
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
    p = sub.add_parser("corpus", help="build, list and inspect corpora",
                       description="The default corpora are built from Debian packages and music21's scores "
                                   "into the cache (see wavesr.data.defaults).")
    p.set_defaults(func=lambda args: p.print_help())
    csub = p.add_subparsers(dest="corpus_command", metavar="ACTION")
    q = csub.add_parser("list", help="the default corpora and whether they are built")
    q.set_defaults(func=_cmd_corpus_list)
    q = csub.add_parser("build", help="build a default corpus into the cache")
    q.add_argument("name", metavar="NAME", help="speech, speech-single, piano or music")
    q.add_argument("--limit", type=int, metavar="N", help="keep at most N files (a quick build)")
    q.add_argument("--target-sr", type=int, default=16000, metavar="HZ",
                   help="high-resolution rate: drop files below it or narrower than HZ/2 (default 16000)")
    q.add_argument("--sources", metavar="PKG,...", help="only these packages (speech, music)")
    q.add_argument("--chorales", action="store_true", help="piano: also render the ~400 Bach chorales (~3.5 h)")
    q.add_argument("-f", "--force", action="store_true", help="rebuild a corpus that is already built")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    q.set_defaults(func=_cmd_corpus_build)
    q = csub.add_parser("show", help="summary of a default corpus or a manifest")
    q.add_argument("corpus", metavar="NAME|MANIFEST", help="a default corpus name, a manifest.json or its folder")
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
    corpus = build_default(args.name, target_sr=args.target_sr, limit=args.limit, force=args.force,
                           progress=not args.quiet, sources=sources, chorales=args.chorales)
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
        raise WavesrError(f"{args.corpus}: neither a default corpus ({', '.join(DEFAULT_CORPORA)}) nor a manifest")
    print(describe(corpus))
    return 0


# ----------------------------------------------------------------------------------- prepare

def _add_prepare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare", help="cut a corpus split into (low-res, high-res) training patches",
                       description="Cut a corpus split into (low-res, high-res) patch pairs, written as "
                                   "float32 arrays with a settings.json (see wavesr.data.patches).")
    p.add_argument("corpus", metavar="CORPUS",
                   help="a default corpus (e.g. speech), a reader with --root (vctk-multi, folder, ...) "
                        "or a manifest path")
    p.add_argument("--root", metavar="DIR", help="folder the reader reads from")
    p.add_argument("--split", choices=("train", "val", "test", "all"), default="train",
                   help="split to prepare; all writes OUT/train, OUT/val, OUT/test (default train)")
    p.add_argument("-o", "--out", required=True, help="output folder")
    # defaults None: PrepareConfig's own defaults apply (kept in one place)
    p.add_argument("--sr", type=int, metavar="HZ", help="high-resolution rate in Hz (default 16000)")
    p.add_argument("--ratio", type=int, metavar="R", help="downsampling ratio (default 4)")
    p.add_argument("--method", choices=("decimate", "subsample", "sinc"),
                   help="low-resolution simulation (default decimate)")
    p.add_argument("--patch-len", type=int, metavar="N", help="high-res samples per patch (default 8192)")
    p.add_argument("--stride", type=int, metavar="N", help="hop between patches (default patch-len / 2)")
    p.add_argument("--silence-db", type=float, metavar="DB", help="drop patches quieter than this RMS in dBFS (e.g. -60)")
    p.add_argument("--max-files", type=int, metavar="N", help="use at most N files (a random subset chosen by --seed)")
    p.add_argument("--seed", type=int, metavar="N", help="seed of the --max-files subset (default 0)")
    p.add_argument("--workers", type=int, metavar="N", help="decoding processes (default 2)")
    p.add_argument("-f", "--force", action="store_true", help="replace an existing prepared dataset")
    p.set_defaults(func=_cmd_prepare)


def _cmd_prepare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .data.patches import PrepareConfig, check_output, prepare_corpus
    from .data.readers import open_corpus

    fields = ("sr", "ratio", "method", "patch_len", "stride", "silence_db", "max_files", "seed", "workers")
    cfg = PrepareConfig(**{f: getattr(args, f) for f in fields if getattr(args, f) is not None})
    corpus = open_corpus(args.corpus, root=args.root)
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
    for split, folder in targets:
        prepare_corpus(corpus, split, folder, cfg, force=args.force, spec=args.corpus)
        print(_prepare_summary(folder))
    return 0


def _prepare_summary(folder) -> str:
    from .data.patches import load_settings

    s = load_settings(folder)
    t = s["totals"]
    line = (f"{folder}: {t['patches']} patches of {s['patch_len']} at {s['sr']} Hz, ratio {s['ratio']} "
            f"({t['hours']:.2f} h of patches from {t['files_used']} files, {t['source_seconds'] / 3600:.2f} h)")
    if t["silent_patches"]:
        line += f"; {t['silent_patches']} silent patches dropped"
    if t["files_skipped"]:
        line += f"; {t['files_skipped']} files skipped (" + ", ".join(f"{why}: {n}" for why, n in s["skipped"].items()) + ")"
    return line


# ------------------------------------------------------------------------------------- train

def _add_train(sub: argparse._SubParsersAction) -> None:
    from .train import TrainConfig

    d = TrainConfig(data="", out="")
    p = sub.add_parser("train", help="train a network on prepared patches",
                       description="Train a network on a prepared patch dataset (the paper's recipe by "
                                   "default: Adam 1e-4, L2 loss, linear decay over the second half). Under "
                                   "torchrun the same command trains with DistributedDataParallel.")
    p.add_argument("data", nargs="?", help="prepared training patches (wavesr prepare)")
    p.add_argument("-o", "--out", help="run folder (checkpoints, logs, config)")
    p.add_argument("--val", dest="val_data", help="prepared validation patches (their files are scored too)")
    p.add_argument("--model", default=d.model, help=f"network (default {d.model})")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a model config field, e.g. --set blocks=4 (JSON values)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--max-minutes", type=float, help="wall-clock budget for the run")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--decay", choices=("linear-second-half", "none"), default=d.decay)
    p.add_argument("--loss", default=d.loss, help="auto (the network's own), l2 (paper), rmse (original code), l2+stft, lps (DNN)")
    p.add_argument("--stft-weight", type=float, default=d.stft_weight)
    p.add_argument("--grad-clip", type=float)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:N")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default=d.precision)
    p.add_argument("--workers", type=int, default=d.workers, help="DataLoader worker processes")
    p.add_argument("--val-files", type=int, default=d.val_files)
    p.add_argument("--val-patches", type=int, default=d.val_patches)
    p.add_argument("--checkpoint-minutes", type=float, default=d.checkpoint_minutes)
    p.add_argument("--checkpoint-steps", type=int)
    p.add_argument("--log-every", type=int, default=d.log_every)
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
        run = train(TrainConfig(data="", out=args.resume), resume=True)
    else:
        if not args.data or not args.out:
            raise WavesrError("train needs DATA and -o RUN (or --resume RUN)")
        cfg = TrainConfig(
            data=args.data, out=args.out, val_data=args.val_data, model=args.model,
            model_config=_parse_overrides(args.set), epochs=args.epochs, max_steps=args.max_steps,
            max_minutes=args.max_minutes, batch_size=args.batch_size, lr=args.lr, decay=args.decay,
            loss=args.loss, stft_weight=args.stft_weight, grad_clip=args.grad_clip, seed=args.seed,
            device=args.device, precision=args.precision, workers=args.workers, val_files=args.val_files,
            val_patches=args.val_patches, checkpoint_minutes=args.checkpoint_minutes,
            checkpoint_steps=args.checkpoint_steps, log_every=args.log_every)
        run = train(cfg, force=args.force)
    print(f"run folder: {run} (best.pt, last.pt, model.pt, metrics.jsonl)")


# ---------------------------------------------------------------------------------- upsample

def _add_upsample(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("upsample", help="upsample audio files with a trained or shipped model",
                       description="Upsample audio files or folders (recursive) at any sample rate: each input "
                                   "is resampled to the model's low rate, upsampled in overlapping chunks and "
                                   "written as <stem>.sr.wav beside it or under -o (see wavesr.inference).")
    p.add_argument("inputs", nargs="+", metavar="IN", help="audio files and/or folders")
    p.add_argument("-o", "--out", metavar="OUT", help="output file (one input) or folder (keeps the tree)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--model", metavar="NAME|PATH", help="a shipped model (wavesr models), a .pt checkpoint "
                                                          "or a training run folder")
    g.add_argument("--ratio", type=int, metavar="R", help="use the shipped model for this ratio and --content")
    p.add_argument("--content", choices=("speech", "piano", "music"), default="speech",
                   help="which shipped model --ratio picks (default speech)")
    p.add_argument("--target-sr", type=int, metavar="HZ", help="resample the output to this rate")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    # defaults None: inference's own defaults apply (10 s chunks, 1 s overlap)
    p.add_argument("--chunk-seconds", type=float, metavar="S", help="chunk length (default 10)")
    p.add_argument("--overlap-seconds", type=float, metavar="S", help="overlap of consecutive chunks (default 1)")
    p.add_argument("--format", choices=("wav", "flac"), help="output format (default wav, or -o's extension)")
    p.add_argument("--subtype", help="e.g. PCM_16, PCM_24, FLOAT (default PCM_16, or the input's if deeper)")
    p.add_argument("--no-limiter", dest="limiter", action="store_false",
                   help="keep samples over full scale (clipped by PCM formats, reported) instead of soft-limiting")
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("--compare", action="store_true",
                   help="also write the cubic-spline version (<stem>.cubic.wav) and a spectrogram PNG")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_upsample)


def _cmd_upsample(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from . import inference, pretrained
    from .files import check_writable
    from .models import build_model

    if args.model is None and args.ratio is None:
        shipped = ", ".join(m.name for m in pretrained.available_models()) or "none shipped yet"
        raise WavesrError(f"upsample needs --model NAME|PATH or --ratio R (shipped models: {shipped})")
    name = args.model or pretrained.pick_model(args.ratio, args.content).name
    model = pretrained.load_model(name, device=args.device)
    jobs = inference.plan_outputs(args.inputs, args.out, f".{args.format}" if args.format else None)
    if not jobs:
        raise WavesrError(f"no audio files in {', '.join(args.inputs)}")
    options = dict(target_sr=args.target_sr, progress=not args.quiet, limiter=args.limiter, subtype=args.subtype,
                   force=args.force)
    options.update({k: getattr(args, k) for k in ("chunk_seconds", "overlap_seconds") if getattr(args, k) is not None})
    cubic = build_model("spline", ratio=model.ratio, sr=model.sr) if args.compare else None
    failed: list[str] = []
    written: dict[Path, Path] = {}
    for src, dst in tqdm(jobs, desc="files", unit="file", disable=args.quiet or len(jobs) < 2):
        try:
            if dst.resolve() in written:
                raise WavesrError(f"{src}: same output {dst} as {written[dst.resolve()]}; rename one or use -o")
            extra = inference.companion_paths(dst) if args.compare else ()
            for path in extra:  # refuse before any work
                check_writable(path, args.force)
            result = inference.upsample_file(model, src, dst, **options)
            written[dst.resolve()] = src
            tqdm.write(result.summary())
            for note in result.notes[1:]:
                tqdm.write(f"  {note}")
            if cubic is not None:
                inference.upsample_file(cubic, src, extra[0], **options)
                inference.compare_figure([("input", src), ("cubic spline", extra[0]), (f"{model.name} x{model.ratio}", dst)],
                                         extra[1], max_hz=result.sr_out / 2, force=args.force)
                tqdm.write(f"  compare: {extra[0]}, {extra[1]}")
        except WavesrError as e:
            msg = str(e) if str(src) in str(e) else f"{src}: {e}"
            tqdm.write(f"wavesr: skipped {msg}", file=sys.stderr)
            failed.append(str(src))
    if failed:
        print(f"{len(jobs) - len(failed)} of {len(jobs)} files upsampled; failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    if len(jobs) > 1:
        print(f"{len(jobs)} files upsampled")
    return 0


# ------------------------------------------------------------------------------------ models

def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the shipped pretrained models",
                       description="The pretrained models shipped with wavesr (or in $WAVESR_PRETRAINED), "
                                   "with their rates and held-out scores against cubic interpolation.")
    p.set_defaults(func=_cmd_models)


def _cmd_models(args: argparse.Namespace) -> int:
    from . import pretrained

    models = pretrained.available_models()
    if not models:
        print(f"no pretrained models are shipped yet (registry: {pretrained.registry_dir()}); "
              "train one (wavesr train) and use wavesr upsample --model RUN_FOLDER")
        return 0
    for m in models:
        print(f"{m.name:16s} x{m.ratio}  {m.sr_lowres:g} -> {m.sr} Hz  {m.content:7s} {m.network} "
              f"({m.params / 1e6:.1f} M params)  {m.scores_text()}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
