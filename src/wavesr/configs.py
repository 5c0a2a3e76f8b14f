"""The settings of a training run and of an evaluation: dataclasses stored beside every artefact.

They import nothing heavy, so that the CLI builds its flags and their defaults from them without
importing torch. Each checks its own ranges (one-line errors); :func:`wavesr.checks.from_dict`
reads them back from JSON.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from . import checks
from .constants import CHANNEL_FAMILIES, DEGRADE_CHANNELS, LOSSES
from .errors import WavesrError

DECAYS = ("linear-second-half", "none")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
TARGET_BANDS = ("full", "source", "source-rate")
TRAIN_LOSSES = ("auto", "lps", *LOSSES)


def setting(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    low_open: bool = False,
    high_open: bool = False,
    choices: tuple[str, ...] | None = None,
    device: bool = False,
    flag: str | None = None,
) -> Any:
    """A config field with what the CLI and :meth:`TrainConfig.check` need: the flag's help, and the
    range (:class:`wavesr.checks.Range`), choices or device name its value must have. ``flag``:
    the flag's name when it is not ``--`` plus the field's name with dashes."""
    limits = (
        checks.Range(low, high, integer, low_open, high_open) if low is not None or high is not None else None
    )
    metadata = {"help": help, "range": limits, "choices": choices, "device": device, "flag": flag}
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    """Everything a run needs; stored in RUN/config.json and in every checkpoint.

    Each field says its own flag, help and range (:func:`setting`): ``wavesr train`` builds its
    flags from them, and :meth:`check` checks them, so that the three never disagree.
    """

    data: str = field(metadata={"cli": False})  # prepared training patches (``wavesr prepare``)
    out: str = field(metadata={"cli": False})  # run folder
    val_data: str | None = setting(
        None, "prepared validation patches (their files are scored too)", flag="--val"
    )
    model: str = setting("audiounet", "network (audiounet, fast, dnn, spline)")
    model_config: dict[str, Any] = field(default_factory=dict, metadata={"cli": False})  # --set KEY=VALUE
    epochs: int = setting(10, "passes over the training patches", low=1, integer=True)
    max_steps: int | None = setting(None, "stop after this many steps", low=1, integer=True)
    max_minutes: float | None = setting(
        None, "wall-clock budget (fixes the planned steps after a short warm-up)", low=0, low_open=True
    )
    batch_size: int = setting(32, "patches per step", low=1, high=4096, integer=True)
    lr: float = setting(1e-4, "Adam's learning rate", low=0, high=10, low_open=True)
    decay: str = setting("linear-second-half", "learning-rate schedule", choices=DECAYS)
    loss: str = setting(
        "auto",
        "auto (the network's own), l2 (paper), rmse (original code), l2+stft, rmse+logspec, lps (DNN)",
        choices=TRAIN_LOSSES,
    )
    stft_weight: float = setting(
        1e-3, "weight of the spectral term of l2+stft and rmse+logspec", low=0, high=1e6
    )
    wave_weight: float = setting(
        1.0,
        "weight of the waveform term of the band loss (higher: less generated energy the input "
        "does not predict; SNR up, brightness down)",
        low=0,
        high=1e6,
    )
    target_band: str = setting(
        "full",
        "what of each target the band loss compares: full (every bin); source (only the bins below "
        "where its source file's real content ends, audio.cutoff: a lossy file's empty top band is "
        "not taught as sound); source-rate (those, and the bins above the Nyquist frequency of the "
        "rate the file was stored at, empty by its format)",
        choices=TARGET_BANDS,
    )
    adv_weight: float = setting(
        0.0,
        "weight of the adversarial term (LSGAN against multi-period and multi-resolution discriminators, "
        "wavesr.models.discriminators; full-band networks with the band loss only; 0: off)",
        low=0,
        high=1e6,
    )
    feature_weight: float = setting(
        1.0, "weight of the discriminators' feature-matching term (with --adv-weight)", low=0, high=1e6
    )
    adv_start: int = setting(
        0,
        "with --adv-weight: the discriminators train from the first step, the network's adversarial and "
        "feature terms start at this step",
        low=0,
        integer=True,
    )
    adv_width: int = setting(
        8, "channels of the discriminators' first layers", low=1, high=1024, integer=True
    )
    adv_segment: int = setting(
        4096,
        "the discriminators judge a random window of this many samples of each patch (the whole patch "
        "when shorter)",
        low=2048,
        high=10_000_000,
        integer=True,
    )
    init: str | None = setting(
        None,
        "start from the weights of this checkpoint or run folder (fine-tuning; same network and settings)",
        flag="--init",
    )
    grad_clip: float | None = setting(None, "clip the gradient's norm to this", low=0, low_open=True)
    ema: float = setting(
        0.0,
        "validate and keep a moving average of the weights with this decay, e.g. 0.999 (0: off)",
        low=0,
        high=1,
        high_open=True,
    )
    brightness_db: float = setting(
        0.0, "augment: a random high shelf of up to +-DB on every training patch (0: off)", low=0, high=24
    )
    mix_channel: str = setting(
        "",
        "augment: rebuild the input of a share of the patches through this channel instead of the data's "
        "own (e.g. plain decimation mixed into phone-band data)",
        choices=("", *DEGRADE_CHANNELS),
    )
    mix_fraction: float = setting(
        0.5, "the share of patches --mix-channel rebuilds", low=0, high=1, low_open=True
    )
    channels: str = setting(
        "",
        "augment: rebuild every patch's input through a random channel of these families (comma-separated, "
        "e.g. lowpass,resample,codec; see wavesr.channels), drawn anew for each patch and epoch",
    )
    seed: int = setting(
        0, "seed of the initial weights and the patch order", low=0, high=2**32 - 1, integer=True
    )
    device: str = setting("auto", "auto, cpu, cuda, cuda:N", device=True)
    precision: str = setting("auto", "auto: bf16/fp16 on CUDA, fp32 on CPU", choices=PRECISIONS)
    workers: int = setting(0, "DataLoader worker processes", low=0, high=64, integer=True)
    val_patches: int = setting(
        256, "at most this many validation patches", low=0, high=1_000_000, integer=True
    )
    val_files: int = setting(4, "whole held-out files scored every epoch", low=0, high=10_000, integer=True)
    checkpoint_minutes: float = setting(10.0, "write last.pt at least this often", low=0, low_open=True)
    checkpoint_steps: int | None = setting(None, "also write last.pt every N steps", low=1, integer=True)
    log_every: int = setting(20, "a metrics.jsonl row every N steps", low=1, integer=True)

    def check(self) -> TrainConfig:
        """Every setting within its range or among its choices (one-line WavesrErrors); returns the config."""
        if checks.number(self.ema, "--ema", 0) >= 1:
            raise WavesrError(
                f"--ema must be in [0, 1) (a decay such as 0.999; 0 turns it off), not {self.ema}"
            )
        for f in dataclasses.fields(self):
            value, meta, flag = getattr(self, f.name), f.metadata, flag_name(f)
            if meta.get("range") is not None:
                meta["range"].check(value, flag, optional=f.default is None)
            if meta.get("choices") is not None and value not in meta["choices"]:
                raise WavesrError(
                    f"{flag} {value!r}: choose from {', '.join(c for c in meta['choices'] if c)}"
                )
            if meta.get("device"):
                checks.device_name(value)
        unknown = [f for f in self.channel_families() if f not in CHANNEL_FAMILIES]
        if unknown:
            raise WavesrError(f"--channels {', '.join(unknown)}: choose from {', '.join(CHANNEL_FAMILIES)}")
        if self.channels and self.mix_channel:
            raise WavesrError("--channels and --mix-channel both rebuild the input: choose one")
        if not isinstance(self.model_config, dict):
            raise WavesrError(f"model_config must be a mapping of settings, got {self.model_config!r}")
        return self

    def channel_families(self) -> tuple[str, ...]:
        """The ``channels`` setting as a tuple of family names."""
        return tuple(f.strip() for f in self.channels.split(",") if f.strip())


RENAMED = {"mix_degrade": "mix_channel"}  # settings a stored run (config.json) may hold under an older name


def stored_train_settings(values: dict[str, Any]) -> dict[str, Any]:
    """A run's stored ``train`` settings under today's names (:data:`RENAMED`)."""
    return {RENAMED.get(k, k): v for k, v in values.items()}


def flag_name(f: dataclasses.Field[Any]) -> str:
    """The CLI flag of a config field (:func:`setting`)."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


@dataclass
class EvalConfig:
    """How files are evaluated (written to ``settings.json``)."""

    sr: int | None = None  # evaluation rate; None: the first network's rate, else 16000
    channel: str = "decimate"  # the audio.degrade channel low-resolution input comes through
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
        if self.channel not in DEGRADE_CHANNELS:
            raise WavesrError(f"unknown channel {self.channel!r} (choose from {', '.join(DEGRADE_CHANNELS)})")
        for name in ("figures", "save_audio", "interesting"):
            checks.number(getattr(self, name), name, 0, integer=True)
        checks.number(self.max_files, "max_files", 0, integer=True, optional=True)
        checks.number(self.sr, "sr", 1, integer=True, optional=True)
        checks.number(self.max_seconds, "max_seconds", 0, low_open=True, optional=True)
        checks.number(self.chunk_seconds, "chunk_seconds", 0, 60, low_open=True, optional=True)
        checks.device_name(self.device)

    def protocol(self, sr: int, perceptual_on: dict[str, bool]) -> dict[str, Any]:
        """The settings rows depend on: a folder evaluated under other ones cannot be resumed."""
        return {
            "sr": sr,
            "channel": self.channel,
            "max_seconds": self.max_seconds,
            "limiter": self.limiter,
            "chunk_seconds": self.chunk_seconds,
            "pesq": perceptual_on["pesq"],
            "stoi": perceptual_on["stoi"],
        }
