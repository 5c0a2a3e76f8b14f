"""Pretrained models shipped with wavesr: named, checksummed checkpoints with model cards.

Layout
------
This package folder is the registry (package data; ``WAVESR_PRETRAINED=/some/folder`` or the
``registry=`` argument points it elsewhere)::

    pretrained/registry.json          the index below
    pretrained/speech-x4-1a2b3c4d.pt  a checkpoint (models.base.save_model), hash prefix in the name
    pretrained/speech-x4.md           its model card: data, recipe, held-out scores, limits

``registry.json``::

    {"format": "wavesr-pretrained", "format_version": 1,
     "models": {"speech-x4": {"file": "speech-x4-1a2b3c4d.pt", "sha256": "1a2b3c4d...",
                              "ratio": 4, "sr": 16000, "content": "speech", "network": "audiounet",
                              "params": 3812345,
                              "scores": {"snr": 17.2, "lsd": 3.1, "cubic_snr": 16.4, "cubic_lsd": 7.6,
                                         "test_set": "...", "lsd_convention": "kuleshov"},
                              "card": "speech-x4.md", "recipe": "wavesr train ..."}}}

A registry file is checked against its sha256 before it is loaded (once per process and file
version), so a damaged or replaced file is one clear error instead of a strange model.
:func:`add_model` is how weights get in: it copies a checkpoint under its hash, writes a card
if none is given, and updates the index atomically.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import checks
from ..constants import CONTENTS, PASSES, PASSES_TEXT, valid_passes  # noqa: F401 (public names)
from ..errors import WavesrError
from ..files import atomic_path, inside, read_json, write_json

if TYPE_CHECKING:  # torch is imported only when a model is loaded
    from ..models.base import Upsampler

REGISTRY_ENV = "WAVESR_PRETRAINED"
FORMAT = "wavesr-pretrained"
FORMAT_VERSION = 2  # 2: an entry's training channel is "channel" (1: "degrade")
RUN_CHECKPOINTS = ("best.pt", "model.pt", "last.pt")  # what a training run folder offers, best first
_verified: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256 already checked


@dataclass(frozen=True)
class ModelInfo:
    """One registry entry; ``folder`` is the registry it came from."""

    name: str
    file: str
    sha256: str
    ratio: int
    sr: int
    content: str
    network: str
    params: int
    folder: Path
    scores: dict[str, Any] = field(default_factory=dict)
    card: str | None = None
    recipe: str | None = None
    passes: int = 1  # self-ensemble passes upsampling uses by default (wavesr.inference.ensemble_offsets)
    # the channel its training inputs came through (models.base.UpsamplerConfig): upsampling puts real audio
    # through it first (wavesr.inference, "Input conditioning"); entries older than the field were decimate's
    channel: str | None = "decimate"
    # a full-band model's generated band is scaled by this (wavesr.audio.put_back), chosen on validation
    strength: float = 1.0
    # a full-band model lifts the top of the input's band where its filter attenuated it
    # (wavesr.audio.put_back), chosen on validation
    equalize: bool = False
    # a causal network, which streams frame by frame (wavesr.live): what `wavesr stream` takes first
    live: bool = False

    @property
    def path(self) -> Path:
        return self.folder / self.file

    @property
    def sr_lowres(self) -> float:
        return self.sr / self.ratio

    def scores_text(self) -> str:
        """Held-out scores against cubic, e.g. ``SNR 17.2 dB (cubic 16.4), LSD 3.1 (cubic 7.6)``, then those
        on real low-rate input when the registry has them."""
        s, text = self.scores, []
        for sr in ("48000", "44100"):  # a full-band model: the protocol's means over input rates
            if f"fullband_{sr}_lsd" in s:
                text.append(
                    f"to {int(sr) / 1000:g} kHz: LSD {s[f'fullband_{sr}_lsd']:.2f} (sinc "
                    f"{s[f'fullband_{sr}_sinc_lsd']:.2f}), SNR {s[f'fullband_{sr}_snr']:.2f} dB (sinc "
                    f"{s[f'fullband_{sr}_sinc_snr']:.2f})"
                )
        for prefix, heading in (("", ""), ("real_", "real low-rate input: ")):
            parts = []
            for key, label, unit in (("snr", "SNR", " dB"), ("lsd", "LSD", "")):
                if f"{prefix}{key}" in s:
                    cubic = f" (cubic {s[f'{prefix}cubic_{key}']:.2f})" if f"{prefix}cubic_{key}" in s else ""
                    parts.append(f"{label} {s[f'{prefix}{key}']:.2f}{unit}{cubic}")
            if parts:
                text.append(heading + ", ".join(parts))
        return "; ".join(text) or "no scores"


def registry_dir(registry: str | os.PathLike | None = None) -> Path:
    """The registry folder: ``registry``, else ``$WAVESR_PRETRAINED``, else this package folder."""
    if registry is not None:
        return Path(registry)
    return Path(os.environ.get(REGISTRY_ENV) or Path(__file__).parent)


def _read_index(folder: Path) -> dict[str, Any]:
    index = folder / "registry.json"
    if not index.exists():
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "models": {}}
    data = read_json(index)
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("models"), dict):
        raise WavesrError(f"{index}: not a wavesr model registry (needs 'format': '{FORMAT}' and 'models')")
    if data.get("format_version", 0) > FORMAT_VERSION:
        raise WavesrError(
            f"{index}: written by a newer wavesr (format {data['format_version']}); upgrade wavesr"
        )
    return data


def available_models(registry: str | os.PathLike | None = None) -> list[ModelInfo]:
    """The registry's models, sorted by name (an empty list when none are shipped)."""
    folder = registry_dir(registry)
    out = []
    for name, entry in sorted(_read_index(folder)["models"].items()):
        out.append(_entry(folder, name, entry))
    return out


def _entry(folder: Path, name: str, entry: Any) -> ModelInfo:
    """A registry entry as a ModelInfo, every field checked (a hand-edited registry is one line)."""
    where = f"{folder / 'registry.json'}: entry {name!r}"
    if not isinstance(entry, dict):
        raise WavesrError(f"{where} is not a mapping")
    if "degrade" in entry and "channel" not in entry:  # a format 1 registry
        entry = {**{k: v for k, v in entry.items() if k != "degrade"}, "channel": entry["degrade"]}
    info = checks.from_dict(ModelInfo, {**entry, "name": name, "folder": folder}, where, partial=True)
    for key, low in (("ratio", 1), ("sr", 1), ("params", 0)):
        checks.number(getattr(info, key), f"{where}: {key}", low, integer=True)
    if not valid_passes(info.passes):
        raise WavesrError(f"{where} has passes {info.passes!r} (one of {PASSES_TEXT})")
    checks.number(info.strength, f"{where}: strength", 0, 1)
    if info.content not in CONTENTS:
        raise WavesrError(f"{where} has content {info.content!r} (one of {', '.join(CONTENTS)})")
    inside(folder, info.file, "model file")
    if info.card is not None:
        inside(folder, info.card, "model card")
    return info


def get_model_info(name: str, registry: str | os.PathLike | None = None) -> ModelInfo:
    for info in available_models(registry):
        if info.name == name:
            return info
    known = ", ".join(i.name for i in available_models(registry)) or "none shipped yet"
    raise WavesrError(f"{name!r}: no such pretrained model (known: {known})")


def pick_model(
    ratio: int, content: str = "speech", sr: int | None = None, registry: str | os.PathLike | None = None
) -> ModelInfo:
    """The registry model for ``ratio`` and ``content`` (and ``sr`` when given); the first by name
    when several fit. Raises a WavesrError naming what is shipped when none fits."""
    if content not in CONTENTS:
        raise WavesrError(f"content must be one of {', '.join(CONTENTS)}, got {content!r}")
    models = available_models(registry)
    fits = [m for m in models if m.ratio == ratio and m.content == content and (sr is None or m.sr == sr)]
    if fits:
        return fits[0]
    shipped = ", ".join(f"{m.name} (x{m.ratio} {m.content}, {m.sr} Hz)" for m in models) or "none yet"
    want = f"x{ratio} {content}" + (f" at {sr} Hz" if sr else "")
    raise WavesrError(
        f"no pretrained model for {want} (shipped: {shipped}); "
        f"pass --model PATH with a checkpoint or a training run folder"
    )


def default_model(
    content: str,
    sr_in: float,
    ratio: int | None = None,
    measured: bool = False,
    registry: str | os.PathLike | None = None,
    live: bool = False,
) -> str:
    """The shipped model ``wavesr upsample`` and ``wavesr stream`` use when none is named.

    ``ratio``'s paper model for ``content``; else the full-band model for ``content`` (``live``, a
    stream's choice: one that streams frame by frame first; files take the others first); else,
    with none shipped for it, the paper model for an input at ``sr_in`` (8 kHz -> x2, 4 kHz -> x4, ...).
    A ``measured`` content (:func:`wavesr.extend.content_of`, not the user's word) that has no
    model of its own takes speech's: the full-band speech model where one is shipped.
    """
    if ratio:
        return pick_model(ratio, content, registry=registry).name
    shipped = available_models(registry)
    ranked = sorted((m for m in shipped if m.ratio == 1), key=lambda m: (m.live != live, m.name))
    full_band = {m.content: m.name for m in reversed(ranked)}
    if content in full_band:
        return full_band[content]
    if measured and full_band:
        return full_band.get("speech") or next(iter(full_band.values()))
    if measured and content not in {m.content for m in shipped if m.ratio > 1}:
        content = "speech"
    return pick_model(ratio_for_rate(sr_in, content, registry), content, registry=registry).name


def ratio_for_rate(sr_in: float, content: str = "speech", registry: str | os.PathLike | None = None) -> int:
    """The shipped ratio for an input at ``sr_in``: the smallest whose low rate is not above it.

    8 kHz (or more) -> x2, 4 kHz -> x4, 2.7 kHz -> x6, 2 kHz -> x8 for 16 kHz models; inputs
    below every low rate get the largest ratio. The input is then resampled to that low rate.
    """
    fits = sorted({m.ratio for m in available_models(registry) if m.content == content and m.ratio > 1})
    if not fits:
        raise WavesrError(f"no pretrained {content} model is shipped; pass --model PATH")
    for r in fits:
        if 16000 / r <= sr_in * (1 + 1e-6):
            return r
    return fits[-1]


def verify(info: ModelInfo) -> Path:
    """Check the model file against the registry's sha256; return its path."""
    from ..files import sha256_file

    path = info.path
    if not path.is_file():
        raise WavesrError(f"pretrained model {info.name}: file {path} is missing (reinstall wavesr)")
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if _verified.get(key) != info.sha256:
        digest = sha256_file(path)
        if digest != info.sha256:
            raise WavesrError(
                f"pretrained model {info.name}: {path} is damaged (sha256 {digest[:12]}..., "
                f"registry says {info.sha256[:12]}...); reinstall wavesr or re-add the model"
            )
        _verified[key] = digest
    return path


def checkpoint_path(path: str | os.PathLike) -> Path:
    """A ``.pt`` file as it is; a training run folder -> its best.pt (else model.pt, else last.pt)."""
    path = Path(path)
    if path.is_dir():
        for name in RUN_CHECKPOINTS:
            if (path / name).is_file():
                return path / name
        raise WavesrError(f"{path}: folder has no checkpoint ({', '.join(RUN_CHECKPOINTS)})")
    if not path.is_file():
        raise WavesrError(f"{path}: no such file")
    return path


def load_model(
    name_or_path: str | os.PathLike, device: str = "cpu", registry: str | os.PathLike | None = None
) -> Upsampler:
    """A ready network (eval mode, on ``device``) from a registry name, a checkpoint or a run folder.

    Registry names are checked first; a registry file is verified against its sha256.
    """
    from ..devices import resolve_device
    from ..models.base import load_model_file

    names = {m.name: m for m in available_models(registry)}
    if str(name_or_path) in names:
        info = names[str(name_or_path)]
        path = verify(info)
    elif Path(name_or_path).exists():
        info, path = None, checkpoint_path(name_or_path)
    else:
        known = ", ".join(names) or "none shipped yet"
        raise WavesrError(
            f"{name_or_path}: neither a pretrained model name (known: {known}) "
            f"nor a checkpoint file or run folder"
        )
    # a shipped model runs as its registry entry says (the entry's strength 1 leaves the file's own)
    running: dict[str, Any] = {} if info is None else {"passes": info.passes, "channel": info.channel}
    if info is not None and info.strength != 1.0:
        running["strength"] = info.strength
    if info is not None and info.equalize:
        running["equalize"] = True
    model = load_model_file(path, map_location="cpu", **running)
    if info is not None and (model.ratio, model.sr, model.name) != (info.ratio, info.sr, info.network):
        raise WavesrError(
            f"pretrained model {info.name}: registry says x{info.ratio} {info.network} at "
            f"{info.sr} Hz, the file holds x{model.ratio} {model.name} at {model.sr} Hz"
        )
    dev = resolve_device(device, model)
    model = model.to(dev).eval()
    if dev.type == "cpu":  # the fastest runner that reproduces it (wavesr.runtime)
        from ..runtime import accelerate

        accelerate(model)
    return model


def add_model(
    checkpoint: str | os.PathLike,
    name: str,
    content: str,
    scores: dict[str, Any] | None = None,
    card: str | None = None,
    recipe: str | None = None,
    registry: str | os.PathLike | None = None,
    force: bool = False,
    passes: int = 1,
    channel: str | None = None,
    strength: float = 1.0,
    equalize: bool = False,
) -> ModelInfo:
    """Add a checkpoint (or a run folder's best) to a registry under ``name``.

    Copies it as ``<name>-<sha256[:8]>.pt``, writes ``<name>.md`` (``card`` if given: markdown
    text, else a card generated from the entry) and updates ``registry.json`` atomically.
    Refuses to replace an existing name unless ``force``. ``passes``: the self-ensemble size the
    model upsamples with by default (1, 2, 4 or 8). ``channel``: the channel it was
    trained on (default: what the checkpoint says, :func:`wavesr.models.base.training_channel`).
    ``strength``, ``equalize``: how a full-band model puts the input's band back
    (:func:`wavesr.audio.put_back`), as its validation chose.
    """
    from ..files import sha256_file
    from ..models.base import count_parameters, load_model_file

    if content not in CONTENTS:
        raise WavesrError(f"content must be one of {', '.join(CONTENTS)}, got {content!r}")
    if not name or any(c in name for c in "/\\ ") or name.startswith("."):
        raise WavesrError(f"{name!r}: a model name is one word without slashes (e.g. speech-x4)")
    if not valid_passes(passes):
        raise WavesrError(f"passes must be one of {PASSES_TEXT}, got {passes!r}")
    checks.number(strength, "strength", 0, 1)
    folder = registry_dir(registry)
    index = _read_index(folder)
    available_models(folder)  # every entry checked before any is replaced or its file deleted
    if name in index["models"] and not force:
        raise WavesrError(f"{name}: already in {folder / 'registry.json'} (use force to replace)")
    src = checkpoint_path(checkpoint)
    model = load_model_file(src)  # checks it is a loadable wavesr model
    digest = sha256_file(src)
    file = f"{name}-{digest[:8]}.pt"
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / file).exists():
        with atomic_path(folder / file) as tmp:
            shutil.copyfile(src, tmp)
    entry: dict[str, Any] = {
        "file": file,
        "sha256": digest,
        "ratio": model.ratio,
        "sr": model.sr,
        "content": content,
        "network": model.name,
        "params": count_parameters(model),
        "scores": dict(scores or {}),
        "card": f"{name}.md",
        "recipe": recipe,
        "channel": channel or model.channel,
        **({"passes": passes} if passes != 1 else {}),
        **({"strength": strength} if strength != 1.0 else {}),
        **({"equalize": True} if equalize else {}),
        **({"live": True} if getattr(model.config, "causal", False) else {}),
    }
    old = index["models"].get(name)
    old_file = old["file"] if old is not None else None  # checked above: a name inside the registry
    index["models"][name] = entry
    info = ModelInfo(name=name, folder=folder, **entry)
    with atomic_path(folder / f"{name}.md", ours=True) as tmp:
        tmp.write_text(card if card is not None else _default_card(info))
    index["format_version"] = FORMAT_VERSION  # every entry in this format (format 1's "degrade" renamed)
    for key, value in index["models"].items():
        if isinstance(value, dict) and "degrade" in value:
            index["models"][key] = {("channel" if k == "degrade" else k): v for k, v in value.items()}
    write_json(folder / "registry.json", index)
    if old_file and old_file != file and not any(m["file"] == old_file for m in index["models"].values()):
        (folder / old_file).unlink(missing_ok=True)
    return info


def _default_card(info: ModelInfo) -> str:
    lines = [
        f"# {info.name}",
        "",
        f"- network: {info.network} ({info.params:,} parameters)",
        f"- upsampling: x{info.ratio}, {info.sr_lowres:g} Hz -> {info.sr} Hz",
        f"- content: {info.content}",
        f"- held-out scores: {info.scores_text()}",
        f"- file: {info.file} (sha256 {info.sha256})",
    ]
    if info.passes > 1:
        lines.insert(5, f"- upsamples with a self-ensemble of {info.passes} passes")
    if info.recipe:
        lines += ["", "## Recipe", "", "```", info.recipe, "```"]
    return "\n".join(lines) + "\n"
