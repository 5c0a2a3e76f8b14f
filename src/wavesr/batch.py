"""Upsampling many files in one call: what ``wavesr upsample`` does, as a library function.

:func:`upsample_batch` pairs every input with its output (:func:`plan_outputs`),
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

from . import audio, audiofiles, extend, pretrained
from .errors import WavesrError
from .files import check_writable, made_by_wavesr


@dataclass
class FileOutcome:
    """One input of a batch: its output, and what happened."""

    input: Path
    output: Path
    result: audiofiles.UpsampleResult | None = None  # None when it failed
    error: str | None = None  # the one-line reason it failed
    compare: tuple[Path, Path] | None = None  # --compare: the cubic file and the figure, when written
    compare_error: str | None = None


@dataclass
class BatchReport:
    """Every file's outcome, in the order of the inputs (this shard's, when sharded)."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    skipped: list[FileOutcome] = field(default_factory=list)  # complete outputs left as they were (resume)
    shard: tuple[int, int] = (1, 1)  # (K, N): this process did the K-th of N shares

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.error is not None]

    @property
    def compare_failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.compare_error is not None]

    def summary(self) -> str:
        """``N files upsampled``, or how many of how many and which failed."""
        total, failed, compare = len(self.outcomes), self.failed, self.compare_failed
        share = f" (share {self.shard[0]} of {self.shard[1]})" if self.shard[1] > 1 else ""
        done = f"; {len(self.skipped)} already done" if self.skipped else ""
        if not failed and not compare:
            return (f"{total} files upsampled" if total != 1 else "1 file upsampled") + done + share
        text = f"{total - len(failed)} of {total} files upsampled{done}{share}"
        if failed:
            text += "; failed: " + ", ".join(str(o.input) for o in failed)
        if compare:
            text += "; --compare failed for: " + ", ".join(str(o.input) for o in compare)
        return text


SHARD_VARIABLES = (("RANK", "WORLD_SIZE", 0), ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", None))


def shard_from_environment(environ: dict[str, str] | None = None) -> tuple[int, int] | None:
    """``(K, N)`` from torchrun's ``RANK`` / ``WORLD_SIZE`` or a SLURM array's ``SLURM_ARRAY_TASK_ID`` /
    ``SLURM_ARRAY_TASK_COUNT`` (ids counted from ``SLURM_ARRAY_TASK_MIN``); ``None`` outside both."""
    env = os.environ if environ is None else environ
    for index, count, _ in SHARD_VARIABLES:
        if index in env and count in env:
            try:
                i, total = int(env[index]), int(env[count])
                i -= int(env.get("SLURM_ARRAY_TASK_MIN", "0")) if index.startswith("SLURM") else 0
            except ValueError:
                raise WavesrError(
                    f"{index}={env[index]!r}, {count}={env[count]!r}: not whole numbers"
                ) from None
            return parse_shard(f"{i + 1}/{total}")
    return None


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` (1 <= K <= N) as ``(K, N)``."""
    k, sep, n = text.partition("/")
    try:
        shard = (int(k), int(n))
    except ValueError:
        shard = (0, 0)
    if not sep or not 1 <= shard[0] <= shard[1]:
        raise WavesrError(f"shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/4")
    return shard


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
    content: str | None = None,
    device: str = "auto",
    fmt: str | None = None,
    compare: bool = False,
    force: bool = False,
    progress: bool = False,
    on_file: Callable[[FileOutcome], None] | None = None,
    raise_errors: bool = False,
    shard: tuple[int, int] | None = None,
    resume: bool = False,
    **options: Any,
) -> BatchReport:
    """Upsample files and folders (recursive) into WAV or FLAC files.

    Parameters
    ----------
    inputs, out, fmt : what to read and where to write (:func:`plan_outputs`;
        ``fmt`` is ``"wav"`` or ``"flac"``).
    model : a shipped model name, a checkpoint or a run folder; else ``ratio`` picks the paper's
        shipped model for ``content`` (default speech); else the full-band model for ``content``
        (``None``: each file's, :func:`wavesr.extend.file_content`), which returns 44.1/48 kHz; else,
        with no full-band model for it, each file's rate picks the paper's (8 kHz -> x2, 4 kHz -> x4, ...).
    compare : also write the cubic-spline version and a spectrogram figure beside each output.
    force : replace outputs wavesr wrote before (never anything else).
    progress : a bar over files (and over the chunks of each long file).
    on_file : called with each file's outcome as soon as it is known (the CLI prints it).
    raise_errors : raise a file's error instead of recording it (``--debug``).
    shard : ``(K, N)``: only every N-th input from the K-th (1-based) of the planned list, so that
        N processes or machines share a batch; ``None``: :func:`shard_from_environment`.
    resume : leave outputs wavesr already wrote as they are (complete: writes are atomic), so a
        batch that stopped goes on where it was.
    options : :func:`wavesr.audiofiles.upsample_file`'s (``target_sr``, ``chunk_seconds``, ...).
    """
    # oneDNN keeps ~1 MB of compiled kernels per input shape, up to 1,024 of them: every file of a
    # batch has its own length, so a long batch would grow by ~1 GB. Keep 32 (read at the first conv).
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "32")
    from tqdm import tqdm

    jobs = plan_outputs(list(inputs), out, f".{fmt}" if fmt else None)
    models: dict[str, Any] = {}

    picked: dict[tuple[str, float], str] = {}  # (content, rate) -> shipped model, chosen once per pair

    def default_model(src: Path) -> str:
        """:func:`wavesr.pretrained.default_model` for the file's content (measured unless given)."""
        what = content or ("speech" if ratio else extend.file_content(src))
        rate = 0 if ratio else audiofiles.file_rate(src)
        if (what, rate) not in picked:
            picked[what, rate] = pretrained.default_model(what, rate, ratio, measured=content is None)
        return picked[what, rate]

    def model_for(src: Path) -> Any:
        name = model or default_model(src)
        if name not in models:
            models[name] = pretrained.load_model(name, device=device)
        return models[name]

    if model or ratio:
        model_for(Path(inputs[0]))  # a wrong name fails once, before any file
    if not jobs:
        raise WavesrError(f"no audio files in {', '.join(map(str, inputs))}")
    k, n = shard or shard_from_environment() or (1, 1)
    sources = {src.resolve(): src for src, _ in jobs}  # no output may land on an input of the batch
    report = BatchReport(shard=(k, n))
    jobs = jobs[k - 1 :: n]
    written: dict[Path, Path] = {}
    for src, dst in tqdm(jobs, desc="files", unit="file", disable=not progress or len(jobs) < 2):
        outcome = FileOutcome(src, dst)
        if resume and dst.resolve() not in sources and made_by_wavesr(dst):
            report.skipped.append(outcome)
            written[dst.resolve()] = src
            continue
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
    for path in companion_paths(dst) if compare else ():  # refused before any work
        if path.resolve() in sources:
            raise WavesrError(f"{src}: --compare would write {path}, an input of this batch")
        check_writable(path, force)
    net = model_for(src)
    outcome.result = audiofiles.upsample_file(net, src, dst, force=force, progress=progress, **options)
    written[dst.resolve()] = src
    return net


def _compare(
    net: Any, src: Path, dst: Path, outcome: FileOutcome, force: bool, options: dict[str, Any]
) -> tuple[Path, Path]:
    """``--compare``: the cubic-spline version (for a full-band network: the input resampled to the
    output rate) and the spectrograms of input, that and the network's output."""
    from .models import build_model

    cubic_path, figure = companion_paths(dst)
    if getattr(net, "full_band", False):  # the input at the output rate, nothing generated
        audiofiles.upsample_file(net, src, cubic_path, force=force, copy=True, **options)
        baseline, label = "sinc (input resampled)", f"{net.name} (full band)"
    else:
        cubic = build_model("spline", ratio=net.ratio, sr=net.sr)
        audiofiles.upsample_file(cubic, src, cubic_path, force=force, **options)
        baseline, label = "cubic spline", f"{net.name} x{net.ratio}"
    assert outcome.result is not None
    compare_figure(
        [("input", src), (baseline, cubic_path), (label, dst)],
        figure,
        max_hz=outcome.result.sr_out / 2,
        force=force,
    )
    return cubic_path, figure


OUTPUT_TAGS = (".sr", ".cubic")  # stems of files wavesr writes; folder scans skip them


def plan_outputs(
    inputs: list[str | os.PathLike], out: str | os.PathLike | None = None, ext: str | None = None
) -> list[tuple[Path, Path]]:
    """Pair every input file with its output path.

    Folders are searched recursively (:func:`audio.find_audio`, skipping ``*.sr.*`` and
    ``*.cubic.*`` outputs of earlier runs). Without ``out`` each output is ``<stem>.sr<ext>``
    beside its input; with ``out`` a folder, the same names go under it, keeping the tree below
    each input folder; ``out`` is the output file itself when there is a single input file and
    ``out`` ends in .wav or .flac. ``ext`` is ``.wav`` (default) or ``.flac``.
    """
    if ext is not None and ext not in audio.SUBTYPES:
        raise WavesrError(f"output format must be wav or flac, got {ext.lstrip('.')!r}")
    paths = [Path(p) for p in inputs]
    if out is not None and str(out) == "-":
        raise WavesrError(
            "-o -: writing audio to standard output is not supported; name an output file "
            "(.wav or .flac) or a folder"
        )
    out = Path(out) if out is not None else None
    if (
        out is not None
        and out.suffix.lower() in audio.AUDIO_EXTENSIONS
        and out.suffix.lower() not in audio.SUBTYPES
    ):
        raise WavesrError(
            f"{out}: wavesr writes .wav or .flac files; name the output {out.stem}.wav or "
            f"{out.stem}.flac (or a folder)"
        )
    if out is not None and out.suffix.lower() in audio.SUBTYPES and not out.is_dir():
        if len(paths) != 1 or paths[0].is_dir():
            raise WavesrError(f"{out}: with several inputs or a folder, -o must be a folder")
        if ext is not None and ext != out.suffix.lower():
            raise WavesrError(f"{out}: the name's extension contradicts the format {ext.lstrip('.')}")
        return [(paths[0], out)]
    ext = ext or ".wav"
    jobs = []
    for p in paths:
        if p.is_dir():
            for f in audio.find_audio(p):
                if not f.stem.endswith(OUTPUT_TAGS):
                    folder = f.parent if out is None else out / f.parent.relative_to(p)
                    jobs.append((f, folder / f"{f.stem}.sr{ext}"))
        else:
            jobs.append((p, (p.parent if out is None else out) / f"{p.stem}.sr{ext}"))
    return jobs


def companion_paths(output: str | os.PathLike) -> tuple[Path, Path]:
    """Where ``--compare`` writes: ``<base>.cubic<ext>`` and ``<base>.compare.png`` beside ``output``
    (``<base>`` is the output's stem without a trailing ``.sr``)."""
    output = Path(output)
    base = output.stem[:-3] if output.stem.endswith(".sr") else output.stem
    return output.with_name(f"{base}.cubic{output.suffix}"), output.with_name(f"{base}.compare.png")


def compare_figure(
    panels: list[tuple[str, str | os.PathLike[str]]],
    out_png: str | os.PathLike[str],
    seconds: float = 30.0,
    max_hz: float | None = None,
    force: bool = False,
) -> Path:
    """Spectrograms of audio files stacked in one PNG (:func:`wavesr.report.plots.make_figure`).

    ``panels`` are ``(title, path)`` pairs, e.g. input / cubic / super-resolved. At most the first
    ``seconds`` of each file are shown, channels averaged; every panel's frequency axis goes up to
    ``max_hz`` (default: the highest Nyquist frequency among them), so missing bands show as empty.
    """
    import soundfile as sf

    from .report.plots import Panel, save_spectrograms

    shown = []
    for title, path in panels:
        with sf.SoundFile(os.fsencode(path)) as f:
            x = f.read(int(seconds * f.samplerate), dtype="float32", always_2d=True).mean(axis=1)
            shown.append(Panel(f"{title} ({f.samplerate:g} Hz)", x, f.samplerate))
    return save_spectrograms(shown, out_png, max_hz=max_hz, force=force)
