"""Recipes of the full-band models: the one command that rebuilds ``speech-48k`` and ``music-48k``.

``wavesr recipe speech-48k`` runs, in ``WORK/<name>/``:

1. the default full-band corpus (``wavesr corpus build speech-fullband``), built if missing;
2. its train and val splits cut into 48 kHz patches (``wavesr prepare --sr 48000``; only the
   full-band side of each pair is read: every patch's input is made by a channel drawn for it);
3. stage 1 (``run/``): BandNet trained through random channels (:data:`wavesr.channels.TRAINING_FAMILIES`,
   cutoffs 2-20 kHz) with the ``band`` objective, for a wall-clock budget;
4. stage 2 (``tune/``): the same network fine-tuned from stage 1 (``--init``) with a heavier
   waveform term (``--wave-weight``), which trades generated energy the input does not predict for
   SNR: stage 1 alone overshoots the top band's level (held-out voices: scaling its generated band
   down lowered the LSD and raised the SNR, BENCHMARKS.md);
5. the later stages (``later``, :class:`FineTune`), each fine-tuned from an earlier stage's weights:
   music-48k's stage 3 (``source/``, :data:`OWN_BAND`): stage 1 with the band loss on each target's
   own band only (``--target-band source``: bins above where the training file's real content
   ends, a lossy codec's cliff at 20 kHz in most of the game music, do not count), so that the
   network is not taught to end its output where the codecs did; speech-48k's stages 4, 5 and 6
   (``wave/``, ``wave1000/``, ``wave3000/``; :data:`SPEECH_WAVE`): stage 2, then each the one
   before, with a heavier waveform term each time (300, 1000, 3000), which moves the network's
   band further from the top band's energy the input does not predict (BENCHMARKS.md, "A heavier
   waveform term", "Waveform weight 1000", "Waveform weight 3000");
6. the choice on the validation split (:func:`wavesr.fullband.choose`): the stages' weights, and
   the strength the generated band is scaled by and whether the input's transition band is lifted
   (``equalize``), by the LSD target (at most 0.5 x sinc's at every input rate, then on the mean)
   and then the highest SNR; written as ``chosen.pt``;
7. the full-band protocol (:mod:`wavesr.fullband`) on the held-out test split at 48 and 44.1 kHz,
   through the protocol's channel and the three held-out ones, beside sinc and cubic;
8. with ``ship``: the chosen weights into the registry (ratio 1: any input rate to 48 kHz) with a card.

Each stage resumes when interrupted; a finished stage is reused.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import WavesrError
from .recipes import HARDWARE

# BandNet's default config spelled out, so that a shipped checkpoint never depends on defaults
BAND_MEDIUM: dict[str, Any] = {
    "n_fft": 1024,
    "hop": 256,
    "width": 128,
    "blocks": 7,
    "kernel": 7,
    "expand": 3,
    "phase_hz": 12000.0,
}
# the live model's: a causal BandNet (each frame from the past only) on shorter frames, 10.7 ms of
# look-ahead at 48 kHz, so that `wavesr stream` runs it frame by frame within its latency budget;
# width 64 and 5 blocks so that a 10 ms block costs under a tenth of its time (BENCHMARKS.md)
BAND_LIVE: dict[str, Any] = {
    "n_fft": 512,
    "hop": 128,
    "width": 64,
    "blocks": 5,
    "kernel": 7,
    "expand": 3,
    "phase_hz": 12000.0,
    "causal": True,
    "level_frames": 32,
}
HELD_OUT_CHANNELS = ("brickwall", "lowpass:ellip:o8:r0.1:s80:zero", "codec:mp3:q0.6")


@dataclass(frozen=True)
class FineTune:
    """A stage after stage 2: the weights of stage ``start`` trained on for ``minutes``."""

    stage: str  # stage3 ... stage6 (its run folder: STAGES)
    start: str  # the stage whose weights it starts from
    minutes: float
    lr: float = 2e-4
    wave_weight: float | None = None  # the band loss's waveform term (None: TrainConfig's default)
    target_band: str = "full"  # what of each target the band loss compares (TrainConfig.target_band)

    def describe(self) -> str:
        own = {
            "full": "",
            "source": " on each target's own band (below its file's measured cutoff)",
            "source-rate": " on each target's own band (below its file's measured cutoff, and above its "
            "own rate's Nyquist frequency)",
        }[self.target_band]
        weight = f" with waveform weight {self.wave_weight:g}" if self.wave_weight is not None else ""
        return (
            f"stage {self.stage.removeprefix('stage')} {self.minutes:g} min from stage "
            f"{self.start.removeprefix('stage')} at lr {self.lr:g}{own}{weight}"
        )


# music-48k's stage 3: stage 1 taught each target's own band only (lossy game music ends at 20 kHz)
OWN_BAND = FineTune("stage3", "stage1", 40.0, target_band="source")
# speech-48k's stages 4-6: a heavier waveform term at each (BENCHMARKS.md, "A heavier waveform term",
# "Waveform weight 1000", "Waveform weight 3000")
SPEECH_WAVE = (
    FineTune("stage4", "stage2", 35.0, wave_weight=300.0),
    FineTune("stage5", "stage4", 30.0, wave_weight=1000.0),
    FineTune("stage6", "stage5", 27.0, wave_weight=3000.0),
)


@dataclass(frozen=True)
class FullbandRecipe:
    """How one full-band model is made (stored in its card and ``recipe.json``)."""

    name: str
    corpus: str  # a default full-band corpus
    content: str  # speech | music
    sr: int = 48000
    network: str = "band"
    model_config: dict[str, Any] = field(default_factory=lambda: dict(BAND_MEDIUM))
    patch_len: int = 24576
    silence_db: float = -55.0
    batch_size: int = 16
    lr: float = 5e-4
    minutes: float = 55.0  # stage 1
    ema: float = 0.999
    grad_clip: float = 1.0
    tune_minutes: float = 25.0  # stage 2
    tune_lr: float = 2e-4
    tune_wave_weight: float = 30.0
    later: tuple[FineTune, ...] = ()  # the stages after stage 2, in order
    val_patches: int = 160
    eval_files: int = 100
    eval_seconds: float = 30.0

    @property
    def command(self) -> str:
        return f"wavesr recipe {self.name}"

    @property
    def objective(self) -> str:
        return (
            f"band loss, stage 1 {self.minutes:g} min at lr {self.lr:g}, stage 2 {self.tune_minutes:g} "
            f"min at lr {self.tune_lr:g} with waveform weight {self.tune_wave_weight:g}"
            + "".join(f", {f.describe()}" for f in self.later)
        )


FULLBAND_RECIPES: dict[str, FullbandRecipe] = {
    r.name: r
    for r in (
        FullbandRecipe("speech-48k", "speech-fullband", "speech", later=SPEECH_WAVE),
        FullbandRecipe("music-48k", "music-fullband", "music", later=(OWN_BAND,)),
        FullbandRecipe(
            "speech-48k-live",
            "speech-fullband",
            "speech",
            model_config=dict(BAND_LIVE),
            minutes=35.0,
            tune_minutes=10.0,
        ),
        FullbandRecipe(
            "music-48k-live",
            "music-fullband",
            "music",
            model_config=dict(BAND_LIVE),
            minutes=35.0,
            tune_minutes=10.0,
        ),
    )
}


STAGES = {
    "stage1": "run",
    "stage2": "tune",
    "stage3": "source",
    "stage4": "wave",
    "stage5": "wave1000",
    "stage6": "wave3000",
}  # a stage's run folder in WORK/<name>


def train_configs(recipe: FullbandRecipe, folder: Path) -> list[Any]:
    """The TrainConfigs of the stages (``folder`` is ``WORK/<name>``)."""
    from .configs import TrainConfig

    data = folder / "data"
    common: dict[str, Any] = {
        "data": str(data / "train"),
        "val_data": str(data / "val"),
        "model": recipe.network,
        "model_config": dict(recipe.model_config),
        "epochs": 1000,
        "batch_size": recipe.batch_size,
        "loss": "band",
        "ema": recipe.ema,
        "grad_clip": recipe.grad_clip,
        "val_patches": recipe.val_patches,
        "checkpoint_minutes": 5.0,
    }

    def stage(name: str, minutes: float, lr: float, **extra: Any) -> Any:
        return TrainConfig(out=str(folder / STAGES[name]), max_minutes=minutes, lr=lr, **extra, **common)

    def init(name: str) -> dict[str, str]:
        return {"init": str(folder / STAGES[name] / "model.pt")}

    stages = [
        stage("stage1", recipe.minutes, recipe.lr),
        stage(
            "stage2",
            recipe.tune_minutes,
            recipe.tune_lr,
            wave_weight=recipe.tune_wave_weight,
            **init("stage1"),
        ),
    ]
    for f in recipe.later:
        weight = {} if f.wave_weight is None else {"wave_weight": f.wave_weight}
        stages.append(stage(f.stage, f.minutes, f.lr, target_band=f.target_band, **weight, **init(f.start)))
    return stages


def run_fullband_recipe(
    recipe: FullbandRecipe,
    work: str | Path = "runs/recipes",
    ship: bool = False,
    registry: str | Path | None = None,
    progress: bool = True,
    test: bool = True,
) -> dict[str, Any]:
    """Run ``recipe`` end to end (module docstring); returns its record (``recipe.json``)."""
    from .data.defaults import build_default, is_built, load_default
    from .data.patches import PrepareConfig, prepare_corpus
    from .recipes import check_data, check_run
    from .train import train

    if ship and not test:
        raise WavesrError("--ship needs the test evaluation (leave out --no-test)")
    folder = Path(work) / recipe.name
    corpus = (
        load_default(recipe.corpus)
        if is_built(recipe.corpus)
        else build_default(recipe.corpus, progress=progress)
    )
    cfg = PrepareConfig(
        sr=recipe.sr,
        ratio=2,  # the low-rate side is not read: every input is made by a channel drawn for it
        channel="sinc",
        patch_len=recipe.patch_len,
        stride=recipe.patch_len,
        silence_db=recipe.silence_db,
    )
    for split in ("train", "val"):
        if not (folder / "data" / split / "settings.json").exists():
            prepare_corpus(corpus, split, folder / "data" / split, cfg, spec=recipe.corpus, progress=progress)
        check_data(folder / "data" / split, cfg)
    started = time.monotonic()
    for stage in train_configs(recipe, folder):
        run = Path(stage.out)
        check_run(run, stage)
        if not (run / "model.pt").exists():
            train(stage, resume=(run / "last.pt").exists(), progress=progress)
    validation, choice, why = choose_on_validation(folder, corpus)
    weights = folder / "chosen.pt"
    if not test:
        return {"run": str(folder / "tune"), "weights": str(weights), "choice": choice}
    record = {
        "recipe": dataclasses.asdict(recipe),
        "validation": validation,
        "choice": {"candidate": choice, "rule": why},
        "evaluations": evaluate_recipe(recipe, weights, corpus, folder, progress),
        "train_seconds": sum(_seconds(folder / name) for name in STAGES.values()),
        "hardware": HARDWARE,
        "licences": sorted({i.licence for i in corpus.items if i.licence}),
        "sources": sorted({i.source for i in corpus.items if i.source}),
        "wall_seconds": time.monotonic() - started,
    }
    (folder / "recipe.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    if ship:
        ship_fullband(recipe, weights, record, registry)
    return record


def choose_on_validation(folder: Path, corpus: Any) -> tuple[dict[str, Any], str, str]:
    """The stages' final weights at every strength on the validation split
    (:func:`wavesr.fullband.validate`), the choice (:func:`wavesr.fullband.choose`) written as
    ``chosen.pt`` (the weights with their strength and equalizing); returns the table, the choice and
    the rule."""
    from .fullband import candidate, choose, validate
    from .models.base import load_model_file, save_model

    stages = {k: folder / v / "model.pt" for k, v in STAGES.items() if (folder / v / "model.pt").exists()}
    models = {name: load_model_file(path).eval() for name, path in stages.items()}
    means = validate(models, corpus.split("val"))
    choice, why = choose(means)
    stage, strength, equalize = candidate(choice)
    chosen = load_model_file(stages[stage], strength=strength, equalize=equalize)
    save_model(chosen, folder / "chosen.pt", extra={"chosen": {"candidate": choice, "rule": why}})
    return means, choice, why


def evaluate_recipe(recipe: FullbandRecipe, weights: Path, corpus: Any, folder: Path, progress: bool) -> dict:
    """The full-band protocol at 48 and 44.1 kHz on the test split: ``{sr: summary table}``."""
    from .fullband import CHANNEL, MIN_BAND, FullbandConfig, evaluate_fullband

    out = {}
    for sr, min_band in MIN_BAND.items():
        cfg = FullbandConfig(
            sr=sr,
            channels=(CHANNEL, *HELD_OUT_CHANNELS),
            max_files=recipe.eval_files,
            max_seconds=recipe.eval_seconds,
            min_band=min_band,
        )
        summary = evaluate_fullband(
            ["sinc", "cubic", f"{recipe.name}={weights}"],
            corpus.split("test"),
            folder / f"eval-{sr}",
            cfg,
            corpus_info={"spec": recipe.corpus, "root": corpus.root, "split": "test"},
            force=True,
        )
        out[str(sr)] = summary["table"]
    return out


def _seconds(run: Path) -> float:
    lines = (run / "metrics.jsonl").read_text().splitlines() if (run / "metrics.jsonl").exists() else []
    return max((json.loads(line).get("time", 0.0) for line in lines), default=0.0)


def headline(table: list[dict[str, Any]], name: str) -> dict[str, float]:
    """Means over the protocol channel's input rates: the network's and sinc's LSD, LSD-HF and SNR."""
    from .fullband import CHANNEL

    def mean(method: str, key: str) -> float:
        rows = [r[key] for r in table if r["channel"] == CHANNEL and r["method"] == method]
        return float(sum(rows) / len(rows))

    return {
        **{k: mean(name, k) for k in ("lsd", "lsd_hf", "snr")},
        **{f"sinc_{k}": mean("sinc", k) for k in ("lsd", "lsd_hf", "snr")},
    }


def registry_scores(record: dict[str, Any], name: str) -> dict[str, float]:
    """A recipe record's test-split headlines as a registry entry keeps them (``fullband_48000_lsd``, ...)."""
    return {
        f"fullband_{sr}_{k}": v
        for sr, t in record["evaluations"].items()
        for k, v in headline(t, name).items()
    }


def _candidate_text(key: str) -> str:
    """``stage2@0.25+eq`` as ``stage2 at strength 0.25, the input's transition band lifted``."""
    from .fullband import candidate

    stage, strength, equalize = candidate(key)
    return f"{stage} at strength {strength:g}" + (", the input's transition band lifted" if equalize else "")


def model_card(recipe: FullbandRecipe, record: dict[str, Any], params: int) -> str:
    """The model card: what it does, network, data, recipe, and the full-band tables."""
    lines = [
        f"# {recipe.name}",
        "",
        f"Full-band {recipe.content}: any input rate and bandwidth to {recipe.sr} Hz (44.1 kHz for inputs "
        "of that family). The input's real bandwidth is measured, its own band kept, the rest generated "
        "(`wavesr.extend`).",
        "",
        "## Network",
        "",
        f"`{recipe.network}` {json.dumps(recipe.model_config)}, {params:,} parameters.",
        "",
        "## Training data",
        "",
        f"Default corpus `{recipe.corpus}` (`wavesr corpus build {recipe.corpus}`), train split; validation "
        "and test voices or tracks are never trained on. "
        f"Sources: {', '.join(record['sources'])}. Licences: {'; '.join(record['licences'])}.",
        "",
        "## Recipe",
        "",
        f"`{recipe.command}`: {recipe.objective}; Adam, batch {recipe.batch_size} x {recipe.patch_len} "
        f"samples at {recipe.sr} Hz, weight average {recipe.ema:g}, every input through a channel drawn "
        "for it (low-pass filters, resamplers, Vorbis/Opus, telephone, decimation; cutoffs 2-20 kHz). "
        f"Ships {_candidate_text(record['choice']['candidate'])}: "
        f"{record['choice']['rule']} on the validation split (below). Trained for "
        f"{record['train_seconds'] / 60:.1f} min on "
        f"{record['hardware']}.",
        *([record["note"]] if record.get("note") else []),
        "",
    ]
    inputs = ", ".join(
        f"{float(r) / 1000:g}" for r in sorted(record["validation"]["sinc"]["rates"], key=float)
    )
    lines += [f"## Choice on the validation split (soxr inputs at {inputs} kHz, means over them)", ""]
    lines += ["| candidate | LSD | LSD-HF | SNR (dB) |", "|---|---|---|---|"]
    lines += [
        f"| {k} | {v['lsd']:.3f} | {v['lsd_hf']:.3f} | {v['snr']:.2f} |"
        for k, v in record["validation"].items()
    ]
    lines.append("")
    for sr, table in record["evaluations"].items():
        lines += [f"## Held-out test split, {int(sr) / 1000:g} kHz (clamped standard LSD, SNR in dB)", ""]
        lines += ["| channel | input | sinc LSD | sinc SNR | cubic LSD | net LSD | net LSD-HF | net SNR |"]
        lines += ["|---|---|---|---|---|---|---|---|"]
        for row in (r for r in table if r["method"] == recipe.name):
            rate, channel = row["input_rate"], row["channel"]
            other = {r["method"]: r for r in table if r["input_rate"] == rate and r["channel"] == channel}
            sinc, cubic = other["sinc"], other["cubic"]
            lines.append(
                f"| `{channel}` | {rate / 1000:g} kHz | {sinc['lsd']:.3f} | {sinc['snr']:.2f} | "
                f"{cubic['lsd']:.3f} | {row['lsd']:.3f} | {row['lsd_hf']:.3f} | {row['snr']:.2f} |"
            )
        lines.append("")
    return "\n".join(lines)


def ship_fullband(
    recipe: FullbandRecipe, checkpoint: Path, record: dict[str, Any], registry: str | Path | None = None
) -> None:
    """Put the weights (no optimizer state) into the registry with their card and headline scores."""
    import tempfile

    from .models.base import count_parameters, load_model_file, save_model
    from .pretrained import add_model

    model = load_model_file(checkpoint)  # chosen.pt: the chosen stage's weights and run settings
    scores = registry_scores(record, recipe.name)
    with tempfile.TemporaryDirectory() as tmp:
        slim = Path(tmp) / "model.pt"
        save_model(model, slim, extra={"recipe": recipe.name})
        add_model(
            slim,
            recipe.name,
            recipe.content,
            scores=scores,
            recipe=recipe.command,
            force=True,
            channel=model.channel,
            strength=model.strength,
            equalize=model.equalize,
            card=model_card(recipe, record, count_parameters(model)),
            registry=registry,
        )
