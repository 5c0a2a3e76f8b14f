"""Full-band evaluation in the later literature's protocol (NU-Wave 2, AP-BWE, AudioSR).

Each held-out file is loaded mono at the full rate ``sr`` (48 kHz, or 44.1 kHz for that family);
files whose real content does not reach ``min_band`` of the Nyquist frequency
(:func:`wavesr.audio.cutoff`) are left out and listed, since they cannot score a full band. For
every input rate (8, 12, 16, 24 kHz to 48 kHz; 11.025 and 22.05 kHz to 44.1 kHz) and every
channel (:mod:`wavesr.channels`; the first is the protocol's: soxr resampling), the input is
the file through the channel at a cutoff of the input's Nyquist frequency, resampled to the
input rate; each method brings it back to ``sr``:

``sinc``    soxr's very-high-quality band-limited interpolation (the baseline of the literature);
``cubic``   the cubic spline through the input's samples (the paper's baseline);
a full-band network (a shipped name, a checkpoint or a run folder, ``LABEL=`` optional), run as
``wavesr upsample`` runs it: the input's band measured and kept, the rest generated.

Scores per file (rows.csv): SNR, the clamped standard LSD (``metrics.lsd(..., "clamped")``:
STFT 2048/512 Hann, log10 power clamped at 1e-8, RMS over frequency, mean over frames), and
LSD-HF / LSD-LF split at the input's Nyquist frequency. summary.md has one table per channel
(rows: input rates) and a robustness table (mean LSD per channel and method).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from . import __version__, audio, checks, metrics
from .channels import parse
from .data.corpus import Item, evenly_spaced
from .errors import WavesrError
from .files import atomic_path, write_json
from .report.tables import write_csv

METHODS = ("sinc", "cubic")
RATES = {48000: (8000, 12000, 16000, 24000), 44100: (11025, 22050)}
CHANNEL = "resample:soxr-vhq"  # the protocol's: the input is the file resampled to the input rate


@dataclass
class FullbandConfig:
    """How the full-band evaluation runs (stored in settings.json)."""

    sr: int = 48000
    input_rates: tuple[int, ...] = ()  # () : RATES[sr]
    channels: tuple[str, ...] = (
        CHANNEL,
    )  # family[:kind[:settings]] without a cutoff; the first is the protocol's
    max_files: int | None = None
    max_seconds: float | None = None
    min_band: float = 0.85  # keep files whose content reaches this share of sr / 2
    save_audio: int = 0  # WAVs and spectrograms of the first N scored files (the protocol's channel)
    pesq: bool | None = None  # wideband PESQ (at 16 kHz); None: when the pesq package is importable
    stoi: bool | None = None  # STOI; None: when the pystoi package is importable
    title: str | None = None  # the samples page's name for this evaluation
    notes: list[str] = field(default_factory=list)

    def check(self) -> FullbandConfig:
        checks.number(self.sr, "sr", 8000, 384000, integer=True)
        rates = self.input_rates or RATES.get(self.sr, ())
        if not rates:
            raise WavesrError(f"no default input rates for {self.sr} Hz: give --input-rates")
        for rate in rates:
            checks.number(rate, "input rate", 1000, self.sr / 2, integer=True)
            if self.sr % rate:
                raise WavesrError(
                    f"input rate {rate} Hz does not divide {self.sr} Hz (cubic needs a whole ratio)"
                )
        self.input_rates = tuple(int(r) for r in rates)
        for name in self.channels:
            parse(f"{name}@1000")  # a one-line error for a channel that does not exist
        checks.number(self.max_files, "max_files", 1, integer=True, optional=True)
        checks.number(self.max_seconds, "max_seconds", 0, low_open=True, optional=True)
        checks.number(self.min_band, "min_band", 0, 1)
        checks.number(self.save_audio, "save_audio", 0, integer=True)
        return self


def make_input(hr: np.ndarray, sr: int, rate: int, channel: str) -> np.ndarray:
    """``hr`` at ``sr`` through ``channel`` with its cutoff at ``rate / 2``, resampled to ``rate``."""
    ch = parse(f"{channel}@{rate / 2:.0f}")
    through = hr if ch.family == "resample" and ch.kind == "soxr-vhq" else ch.apply(hr, sr)
    return soxr.resample(through.astype(np.float64), sr, rate, quality="VHQ")


def run_method(method: Any, lowres: np.ndarray, rate: int, sr: int, n: int) -> np.ndarray:
    """``lowres`` at ``rate`` back to ``sr`` (``n`` samples) by ``method`` (a name of :data:`METHODS`
    or a network's :class:`wavesr.evaluate.Method`, run as ``wavesr upsample`` runs it: a full-band
    network measures the input's band, keeps it and generates the rest)."""
    if method == "sinc":
        return audio.fit_length(soxr.resample(lowres, rate, sr, quality="VHQ"), n)
    if method == "cubic":
        return audio.interpolate(lowres, sr // rate, "cubic", length=n)
    if getattr(method, "model", None) is not None:
        from .inference import upsample_array

        y, _, _ = upsample_array(method.model, lowres, rate, target_sr=sr, limiter=False)  # the raw output
        return audio.fit_length(y[0], n)
    raise WavesrError(
        f"{method!r}: the full-band protocol scores {', '.join(METHODS)} (full-band networks as they ship)"
    )


def scores(hr: np.ndarray, estimate: np.ndarray, sr: int, rate: int) -> dict[str, float]:
    """SNR and the clamped standard LSD, whole band and split at the input's Nyquist frequency."""
    nyquist = rate / 2
    return {
        "snr": float(metrics.snr(hr, estimate)),
        "lsd": metrics.lsd(hr, estimate, "clamped"),
        "lsd_hf": metrics.lsd(hr, estimate, "clamped", sr=sr, band=(nyquist, sr / 2)),
        "lsd_lf": metrics.lsd(hr, estimate, "clamped", sr=sr, band=(0.0, nyquist)),
    }


def evaluate_fullband(
    methods: Iterable[str],
    items: Iterable[Item | str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    cfg: FullbandConfig | None = None,
    corpus_info: dict[str, Any] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Score ``methods`` on ``items`` (corpus items, files or folders); writes rows.csv, summary.json,
    summary.md and settings.json into ``out_dir`` and returns the summary."""
    from .evaluate import eval_files, optional_metrics, perceptual

    cfg = (cfg or FullbandConfig()).check()
    perceptual_on = optional_metrics(cfg)  # type: ignore[arg-type]  # reads its pesq / stoi settings
    runners: dict[str, Any] = {}  # column label -> "sinc", "cubic" or a network's Method
    for spec in methods:
        if spec in METHODS:
            runners[spec] = spec
        else:
            network = _network(spec, cfg)
            runners[network.label] = network
    methods = list(runners)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        if not force or not (out / "settings.json").is_file():
            raise WavesrError(
                f"{out}: already holds files (use --force to replace a full-band evaluation, "
                "or another folder)"
            )
        shutil.rmtree(out / "audio", ignore_errors=True)  # the earlier evaluation's saved audio (ours)
    files = evenly_spaced(eval_files(items, (corpus_info or {}).get("root")), cfg.max_files)
    if not files:
        raise WavesrError("no files to evaluate")
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    dropped = []
    if cfg.save_audio:
        out.mkdir(parents=True, exist_ok=True)
    for f in files:
        hr, _ = audio.load(f.path, sr=cfg.sr, mono=True)
        if cfg.max_seconds:
            hr = hr[: int(cfg.max_seconds * cfg.sr)]
        band = audio.cutoff(hr, cfg.sr)
        if band < cfg.min_band * cfg.sr / 2:
            dropped.append(f"{f.key} ({band / 1000:.1f} kHz)")
            continue
        keep = len({r["file"] for r in rows}) < cfg.save_audio
        for channel in cfg.channels:
            for rate in cfg.input_rates:
                lowres = make_input(hr, cfg.sr, rate, channel)
                outputs = {}
                for method in methods:
                    estimate = run_method(runners[method], lowres, rate, cfg.sr, hr.size)
                    outputs[method] = estimate
                    rows.append(
                        {
                            "file": f.key,
                            "group": f.group,
                            "channel": channel,
                            "input_rate": rate,
                            "method": method,
                            "cutoff_hz": band,
                            **scores(hr, estimate, cfg.sr, rate),
                            **perceptual(hr, estimate, cfg.sr, perceptual_on),
                        }
                    )
                if keep and channel == cfg.channels[0]:
                    samples.append(_save_sample(out, f, hr, lowres, outputs, cfg.sr, rate, rows))
    notes = list(cfg.notes)
    if dropped:
        notes.append(
            f"{len(dropped)} of {len(files)} files left out: their content ends below "
            f"{cfg.min_band:.0%} of {cfg.sr / 2000:g} kHz: "
            + ", ".join(dropped[:10])
            + (" ..." if len(dropped) > 10 else "")
        )
    if not rows:
        raise WavesrError(
            f"no file reaches {cfg.min_band:.0%} of {cfg.sr / 2000:g} kHz: nothing to score "
            f"({', '.join(dropped[:5])})"
        )
    table = _table(rows, methods, cfg)
    summary = {
        "format": "wavesr-fullband-evaluation",
        "wavesr_version": __version__,
        "table": table,
        "settings": {
            "config": cfg,
            "methods": methods,
            "files": len(files),
            "scored": len({r["file"] for r in rows}),
            "corpus": corpus_info or {},
            "notes": notes,
            "seconds": round(time.monotonic() - started, 1),
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "rows.csv", rows)
    write_json(out / "samples.json", samples)
    write_json(out / "settings.json", summary["settings"])
    write_json(out / "summary.json", summary)
    with atomic_path(out / "summary.md", ours=True) as tmp:
        tmp.write_text(summary_markdown(summary))
    return summary


def _save_sample(
    out: Path,
    item: Any,
    hr: np.ndarray,
    lowres: np.ndarray,
    outputs: dict[str, np.ndarray],
    sr: int,
    rate: int,
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """One file's reference, input and outputs as WAVs with their spectrograms (``wavesr samples``)."""
    from .evaluate import slug
    from .report.plots import Panel, save_spectrograms

    number = len({r["file"] for r in rows})
    folder = Path("audio") / f"{rate}" / f"{number:03d}-{slug(Path(item.key).stem)}"
    (out / folder).mkdir(parents=True, exist_ok=True)
    audio.save(out / folder / "hr.wav", hr, sr, subtype="PCM_24")
    audio.save(out / folder / "lr.wav", lowres, rate, subtype="PCM_24")
    methods = {}
    for label, y in outputs.items():
        name = f"{slug(label)}.wav"
        audio.save(out / folder / name, np.clip(y, -1, 1), sr, subtype="PCM_24")
        row = next(r for r in reversed(rows) if r["method"] == label and r["input_rate"] == rate)
        kind = "interpolation" if label in METHODS else "network"
        methods[label] = {
            "audio": name,
            "kind": kind,
            "spec": label,
            "scores": {k: row[k] for k in ("snr", "lsd", "lsd_hf")},
        }
    panels = [Panel("reference", hr, sr), Panel(f"input ({rate / 1000:g} kHz)", lowres, rate)]
    panels += [Panel(label, y, sr) for label, y in outputs.items()]
    save_spectrograms(panels, out / folder / "spectrogram.png", max_hz=sr / 2, force=True)
    return {
        "file": item.key,
        "folder": folder.as_posix(),
        "ratio": round(sr / rate),
        "sr": sr,
        "lr_sr": rate,
        "lr_sr_exact": rate,
        "audio": {"high resolution": "hr.wav", "low resolution": "lr.wav"},
        "figure": "spectrogram.png",
        "methods": methods,
    }


def _network(spec: str, cfg: FullbandConfig) -> Any:
    """A network to score (``[LABEL=]NAME|PATH``, as ``wavesr evaluate`` takes them): a full-band one,
    or one of the paper's when every input rate is its low rate and ``cfg.sr`` its output rate (to
    score both on the paper's tasks, 4 or 8 kHz to 16 kHz, on the same inputs)."""
    from .evaluate import resolve_method

    method = resolve_method(spec, "cpu")
    paper_task = method.sr == cfg.sr and all(abs(r - method.model.sr_lowres) < 1e-6 for r in cfg.input_rates)
    if not getattr(method.model, "full_band", False) and not paper_task:
        raise WavesrError(
            f"{spec!r}: a x{method.ratio} network of the paper's protocol; the full-band protocol scores "
            f"{', '.join(METHODS)}, full-band networks (wavesr.models.band) and a paper network only on "
            f"its own task ({method.model.sr_lowres:g} Hz to {method.sr} Hz: --sr {method.sr} --input-rates "
            f"{method.model.sr_lowres:g})"
        )
    return method


def _table(rows: list[dict[str, Any]], methods: list[str], cfg: FullbandConfig) -> list[dict[str, Any]]:
    out = []
    for channel in cfg.channels:
        for rate in cfg.input_rates:
            for method in methods:
                mine = [
                    r
                    for r in rows
                    if r["channel"] == channel and r["input_rate"] == rate and r["method"] == method
                ]
                keys = [
                    k for k in ("lsd", "lsd_hf", "lsd_lf", "snr", "pesq", "stoi") if not mine or k in mine[0]
                ]
                means: dict[str, Any] = {k: _mean([r[k] for r in mine]) for k in keys}
                out.append(
                    {"channel": channel, "input_rate": rate, "method": method, "files": len(mine), **means}
                )
    return out


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def summary_markdown(summary: dict[str, Any]) -> str:
    """The tables: one per channel (input rates down, methods across), then the robustness table."""
    table, s = summary["table"], summary["settings"]
    cfg = s["config"]
    sr = cfg.sr if isinstance(cfg, FullbandConfig) else cfg["sr"]
    channels = list(dict.fromkeys(r["channel"] for r in table))
    methods = list(dict.fromkeys(r["method"] for r in table))
    lines = [f"# Full-band evaluation to {sr} Hz ({s['scored']} files)", ""]
    for channel in channels:
        lines += [
            f"## Input made by `{channel}`",
            "",
            "| input | " + " | ".join(f"{m} LSD | {m} LSD-HF | {m} LSD-LF | {m} SNR" for m in methods) + " |",
            "|---|" + "---|" * (4 * len(methods)),
        ]
        for rate in dict.fromkeys(r["input_rate"] for r in table):
            cells = []
            for m in methods:
                r = next(
                    x
                    for x in table
                    if x["channel"] == channel and x["input_rate"] == rate and x["method"] == m
                )
                cells += [f"{r['lsd']:.3f}", f"{r['lsd_hf']:.3f}", f"{r['lsd_lf']:.3f}", f"{r['snr']:.2f}"]
            lines.append(f"| {rate / 1000:g} kHz | " + " | ".join(cells) + " |")
        lines.append("")
    perceptual_keys = [k for k in ("pesq", "stoi") if table and k in table[0]]
    if perceptual_keys:
        names = {"pesq": "PESQ (wideband, 16 kHz)", "stoi": "STOI"}
        lines += [
            f"## {' and '.join(names[k] for k in perceptual_keys)}, input made by `{channels[0]}`",
            "",
            "| input | " + " | ".join(f"{m} {k.upper()}" for m in methods for k in perceptual_keys) + " |",
            "|---|" + "---|" * (len(methods) * len(perceptual_keys)),
        ]
        for rate in dict.fromkeys(r["input_rate"] for r in table):
            rows = {x["method"]: x for x in table if x["channel"] == channels[0] and x["input_rate"] == rate}
            cells = [f"{rows[m][k]:.3f}" for m in methods for k in perceptual_keys]
            lines.append(f"| {rate / 1000:g} kHz | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "## Robustness: mean LSD over input rates, per channel",
        "",
        "| channel | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for channel in channels:
        means = [
            _mean([r["lsd"] for r in table if r["channel"] == channel and r["method"] == m]) for m in methods
        ]
        lines.append(f"| `{channel}` | " + " | ".join(f"{v:.3f}" for v in means) + " |")
    lines += [
        "",
        "LSD: clamped standard LSD (STFT 2048/512 Hann, log10 power clamped at 1e-8, RMS over frequency, "
        "mean over frames); LSD-HF / LSD-LF above / below the input's Nyquist frequency; SNR in dB.",
        "",
    ]
    lines += [f"note: {n}" for n in s["notes"]]
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------- choosing on validation

# the generated band's scales a full-band model is validated at
STRENGTHS = (1.0, 0.7, 0.5, 0.35, 0.25, 0.2, 0.15)
LSD_TARGET = 0.5  # the full-band models' LSD target, x sinc's


# the share of the output rate's Nyquist frequency a reference's content must reach to be scored: at
# 48 kHz 18 kHz (most full-band recordings end at 20-22 kHz), at 44.1 kHz 18.7 kHz
MIN_BAND = {48000: 0.75, 44100: 0.85}
EQUALIZED = "+eq"  # a validation candidate's suffix: the input's transition band lifted (audio.put_back)


def candidate(key: str) -> tuple[str, float, bool]:
    """A :func:`validate` candidate's key (``NAME@S``, ``NAME@S+eq``) as ``(name, strength, equalize)``."""
    name, _, rest = key.rpartition("@")
    equalize = rest.endswith(EQUALIZED)
    return name, float(rest.removesuffix(EQUALIZED)), equalize


def validate(
    models: dict[str, Any],
    items: Iterable[Item],
    srs: tuple[int, ...] = (48000, 44100),
    strengths: tuple[float, ...] = STRENGTHS,
    max_files: int | None = 60,
    max_seconds: float | None = 30.0,
    min_band: float | None = None,
    equalize: tuple[bool, ...] = (False, True),
) -> dict[str, dict[str, Any]]:
    """Mean LSD, LSD-HF and SNR over files and the protocol's input rates (soxr, ``RATES[sr]`` for
    each output rate of ``srs``) of sinc and of each model at each strength, with the input's
    transition band lifted or not (``equalize``; keys ``sinc``, ``NAME@S`` and ``NAME@S+eq``,
    :func:`candidate`; ``n``, the scores averaged: files x input rates), on ``items`` (a validation split)
    whose content reaches ``min_band`` (None: :data:`MIN_BAND`) of ``sr / 2``; under ``rates``,
    the same per input rate (the input rates of the output rates are distinct: 8-24 kHz to
    48 kHz, 11.025 and 22.05 kHz to 44.1 kHz); under ``sources``, per rate the reference files
    were stored at (a split's 44.1 kHz recordings are empty above 22.05 kHz at 48 kHz, its 48 kHz
    ones are not)."""
    from .inference import upsample_array

    rows: dict[str, list[dict[str, float]]] = {"sinc": []}  # every row has its input and source rates
    for item in evenly_spaced(list(items), max_files):
        source = audio.info(item.path).samplerate
        for sr in srs:
            hr, _ = audio.load(item.path, sr=sr, mono=True)
            hr = hr[: int(max_seconds * sr)] if max_seconds else hr
            if audio.cutoff(hr, sr) < (MIN_BAND.get(sr, 0.75) if min_band is None else min_band) * sr / 2:
                continue
            for rate in RATES[sr]:
                tag = {"rate": rate, "source": source}
                lowres = make_input(hr, sr, rate, CHANNEL)
                sinc = run_method("sinc", lowres, rate, sr, hr.size)
                rows["sinc"].append({**tag, **scores(hr, sinc, sr, rate)})
                for name, model in models.items():
                    # a causal network puts the band back on its frames, where nothing is lifted
                    lifts = (False,) if getattr(model, "frames_put_back", False) else equalize
                    for s in strengths:
                        for eq in lifts:
                            y, _, _ = upsample_array(
                                model, lowres, rate, target_sr=sr, strength=s, equalize=eq, limiter=False
                            )
                            estimate = audio.fit_length(y[0], hr.size)
                            key = f"{name}@{s:g}{EQUALIZED if eq else ''}"
                            rows.setdefault(key, []).append({**tag, **scores(hr, estimate, sr, rate)})
    if not rows["sinc"]:
        raise WavesrError("no validation file reaches the band scored (MIN_BAND of each output rate)")

    def means(values: list[dict[str, float]]) -> dict[str, float]:
        return {**{m: _mean([r[m] for r in values]) for m in ("lsd", "lsd_hf", "snr")}, "n": len(values)}

    def by(key: str, values: list[dict[str, float]]) -> dict[int, dict[str, float]]:
        return {int(x): means([r for r in values if r[key] == x]) for x in sorted({r[key] for r in values})}

    return {k: {**means(v), "rates": by("rate", v), "sources": by("source", v)} for k, v in rows.items()}


def choose(means: dict[str, dict[str, Any]], lsd_target: float = LSD_TARGET) -> tuple[str, str]:
    """The choice among :func:`validate`'s candidates and why: the highest mean SNR among those whose
    LSD is at most ``lsd_target`` x sinc's at every input rate (the issue sets the target per rate);
    if none is, among those within it on the mean over rates; if none is, the lowest mean LSD.
    Means without per-rate figures go straight to the mean."""
    candidates = [k for k in means if k != "sinc"]
    rates = means["sinc"].get("rates") or {}
    every = [
        k
        for k in candidates
        if rates and all(means[k]["rates"][r]["lsd"] <= lsd_target * rates[r]["lsd"] for r in rates)
    ]
    mean = [k for k in candidates if means[k]["lsd"] <= lsd_target * means["sinc"]["lsd"]]
    for fitting, where in ((every, "at every input rate"), (mean, "on the mean over input rates")):
        if fitting:
            best = max(fitting, key=lambda k: means[k]["snr"])
            return best, f"the highest SNR with LSD at most {lsd_target:g} x sinc's {where}"
    return min(
        candidates, key=lambda k: means[k]["lsd"]
    ), f"no candidate has LSD at most {lsd_target:g} x sinc's"
