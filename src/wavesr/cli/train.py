"""``wavesr train``: flags onto :class:`wavesr.configs.TrainConfig`, then :func:`wavesr.train.train`."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from ..configs import flag_name
from ..errors import WavesrError
from .options import (
    Number,
    device_type,
    parse_overrides,
    progress,
)


def add_train(sub: argparse._SubParsersAction) -> None:
    from ..configs import TrainConfig

    p = sub.add_parser(
        "train",
        help="train a network on prepared patches",
        description="Train a network on a prepared patch dataset (the paper's recipe by "
        "default: Adam 1e-4, L2 loss, linear decay over the second half). Under "
        "torchrun the same command trains with DistributedDataParallel.",
    )
    p.add_argument("data", nargs="?", help="prepared training patches (wavesr prepare)")
    p.add_argument("-o", "--out", help="run folder (checkpoints, logs, config)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a model config field, e.g. --set blocks=4 (JSON values)",
    )
    for f in _flagged(TrainConfig):  # every other flag is a TrainConfig field (configs.setting)
        meta, default = f.metadata, f.default
        kwargs: dict[str, Any] = {"dest": f.name, "default": default, "help": meta["help"]}
        if meta["range"] is not None:
            kwargs["type"] = Number.of(meta["range"])
        elif meta["device"]:
            kwargs["type"] = device_type
        if meta["choices"] is not None:  # "" (none) is the flag left out
            kwargs["choices"] = [c for c in meta["choices"] if c]
            kwargs["default"] = default or None
        if default not in (None, ""):
            kwargs["help"] += f" (default {default})"
        p.add_argument(flag_name(f), **kwargs)
    p.add_argument("--resume", metavar="RUN", help="continue the run in this folder from its last checkpoint")
    p.add_argument("--force", action="store_true", help="restart a run folder that already has checkpoints")
    p.set_defaults(func=_cmd_train)


def _flagged(cls: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]


def _cmd_train(args: argparse.Namespace) -> None:
    from ..train import TrainConfig, train

    if args.resume:
        run = train(TrainConfig(data="", out=args.resume), resume=True, progress=progress(args)).run
    else:
        if not args.data or not args.out:
            raise WavesrError("train needs DATA and -o RUN (or --resume RUN)")
        values = {f.name: getattr(args, f.name) for f in _flagged(TrainConfig)}
        values.update(
            {f.name: "" for f in _flagged(TrainConfig) if f.default == "" and values[f.name] is None}
        )
        cfg = TrainConfig(data=args.data, out=args.out, model_config=parse_overrides(args.set), **values)
        run = train(cfg, force=args.force, progress=progress(args)).run
    print(f"run folder: {run} (best.pt, last.pt, model.pt, metrics.jsonl)")
