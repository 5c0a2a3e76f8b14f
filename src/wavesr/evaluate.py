"""Evaluation: every method on the same files, the same degradation and the same metrics.

Protocol (Kuleshov et al. 2017, section 4), for each file and each ratio ``r``::

    hr  = audio.load(file, sr, mono=True)           the reference, at the evaluation rate sr
    lr  = audio.degrade(hr, r, method)              ceil(n / r) samples at sr / r (decimate by default)
    est = METHOD(lr)[:len(hr)]                      cubic / bandlimited interpolation or a network
    row = metrics.evaluate_pair(hr, est, sr, r)     SNR, LSD (kuleshov), LSD (standard), LSD-HF, LSD-LF
          [+ PESQ (wideband) and STOI when the ``pesq`` / ``pystoi`` packages are importable]

A method is ``cubic`` or ``bandlimited`` (:func:`wavesr.audio.interpolate`, the paper's baseline
and a stronger one), or a network: a shipped model name, a checkpoint or a training run folder
(:func:`wavesr.pretrained.load_model`), optionally labelled ``LABEL=SPEC``. A network runs through
:func:`wavesr.inference.upsample_array` on ``lr`` at exactly its low rate (no resampling), in
chunks for long files, with the soft limiter off by default (the raw network output is scored).
A network whose ratio is not ``r``, or whose rate is not the evaluation rate, is skipped with a
note. Tables report the mean over files of per-file values ("per-file SNR averaged over files").

Output folder (``OUT``)::

    settings.json        EvalConfig, methods (checkpoint sha256), corpus, split, file-list hash,
                         degradation, metric conventions, versions of wavesr / torch / numpy / ...
    files.txt            the evaluated files, one key per line (their sha256 is in settings)
    rows/<method>-x<r>.jsonl   per-file rows, one JSON line appended per file (the resume point)
    rows/<method>-x<r>.json    the method that made those rows (its sha256)
    per_file.csv         every row, flat
    summary.md|csv|json  means over files per ratio and method, with the settings beside them
    figures/x<r>/NNN-<stem>.png                spectrograms of the first ``figures`` files
    audio/x<r>/NNN-<stem>/{hr,lr,<method>}.wav the first ``save_audio`` files (and ``interesting``)
    samples.json         what ``wavesr samples`` shows: the saved files, their audio and scores

Every file but the row logs is written atomically (temporary file, then rename). The row logs
are appended a line at a time and flushed; a torn last line (a killed run) is dropped on the
next start. Rerunning with the same settings skips every (method, ratio) whose rows are complete
and resumes the others at the first missing file; a method whose checkpoint changed (sha256), or
that runs otherwise (passes, conditioning, a new ``inference.PIPELINE``), is evaluated again.
Files are streamed one at a time, never the whole test set in memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import platform
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, audio, metrics
from .configs import EvalConfig
from .data.corpus import Item, evenly_spaced
from .errors import WavesrError
from .files import atomic_path, read_json, to_jsonable, write_json
from .report.tables import METRICS, aggregate, finite_or_none, mean_finite, summary_markdown, write_csv

FORMAT = "wavesr-evaluation"
INTERPOLATIONS = audio.INTERPOLATE_METHODS  # ("cubic", "bandlimited")
METRIC_CONVENTIONS = {
    "snr": "10 log10(||y||^2 / ||y - x||^2) over the whole file, per file; the table averages files",
    "lsd": "kuleshov: ln(|STFT|^2 + 1e-8), n_fft 2048, hop 512, Hann, RMS over time per bin, mean over "
    "bins, cap 10 (the original code; the scale of Table 1)",
    "lsd_standard": "log10(|STFT|^2 + 1e-10), RMS over frequency per frame, mean over frames (NU-Wave, AERO)",
    "lsd_hf": "standard LSD over the bins above sr / (2 r)",
    "lsd_lf": "standard LSD over the bins up to sr / (2 r)",
    "pesq": "ITU-T P.862.2 wideband MOS-LQO (pesq package) at 16 kHz",
    "stoi": "short-time objective intelligibility (pystoi, classic)",
}
RUN_SETTINGS = (
    "sha256",
    "passes",
    "conditioned",
    "pipeline",
)  # what decides a method's output besides files and settings


# ------------------------------------------------------------------------------------ methods


@dataclass
class Method:
    """One thing that turns low-resolution audio into high-resolution audio."""

    label: str  # column name in the tables
    spec: str  # what was asked for: cubic, bandlimited, a model name, a path
    kind: str  # "interpolation" | "network"
    network: str | None = None
    ratio: int | None = None
    sr: int | None = None
    params: int | None = None
    path: str | None = None  # the checkpoint file
    sha256: str | None = None
    config: dict[str, Any] | None = None
    passes: int | None = None  # self-ensemble passes, when more than one (inference.ensemble_offsets)
    conditioned: bool | None = None  # True: the input goes through the network's training channel first
    pipeline: int | None = None  # inference.PIPELINE when these rows were made (networks only)
    model: Any = field(default=None, repr=False, compare=False)  # the loaded network

    def describe(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}
        return {k: v for k, v in d.items() if v is not None}

    @property
    def slug(self) -> str:
        return slug(self.label)


def slug(text: str) -> str:
    """A file-name-safe version of ``text``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"


def resolve_method(spec: str, device: str = "auto") -> Method:
    """``cubic``, ``bandlimited``, a shipped model, a checkpoint or a run folder, as ``[LABEL=]SPEC``."""
    from . import pretrained
    from .files import sha256_file
    from .inference import PIPELINE
    from .models.base import count_parameters

    label, sep, what = spec.partition("=")
    if not sep or not label or Path(spec).exists():
        label, what = "", spec
    if what in INTERPOLATIONS:
        return Method(label=label or what, spec=what, kind="interpolation")
    model = pretrained.load_model(what, device=device)
    shipped = {m.name: m for m in pretrained.available_models()}
    if what in shipped:
        path, digest = shipped[what].path, shipped[what].sha256
        default = what
    else:
        path = pretrained.checkpoint_path(what)
        digest = sha256_file(path)
        default = path.parent.name if path.stem in ("best", "model", "last") else path.stem
    return Method(
        label=label or default,
        spec=what,
        kind="network",
        network=model.name,
        ratio=model.ratio,
        sr=model.sr,
        params=count_parameters(model),
        path=str(path),
        sha256=digest,
        config=to_jsonable(model.config),
        passes=model.passes if model.passes > 1 else None,
        pipeline=PIPELINE,
        model=model,
    )


def _how_it_runs(method: Method, cfg: EvalConfig) -> None:
    """Set a network's passes and input conditioning under ``cfg``: part of its identity (``RUN_SETTINGS``),
    so rows are not reused across a change of either."""
    from .inference import ensemble_offsets, needs_conditioning

    passes = cfg.passes or method.model.passes
    ensemble_offsets(method.model, passes)  # a clear error for an unsupported number
    method.passes = passes if passes > 1 else None
    method.conditioned = needs_conditioning(method.model, cfg.channel) or None


def estimate(
    method: Method, lr: np.ndarray, ratio: int, length: int, cfg: EvalConfig
) -> tuple[np.ndarray, list[str]]:
    """Run ``method`` on ``lr`` ``[time_lr]``; return ``[length]`` float32 and notes."""
    if method.kind == "interpolation":
        return audio.interpolate(lr, ratio, method.spec, length=length), []
    from .inference import upsample_array

    model = method.model
    y, _, notes = upsample_array(
        model,
        lr,
        model.sr_lowres,
        chunk_seconds=cfg.chunk_seconds,
        limiter=cfg.limiter,
        passes=method.passes or 1,
        input_channel=cfg.channel,
    )
    return y[0, :length], [n for n in notes[1:] if "full scale" in n or "limiter" in n]


# ---------------------------------------------------------------------------------- metrics


def optional_metrics(cfg: EvalConfig) -> dict[str, bool]:
    """Which of PESQ and STOI this run computes (asked for, or importable when not said)."""
    have = {
        "pesq": importlib.util.find_spec("pesq") is not None,
        "stoi": importlib.util.find_spec("pystoi") is not None,
    }
    out = {}
    for name, package in (("pesq", "pesq"), ("stoi", "pystoi")):
        wanted = getattr(cfg, name)
        if wanted and not have[name]:
            raise WavesrError(
                f"{name.upper()} asked for, but the {package} package is not installed (pip install "
                f"{package})"
            )
        out[name] = have[name] if wanted is None else bool(wanted)
    return out


PESQ_MAX_SECONDS = (
    60.0  # P.862 is made for short clips; the pesq package crashes (SIGSEGV) on minutes of music
)


def perceptual(
    reference: np.ndarray, est: np.ndarray, sr: int, perceptual_on: dict[str, bool]
) -> dict[str, float]:
    """PESQ (wideband, at 16 kHz) and STOI of one file; NaN where the package gives up (silence)
    and for PESQ on files longer than :data:`PESQ_MAX_SECONDS`."""
    out: dict[str, float] = {}
    if perceptual_on.get("pesq") and reference.size > PESQ_MAX_SECONDS * sr:
        out["pesq"] = float("nan")
    elif perceptual_on.get("pesq"):
        from pesq import pesq

        ref16, est16 = (
            (reference, est)
            if sr == 16000
            else (audio.resample(reference, sr, 16000), audio.resample(est, sr, 16000))
        )
        try:
            out["pesq"] = float(pesq(16000, ref16.astype(np.float64), est16.astype(np.float64), "wb"))
        except Exception:  # noqa: BLE001 - the package raises its own types (no utterance, too short)
            out["pesq"] = float("nan")
    if perceptual_on.get("stoi"):
        from pystoi import stoi

        try:
            out["stoi"] = float(
                stoi(reference.astype(np.float64), est.astype(np.float64), sr, extended=False)
            )
        except Exception:  # noqa: BLE001
            out["stoi"] = float("nan")
    return out


def score(
    reference: np.ndarray, est: np.ndarray, sr: int, ratio: int, perceptual_on: dict[str, bool] | None = None
) -> dict[str, float]:
    """Every metric of one file: :func:`metrics.evaluate_pair` plus the optional PESQ / STOI."""
    row = metrics.evaluate_pair(reference, est, sr, ratio)
    row.update(perceptual(reference, est, sr, perceptual_on or {}))
    return row


# ------------------------------------------------------------------------------------- files


@dataclass
class EvalFile:
    """A file to evaluate: ``key`` names it in rows (relative to the corpus root when under it)."""

    key: str
    path: str
    group: str = ""  # the corpus item's group (voice, piece, track); "" for plain files


def eval_files(
    items: Iterable[Item | str | os.PathLike], root: str | os.PathLike | None = None
) -> list[EvalFile]:
    """Corpus items, files or folders (searched recursively) as :class:`EvalFile` entries."""
    base = Path(root).resolve() if root else None
    out = []
    for it in items:
        path = Path(it.path if isinstance(it, Item) else it)
        if path.is_dir():
            out += [EvalFile(f.relative_to(path).as_posix(), str(f)) for f in audio.find_audio(path)]
            continue
        key = path.as_posix()
        if base is not None and path.resolve().is_relative_to(base):
            key = path.resolve().relative_to(base).as_posix()
        out.append(EvalFile(key, str(path), it.group if isinstance(it, Item) else ""))
    keys = [f.key for f in out]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise WavesrError(f"{dup}: listed twice")
    return out


def load_reference(path: str, sr: int, max_seconds: float | None = None) -> np.ndarray:
    """``[time]`` mono float32 at ``sr`` through :func:`audio.load` (its checks and notes); with
    ``max_seconds`` cut to at most ``max_seconds * sr`` samples."""
    x = audio.load(path, sr=sr, mono=True)[0]
    return x if max_seconds is None else x[: round(max_seconds * sr)]


def files_sha256(files: Sequence[EvalFile]) -> str:
    return hashlib.sha256("\n".join(f.key for f in files).encode()).hexdigest()


# ---------------------------------------------------------------------------------- row logs


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a log; a torn last line (an interrupted write) is dropped and the file repaired."""
    if not path.is_file():
        return []
    rows, good = [], 0
    data = path.read_bytes()
    for line in data.split(b"\n"):
        if not line.strip():
            good += len(line) + 1
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
        good += len(line) + 1
    if good < len(data):
        with atomic_path(path, ours=True) as tmp:
            tmp.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows))
    return rows


def append_row(path: Path, row: dict[str, Any]) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(to_jsonable(row)) + "\n")
        f.flush()
        os.fsync(f.fileno())


# -------------------------------------------------------------------------------- the run


class _Task:
    """One (method, ratio): its row log and the keys already done."""

    def __init__(self, out: Path, method: Method, ratio: int) -> None:
        self.method, self.ratio = method, ratio
        self.log = out / "rows" / f"{method.slug}-x{ratio}.jsonl"
        meta = self.log.with_suffix(".json")
        identity = {"method": method.describe(), "ratio": ratio}
        old = read_json(meta).get("method", {}) if meta.is_file() else None
        self.reset = old is not None and any(old.get(k) != getattr(method, k) for k in RUN_SETTINGS)
        if self.reset:  # another checkpoint under this label, or run otherwise: evaluate again
            self.log.unlink(missing_ok=True)
        write_json(meta, identity)
        self.rows = {r["file"]: r for r in read_rows(self.log)}

    def add(self, row: dict[str, Any]) -> None:
        append_row(self.log, row)
        self.rows[row["file"]] = row


def _versions(perceptual_on: dict[str, bool]) -> dict[str, str]:
    import scipy
    import soundfile as sf
    import torch

    v = {
        "wavesr": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "torch": torch.__version__,
        "soundfile": sf.__version__,
        "libsndfile": sf.__libsndfile_version__,
        "platform": platform.platform(),
    }
    from importlib.metadata import PackageNotFoundError, version

    for name, package in (("pesq", "pesq"), ("stoi", "pystoi")):
        if perceptual_on.get(name):
            try:
                v[package] = version(package)
            except PackageNotFoundError:
                v[package] = "?"
    return v


def _prepare_folder(out: Path, protocol: dict[str, Any], files_hash: str, force: bool) -> None:
    """Refuse a folder evaluated under other settings (unless ``force``, which clears it)."""
    settings = out / "settings.json"
    if out.exists() and not out.is_dir():
        raise WavesrError(f"{out}: exists and is not a folder")
    if settings.is_file():
        old = read_json(settings)
        if isinstance(old, dict) and isinstance(old.get("protocol"), dict) and "degrade" in old["protocol"]:
            old["protocol"]["channel"] = old["protocol"].pop("degrade")  # the key's name before 0.2
        if (
            not isinstance(old, dict)
            or old.get("format") != FORMAT
            or not isinstance(old.get("files", {}), dict)
        ):
            raise WavesrError(f"{settings}: not the settings of a wavesr evaluation")
        same = old.get("protocol") == protocol and old.get("files", {}).get("sha256") == files_hash
        if not same and not force:
            changed = [k for k in protocol if old.get("protocol", {}).get(k) != protocol[k]]
            if old.get("files", {}).get("sha256") != files_hash:
                changed.append("file list")
            raise WavesrError(
                f"{out}: evaluated earlier with other settings ({', '.join(changed)}); "
                "use --force to start again or choose another folder"
            )
        if not same or force:
            import shutil

            for name in ("rows", "figures", "audio"):
                shutil.rmtree(out / name, ignore_errors=True)
    elif out.is_dir() and any(out.iterdir()):  # its files could be the user's: not even with force
        raise WavesrError(
            f"{out}: is a non-empty folder but not a wavesr evaluation; refusing to write into it "
            "(choose another folder)"
        )
    (out / "rows").mkdir(parents=True, exist_ok=True)


def evaluate(
    methods: Sequence[str | Method],
    items: Iterable[Item | str | os.PathLike],
    ratios: Sequence[int],
    out_dir: str | os.PathLike,
    cfg: EvalConfig | None = None,
    corpus_info: dict[str, Any] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Evaluate ``methods`` on ``items`` at every ratio in ``ratios`` (see the module docstring).

    Parameters
    ----------
    methods : ``cubic``, ``bandlimited``, shipped model names, checkpoints or run folders
        (``LABEL=SPEC`` names the column), or resolved :class:`Method` objects.
    items : corpus items, audio files or folders.
    ratios : upsampling ratios.
    out_dir : the evaluation folder (created; resumed when it holds the same evaluation).
    cfg : settings (defaults: :class:`EvalConfig`).
    corpus_info : where the items came from (spec, root, split, name), stored in the settings.
    force : start again in a folder that holds an evaluation made with other settings.

    Returns
    -------
    The summary (also ``OUT/summary.json``): ``settings`` and ``table``, one entry per ratio and
    method with the number of files and the mean of each metric (``None`` where not computed).
    """
    cfg = cfg or EvalConfig()
    corpus_info = dict(corpus_info or {})
    out = Path(out_dir)
    ratios = sorted({audio.check_ratio(r) for r in ratios})
    if not ratios:
        raise WavesrError("no ratio to evaluate")
    resolved = [m if isinstance(m, Method) else resolve_method(m, cfg.device) for m in methods]
    if not resolved:
        raise WavesrError("no method to evaluate (cubic, bandlimited, a model name or a checkpoint)")
    for m in resolved:
        if m.kind == "network":
            _how_it_runs(m, cfg)
    labels = [m.label for m in resolved]
    if len({slug(x) for x in labels}) != len(labels):
        raise WavesrError(f"two methods share a label ({', '.join(labels)}); name them LABEL=SPEC")
    sr = cfg.sr or next((m.sr for m in resolved if m.sr), audio.SAMPLE_RATE)
    files = evenly_spaced(eval_files(items, corpus_info.get("root")), cfg.max_files)
    if not files:
        raise WavesrError("no files to evaluate")
    perceptual_on = optional_metrics(cfg)
    protocol = cfg.protocol(sr, perceptual_on)
    _prepare_folder(out, protocol, files_sha256(files), force)

    notes: list[str] = []
    tasks: list[_Task] = []
    for m in resolved:
        if m.kind == "network" and m.sr != sr:
            notes.append(f"{m.label}: skipped, the network is for {m.sr} Hz and the evaluation is at {sr} Hz")
            continue
        for r in ratios:
            if m.kind == "network" and m.ratio != r:
                notes.append(f"{m.label}: skipped at x{r}, the network upsamples x{m.ratio}")
                continue
            tasks.append(_Task(out, m, r))
    tasks.sort(key=lambda t: t.ratio)  # tables by ratio, methods in the order given
    if any(t.reset for t in tasks):  # saved audio and figures show the old checkpoint's output
        import shutil

        for name in ("figures", "audio"):
            shutil.rmtree(out / name, ignore_errors=True)
    settings = {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": cfg,
        "protocol": protocol,
        "ratios": ratios,
        "methods": [m.describe() for m in resolved],
        "notes": notes,
        "corpus": corpus_info,
        "files": {"count": len(files), "sha256": files_sha256(files), "list": "files.txt"},
        "degradation": {
            "channel": cfg.channel,
            "doc": "audio.degrade(hr, ratio, channel): ceil(n / r) samples",
        },
        "loading": "audio.load(path, sr, mono=True): channels averaged, soxr resampling",
        "metrics": {
            k: METRIC_CONVENTIONS[k] for k in METRICS if k not in ("pesq", "stoi") or perceptual_on[k]
        },
        "aggregation": "per-file values averaged over files (per-file SNR averaged over files)",
        "versions": _versions(perceptual_on),
    }
    write_json(out / "settings.json", settings)
    with atomic_path(out / "files.txt", ours=True) as tmp:
        tmp.write_text("".join(f.key + "\n" for f in files))

    _run(out, files, tasks, sr, cfg, perceptual_on)
    if cfg.interesting:
        _save_interesting(out, files, tasks, sr, cfg)
    return write_summary(out, files, tasks, settings)


def _run(
    out: Path,
    files: list[EvalFile],
    tasks: list[_Task],
    sr: int,
    cfg: EvalConfig,
    perceptual_on: dict[str, bool],
) -> None:
    """The loop: each ratio, each file; only pending methods run; figures and audio on the way."""
    from tqdm import tqdm

    for r in sorted({t.ratio for t in tasks}):
        here = [t for t in tasks if t.ratio == r]
        bar = tqdm(files, desc=f"evaluate x{r}", unit="file", disable=not cfg.progress, dynamic_ncols=True)
        for i, f in enumerate(bar):
            pending = [t for t in here if f.key not in t.rows]
            sample_dir = _sample_dir(out, r, i, f)
            want_fig = i < cfg.figures and not _figure_path(out, r, i, f).is_file()
            want_audio = i < cfg.save_audio and not (sample_dir / "sample.json").is_file()
            if not (pending or want_fig or want_audio):
                continue
            run = here if (want_fig or want_audio) else pending
            try:
                hr = load_reference(f.path, sr, cfg.max_seconds)
                lr = audio.degrade(hr, r, cfg.channel)
            except WavesrError as e:
                for t in pending:
                    t.add({"file": f.key, "error": str(e)})
                bar.write(f"wavesr: skipped {e}")
                continue
            outputs = {}
            for t in run:
                start = time.perf_counter()
                est, est_notes = estimate(t.method, lr, r, hr.size, cfg)
                elapsed = time.perf_counter() - start
                outputs[t.method.label] = est
                if t in pending:
                    row = {
                        "file": f.key,
                        "duration": hr.size / sr,
                        "seconds": elapsed,
                        **score(hr, est, sr, r, perceptual_on),
                    }
                    t.add({**row, **({"notes": est_notes} if est_notes else {})})
            if want_fig:
                _write_figure(_figure_path(out, r, i, f), hr, lr, sr, r, outputs, here)
            if want_audio:
                figure = _figure_path(out, r, i, f) if i < cfg.figures else None
                _write_sample(sample_dir, f, i, r, hr, lr, sr, outputs, here, figure)
            bar.set_postfix({t.method.label: f"{mean_finite(t.rows, 'snr'):.1f}dB" for t in here[:3]})
        bar.close()


# ------------------------------------------------------------------------ figures and audio


def _sample_dir(out: Path, ratio: int, index: int, f: EvalFile) -> Path:
    return out / "audio" / f"x{ratio}" / f"{index:03d}-{slug(Path(f.key).stem)}"


def _figure_path(out: Path, ratio: int, index: int, f: EvalFile) -> Path:
    return out / "figures" / f"x{ratio}" / f"{index:03d}-{slug(Path(f.key).stem)}.png"


def _panels(
    hr: np.ndarray, lr: np.ndarray, sr: int, ratio: int, outputs: dict[str, np.ndarray], tasks: list[_Task]
) -> list:
    """High-res, low-res, every network, then the interpolations (cubic last, as in Figure 2)."""
    from .report.plots import Panel

    panels = [Panel("high resolution", hr, sr), Panel(f"low resolution, x{ratio}", lr, sr / ratio)]
    order = sorted(
        (t for t in tasks if t.method.label in outputs),
        key=lambda t: (t.method.kind == "interpolation", t.method.spec == "cubic"),
    )
    for t in order:
        kind = "super-resolution" if t.method.kind == "network" else "interpolation"
        panels.append(Panel(f"{kind}: {t.method.label}", outputs[t.method.label], sr))
    return panels


def _write_figure(
    path: Path,
    hr: np.ndarray,
    lr: np.ndarray,
    sr: int,
    ratio: int,
    outputs: dict[str, np.ndarray],
    tasks: list[_Task],
) -> None:
    from .report.plots import save_spectrograms

    save_spectrograms(_panels(hr, lr, sr, ratio, outputs, tasks), path, force=True)


def _write_sample(
    folder: Path,
    f: EvalFile,
    index: int,
    ratio: int,
    hr: np.ndarray,
    lr: np.ndarray,
    sr: int,
    outputs: dict[str, np.ndarray],
    tasks: list[_Task],
    figure: Path | None = None,
    reason: str | None = None,
) -> None:
    """WAVs of one file (16-bit; the low-res one at its own rate), its figure (``figure`` when
    already drawn, else ``spectrogram.png`` here) and ``sample.json``."""
    lr_sr = round(sr / ratio)
    entry: dict[str, Any] = {
        "file": f.key,
        "index": index,
        "ratio": ratio,
        "sr": sr,
        "lr_sr": lr_sr,
        "lr_sr_exact": sr / ratio,
        "audio": {},
        "methods": {},
    }
    audio.save(folder / "hr.wav", hr, sr, force=True)
    audio.save(folder / "lr.wav", lr, lr_sr, force=True)
    entry["audio"]["high resolution"] = "hr.wav"
    entry["audio"]["low resolution"] = "lr.wav"
    for t in tasks:
        if t.method.label in outputs:
            name = f"{t.method.slug}.wav"
            audio.save(folder / name, outputs[t.method.label], sr, force=True)
            entry["methods"][t.method.label] = {"audio": name, "kind": t.method.kind, "spec": t.method.spec}
    if figure is None:
        figure = folder / "spectrogram.png"
        _write_figure(figure, hr, lr, sr, ratio, outputs, tasks)
    entry["figure"] = os.path.relpath(figure, folder)
    if reason:
        entry["interesting"] = reason
    write_json(folder / "sample.json", entry)


def _save_interesting(out: Path, files: list[EvalFile], tasks: list[_Task], sr: int, cfg: EvalConfig) -> None:
    """Save the ``cfg.interesting`` files where the first network's SNR falls furthest below
    cubic's (where it 'hallucinates' content, as the original samples page showed)."""
    for r in sorted({t.ratio for t in tasks}):
        here = [t for t in tasks if t.ratio == r]
        net = next((t for t in here if t.method.kind == "network"), None)
        cubic = next((t for t in here if t.method.spec == "cubic"), None)
        if net is None or cubic is None:
            continue
        gaps = []
        for i, f in enumerate(files):
            a, b = net.rows.get(f.key, {}), cubic.rows.get(f.key, {})
            if "snr" in a and "snr" in b and i >= cfg.save_audio:
                gaps.append((a["snr"] - b["snr"], i, f, a, b))
        for gap, i, f, a, b in sorted(gaps, key=lambda g: g[0])[: cfg.interesting]:
            folder = out / "audio" / f"x{r}" / f"interesting-{i:03d}-{slug(Path(f.key).stem)}"
            if (folder / "sample.json").is_file():
                continue
            hr = load_reference(f.path, sr, cfg.max_seconds)
            lr = audio.degrade(hr, r, cfg.channel)
            outputs = {t.method.label: estimate(t.method, lr, r, hr.size, cfg)[0] for t in here}
            reason = (
                f"{net.method.label} is {-gap:.1f} dB below cubic in SNR ({a['snr']:.1f} vs {b['snr']:.1f} "
                "dB) "
                f"while its LSD is {a['lsd']:.2f} against cubic's {b['lsd']:.2f}"
                if gap < 0
                else f"the file where {net.method.label} gains least over cubic in SNR ({gap:+.1f} dB)"
            )
            _write_sample(folder, f, i, r, hr, lr, sr, outputs, here, reason=reason)


# ------------------------------------------------------------------------------------ tables


def write_summary(
    out: Path, files: list[EvalFile], tasks: list[_Task], settings: dict[str, Any]
) -> dict[str, Any]:
    """``per_file.csv``, ``summary.{md,csv,json}`` and ``samples.json`` from the row logs."""
    keys = [f.key for f in files]
    table = []
    for t in tasks:
        rows = [t.rows[k] for k in keys if k in t.rows]
        table.append(
            {
                "ratio": t.ratio,
                "method": t.method.label,
                "kind": t.method.kind,
                "complete": len(rows) == len(keys),
                **aggregate(rows),
            }
        )
    groups = {f.key: f.group for f in files}
    names = sorted({g for g in groups.values() if g})
    by_group = []  # held-out voices / pieces / tracks one by one, when the files come from several
    if len(names) > 1:
        for t in tasks:
            for group in names:
                rows = [t.rows[k] for k in keys if k in t.rows and groups[k] == group]
                if rows:
                    by_group.append(
                        {"ratio": t.ratio, "method": t.method.label, "group": group, **aggregate(rows)}
                    )
    summary = {"settings": to_jsonable(settings), "table": table, "by_group": by_group}
    write_json(out / "summary.json", summary)
    write_csv(out / "summary.csv", table)
    per_file = [
        {
            "ratio": t.ratio,
            "method": t.method.label,
            "group": groups[key],
            **{k: finite_or_none(v) for k, v in t.rows[key].items() if k != "notes"},
        }
        for t in tasks
        for key in keys
        if key in t.rows
    ]
    write_csv(out / "per_file.csv", per_file)
    with atomic_path(out / "summary.md", ours=True) as tmp:
        tmp.write_text(summary_markdown(summary))
    write_json(out / "samples.json", collect_samples(out, tasks))
    return summary


def collect_samples(out: Path, tasks: list[_Task]) -> list[dict[str, Any]]:
    """Every saved sample (``audio/*/*/sample.json``) with its scores from the row logs."""
    samples = []
    for meta in sorted((out / "audio").glob("x*/*/sample.json")):
        entry = read_json(meta)
        folder = meta.parent.relative_to(out).as_posix()
        entry["folder"] = folder
        for t in tasks:
            row = t.rows.get(entry["file"])
            if t.ratio == entry["ratio"] and row and t.method.label in entry["methods"]:
                entry["methods"][t.method.label]["scores"] = {
                    k: finite_or_none(row.get(k)) for k in METRICS if k in row
                }
        samples.append(entry)
    return samples


def load_summary(out_dir: str | os.PathLike) -> dict[str, Any]:
    """The ``summary.json`` of an evaluation folder."""
    path = Path(out_dir) / "summary.json"
    if not path.is_file():
        raise WavesrError(f"{out_dir}: not a finished wavesr evaluation (no summary.json)")
    return read_json(path)


# ---------------------------------------------------------------------------- figure 2


def figure2(
    path: str | os.PathLike,
    ratio: int,
    out: str | os.PathLike,
    model: str | None = None,
    sr: int | None = None,
    channel: str = "decimate",
    start: float = 0.0,
    seconds: float | None = None,
    device: str = "auto",
    force: bool = False,
) -> Path:
    """Figure 2 for one audio file: high-res / low-res / super-resolved (``model``) / cubic.

    Parameters
    ----------
    path : any audio file; loaded mono at ``sr`` (default: the model's rate, else 16000 Hz).
    ratio : upsampling ratio r; the low-res signal is ``audio.degrade(hr, r, channel)``.
    out : ``.png``, ``.svg`` or ``.pdf``.
    model : a shipped model name, checkpoint or run folder (must upsample x``ratio``); without
        one the figure has three panels.
    start, seconds : the excerpt shown (seconds).
    """
    from .report.plots import Panel, save_spectrograms

    cfg = EvalConfig(channel=channel, device=device)
    method = resolve_method(model, device) if model else None
    if method is not None and method.ratio != ratio:
        raise WavesrError(f"{model}: the network upsamples x{method.ratio}, not x{ratio}")
    sr = int(sr or (method.sr if method is not None and method.sr else audio.SAMPLE_RATE))
    hr, _ = audio.load(path, sr=sr, mono=True)
    hr = hr[int(start * sr) :][: int(seconds * sr) if seconds else None]
    if hr.size < 2 * ratio:
        raise WavesrError(f"{path}: too short for a figure at {start} s (+ {seconds} s)")
    lr = audio.degrade(hr, ratio, channel)
    panels = [Panel("high resolution", hr, sr), Panel(f"low resolution, x{ratio}", lr, sr / ratio)]
    if method is not None:
        panels.append(
            Panel(f"super-resolution: {method.label}", estimate(method, lr, ratio, hr.size, cfg)[0], sr)
        )
    panels.append(Panel("cubic interpolation", audio.interpolate(lr, ratio, "cubic", length=hr.size), sr))
    return save_spectrograms(panels, out, title=Path(path).name, force=force)
