"""Commands that build corpora and cut them into training patches: ``corpus``, ``prepare``."""

from __future__ import annotations

import argparse
import sys

from ..constants import DEGRADE_CHANNELS
from ..errors import WavesrError
from .options import (
    COUNT,
    RATE,
    RATIO,
    SEED,
    WORKERS,
    Number,
    print_skipped,
    progress,
)


def add_corpus(sub: argparse._SubParsersAction) -> None:
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
    q.add_argument(
        "name", metavar="NAME", help="speech, speech-single, piano, music, speech-fullband or music-fullband"
    )
    q.add_argument("--limit", type=COUNT, metavar="N", help="keep at most N files (a quick build)")
    q.add_argument(
        "--target-sr",
        type=RATE,
        metavar="HZ",
        help="high-resolution rate: drop files below it or narrower than HZ/2 (full-band corpora: whose "
        "content ends below 85 %% of HZ/2; default 16000, 44100 for the full-band corpora)",
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
    from ..data.corpus import Corpus
    from ..data.defaults import DEFAULT_CORPORA, corpus_dir, is_built

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
    from ..data.defaults import build_default, describe

    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else None
    corpus = build_default(
        args.name,
        target_sr=args.target_sr,
        limit=args.limit,
        force=args.force,
        progress=progress(args),
        sources=sources,
        chorales=args.chorales,
    )
    print(describe(corpus))
    return 0


def _cmd_corpus_show(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..data.corpus import Corpus
    from ..data.defaults import DEFAULT_CORPORA, describe, load_default

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


def add_prepare(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument(
        "--channel",
        choices=DEGRADE_CHANNELS,
        help="the channel low-resolution patches come through (default decimate)",
    )
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

    from ..data.patches import PrepareConfig, check_output, load_settings, prepare_corpus
    from ..data.readers import open_corpus

    fields = ("sr", "ratio", "channel", "patch_len", "stride", "silence_db", "max_files", "seed", "workers")
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
    print_skipped(skipped)
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
        prepare_corpus(
            corpus, split, folder, cfg, force=args.force, spec=args.corpus, progress=progress(args)
        )
        bad = [f["detail"] for f in load_settings(folder)["skipped_files"] if f["reason"] == "unreadable"]
        print_skipped(bad)
        unreadable += len(bad)
        print(_prepare_summary(folder))
    if unreadable:  # the datasets are complete without them, but the user must know: exit 1
        print(
            f"wavesr: {unreadable} files could not be read (listed above and in settings.json)",
            file=sys.stderr,
        )
        return 1
    return 0


def _prepare_summary(folder) -> str:
    from ..data.patches import load_settings

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
