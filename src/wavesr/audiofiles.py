"""Upsampling audio files: one file streamed through :class:`wavesr.inference.Stream` into a WAV
or FLAC file written atomically, with what was done (:class:`UpsampleResult`).

The input is read in blocks (fewer frames per block for many channels), so memory stays bounded
whatever the file's length or channel count. :mod:`wavesr.batch` runs many files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
import torch

from . import audio, inference
from .errors import WavesrError
from .extend import plan
from .files import atomic_path, check_input_file, check_writable, software_tag
from .inference import block_frames, chunk_bar, eval_mode

if TYPE_CHECKING:
    from .models.base import Upsampler

DEEP_SUBTYPES = ("PCM_24", "PCM_32", "FLOAT", "DOUBLE")  # input subtypes an output keeps (WAV)


@dataclass
class UpsampleResult:
    """What :func:`upsample_file` did."""

    input: str
    output: str
    sr_in: int
    sr_out: int
    channels: int
    frames_in: int
    frames_out: int
    seconds: float  # duration of the audio
    elapsed: float  # wall-clock seconds of processing
    subtype: str
    peak: float  # output peak before limiting
    samples_over: int  # output samples above full scale before limiting
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        speed = self.seconds / self.elapsed if self.elapsed > 0 else float("inf")
        return (
            f"{self.input} -> {self.output}: {self.notes[0]}, {self.channels} ch, {self.seconds:.1f} s "
            f"({self.elapsed:.1f} s, {speed:.1f}x real time)"
        )


def output_subtype(out_path: str | os.PathLike, input_subtype: str | None, subtype: str | None = None) -> str:
    """The subtype written: ``subtype`` if given (checked), else the input's when it is deeper than
    16-bit (PCM_24, PCM_32, FLOAT, DOUBLE; FLAC stores those as PCM_24), else PCM_16."""
    ext = Path(out_path).suffix.lower()
    if ext not in audio.SUBTYPES:
        raise WavesrError(f"{out_path}: output must be .wav or .flac")
    fmt = ext[1:].upper()
    if subtype is None:
        if input_subtype in DEEP_SUBTYPES:
            subtype = input_subtype if fmt == "WAV" else "PCM_24"
        else:
            subtype = audio.SUBTYPES[ext]
    subtype = subtype.upper()
    if not sf.check_format(fmt, subtype):
        raise WavesrError(
            f"{out_path}: {fmt} cannot store subtype {subtype} "
            f"(choose from {', '.join(sorted(sf.available_subtypes(fmt)))})"
        )
    return subtype


def file_rate(path: str | os.PathLike) -> int:
    """The sample rate in a file's header (a clear WavesrError when it is not audio)."""
    return int(audio.info(path).samplerate)


def upsample_file(
    model: Upsampler,
    in_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    force: bool = False,
    subtype: str | None = None,
    target_sr: int | None = None,
    chunk_seconds: float | str | None = inference.AUTO,
    overlap_seconds: float = inference.OVERLAP_SECONDS,
    device: str | torch.device | None = None,
    progress: bool = False,
    limiter: bool = True,
    passes: int | None = None,
    band: float | None = None,
    copy: bool = False,
    strength: float | None = None,
    equalize: bool | None = None,
) -> UpsampleResult:
    """Upsample an audio file into a WAV or FLAC file (by ``out_path``'s extension), streaming.

    The input is read in blocks of ``BLOCK_FRAMES``, resampled and upsampled chunk by chunk and
    written block by block into a temporary file beside ``out_path``, renamed onto it at the end
    (nothing is left behind on failure). Memory stays bounded whatever the input's length.
    A process killed outright (SIGKILL, power loss) cannot remove its temporary file: a stale
    ``.<stem>.XXXXXXXX.tmp.wav`` may remain beside ``out_path``. It never has the destination's
    name, folder scans skip it (hidden) and a rerun writes a new one; it can be deleted at will.
    A truncated input is upsampled as far as libsndfile decodes it, with a note
    (:func:`wavesr.audio.truncation`); a write that fails (full disk) is one WavesrError line.
    Refuses to replace ``out_path`` unless ``force``. ``subtype``: see :func:`output_subtype`.
    A full-band network's input is measured first (:func:`wavesr.audio.file_cutoff`, unless ``band``
    says where its content ends) and :func:`wavesr.extend.plan` decides the output rate and what is
    generated; ``copy`` runs no network (the input resampled to that rate: what sinc interpolation
    gives). Other parameters as :func:`upsample_array`.
    """
    in_path, out_path = check_input_file(in_path), Path(out_path)
    if in_path.resolve() == out_path.resolve():
        raise WavesrError(f"{in_path}: output would overwrite the input")
    info = audio.info(in_path)
    if info.frames <= 0:
        raise WavesrError(f"{in_path}: contains no samples")
    subtype = output_subtype(out_path, info.subtype, subtype)
    check_writable(out_path, force)
    start = time.perf_counter()
    extension = None
    if getattr(model, "full_band", False):  # what the file really holds decides what is generated
        measured = audio.file_cutoff(in_path) if band is None else None
        extension = plan(measured.cutoff if measured else float(band or 0), info.samplerate, target_sr)
        if copy:
            extension = replace(extension, copy=True, note="copied through without the network (sinc)")
        target_sr = extension.sr_out
    with eval_mode(model, device) as dev, inference.threads_for(info.frames / info.samplerate):
        stream = inference.Stream(
            model,
            info.samplerate,
            info.channels,
            chunk_seconds,
            overlap_seconds,
            target_sr,
            dev,
            limiter,
            name=str(in_path),
            passes=passes,
            band=extension.cutoff if extension else None,
            copy=bool(extension and extension.copy),
            strength=strength,
            equalize=equalize,
        )
        try:
            with (
                atomic_path(out_path, force=force) as tmp,
                chunk_bar(progress, stream.expected_chunks(info.frames), in_path.name) as stream.bar,
                sf.SoundFile(
                    os.fsencode(tmp),
                    "w",
                    stream.sr_out,
                    info.channels,
                    subtype,
                    format=out_path.suffix[1:].upper(),
                ) as out,
            ):
                out.software = software_tag()
                for block in read_blocks(in_path):
                    out.write(stream.push(block).T)
                out.write(stream.finish().T)
                out.close()  # inside the atomic block: a failed final flush (a full disk) is a failed write
        except sf.LibsndfileError as e:  # reading errors are WavesrErrors already: this is the output
            raise audio.write_error(out_path, e) from None
    notes = stream.notes(subtype)
    if extension is not None:
        notes.insert(0, extension.note)
    truncated = audio.truncation(info, stream.n_in)
    if truncated:
        notes.insert(1, truncated)
    return UpsampleResult(
        input=str(in_path),
        output=str(out_path),
        sr_in=info.samplerate,
        sr_out=stream.sr_out,
        channels=info.channels,
        frames_in=stream.n_in,
        frames_out=stream.n_out,
        seconds=stream.n_in / info.samplerate,
        elapsed=time.perf_counter() - start,
        subtype=subtype,
        peak=stream.peak,
        samples_over=stream.n_over,
        notes=notes,
    )


def read_blocks(path: Path) -> Iterator[np.ndarray]:
    """``[channels, BLOCK_FRAMES]`` float32 blocks of a file, decoding errors as one-line WavesrErrors."""
    try:
        with sf.SoundFile(os.fsencode(path)) as f:
            frames = block_frames(f.channels)
            while True:
                block = f.read(frames, dtype="float32", always_2d=True)
                if not len(block):
                    return
                yield block.T
    except (sf.LibsndfileError, RuntimeError) as e:
        raise audio.decode_error(path, e) from None
