"""What every wavesr network shares: the base class, the registry and self-describing checkpoints.

Interface
---------
Every network is an :class:`Upsampler`: a ``torch.nn.Module`` built from a dataclass config that
maps a low-rate signal ``[batch, 1, time_lr]`` to a high-rate one ``[batch, 1, time_lr * ratio]``
for any ``time_lr >= 1``. The network owns its interpolation (AudioUNet starts from a cubic
spline computed inside the model), so a trained model is one self-contained function.

Registry
--------
A network is made known by one decorator, ``@register("name")``, on its class; the module that
defines it is imported by ``wavesr/models/__init__.py``. :func:`build_model` makes one by name
from its config defaults, a named preset and overrides.

Checkpoints
-----------
:func:`save_model` writes one dict (atomically) that describes itself, as whisper's checkpoints::

    {"format": "wavesr-model", "format_version": 1, "wavesr_version": "0.1.0",
     "model": "audiounet", "config": {...dataclass fields...}, "state_dict": {...}, **extra}

:func:`load_model_file` reads it with ``torch.load(weights_only=True)`` (no code runs from the
file), rebuilds the network from ``model`` and ``config`` and loads the weights strictly. Any
problem a user can cause -- a damaged file, a file that is not a wavesr model, an unknown network,
a config or weights that do not match, a newer format -- is one line of :class:`WavesrError`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import numpy as np
import torch
from torch import Tensor, nn

from .. import __version__, checks
from ..constants import PASSES_TEXT, valid_passes
from ..errors import WavesrError
from ..files import atomic_path

FORMAT = "wavesr-model"
FORMAT_VERSION = 2  # 2: the run settings (channel, passes, strength) are in the config
_RESERVED = (
    "format",
    "format_version",
    "wavesr_version",
    "model",
    "config",
    "state_dict",
    "degrade",
    "strength",
)  # "degrade" and "strength": where format 1 kept two of the run settings


@dataclass
class UpsamplerConfig:
    """Settings every network has. Subclasses add their own fields (all with defaults).

    The first two fix the network's rates; the last four say how the trained network is run, and
    travel with it in every checkpoint (training sets ``channel``; a shipped model's registry entry
    sets ``passes``, ``strength`` and ``equalize`` when :func:`wavesr.load_model` builds it).

    ``PRESETS`` maps a preset name to field values, for :func:`build_model`'s ``preset=``.
    """

    ratio: int = 4  # upsampling ratio r = sr / sr_lowres
    sr: int = 16000  # high (output) sample rate, Hz
    # the channel its training inputs came through (an audio.degrade name such as "decimate", "a+b" for
    # a mix of two, "channels:FAMILIES" for random full-band channels; None: untrained or unknown);
    # upsampling puts real audio through a single paper channel first (wavesr.inference, "Input conditioning")
    channel: str | None = None
    passes: int = 1  # self-ensemble passes upsampling uses unless told (wavesr.inference.ensemble_offsets)
    strength: float = 1.0  # a full-band network's generated band is scaled by this (wavesr.audio.put_back)
    # a full-band network lifts the top of the input's band where its filter attenuated it (audio.put_back)
    equalize: bool = False

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {}

    def __post_init__(self) -> None:
        if isinstance(self.ratio, bool) or int(self.ratio) != self.ratio or self.ratio < 2:
            raise WavesrError(f"ratio must be an integer >= 2, got {self.ratio!r}")
        if isinstance(self.sr, bool) or int(self.sr) != self.sr or self.sr <= 0:
            raise WavesrError(f"sr must be a positive integer (Hz), got {self.sr!r}")
        self.ratio, self.sr = int(self.ratio), int(self.sr)
        self.check_running()

    def check_running(self) -> None:
        """The run settings are well formed (every subclass's ``__post_init__`` calls this)."""
        if self.channel is not None and (not isinstance(self.channel, str) or not self.channel):
            raise WavesrError(f"channel must be a channel name or None, got {self.channel!r}")
        if not valid_passes(self.passes):
            raise WavesrError(f"passes must be one of {PASSES_TEXT}, got {self.passes!r}")
        checks.number(self.strength, "strength", 0, 1)
        self.strength = float(self.strength)
        if not isinstance(self.equalize, bool):
            raise WavesrError(f"equalize must be true or false, got {self.equalize!r}")

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> Self:
        """The config of preset ``name`` with ``overrides`` applied."""
        if name not in cls.PRESETS:
            known = ", ".join(sorted(cls.PRESETS)) or "none"
            raise WavesrError(f"unknown preset {name!r} for {cls.__name__} (known: {known})")
        return config_from_dict(cls, {**cls.PRESETS[name], **overrides})


RUNNING = (
    "channel",
    "passes",
    "strength",
    "equalize",
)  # the config fields that say how a network is run, not what it is


def architecture(config: UpsamplerConfig | dict[str, Any]) -> dict[str, Any]:
    """A config's fields without :data:`RUNNING`: what fixes the network's weights and their shapes."""
    values = plain_values(config) if not isinstance(config, dict) else config
    return {k: v for k, v in values.items() if k not in RUNNING}


C = TypeVar("C", bound=UpsamplerConfig)


class Upsampler(nn.Module):
    """Base class of all networks: ``forward(lr [batch, 1, time_lr]) -> [batch, 1, time_lr * ratio]``."""

    name: ClassVar[str] = ""  # set by @register
    config_class: ClassVar[type[UpsamplerConfig]] = UpsamplerConfig

    def __init__(self, config: UpsamplerConfig) -> None:
        super().__init__()
        if type(config) is not self.config_class:
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}"
            )
        self.config = config

    @property
    def ratio(self) -> int:
        return self.config.ratio

    @property
    def channel(self) -> str | None:
        """The channel its training inputs came through (:class:`UpsamplerConfig`)."""
        return self.config.channel

    @property
    def passes(self) -> int:
        return self.config.passes

    @property
    def strength(self) -> float:
        return self.config.strength

    @property
    def equalize(self) -> bool:
        return self.config.equalize

    def run_as(self, **running: Any) -> Self:
        """Change run settings (:data:`RUNNING`: ``channel``, ``passes``, ``strength``, ``equalize``),
        checked as a new config is; returns the network. The weights and their shapes stay."""
        unknown = sorted(set(running) - set(RUNNING))
        if unknown:
            raise TypeError(f"run_as() takes {', '.join(RUNNING)}, not {', '.join(unknown)}")
        self.config = dataclasses.replace(self.config, **running)
        return self

    @property
    def sr(self) -> int:
        """High (output) sample rate in Hz."""
        return self.config.sr

    @property
    def sr_lowres(self) -> float:
        """Low (input) sample rate in Hz, ``sr / ratio`` (not always a whole number, e.g. r = 6)."""
        return self.config.sr / self.config.ratio

    def forward(self, lr: Tensor) -> Tensor:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def upsample(
        self, audio: Any, sr: float, target_sr: int | None = None, **options: Any
    ) -> tuple[Any, int]:
        """Upsample real audio at any rate: ``(audio, sr) -> (audio, out_sr)``.

        ``audio`` is a numpy array or torch tensor, ``[time]`` or ``[channels, time]``; the result
        has the same type and layout, at ``target_sr`` or ``self.sr``. Resampling, chunking and
        the clipping policy are those of :func:`wavesr.inference.upsample_array` (``options``).
        """
        from ..inference import upsample  # imported here: inference imports this module

        return upsample(self, audio, sr, target_sr=target_sr, **options)

    def stream(self, sr: float, channels: int = 1, **options: Any) -> Any:
        """A live stream of this network for input at ``sr``: :class:`wavesr.live.LiveStream` (``options``
        are its keyword parameters), whose ``process(block)`` returns upsampled blocks, then ``flush()``."""
        from ..live import LiveStream

        return LiveStream(self, sr, channels, **options)

    @staticmethod
    def check_input(lr: Tensor) -> int:
        """Check ``lr`` is ``[batch, 1, time_lr]`` with ``time_lr >= 1``; return ``time_lr``."""
        if lr.dim() != 3 or lr.shape[1] != 1 or lr.shape[2] < 1:
            raise WavesrError(f"a network takes [batch, 1, time] low-rate audio, got shape {list(lr.shape)}")
        return lr.shape[-1]


# ------------------------------------------------------------------------------------ registry

MODELS: dict[str, type[Upsampler]] = {}
U = TypeVar("U", bound=type[Upsampler])


def register(name: str) -> Callable[[U], U]:
    """Class decorator: make a network buildable and loadable as ``name``."""

    def add(cls: U) -> U:
        if name in MODELS and MODELS[name] is not cls:
            raise ValueError(f"network name {name!r} is already registered by {MODELS[name].__name__}")
        cls.name = name
        MODELS[name] = cls
        return cls

    return add


def model_class(name: str) -> type[Upsampler]:
    if name not in MODELS:
        raise WavesrError(f"unknown network {name!r} (known: {', '.join(sorted(MODELS))})")
    return MODELS[name]


def config_from_dict(config_class: type[C], values: dict[str, Any]) -> C:
    """Build a config, naming any field it does not have."""
    fields = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise WavesrError(
            f"{config_class.__name__} has no setting {', '.join(unknown)} "
            f"(settings: {', '.join(sorted(fields))})"
        )
    return config_class(**values)


def build_model(name: str, **config_overrides: Any) -> Upsampler:
    """Make network ``name`` from its config defaults, overridden by ``config_overrides``.

    ``preset="..."`` starts from a named preset instead of the defaults, e.g.
    ``build_model("audiounet", preset="original", ratio=2)``.
    """
    cls = model_class(name)
    preset = config_overrides.pop("preset", None)
    try:
        if preset is not None:
            config = cls.config_class.preset(preset, **config_overrides)
        else:
            config = config_from_dict(cls.config_class, config_overrides)
        return cls(config)
    except (TypeError, ValueError) as e:  # e.g. --set blocks='"four"'
        raise WavesrError(
            f"network {name!r}: settings do not fit it ({' '.join(str(e).split())[:160]})"
        ) from None


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all of them, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# --------------------------------------------------------------------------------- checkpoints


def plain_values(value: Any) -> Any:
    """Make ``value`` loadable with ``weights_only=True``: dataclasses -> dicts, paths -> str,
    numpy -> python numbers / tensors; tensors, dicts, lists and plain values pass through."""
    if isinstance(value, Tensor):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain_values(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: plain_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain_values(v) for v in value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def save_model(
    model: Upsampler, path: str | os.PathLike, extra: dict[str, Any] | None = None, force: bool = True
) -> Path:
    """Write ``model`` as a self-describing checkpoint, atomically.

    Parameters
    ----------
    model : a registered network.
    path : destination (conventionally ``.pt``).
    extra : more entries for the checkpoint dict (training state, data settings, ...). Values
        must be tensors, dicts, lists or plain values; dataclasses, paths and numpy values are
        converted. Keys may not shadow the reserved ones (``format``, ``model``, ``config``, ...).
    force : replace an existing file (default, as a training loop rewrites its checkpoint).
    """
    if not model.name or MODELS.get(model.name) is not type(model):
        raise ValueError(f"{type(model).__name__} is not a registered network")
    extra = dict(extra or {})
    clash = sorted(set(extra) & set(_RESERVED))
    if clash:
        raise ValueError(f"extra checkpoint entries may not be named {', '.join(clash)}")
    checkpoint = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "wavesr_version": __version__,
        "model": model.name,
        "config": plain_values(model.config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **plain_values(extra),
    }
    path = Path(path)
    with atomic_path(path, force=force) as tmp:
        try:
            torch.save(checkpoint, tmp)
        except RuntimeError as e:  # torch's writer reports a full disk as "unexpected pos ..."
            free = shutil.disk_usage(tmp.parent).free
            reason = (
                f"the disk is full, {free} bytes free" if free < 1 << 20 else " ".join(str(e).split())[:120]
            )
            raise WavesrError(
                f"{path}: write failed ({reason}); the previous file, if any, is kept"
            ) from None
    return path


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint written by :func:`save_model`; return its dict (with ``extra``)."""
    path = Path(path)
    if not path.is_file():
        raise WavesrError(f"{path}: no such file")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except (
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
        UnicodeDecodeError,
        AttributeError,
        TypeError,
        KeyError,
        IndexError,
    ) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise WavesrError(
            f"{path}: not a readable checkpoint, damaged or not a torch file ({reason[:120]})"
        ) from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise WavesrError(f"{path}: not a wavesr model checkpoint (no 'format': '{FORMAT}' entry)")
    version = checkpoint.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise WavesrError(f"{path}: damaged checkpoint (format_version {version!r})")
    if version > FORMAT_VERSION:
        raise WavesrError(
            f"{path}: written by a newer wavesr ({checkpoint.get('wavesr_version', '?')}, format "
            f"{version}); this wavesr {__version__} reads format {FORMAT_VERSION}: upgrade wavesr"
        )
    for key, kind in (("model", str), ("config", dict), ("state_dict", dict)):
        if not isinstance(checkpoint.get(key), kind):
            raise WavesrError(f"{path}: damaged checkpoint ('{key}' is missing or not a {kind.__name__})")
    return checkpoint


def model_from_checkpoint(checkpoint: dict[str, Any], source: str = "checkpoint") -> Upsampler:
    """Rebuild the network a checkpoint dict describes and load its weights strictly.

    The network is first built on the ``meta`` device (no memory) and its shapes compared with
    the stored weights, so that a config asking for huge widths fails in one line before anything
    is allocated; only a config that fits the weights is built for real.
    """
    name, weights = checkpoint["model"], checkpoint["state_dict"]
    try:
        cls = model_class(name)
        config = config_from_dict(cls.config_class, current_config(checkpoint))
        with torch.device("meta"):
            shapes = {k: tuple(v.shape) for k, v in cls(config).state_dict().items()}
    except WavesrError as e:
        raise WavesrError(f"{source}: {e}") from None
    except (TypeError, ValueError, RuntimeError) as e:
        raise WavesrError(
            f"{source}: config does not fit network {name!r} ({' '.join(str(e).split())[:160]})"
        ) from None
    stored = {k: tuple(v.shape) if isinstance(v, Tensor) else None for k, v in weights.items()}
    if stored != shapes:
        missing, extra = sorted(set(shapes) - set(stored)), sorted(set(stored) - set(shapes))
        wrong = [k for k in shapes if k in stored and stored[k] != shapes[k]]
        detail = "; ".join(
            f"{what}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
            for what, keys in (("missing", missing), ("unexpected", extra), ("other shapes", wrong))
            if keys
        )
        raise WavesrError(f"{source}: weights do not match network {name!r} and its config ({detail})")
    model = cls(config)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        detail = " ".join(str(e).split())
        raise WavesrError(
            f"{source}: weights do not match network {name!r} and its config ({detail[:200]})"
        ) from None
    return model


def channel_mix(channel: str, mix: str | None = None) -> str:
    """The channel a network was trained through, as :class:`UpsamplerConfig` names it: ``"decimate"``,
    or ``"decimate+sinc"`` when a share of the inputs came through another (``--mix-channel``)."""
    return channel if not mix or mix == channel else f"{channel}+{mix}"


def training_channel(checkpoint: dict[str, Any]) -> str | None:
    """The channel a checkpoint's network was trained through (:func:`channel_mix`), ``None`` if it
    was not trained.

    Format 2 keeps it in the config (``channel``), format 1 beside it (``degrade``); for checkpoints
    from before either, the training data's ``settings.json`` tells when it is still where the run
    found it, else the default of ``wavesr prepare``, ``decimate``; a run's mix is added to either.
    """
    config = checkpoint.get("config")
    if isinstance(config, dict) and "channel" in config:
        return config["channel"]
    training = checkpoint.get("training")  # older checkpoints kept the run's config under training.config
    cfg = checkpoint.get("train_config") or (training.get("config") if isinstance(training, dict) else None)
    cfg = cfg if isinstance(cfg, dict) else None
    if isinstance(checkpoint.get("degrade"), str):
        channel = checkpoint["degrade"]
    elif cfg is None:
        return None
    else:
        try:
            settings = json.loads((Path(str(cfg.get("data", ""))) / "settings.json").read_text())
            channel = str(settings.get("channel", settings.get("method", "decimate")))
        except (OSError, ValueError, AttributeError):
            channel = "decimate"
    mix = (cfg.get("mix_channel") or cfg.get("mix_degrade")) if cfg else None
    return channel if mix in channel.split("+") else channel_mix(channel, mix)


def current_config(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's config with its run settings in it, whatever its format (1 kept two beside it)."""
    config = dict(checkpoint["config"])
    if "channel" not in config:
        config["channel"] = training_channel(checkpoint)
        strength = checkpoint.get("strength", 1.0)
        ok = isinstance(strength, (int, float)) and not isinstance(strength, bool) and 0 <= strength <= 1
        config["strength"] = float(strength) if ok else 1.0
    return config


def load_model_file(
    path: str | os.PathLike, map_location: str | torch.device = "cpu", **running: Any
) -> Upsampler:
    """Load a network saved by :func:`save_model`, in eval mode, on ``map_location``.

    ``running``: run settings (:data:`RUNNING`) that replace the checkpoint's, e.g. a registry
    entry's ``passes``."""
    unknown = sorted(set(running) - set(RUNNING))
    if unknown:
        raise TypeError(
            f"load_model_file() takes run settings {', '.join(RUNNING)}, not {', '.join(unknown)}"
        )
    checkpoint = read_checkpoint(path, map_location)
    checkpoint = {**checkpoint, "config": {**current_config(checkpoint), **running}}
    return model_from_checkpoint(checkpoint, source=str(path)).to(map_location).eval()
