"""``wavesr samples`` (the samples page) and ``wavesr paper table1``."""

from __future__ import annotations

import argparse

from ..errors import WavesrError
from .options import (
    COUNT,
    Number,
    device_type,
    parse_ratios,
    progress,
)


def add_samples(sub: argparse._SubParsersAction) -> None:
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
    from ..report.samples import build_page, serve

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


def add_paper(sub: argparse._SubParsersAction) -> None:
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
    q.add_argument("--device", type=device_type, help="override the budget's device (auto, cpu, cuda)")
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

    from ..paper import Table1Config, load_budget, plan, run_table1

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
        ratios=parse_ratios(args.ratios) if args.ratios else None,
        corpora=corpora,
        networks=[n.strip() for n in args.networks.split(",") if n.strip()] if args.networks else None,
        shipped=args.shipped,
        force_eval=args.force_eval,
        progress=progress(args),
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
