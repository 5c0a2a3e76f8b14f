"""``wavesr recipe`` (rebuild a shipped model) and ``wavesr export``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import WavesrError
from .options import (
    POSITIVE,
    parse_overrides,
    progress,
)


def add_recipe(sub: argparse._SubParsersAction) -> None:
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
    from ..fullband_recipes import FULLBAND_RECIPES, run_fullband_recipe
    from ..pretrained import available_models
    from ..recipes import RECIPES, WEIGHTS, get_recipe, run_recipe, vary

    if args.name in FULLBAND_RECIPES and not args.list:
        if args.set or args.minutes:
            raise WavesrError(f"{args.name}: a full-band recipe runs as it stands (no --set or --minutes)")
        record = run_fullband_recipe(
            FULLBAND_RECIPES[args.name],
            args.work,
            ship=args.ship,
            progress=progress(args),
            test=not args.no_test,
        )
        if args.no_test:
            print(f"trained: {record['run']}; it would ship {record['weights']}")
            return
        for sr in record["evaluations"]:
            print((Path(args.work) / args.name / f"eval-{sr}" / "summary.md").read_text().rstrip() + "\n")
        return
    if args.list or not args.name:
        shipped = {m.name for m in available_models()}
        for f in FULLBAND_RECIPES.values():
            ships = "ships" if f.name in shipped else "not shipped; would ship"
            print(
                f"{f.name:12s} {f.network} on {f.corpus}, any rate -> {f.sr} Hz, {f.objective}, "
                f"{ships} chosen.pt (one of its stages, a strength and equalizing, chosen on validation)"
            )
        for r in RECIPES.values():
            degrade = f", {r.channel} degradation" if r.channel != "decimate" else ""
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
    recipe = vary(get_recipe(args.name), parse_overrides(args.set))
    record = run_recipe(
        recipe, args.work, args.minutes, ship=args.ship, progress=progress(args), test=not args.no_test
    )
    if args.no_test:
        print(
            f"trained: {record['run']}; it would ship {record['weights']}. Score it on the validation split: "
            f"wavesr evaluate cubic {record['weights']} --corpus {recipe.corpus} --split val --ratios "
            f"{recipe.ratio}" + (f" --channel {recipe.channel}" if recipe.channel != "decimate" else "")
        )
        return
    for key, what in (("scores", f"{recipe.channel} input"), ("scores_real", "real low-rate input")):
        for method, row in record.get(key, {}).items():
            print(
                f"{method:12s} SNR {row['snr']:6.2f}  LSD {row['lsd']:5.2f}  LSD-std "
                f"{row['lsd_standard']:5.3f}"
                f"  LSD-HF {row['lsd_hf']:5.3f}  ({row['files']} test files, {what})"
            )


def add_export(sub: argparse._SubParsersAction) -> None:
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
    from ..export import export_model
    from ..pretrained import load_model

    fmt = args.format or ("onnx" if args.out.lower().endswith(".onnx") else "torchscript")
    path = export_model(load_model(args.model), args.out, format=fmt, force=args.force)
    print(f"{path}: {fmt} export of {args.model} (settings in {path}.json)")
