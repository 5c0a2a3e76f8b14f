"""Table 1 of Kuleshov, Enam & Ermon (2017) by one command: data, training, evaluation, tables.

Protocol
--------
Table 1 reports SNR and LSD for cubic interpolation, the DNN of Li et al. (2015) and AudioUNet
on four tasks: one VCTK speaker (r = 2, 4, 6), VCTK with held-out speakers (r = 2, 4, 6), the
Beethoven piano sonatas (r = 2, 4, 6) and MagnaTagATune (r = 4 only). For each task and ratio
(a *cell*) :func:`run_table1` does, skipping whatever a previous run already finished:

1. **data**: the task's corpus (the paper's data set when its folder is given, else the default
   corpus built from Debian packages, see :mod:`wavesr.data.defaults`) is cut into training and
   validation patches (:func:`wavesr.data.patches.prepare`, the same ``audio.degrade`` as the
   test), cached under ``OUT/cache/data/<task>-x<r>-<hash>`` (the hash covers the corpus and
   every preparation setting, so changed settings never reuse stale patches);
2. **train**: each network (``dnn``, ``audiounet``, and ``fast`` when registered) is trained with
   the budget's recipe into ``OUT/runs/<budget>/<task>-x<r>/<network>``, resumed from its
   ``last.pt`` when interrupted. A shipped model (``wavesr models``) trained for the same content,
   network and ratio replaces training when the task uses the default corpus. A network that does
   not support the ratio (the DNN's features need r = 2, 4, 8) is ``n/a``, as in the paper;
3. **evaluate**: cubic and every network on the test split (:func:`wavesr.evaluate.evaluate`,
   restartable), into ``OUT/eval/<budget>/<task>-x<r>``.

Then ``OUT/table1-<budget>.md`` holds the table laid out as the paper's (rows task x ratio,
column pairs SNR / LSD per method) with the kuleshov LSD (the paper's scale), the same table with
the standard LSD, and the paper's own numbers; ``OUT/table1-<budget>.json`` holds everything
(budget, settings, data, checkpoints and their sha256, every score); ``OUT/samples/<budget>/`` is
the samples page of the run.

Budgets
-------
``quick``: minutes per network on a laptop CPU (2 minutes each, a quarter hour of training audio
per task, batches of 8 patches of 4096, reduced networks: AudioUNet with B = 4 and an eighth of
the filters, 1.1 M parameters, about 200 steps in its 2 minutes; at most 24 test files of at most
20 s). The whole table (27 networks) takes about an hour on two cores; ``--tasks`` and
``--ratios`` pick fewer cells. Its numbers show the pipeline and, at best, the ordering of the
methods, not the paper's values; the table marks the reduced networks with ``*``.
``full``: the paper's recipe (400 epochs, Adam 1e-4 with linear decay over the second half,
patches of 6000, the paper-size AudioUNet with B = 8 and the paper's DNN), meant for a GPU.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import WavesrError
from .files import atomic_path, read_json, to_jsonable, write_json


@dataclass(frozen=True)
class Task:
    """A row group of Table 1."""

    name: str  # single | multi | piano | music
    title: str  # on our tables and the samples page
    paper_title: str  # as in the paper's table
    default_corpus: str  # a wavesr default corpus
    reader: str  # the reader of the paper's data set (needs its folder)
    content: str  # speech | piano | music: which shipped models fit
    ratios: tuple[int, ...]
    description: str
    shipped_ok: bool = True  # a shipped model of this content was trained for this task


TASKS = {
    "single": Task(
        "single",
        "Single speaker",
        "VCTK Speaker 1",
        "speech-single",
        "vctk-single",
        "speech",
        (2, 4, 6),
        "Trained and tested on different utterances of the same speaker.",
        shipped_ok=False,
    ),
    "multi": Task(
        "multi",
        "Multi-speaker",
        "VCTK",
        "speech",
        "vctk-multi",
        "speech",
        (2, 4, 6),
        "Trained on one set of speakers and tested on speakers never heard in training.",
    ),
    "piano": Task(
        "piano",
        "Piano",
        "Piano Sonatas",
        "piano",
        "beethoven",
        "piano",
        (2, 4, 6),
        "Solo piano; the test pieces are held out from training.",
    ),
    "music": Task(
        "music",
        "Music",
        "MagnaTagATune",
        "music",
        "magnatagatune",
        "music",
        (4,),
        "Music of many kinds; the test tracks are held out from training.",
    ),
}
NETWORKS = ("dnn", "audiounet", "fast")  # column order after cubic (fast only when registered)
DISPLAY = {"cubic": "Cubic", "dnn": "DNN", "audiounet": "AudioUNet", "fast": "Fast"}

# Table 1 of the paper: (SNR, LSD) per method; the DNN was not run at r = 6 nor on MagnaTagATune.
PAPER_TABLE1: dict[tuple[str, int], dict[str, tuple[float, float]]] = {
    ("single", 2): {"cubic": (20.3, 4.5), "dnn": (20.1, 3.7), "audiounet": (21.1, 3.2)},
    ("single", 4): {"cubic": (14.8, 8.2), "dnn": (15.9, 4.9), "audiounet": (17.1, 3.6)},
    ("single", 6): {"cubic": (10.4, 10.3), "audiounet": (12.3, 3.8)},
    ("multi", 2): {"cubic": (19.7, 4.4), "dnn": (19.9, 3.6), "audiounet": (20.7, 3.1)},
    ("multi", 4): {"cubic": (13.0, 8.0), "dnn": (14.9, 5.8), "audiounet": (16.1, 3.5)},
    ("multi", 6): {"cubic": (9.1, 10.1), "audiounet": (10.0, 3.7)},
    ("piano", 2): {"cubic": (29.4, 3.5), "dnn": (29.3, 3.4), "audiounet": (30.1, 3.4)},
    ("piano", 4): {"cubic": (22.2, 5.8), "dnn": (23.0, 5.2), "audiounet": (23.5, 3.6)},
    ("piano", 6): {"cubic": (15.4, 7.3), "audiounet": (16.1, 4.4)},
    ("music", 4): {"cubic": (16.1, 10.3), "audiounet": (12.5, 3.8)},
}


@dataclass
class Budget:
    """How much data, training and testing a Table 1 run spends (written into its outputs)."""

    name: str
    epochs: int = 400
    max_minutes: float | None = None  # per network (wall clock); None: the epochs decide
    max_steps: int | None = None  # per network (a smoke run); None: the epochs / minutes decide
    batch_size: int = 32
    lr: float = 1e-4
    loss: str = "auto"  # the network's own: l2 for AudioUNet (the paper), lps for the DNN
    patch_len: int = 6000
    stride: int | None = None  # None: patch_len / 2
    silence_db: float | None = -60.0
    train_hours: float | None = None  # training audio per task (seeded random files); None: all
    val_hours: float | None = 0.1
    test_files: int | None = None  # at most this many test files per task, evenly spaced
    test_seconds: float | None = None  # only the first seconds of each test file
    networks: dict[str, dict[str, Any]] = field(default_factory=lambda: {n: {} for n in NETWORKS})
    reduced: bool = False  # the networks are smaller than the paper's (labelled in the table)
    val_files: int = 4
    figures: int = 3
    save_audio: int = 3
    interesting: int = 1
    device: str = "auto"
    workers: int = 2  # data preparation processes

    def describe(self) -> str:
        minutes = f", at most {self.max_minutes:g} min per network" if self.max_minutes else ""
        minutes += f", at most {self.max_steps} steps" if self.max_steps else ""
        data = (
            f"{self.train_hours:g} h of training audio per task" if self.train_hours else "all training audio"
        )
        test = f"{self.test_files} test files per task" if self.test_files else "every test file"
        seconds = f" (first {self.test_seconds:g} s)" if self.test_seconds else ""
        return (
            f"budget {self.name}: {self.epochs} epochs{minutes}, batch {self.batch_size}, lr {self.lr:g}, "
            f"patches of {self.patch_len}, {data}, {test}{seconds}"
        )


BUDGETS = {
    # measured on 2 shared cores, batch 16 x 8192: AudioUNet B=4 width 0.125 trains on 2.2 s of audio per
    # second (B=4 width 0.25: 1.0), the DNN with 512 units 15, fast "small" 23; the paper's AudioUNet 0.12
    "quick": Budget(
        name="quick",
        epochs=1000,
        max_minutes=2.0,
        batch_size=8,
        lr=3e-4,
        patch_len=4096,
        stride=4096,
        train_hours=0.25,
        val_hours=0.02,
        test_files=24,
        test_seconds=20.0,
        val_files=2,
        reduced=True,
        networks={
            "dnn": {"hidden": 512},
            "audiounet": {"blocks": 4, "width": 0.125},
            "fast": {"preset": "small"},
        },
    ),
    "full": Budget(name="full"),
}


def load_budget(name_or_path: str) -> Budget:
    """``quick``, ``full`` or a JSON file with :class:`Budget` fields."""
    if name_or_path in BUDGETS:
        return BUDGETS[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise WavesrError(f"{name_or_path}: not a budget (quick, full) nor a JSON file")
    values = read_json(path)
    known = {f.name for f in dataclasses.fields(Budget)}
    if not isinstance(values, dict) or set(values) - known or "name" not in values:
        raise WavesrError(
            f"{path}: a budget is a JSON object with 'name' and fields among {', '.join(sorted(known))}"
        )
    return Budget(**values)


@dataclass
class Table1Config:
    """A Table 1 run."""

    out: str
    budget: Budget = field(default_factory=lambda: BUDGETS["quick"])
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    ratios: list[int] | None = None  # None: the paper's ratios of each task
    corpora: dict[str, str] = field(
        default_factory=dict
    )  # task -> "SPEC" or "SPEC@ROOT" (e.g. vctk-multi@/data/VCTK)
    networks: list[str] | None = None  # None: dnn, audiounet and fast (when registered)
    shipped: bool = True  # use a shipped model where one fits instead of training
    seed: int = 0
    force_eval: bool = False  # restart evaluations made with other settings
    progress: bool = True


# ------------------------------------------------------------------------------------ planning


@dataclass
class Step:
    """One thing to do (or already done) for a cell."""

    kind: str  # data | train | shipped | n/a | evaluate
    task: str
    ratio: int
    network: str | None
    path: str
    done: bool
    detail: str = ""
    run: Callable[[], Any] | None = field(default=None, repr=False)

    def line(self) -> str:
        what = f"{self.task} x{self.ratio}" + (f" {self.network}" if self.network else "")
        state = "n/a" if self.kind == "n/a" else "done" if self.done else "todo"
        return f"[{state:4s}] {self.kind:8s} {what:22s} {self.path}" + (
            f"  ({self.detail})" if self.detail else ""
        )


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(to_jsonable(obj), sort_keys=True).encode()).hexdigest()[:8]


def corpus_source(cfg: Table1Config, task: Task) -> tuple[str, str | None]:
    """``(spec, root)`` of a task's corpus: ``cfg.corpora[task]`` (``SPEC``, ``SPEC@ROOT``) or the default."""
    value = cfg.corpora.get(task.name, task.default_corpus)
    spec, _, root = value.partition("@")
    return spec, root or None


def networks(cfg: Table1Config) -> list[str]:
    from .models.base import MODELS

    wanted = cfg.networks if cfg.networks is not None else [n for n in NETWORKS if n in MODELS]
    unknown = [n for n in wanted if n not in MODELS]
    if unknown:
        raise WavesrError(f"unknown network {', '.join(unknown)} (registered: {', '.join(sorted(MODELS))})")
    return wanted


def _supports(network: str, ratio: int, overrides: dict[str, Any]) -> str | None:
    """None when ``network`` can be built for ``ratio`` with ``overrides``; else why not."""
    from .models.base import config_from_dict, model_class

    values = dict(overrides)
    preset = values.pop("preset", None)
    config_class = model_class(network).config_class
    try:
        if preset is not None:
            config_class.preset(preset, ratio=ratio, **values)
        else:
            config_from_dict(config_class, {"ratio": ratio, **values})
    except WavesrError as e:
        return str(e)
    return None


def _shipped(task: Task, network: str, ratio: int, cfg: Table1Config) -> Any:
    from . import pretrained

    if not cfg.shipped or not task.shipped_ok or task.name in cfg.corpora:
        return None
    for m in pretrained.available_models():
        if m.content == task.content and m.network == network and m.ratio == ratio and m.sr == 16000:
            return m
    return None


def _take_hours(items: list, hours: float | None, seed: int) -> list:
    """A seeded random subset of ``items`` holding about ``hours`` of audio, in the original order."""
    if hours is None:
        return list(items)
    order = np.random.default_rng(seed).permutation(len(items))
    keep, total = [], 0.0
    for i in order:
        if total >= hours * 3600:
            break
        keep.append(int(i))
        total += items[i].duration or 0.0
    return [items[i] for i in sorted(keep)]


def _cells(cfg: Table1Config) -> list[tuple[Task, int]]:
    unknown = [t for t in cfg.tasks if t not in TASKS]
    if unknown:
        raise WavesrError(f"unknown task {', '.join(unknown)} (choose from {', '.join(TASKS)})")
    for t in cfg.corpora:
        if t not in TASKS:
            raise WavesrError(f"--corpus {t}=...: unknown task (choose from {', '.join(TASKS)})")
    cells = [
        (TASKS[t], r) for t in cfg.tasks for r in TASKS[t].ratios if cfg.ratios is None or r in cfg.ratios
    ]
    if not cells:
        raise WavesrError(
            "no cell to compute: the ratios asked for are not those of the tasks "
            f"({'; '.join(f'{t}: {TASKS[t].ratios}' for t in cfg.tasks)})"
        )
    return cells


def plan(cfg: Table1Config) -> list[Step]:
    """Every step of the run, each marked done or to do (nothing is computed)."""
    from .data.patches import PrepareConfig

    b, out = cfg.budget, Path(cfg.out)
    steps: list[Step] = []
    for task, r in _cells(cfg):
        spec, root = corpus_source(cfg, task)
        prep = PrepareConfig(
            sr=16000,
            ratio=r,
            patch_len=b.patch_len,
            stride=b.stride,
            silence_db=b.silence_db,
            seed=cfg.seed,
            workers=b.workers,
        )
        key = {
            "spec": spec,
            "root": str(Path(root).resolve()) if root else None,
            "prepare": dataclasses.replace(prep, workers=0),  # the processes do not change the patches
            "train_hours": b.train_hours,
            "val_hours": b.val_hours,
            "seed": cfg.seed,
        }
        data = out / "cache" / "data" / f"{task.name}-x{r}-{_hash(key)}"
        where = f"{spec}" + (f" at {root}" if root else "")
        steps.append(
            Step(
                "data",
                task.name,
                r,
                None,
                str(data),
                (data / "train" / "settings.json").is_file(),
                f"{where}, patches of {prep.length}",
                run=functools.partial(_prepare, task, spec, root, prep, data, b, cfg),
            )
        )
        methods = ["cubic"]
        for net in networks(cfg):
            overrides = b.networks.get(net, {})
            why = _supports(net, r, overrides)
            if why:
                steps.append(Step("n/a", task.name, r, net, "-", True, why.split(" (")[0]))
                continue
            shipped = _shipped(task, net, r, cfg)
            if shipped is not None:
                steps.append(Step("shipped", task.name, r, net, shipped.name, True, f"{shipped.path.name}"))
                methods.append(f"{net}={shipped.name}")
                continue
            recipe = {
                "data": data.name,
                "network": net,
                "overrides": overrides,
                "seed": cfg.seed,
                **{
                    k: getattr(b, k)
                    for k in ("epochs", "max_minutes", "max_steps", "batch_size", "lr", "loss")
                },
            }
            run_dir = out / "runs" / b.name / f"{task.name}-x{r}" / f"{net}-{_hash(recipe)}"
            state = (
                "resume" if (run_dir / "last.pt").is_file() and not (run_dir / "model.pt").is_file() else ""
            )
            steps.append(
                Step(
                    "train",
                    task.name,
                    r,
                    net,
                    str(run_dir),
                    (run_dir / "model.pt").is_file(),
                    ", ".join(filter(None, [state, json.dumps(overrides) if overrides else "paper size"])),
                    run=functools.partial(_train, net, run_dir, data, overrides, b, cfg),
                )
            )
            methods.append(f"{net}={run_dir}")
        cell = [s for s in steps if s.task == task.name and s.ratio == r]
        if all(s.done for s in cell if s.kind == "train"):
            cell[0].done, cell[0].detail = (
                True,
                cell[0].detail + ("; not needed: every network is trained" if not cell[0].done else ""),
            )
        eval_dir = out / "eval" / b.name / f"{task.name}-x{r}"
        done = _eval_done(eval_dir, len(methods))
        steps.append(
            Step(
                "evaluate",
                task.name,
                r,
                None,
                str(eval_dir),
                done,
                ", ".join(m.split("=")[0] for m in methods),
                run=functools.partial(_evaluate, task, r, spec, root, methods, eval_dir, b, cfg),
            )
        )
    return steps


def _eval_done(eval_dir: Path, n_methods: int) -> bool:
    """Every method's rows complete, and every network scored is still the checkpoint on disk, run
    by this inference (``inference.PIPELINE``)."""
    from .files import sha256_file
    from .inference import PIPELINE

    path = eval_dir / "summary.json"
    if not path.is_file():
        return False
    summary = read_json(path)
    table = summary.get("table", [])
    if len(table) != n_methods or not all(row["complete"] for row in table):
        return False
    return all(
        Path(m["path"]).is_file() and sha256_file(m["path"]) == m["sha256"] and m.get("pipeline") == PIPELINE
        for m in summary["settings"]["methods"]
        if m["kind"] == "network"
    )


# ------------------------------------------------------------------------------------- steps


def _open(spec: str, root: str | None) -> Any:
    from .data.readers import open_corpus

    return open_corpus(spec, root=root)


def _prepare(
    task: Task, spec: str, root: str | None, prep: Any, data: Path, b: Budget, cfg: Table1Config
) -> None:
    from .data.patches import prepare

    corpus = _open(spec, root)
    info = {"name": corpus.name, "root": corpus.root, "spec": spec, "description": corpus.description}
    for split, hours in (("train", b.train_hours), ("val", b.val_hours)):
        if (data / split / "settings.json").is_file():
            continue
        items = _take_hours(corpus.split(split), hours, cfg.seed)
        if not items:
            if split == "train":
                raise WavesrError(f"{corpus.name}: no training files for task {task.name}")
            continue
        prepare(
            items,
            data / split,
            prep,
            corpus_info={**info, "split": split, "hours_cap": hours},
            force=True,
            progress=cfg.progress,
        )


def _train(
    net: str, run_dir: Path, data: Path, overrides: dict[str, Any], b: Budget, cfg: Table1Config
) -> None:
    from .train import TrainConfig, train

    if (run_dir / "last.pt").is_file():
        train(TrainConfig(data="", out=str(run_dir)), resume=True, progress=cfg.progress)
        return
    val = data / "val"
    tc = TrainConfig(
        data=str(data / "train"),
        out=str(run_dir),
        val_data=str(val) if (val / "settings.json").is_file() else None,
        model=net,
        model_config=dict(overrides),
        epochs=b.epochs,
        max_steps=b.max_steps,
        max_minutes=b.max_minutes,
        batch_size=b.batch_size,
        lr=b.lr,
        loss=b.loss,
        seed=cfg.seed,
        device=b.device,
        val_files=b.val_files,
        checkpoint_minutes=min(10.0, b.max_minutes or 10.0),
    )
    train(tc, force=True, progress=cfg.progress)


def _evaluate(
    task: Task,
    r: int,
    spec: str,
    root: str | None,
    methods: list[str],
    eval_dir: Path,
    b: Budget,
    cfg: Table1Config,
) -> None:
    from .evaluate import EvalConfig, evaluate

    corpus = _open(spec, root)
    ec = EvalConfig(
        sr=16000,
        max_files=b.test_files,
        max_seconds=b.test_seconds,
        device=b.device,
        figures=b.figures,
        save_audio=b.save_audio,
        interesting=b.interesting,
        title=task.title,
        description=f"{task.description} Corpus: {corpus.name}.",
        progress=cfg.progress,
    )
    info = {"name": corpus.name, "root": corpus.root, "spec": spec, "split": "test", "task": task.name}
    try:
        evaluate(methods, corpus.split("test"), [r], eval_dir, ec, corpus_info=info, force=cfg.force_eval)
    except WavesrError as e:
        if "other settings" not in str(e):
            raise
        raise WavesrError(
            f"{eval_dir}: evaluated earlier with other test settings; rerun with --force-eval "
            "to evaluate again"
        ) from None


# ------------------------------------------------------------------------------------- tables


def _cell_scores(eval_dir: Path) -> dict[str, dict[str, Any]]:
    from .evaluate import load_summary

    if not (eval_dir / "summary.json").is_file():
        return {}
    summary = load_summary(eval_dir)
    methods = {m["label"]: m for m in summary["settings"]["methods"]}
    return {row["method"]: {**row, "method_info": methods.get(row["method"], {})} for row in summary["table"]}


def _table(
    cells: list[dict[str, Any]], columns: list[str], lsd_key: str, reduced: set[str], digits: int = 1
) -> list[str]:
    """Rows task x ratio, column pairs SNR / LSD per method (``*`` marks reduced networks, ``†`` a cell
    where a shipped model replaced training)."""
    names = [DISPLAY.get(c, c) + ("*" if c in reduced else "") for c in columns]
    head = "| Task | Ratio | " + " | ".join(f"{n} SNR | {n} LSD" for n in names) + " | test files |"
    lines = [head, "|---|---|" + "---:|---:|" * len(columns) + "---:|"]
    last = None
    for cell in cells:
        name = f"{TASKS[cell['task']].title} ({cell['corpus']})" if cell["task"] != last else ""
        last = cell["task"]
        values = []
        for c in columns:
            s = cell["scores"].get(c)
            mark = "†" if cell["networks"].get(c, {}).get("kind") == "shipped" else ""
            values += (
                ["n/a", "n/a"]
                if not s or s.get("snr") is None
                else [
                    f"{s['snr']:.{digits}f}{mark}",
                    f"{s[lsd_key]:.{digits}f}" if s.get(lsd_key) is not None else "n/a",
                ]
            )
        n = max((s.get("files", 0) for s in cell["scores"].values()), default=0)
        lines.append(f"| {name} | r = {cell['ratio']} | " + " | ".join(values) + f" | {n} |")
    return lines


def _paper_table(columns: list[str], cells: list[tuple[str, int]]) -> list[str]:
    cols = [c for c in ("cubic", "dnn", "audiounet") if c in columns or c == "cubic"]
    lines = [
        "| Task | Ratio | " + " | ".join(f"{DISPLAY[c]} SNR | {DISPLAY[c]} LSD" for c in cols) + " |",
        "|---|---|" + "---:|---:|" * len(cols),
    ]
    last = None
    for task, r in cells:
        if (task, r) not in PAPER_TABLE1:
            continue
        row = PAPER_TABLE1[(task, r)]
        name = TASKS[task].paper_title if task != last else ""
        last = task
        vals = [f"{row[c][0]:.1f} | {row[c][1]:.1f}" if c in row else "n/a | n/a" for c in cols]
        lines.append(f"| {name} | r = {r} | " + " | ".join(vals) + " |")
    return lines


def write_tables(cfg: Table1Config, steps: list[Step]) -> tuple[Path, Path]:
    """``table1-<budget>.md`` and ``.json`` from the evaluation folders (whatever is finished)."""
    b, out = cfg.budget, Path(cfg.out)
    nets = networks(cfg)
    columns = ["cubic", *nets]
    cells: list[dict[str, Any]] = []
    notes: list[str] = []
    for task, r in _cells(cfg):
        spec, root = corpus_source(cfg, task)
        eval_dir = out / "eval" / b.name / f"{task.name}-x{r}"
        scores = _cell_scores(eval_dir)
        here = [s for s in steps if s.task == task.name and s.ratio == r]
        sources = {s.network: {"kind": s.kind, "path": s.path, "detail": s.detail} for s in here if s.network}
        data = next(s.path for s in here if s.kind == "data")
        cells.append(
            {
                "task": task.name,
                "ratio": r,
                "corpus": spec,
                "root": root,
                "eval_dir": str(eval_dir),
                "data": data,
                "networks": sources,
                "scores": scores,
                "paper": {
                    k: {"snr": v[0], "lsd": v[1]} for k, v in PAPER_TABLE1.get((task.name, r), {}).items()
                },
            }
        )
        notes += [
            f"{task.name} x{r} {n}: n/a ({s['detail']})" for n, s in sources.items() if s["kind"] == "n/a"
        ]
        for n, s in sources.items():
            if s["kind"] == "shipped":
                params = scores.get(n, {}).get("method_info", {}).get("params")
                size = f", {params:,} parameters" if params else ""
                notes.append(
                    f"{task.name} x{r} {n}: † the shipped model {s['path']} ({s['detail']}{size}; its own "
                    f"recipe, `wavesr recipe {s['path']}`) instead of a {b.name}-budget run"
                )
    reduced = {n for n in nets if b.reduced and b.networks.get(n)}
    sizes: dict[str, tuple[int, dict[str, Any]]] = {}
    for cell in cells:
        for label, s in cell["scores"].items():
            info = s.get("method_info", {})
            if info.get("params") and cell["networks"].get(label, {}).get("kind") != "shipped":
                sizes.setdefault(label, (info["params"], info.get("config", {})))
    lines = [
        f"# Table 1 reproduced with wavesr ({b.name} budget)",
        "",
        "SNR (dB) and LSD of each method on held-out test files; means over files of per-file values "
        '(per-file SNR averaged over files). Low resolution by `audio.degrade(hr, r, "decimate")` '
        "(scipy's decimate, as the original code) at 16 kHz.",
        "",
        "## LSD as the original code computed it (kuleshov convention: the scale of the paper's Table 1)",
        "",
        *_table(cells, columns, "lsd", reduced),
        "",
        "## The same with the standard LSD (log10 power, RMS over frequency, mean over frames)",
        "",
        *_table(cells, columns, "lsd_standard", reduced, digits=2),
        "",
        "## Table 1 of the paper (VCTK, Beethoven sonatas, MagnaTagATune)",
        "",
        *_paper_table(columns, [(c["task"], c["ratio"]) for c in cells]),
        "",
        "## Settings",
        "",
        f"- {b.describe()}; device {b.device}.",
    ]
    for label, (params, _) in sizes.items():  # the first trained instance of each
        mark = " (*reduced: smaller than the paper's network)" if label in reduced else ""
        overrides = b.networks.get(label, {})
        lines.append(
            f"- {DISPLAY.get(label, label)}: {params:,} parameters"
            + (f", settings {json.dumps(overrides)}" if overrides else ", paper size")
            + mark
        )
    lines += [
        "- corpora: " + "; ".join(f"{t}: {corpus_source(cfg, TASKS[t])[0]}" for t in cfg.tasks),
        "- the paper's numbers come from other data (VCTK, the Beethoven sonatas, MagnaTagATune) unless the "
        "paper's data sets were given; compare the ordering of methods, not the values.",
        *[f"- {n}" for n in notes],
    ]
    md = out / f"table1-{b.name}.md"
    with atomic_path(md, ours=True) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    js = out / f"table1-{b.name}.json"
    write_json(
        js,
        {
            "format": "wavesr-table1",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "wavesr_version": __version__,
            "budget": b,
            "config": {k: v for k, v in dataclasses.asdict(cfg).items() if k != "budget"},
            "columns": columns,
            "cells": cells,
            "paper": {f"{t} x{r}": v for (t, r), v in PAPER_TABLE1.items()},
        },
    )
    return md, js


# ---------------------------------------------------------------------------------------- run


def run_table1(cfg: Table1Config, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every step not yet done, then the tables and the samples page; returns their paths."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = plan(cfg)
    for i, step in enumerate(steps):
        if step.done or step.run is None:
            continue
        log(
            f"[{i + 1}/{len(steps)}] {step.kind} {step.task} x{step.ratio}"
            + (f" {step.network}" if step.network else "")
        )
        step.run()
        step.done = True
    steps = plan(cfg)  # the finished state, for the tables
    md, js = write_tables(cfg, steps)
    result = {"table": str(md), "json": str(js)}
    if cfg.budget.save_audio:
        from .report.samples import build_page

        dirs = [
            s.path
            for s in steps
            if s.kind == "evaluate"
            and (Path(s.path) / "samples.json").is_file()
            and read_json(Path(s.path) / "samples.json")
        ]
        if dirs:
            page = build_page(
                dirs,
                out / "samples" / cfg.budget.name,
                force=True,
                title=f"Audio super-resolution samples (wavesr, {cfg.budget.name} budget)",
            )
            result["samples"] = str(page)
    return result
