"""Recipes: the one command that rebuilds each shipped model from scratch.

``wavesr recipe speech-x4`` runs the whole chain with the project's own tools and records it (a
recipe whose model is not shipped, such as ``telephone-x2``, is listed as such by ``--list``):

1. the default corpus (``wavesr corpus build``) -- built if missing;
2. prepared patches of its train and val splits (``wavesr prepare``) -- reused when present;
3. training (``wavesr train``) for a wall-clock budget -- resumed if interrupted;
4. evaluation on the held-out test split (``wavesr evaluate``) beside the cubic and band-limited
   baselines: SNR, LSD in both conventions, LSD-HF;
5. with ``ship``: the weights (without optimizer state) go into the package's registry under
   the recipe's name, with a model card that lists all of the above.

Everything lands in ``WORK/<name>/``: ``data/``, ``run/`` (the training log), ``eval/``.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .constants import PASSES_TEXT, valid_passes
from .errors import WavesrError

HARDWARE = f"{platform.machine()}, CPU"
# the fast network's medium preset, spelled out so that a shipped checkpoint never depends on defaults
FAST_MEDIUM = {
    "frame": 1,
    "stride": 4,
    "widths": [32, 96, 160, 256],
    "depth": [1, 1, 1, 4],
    "kernel": 3,
    "layer_scale": 0.1,
}
FAST_MEDIUM_SINC = {**FAST_MEDIUM, "skip": "sinc"}  # the same network adding to band-limited interpolation


@dataclass(frozen=True)
class Recipe:
    """How one shipped model is made."""

    name: str
    corpus: str  # a default corpus
    content: str  # speech | telephone | piano | music
    ratio: int
    channel: str = (
        "decimate"  # the audio.degrade channel low-resolution input comes through, in training and test
    )
    network: str = "fast"
    model_config: dict[str, Any] = field(default_factory=lambda: dict(FAST_MEDIUM_SINC))
    # per-example RMSE plus a small log-spectral term: l2 lowers the LSD but adds high frequencies to
    # held-out voices that have few; the weight was chosen on the validation voices (docs/design.md)
    loss: str = "rmse+logspec"
    stft_weight: float = 3e-5  # weight of the spectral term of l2+stft / rmse+logspec
    brightness_db: float = 0.0  # training augmentation: random high shelf of up to +-this many dB
    mix_channel: str = ""  # training augmentation: half the patches' input through this channel instead
    ema: float = 0.0  # moving average of the weights (train.TrainConfig.ema)
    # which weights of the run ship (WEIGHTS): best (lowest LSD on its 8 validation files), final (model.pt:
    # the weight average when ema > 0) or raw (last.pt: the optimizer's own weights at the end)
    weights: str = "best"
    passes: int = 1  # self-ensemble passes the shipped model upsamples with (inference.ensemble_offsets)
    lr: float = 3e-4
    batch_size: int = 16
    minutes: float = 13.0
    patch_len: int = 8192
    silence_db: float = -60.0
    eval_files: int = 300  # held-out test files scored (evenly spread over the split)

    @property
    def objective(self) -> str:
        """The loss and what shapes training beside it, in words (listings and model cards)."""
        spectral = (
            f" (spectral weight {self.stft_weight:g})" if self.loss in ("l2+stft", "rmse+logspec") else ""
        )
        brightness = f", brightness augmentation +-{self.brightness_db:g} dB" if self.brightness_db else ""
        mix = f", half the inputs made by {self.mix_channel} instead" if self.mix_channel else ""
        ema = f", weight average {self.ema:g}" if self.ema else ""
        return f"loss {self.loss}{spectral}{brightness}{mix}{ema}"

    @property
    def command(self) -> str:
        return f"wavesr recipe {self.name}"


# chosen on the validation split (BENCHMARKS.md, "Fourth pass" to "Sixth pass"): x2, x6, x8 and music a
# larger spectral weight, twice the budget and the final weights; x4 the same weight, a 75-minute budget
# and the weight average (its final weights). x4's self-ensemble of 4 passes (+0.29 dB SNR, LSD 3.15 against
# 2.72) is an option (--passes 4), not the default: it made the default path 60x real time (BENCHMARKS.md)
LONG_SPECTRAL: dict[str, Any] = {"stft_weight": 1e-4, "minutes": 40.0, "weights": "final"}

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe("speech-x2", "speech", "speech", 2, **LONG_SPECTRAL),
        Recipe(
            "speech-x4",
            "speech",
            "speech",
            4,
            stft_weight=1e-4,
            minutes=75.0,
            ema=0.999,
            weights="final",
        ),
        *(Recipe(f"speech-x{r}", "speech", "speech", r, **LONG_SPECTRAL) for r in (6, 8)),
        Recipe("piano-x4", "piano", "piano", 4, stft_weight=1e-4, minutes=26.0),  # best.pt: it overfits later
        Recipe("music-x4", "music", "music", 4, stft_weight=1e-4, minutes=26.0, weights="final"),
        # phone calls: trained (and tested) on the speech corpus through a telephone channel (300-3400 Hz,
        # 8-bit mu-law at 8 kHz), half of the inputs plainly decimated, with the speech-x2 settings. Not
        # shipped: it failed its validation rule (LSD above speech-x2's and PESQ below cubic's on phone-band
        # input, SNR below cubic's on decimated input; BENCHMARKS.md)
        Recipe(
            "telephone-x2",
            "speech",
            "telephone",
            2,
            channel="telephone",
            mix_channel="decimate",
            **LONG_SPECTRAL,
        ),
    ]
}


WEIGHTS = {"best": "best.pt", "final": "model.pt", "raw": "last.pt"}


# what a candidate may change (``wavesr recipe NAME --set KEY=VALUE``)
CANDIDATE_FIELDS = (
    "loss",
    "stft_weight",
    "brightness_db",
    "mix_channel",
    "ema",
    "weights",
    "passes",
    "lr",
    "batch_size",
    "minutes",
)


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise WavesrError(f"unknown recipe {name!r} (choose from {', '.join(RECIPES)})")
    return RECIPES[name]


def vary(recipe: Recipe, overrides: dict[str, Any]) -> Recipe:
    """``recipe`` with some of its training settings changed (a candidate to compare on validation)."""
    changed = {}
    for key, value in overrides.items():
        if key not in CANDIDATE_FIELDS:
            raise WavesrError(
                f"--set {key}: not a setting a candidate may change (choose from "
                f"{', '.join(CANDIDATE_FIELDS)})"
            )
        kind = type(getattr(recipe, key))
        try:
            changed[key] = kind(value)
        except (TypeError, ValueError):
            raise WavesrError(f"--set {key}={value!r}: expected a {kind.__name__}") from None
    if changed.get("weights", recipe.weights) not in WEIGHTS:
        raise WavesrError(f"--set weights={changed['weights']!r}: choose from {', '.join(WEIGHTS)}")
    if not valid_passes(changed.get("passes", recipe.passes)):
        raise WavesrError(f"--set passes={changed['passes']!r}: choose from {PASSES_TEXT}")
    return dataclasses.replace(recipe, **changed)


def run_recipe(
    recipe: Recipe,
    work: str | Path = "runs/recipes",
    minutes: float | None = None,
    ship: bool = False,
    registry: str | Path | None = None,
    progress: bool = True,
    test: bool = True,
) -> dict[str, Any]:
    """Run ``recipe`` end to end; returns the evaluation summary (and ships it when ``ship``).

    With ``test=False`` it stops after training (a candidate to be compared on the validation
    split first) and returns ``{"run": RUN, "weights": the checkpoint it would ship}``.
    """
    if ship and not test:
        raise WavesrError("--ship needs the test evaluation (leave out --no-test)")
    from .data.corpus import describe_items
    from .data.defaults import build_default, is_built, load_default
    from .data.patches import PrepareConfig, prepare_corpus
    from .evaluate import EvalConfig, evaluate
    from .train import TrainConfig, train

    if minutes is not None:
        recipe = dataclasses.replace(recipe, minutes=minutes)
    folder = Path(work) / recipe.name
    corpus = (
        load_default(recipe.corpus)
        if is_built(recipe.corpus)
        else build_default(recipe.corpus, progress=progress)
    )

    cfg = PrepareConfig(
        ratio=recipe.ratio, channel=recipe.channel, patch_len=recipe.patch_len, silence_db=recipe.silence_db
    )
    data = folder / "data"
    for split in ("train", "val"):
        if not (data / split / "settings.json").exists():
            prepare_corpus(corpus, split, data / split, cfg, spec=recipe.corpus, progress=progress)
        check_data(data / split, cfg)

    run = folder / "run"
    train_cfg = TrainConfig(
        data=str(data / "train"),
        val_data=str(data / "val"),
        out=str(run),
        model=recipe.network,
        model_config=dict(recipe.model_config),
        epochs=1000,
        max_minutes=recipe.minutes,
        batch_size=recipe.batch_size,
        lr=recipe.lr,
        loss=recipe.loss,
        stft_weight=recipe.stft_weight,
        brightness_db=recipe.brightness_db,
        mix_channel=recipe.mix_channel,
        ema=recipe.ema,
        val_files=8,
        val_patches=256,
        checkpoint_minutes=5.0,
    )
    check_run(run, train_cfg)
    started = time.monotonic()
    if not (run / "model.pt").exists():
        train(train_cfg, resume=(run / "last.pt").exists(), progress=progress)
    train_seconds = _train_seconds(run)
    weights = run / WEIGHTS[recipe.weights]
    if not test:
        return {"run": str(run), "weights": str(weights)}

    def scores(channel: str, out: Path) -> dict[str, dict[str, Any]]:
        summary = evaluate(
            ["cubic", "bandlimited", f"{recipe.network}={weights}"],
            corpus.split("test"),
            [recipe.ratio],
            out,
            EvalConfig(
                channel=channel,
                max_files=recipe.eval_files,
                passes=recipe.passes,
                progress=progress,
                pesq=False,
                stoi=False,
            ),
            corpus_info={"spec": recipe.corpus, "root": corpus.root, "split": "test"},
        )
        return {
            row["method"]: {k: row.get(k) for k in ("snr", "lsd", "lsd_standard", "lsd_hf", "files")}
            for row in summary["table"]
        }

    record: dict[str, Any] = {
        "recipe": dataclasses.asdict(recipe),
        "scores": scores(recipe.channel, folder / "eval"),
    }
    if (
        recipe.channel == "decimate"
    ):  # the paper's channel; real low-rate audio is band-limited by a resampler
        record["scores_real"] = scores("sinc", folder / "eval-real")
    record.update(
        {
            "train_seconds": train_seconds,
            "hardware": HARDWARE,
            "corpus": {
                "name": corpus.name,
                **{s: describe_items(corpus.split(s)) for s in ("train", "val", "test")},
            },
            "licences": sorted({i.licence for i in corpus.items if i.licence}),
            "sources": sorted({i.source for i in corpus.items if i.source}),
            "wall_seconds": time.monotonic() - started,
        }
    )
    (folder / "recipe.json").write_text(json.dumps(record, indent=2) + "\n")
    if ship:
        ship_model(recipe, weights, record, registry)
    return record


def _refuse_changed(where: Path, what: str, stored: Any, wanted: Any, ignore: tuple[str, ...] = ()) -> None:
    """Raise if the dataclass ``stored`` (what ``where`` was made with) differs from ``wanted``."""
    have, want = dataclasses.asdict(stored), dataclasses.asdict(wanted)
    diff = sorted(k for k, v in want.items() if k not in ignore and have.get(k) != v)
    if diff:
        raise WavesrError(
            f"{where}: {what} with other settings than the recipe's ({', '.join(diff)}); "
            "use another --work folder"
        )


def check_data(folder: Path, cfg: Any) -> None:
    """Refuse prepared patches made with other settings than the recipe's (another ratio or degradation)."""
    from .data.patches import PrepareConfig, load_settings

    _refuse_changed(
        folder, "patches prepared", PrepareConfig(**load_settings(folder)["config"]), cfg, ignore=("workers",)
    )


def check_run(run: Path, cfg: Any) -> None:
    """Refuse a work folder whose run was trained with other settings than the recipe's."""
    from .configs import TrainConfig, stored_train_settings
    from .files import read_json

    if (run / "config.json").exists():
        stored = stored_train_settings(read_json(run / "config.json")["train"])
        _refuse_changed(run, "trained", TrainConfig(**stored), cfg)


def _train_seconds(run: Path) -> float:
    lines = (run / "metrics.jsonl").read_text().splitlines() if (run / "metrics.jsonl").exists() else []
    return max((json.loads(line).get("time", 0.0) for line in lines), default=0.0)


def model_card(recipe: Recipe, record: dict[str, Any], params: int) -> str:
    """A model card in Markdown: network, data and licences, recipe, time and hardware, scores."""
    s = record["scores"]
    net = next(k for k in s if k not in ("cubic", "bandlimited"))
    c = record["corpus"]
    weights = {
        "best": "the checkpoint with the lowest LSD on 8 validation files",
        "final": "the final weights" + (" (their average)" if recipe.ema else ""),
        "raw": "the final weights (not their average)",
    }[recipe.weights]
    lines = [
        f"# {recipe.name}",
        "",
        f"Upsamples {recipe.content} x{recipe.ratio}: {16000 / recipe.ratio:g} Hz -> 16000 Hz.",
        "",
        "## Network",
        "",
        f"`{recipe.network}` {json.dumps(recipe.model_config) if recipe.model_config else '(default config)'}"
        ", "
        f"{params:,} parameters.",
        "",
        "## Training data",
        "",
        f"Default corpus `{c['name']}` (`wavesr corpus build {recipe.corpus}`): train "
        f"{c['train']['seconds'] / 3600:.2f} h in {c['train']['groups']} groups; validation and test groups "
        f"({c['val']['groups']} and {c['test']['groups']}) are never trained on.",
        f"Sources: {', '.join(record['sources'])}. Licences: {'; '.join(record['licences'])}.",
        "",
        "## Recipe",
        "",
        f"`{recipe.command}` ({recipe.objective}, Adam lr {recipe.lr:g}, "
        f"batch {recipe.batch_size} x {recipe.patch_len} samples, {recipe.minutes:g} min budget, "
        f"{recipe.channel} degradation); "
        f"ships {weights}.",
        *(
            [
                f"Upsamples with a self-ensemble of {recipe.passes} passes (`wavesr upsample --passes 1` "
                "for one, "
                f"{recipe.passes} times faster)."
            ]
            if recipe.passes > 1
            else []
        ),
        f"Trained for {record['train_seconds'] / 60:.1f} min on {record['hardware']}.",
        "",
    ]
    tables = [
        (
            f"Held-out scores ({s[net]['files']} test files, means over files)",
            f"Inputs made by the `{recipe.channel}` degradation, as in training.",
            s,
        )
    ]
    if "scores_real" in record:
        tables.append(
            (
                "Held-out scores on real low-rate audio",
                "The same files resampled by soxr, as a recording made at the low rate (content up to "
                "~0.95 x its Nyquist frequency); upsampling puts them through the training channel first.",
                record["scores_real"],
            )
        )
    for title, note, table in tables:
        lines += [
            f"## {title}",
            "",
            note,
            "",
            "| method | SNR (dB) | LSD (kuleshov) | LSD (standard) | LSD-HF |",
            "|---|---|---|---|---|",
        ]
        for name in ("cubic", "bandlimited", net):
            row = table[name]
            lines.append(
                f"| {name} | {row['snr']:.2f} | {row['lsd']:.2f} | {row['lsd_standard']:.3f} | "
                f"{row['lsd_hf']:.3f} |"
            )
        lines += [
            "",
            f"LSD relative to cubic: {table[net]['lsd'] / table['cubic']['lsd']:.2f}x; "
            f"SNR gain over cubic: {table[net]['snr'] - table['cubic']['snr']:+.2f} dB.",
            "",
        ]
    return "\n".join(lines)


def ship_model(
    recipe: Recipe, checkpoint: Path, record: dict[str, Any], registry: str | Path | None = None
) -> None:
    """Put the weights (no optimizer state) into the registry with their card and scores."""
    import tempfile

    from .models.base import count_parameters, load_model_file, save_model
    from .pretrained import add_model

    model = load_model_file(checkpoint)
    net = next(k for k in record["scores"] if k not in ("cubic", "bandlimited"))
    scores = {
        "test_files": record["scores"][net]["files"],
        **{f"{k}": v for k, v in record["scores"][net].items() if k != "files"},
        **{f"cubic_{k}": v for k, v in record["scores"]["cubic"].items() if k != "files"},
        **{f"bandlimited_{k}": v for k, v in record["scores"]["bandlimited"].items() if k != "files"},
    }
    real = record.get("scores_real", {})
    scores.update(
        {
            f"real_{prefix}{k}": real[name][k]
            for name, prefix in ((net, ""), ("cubic", "cubic_"))
            if name in real
            for k in ("snr", "lsd")
        }
    )
    card = model_card(recipe, record, count_parameters(model))
    with tempfile.TemporaryDirectory() as tmp:
        slim = _shipped_file(
            recipe.name, model, registry
        )  # the same weights again: only the card and scores change
        if slim is None:
            slim = Path(tmp) / "model.pt"
            save_model(model, slim, extra={"recipe": recipe.name})
        add_model(
            slim,
            recipe.name,
            recipe.content,
            scores=scores,
            recipe=recipe.command,
            force=True,
            passes=recipe.passes,
            channel=model.channel or recipe.channel,
            card=card,
            registry=registry,
        )


def _shipped_file(name: str, model: Any, registry: str | Path | None) -> Path | None:
    """The registry's file for ``name`` if it holds exactly ``model`` (network, config, weights), or None."""
    import torch

    from .models.base import current_config, plain_values, read_checkpoint
    from .pretrained import available_models

    info = next((m for m in available_models(registry) if m.name == name), None)
    if info is None or not info.path.is_file():
        return None
    old = read_checkpoint(info.path)
    new = model.state_dict()
    same = (
        old["model"] == model.name
        and current_config(old) == plain_values(model.config)
        and old["state_dict"].keys() == new.keys()
        and all(torch.equal(old["state_dict"][k], new[k].cpu()) for k in new)
    )
    return info.path if same else None
