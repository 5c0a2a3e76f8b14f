"""The settings of a training run and of an evaluation: dataclasses stored beside every artefact.

They import nothing heavy, so that the CLI builds its flags and their defaults from them without
importing torch. Each checks its own ranges (one-line errors); :func:`wavesr.checks.from_dict`
reads them back from JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import checks
from .constants import DEGRADE_METHODS, LOSSES
from .errors import WavesrError


@dataclass
class TrainConfig:
    """Everything a run needs; stored in RUN/config.json and in every checkpoint."""

    data: str  # prepared training patches (``wavesr prepare``)
    out: str  # run folder
    val_data: str | None = None  # prepared validation patches; its source files give whole-file scores
    model: str = "audiounet"
    model_config: dict[str, Any] = field(default_factory=dict)  # overrides of the model's config
    epochs: int = 10
    max_steps: int | None = None
    max_minutes: float | None = None  # wall-clock budget; fixes the planned steps after a short warm-up
    batch_size: int = 32
    lr: float = 1e-4
    decay: str = "linear-second-half"  # or "none"
    loss: str = "auto"  # the network's own (l2 for AudioUNet, lps for the DNN) or one of wavesr.losses.LOSSES
    stft_weight: float = 1e-3
    grad_clip: float | None = None
    ema: float = 0.0  # > 0: keep an exponential moving average of the weights with this decay (e.g. 0.999)
    brightness_db: float = (
        0.0  # > 0: a random high shelf of up to +-this many dB on every patch (data/augment.py)
    )
    mix_degrade: str = (
        ""  # a degradation (DEGRADE_METHODS) that rebuilds the input of mix_fraction of the patches
    )
    mix_fraction: float = 0.5
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "auto"  # auto (bf16/fp16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16
    workers: int = 0  # DataLoader worker processes
    val_patches: int = 256  # at most this many validation patches
    val_files: int = 4  # whole held-out files scored every epoch
    checkpoint_minutes: float = 10.0
    checkpoint_steps: int | None = None
    log_every: int = 20

    def check(self) -> TrainConfig:
        """Every setting within its range (one-line WavesrErrors); returns the config."""
        for name, low, integer, optional, low_open in (
            ("epochs", 1, True, False, False),
            ("max_steps", 1, True, True, False),
            ("max_minutes", 0, False, True, True),
            ("batch_size", 1, True, False, False),
            ("lr", 0, False, False, True),
            ("stft_weight", 0, False, False, False),
            ("grad_clip", 0, False, True, True),
            ("brightness_db", 0, False, False, False),
            ("seed", 0, True, False, False),
            ("workers", 0, True, False, False),
            ("val_patches", 0, True, False, False),
            ("val_files", 0, True, False, False),
            ("checkpoint_minutes", 0, False, False, True),
            ("checkpoint_steps", 1, True, True, False),
            ("log_every", 1, True, False, False),
        ):
            checks.number(
                getattr(self, name),
                f"--{name.replace('_', '-')}",
                low,
                integer=integer,
                optional=optional,
                low_open=low_open,
            )
        if checks.number(self.ema, "--ema", 0) >= 1:
            raise WavesrError(
                f"--ema must be in [0, 1) (a decay such as 0.999; 0 turns it off), not {self.ema}"
            )
        checks.device_name(self.device)
        for name, value, choices in (
            ("--decay", self.decay, DECAYS),
            ("--precision", self.precision, PRECISIONS),
            ("--loss", self.loss, ("auto", "lps", *LOSSES)),
            ("--mix-degrade", self.mix_degrade, ("", *DEGRADE_METHODS)),
        ):
            if value not in choices:
                raise WavesrError(f"{name} {value!r}: choose from {', '.join(c for c in choices if c)}")
        if self.mix_degrade:
            checks.number(self.mix_fraction, "--mix-fraction", 0, 1, low_open=True)
        if not isinstance(self.model_config, dict):
            raise WavesrError(f"model_config must be a mapping of settings, got {self.model_config!r}")
        return self


DECAYS = ("linear-second-half", "none")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class EvalConfig:
    """How files are evaluated (written to ``settings.json``)."""

    sr: int | None = None  # evaluation rate; None: the first network's rate, else 16000
    degrade: str = "decimate"  # audio.degrade method
    max_files: int | None = None  # at most this many files, evenly spaced over the list
    max_seconds: float | None = None  # evaluate only the first seconds of each file
    pesq: bool | None = None  # None: when the pesq package is importable
    stoi: bool | None = None  # None: when the pystoi package is importable
    chunk_seconds: float | None = 10.0  # network chunks (None: whole files at once)
    limiter: bool = False  # soft-limit network outputs (off: the raw output is scored)
    passes: int | None = None  # self-ensemble passes of every network (None: each model's own)
    device: str = "auto"  # for networks: auto | cpu | cuda | cuda:N
    figures: int = 0  # spectrogram figures for the first N files of each ratio
    save_audio: int = 0  # WAVs (hr, lr, every method) for the first N files of each ratio
    interesting: int = 0  # also save the N files where the first network falls furthest below cubic in SNR
    title: str | None = None  # name of this evaluation on the samples page (default: the corpus)
    description: str | None = None  # a paragraph for the samples page
    progress: bool = True

    def __post_init__(self) -> None:
        if self.degrade not in DEGRADE_METHODS:
            raise WavesrError(
                f"unknown degradation {self.degrade!r} (choose from {', '.join(DEGRADE_METHODS)})"
            )
        for name in ("figures", "save_audio", "interesting"):
            checks.number(getattr(self, name), name, 0, integer=True)
        checks.number(self.max_files, "max_files", 0, integer=True, optional=True)
        checks.number(self.sr, "sr", 1, integer=True, optional=True)
        checks.number(self.max_seconds, "max_seconds", 0, low_open=True, optional=True)
        checks.number(self.chunk_seconds, "chunk_seconds", 0, 60, low_open=True, optional=True)
        checks.device_name(self.device)

    def protocol(self, sr: int, which: dict[str, bool]) -> dict[str, Any]:
        """The settings rows depend on: a folder evaluated under other ones cannot be resumed."""
        return {
            "sr": sr,
            "degrade": self.degrade,
            "max_seconds": self.max_seconds,
            "limiter": self.limiter,
            "chunk_seconds": self.chunk_seconds,
            "pesq": which["pesq"],
            "stoi": which["stoi"],
        }
