"""Upsampling many files in one call: what ``wavesr upsample`` does, as a library function.

:func:`upsample_batch` pairs every input with its output (:func:`wavesr.inference.plan_outputs`),
loads each model once, upsamples file after file and goes on past a file that fails: the
report lists every file's outcome, and the CLI only prints it. No output is written over an
input of the batch or over another output of it, and ``force`` replaces only wavesr's own files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import inference, pretrained
from .errors import WavesrError
from .files import check_writable


@dataclass
class FileOutcome:
    """One input of a batch: its output, and what happened."""

    input: Path
    output: Path
    result: inference.UpsampleResult | None = None  # None when it failed
    error: str | None = None  # the one-line reason it failed
    compare: tuple[Path, Path] | None = None  # --compare: the cubic file and the figure, when written
    compare_error: str | None = None


@dataclass
class BatchReport:
    """Every file's outcome, in the order of the inputs."""

    outcomes: list[FileOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.error is not None]

    @property
    def compare_failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.compare_error is not None]

    def summary(self) -> str:
        """``N files upsampled``, or how many of how many and which failed."""
        total, failed, compare = len(self.outcomes), self.failed, self.compare_failed
        if not failed and not compare:
            return f"{total} files upsampled" if total != 1 else "1 file upsampled"
        text = f"{total - len(failed)} of {total} files upsampled"
        if failed:
            text += "; failed: " + ", ".join(str(o.input) for o in failed)
        if compare:
            text += "; --compare failed for: " + ", ".join(str(o.input) for o in compare)
        return text


def message(src: Path, e: Exception) -> str:
    """A failure's line, naming the file once (an OSError as ``file: reason``)."""
    if isinstance(e, OSError):
        text = f"{e.filename}: {e.strerror}" if e.filename and e.strerror else str(e)
    else:
        text = str(e)
    return text if str(src) in text else f"{src}: {text}"


def upsample_batch(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str] | None = None,
    *,
    model: str | None = None,
    ratio: int | None = None,
    content: str = "speech",
    device: str = "auto",
    fmt: str | None = None,
    compare: bool = False,
    force: bool = False,
    progress: bool = False,
    on_file: Callable[[FileOutcome], None] | None = None,
    raise_errors: bool = False,
    **options: Any,
) -> BatchReport:
    """Upsample files and folders (recursive) into WAV or FLAC files.

    Parameters
    ----------
    inputs, out, fmt : what to read and where to write (:func:`wavesr.inference.plan_outputs`;
        ``fmt`` is ``"wav"`` or ``"flac"``).
    model : a shipped model name, a checkpoint or a run folder; else ``ratio`` picks the shipped
        model for ``content``; else each file's rate does (8 kHz -> x2, 4 kHz -> x4, ...).
    compare : also write the cubic-spline version and a spectrogram figure beside each output.
    force : replace outputs wavesr wrote before (never anything else).
    progress : a bar over files (and over the chunks of each long file).
    on_file : called with each file's outcome as soon as it is known (the CLI prints it).
    raise_errors : raise a file's error instead of recording it (``--debug``).
    options : :func:`wavesr.inference.upsample_file`'s (``target_sr``, ``chunk_seconds``, ...).
    """
    # oneDNN keeps ~1 MB of compiled kernels per input shape, up to 1,024 of them: every file of a
    # batch has its own length, so a long batch would grow by ~1 GB. Keep 32 (read at the first conv).
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "32")
    from tqdm import tqdm

    jobs = inference.plan_outputs(list(inputs), out, f".{fmt}" if fmt else None)
    models: dict[str, Any] = {}

    def model_for(src: Path) -> Any:
        name = (
            model
            or pretrained.pick_model(
                ratio or pretrained.ratio_for_rate(inference.file_rate(src), content), content
            ).name
        )
        if name not in models:
            models[name] = pretrained.load_model(name, device=device)
        return models[name]

    if model or ratio:
        model_for(Path(inputs[0]))  # a wrong name fails once, before any file
    if not jobs:
        raise WavesrError(f"no audio files in {', '.join(map(str, inputs))}")
    report = BatchReport()
    sources = {src.resolve(): src for src, _ in jobs}  # no output may land on an input of the batch
    written: dict[Path, Path] = {}
    for src, dst in tqdm(jobs, desc="files", unit="file", disable=not progress or len(jobs) < 2):
        outcome = FileOutcome(src, dst)
        report.outcomes.append(outcome)
        try:
            net = _one_file(src, dst, sources, written, compare, force, model_for, progress, outcome, options)
        except (WavesrError, OSError) as e:  # OSError: e.g. permission denied on a file or folder
            if raise_errors:
                raise
            outcome.error = message(src, e)
        else:
            if compare:
                try:
                    outcome.compare = _compare(net, src, dst, outcome, force, options)
                except (WavesrError, OSError) as e:
                    if raise_errors:
                        raise
                    outcome.compare_error = message(src, e)
        if on_file is not None:
            on_file(outcome)
    return report


def _one_file(
    src: Path,
    dst: Path,
    sources: dict[Path, Path],
    written: dict[Path, Path],
    compare: bool,
    force: bool,
    model_for: Callable[[Path], Any],
    progress: bool,
    outcome: FileOutcome,
    options: dict[str, Any],
) -> Any:
    """Check one job's outputs, then upsample it; returns the network that did."""
    if dst.resolve() in written:
        raise WavesrError(f"{src}: same output {dst} as {written[dst.resolve()]}; rename one or use -o")
    if dst.resolve() in sources:
        raise WavesrError(
            f"{src}: its output {dst} is an input of this batch ({sources[dst.resolve()]}); "
            "use -o to write elsewhere"
        )
    for path in inference.companion_paths(dst) if compare else ():  # refused before any work
        if path.resolve() in sources:
            raise WavesrError(f"{src}: --compare would write {path}, an input of this batch")
        check_writable(path, force)
    net = model_for(src)
    outcome.result = inference.upsample_file(net, src, dst, force=force, progress=progress, **options)
    written[dst.resolve()] = src
    return net


def _compare(
    net: Any, src: Path, dst: Path, outcome: FileOutcome, force: bool, options: dict[str, Any]
) -> tuple[Path, Path]:
    """``--compare``: the cubic-spline version and the spectrograms of input, cubic and network."""
    from .models import build_model

    cubic_path, figure = inference.companion_paths(dst)
    cubic = build_model("spline", ratio=net.ratio, sr=net.sr)
    inference.upsample_file(cubic, src, cubic_path, force=force, **options)
    assert outcome.result is not None
    inference.compare_figure(
        [("input", src), ("cubic spline", cubic_path), (f"{net.name} x{net.ratio}", dst)],
        figure,
        max_hz=outcome.result.sr_out / 2,
        force=force,
    )
    return cubic_path, figure
