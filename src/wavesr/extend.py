"""What a full-band upsampling does with an input: the output rate, the band kept, or nothing at all.

A full-band network (:class:`wavesr.models.band.BandNet`) takes audio at any rate and bandwidth.
Before it runs, the input's real content is measured (:func:`wavesr.audio.cutoff`, whatever the
container's rate) and :func:`plan` decides:

- the output rate: ``target_sr`` when given, else 44.1 kHz for inputs of the 44.1 kHz family
  (11.025, 22.05, 44.1, 88.2 kHz, ...) and 48 kHz for all others;
- whether anything is missing: content reaching :data:`FULL_BAND_SHARE` of the output's Nyquist
  frequency, or :data:`FULL_BAND_HZ`, is full band, and is copied through (resampled if the rate
  changes) with a note; so is silence;
- otherwise the band to keep: the input's own content below its cutoff is put back after the
  network (:func:`wavesr.audio.put_back`), so that only what is missing is generated; a model
  whose ``equalize`` is set first lifts the top of that band where the input's filter attenuated it
  (:func:`wavesr.audio.transition_gain`).

When no model is named, :func:`content_of` chooses the speech or the music model from how the
signal's level moves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

FULL_BAND_SHARE = 0.85  # as the full-band corpora's rule (wavesr.data.curation.FULLBAND_SHARE)
FULL_BAND_HZ = 18000.0  # content up to here is full band at any output rate
RATE_44K, RATE_48K = 44100, 48000


def output_rate(sr_in: float) -> int:
    """44.1 kHz for an input of that family (a whole multiple or divisor of 11.025 kHz), else 48 kHz."""
    ratio = sr_in / 11025
    family = abs(ratio - round(ratio)) < 1e-9 or abs(1 / ratio - round(1 / ratio)) < 1e-9
    return RATE_44K if family and sr_in > 0 else RATE_48K


@dataclass(frozen=True)
class Plan:
    """What is done with one input (see the module docstring)."""

    cutoff: float  # Hz where the input's real content ends (0: silent)
    sr_out: int
    copy: bool  # nothing missing: no network runs
    note: str  # what was measured and what is done, in plain words


def plan(cutoff: float, sr_in: float, target_sr: int | None = None) -> Plan:
    """The :class:`Plan` for an input at ``sr_in`` whose content ends at ``cutoff`` Hz."""
    sr_out = int(target_sr or output_rate(sr_in))
    top = sr_out / 2
    khz = f"{cutoff / 1000:.1f} kHz"
    if cutoff <= 0:
        return Plan(0.0, sr_out, True, "the input is silent: nothing to generate; copied through")
    if cutoff >= min(FULL_BAND_SHARE * top, FULL_BAND_HZ):
        return Plan(
            cutoff,
            sr_out,
            True,
            f"content already reaches {khz} (full band at {sr_out} Hz): nothing was missing; copied through"
            + (f", resampled from {sr_in:g} Hz" if sr_in != sr_out else ""),
        )
    return Plan(
        cutoff,
        sr_out,
        False,
        f"content ends at {khz} (input at {sr_in:g} Hz): the band from {khz} to {top / 1000:g} kHz "
        "is generated, the input's own band below it kept",
    )


# ------------------------------------------------------------------------- speech or music

CONTENT_SECONDS = 60.0  # the start of a file that decides
FLUX_FRAME_SECONDS = 0.02
SPEECH_FLUX_DB = 2.6  # mean level change between 20 ms frames above which a signal is speech


def level_flux(x: np.ndarray, sr: float) -> float:
    """Mean absolute change of the level (dB) between consecutive 20 ms frames, over the frames within
    50 dB of the loud ones (the 95th percentile): speech goes up and down with every syllable, music
    holds its level (the figures behind :data:`SPEECH_FLUX_DB`: docs/design.md)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64)).mean(axis=0)
    frame = max(1, int(FLUX_FRAME_SECONDS * sr))
    n = x.size // frame
    if n < 3:
        return 0.0
    level = 10 * np.log10(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    active = level[level > np.percentile(level, 95) - 50]
    return float(np.mean(np.abs(np.diff(active)))) if active.size > 2 else 0.0


def content_of(x: np.ndarray, sr: float) -> str:
    """``"speech"`` or ``"music"``: which full-band model suits ``x`` (``[time]`` or ``[channels, time]``),
    by :func:`level_flux` above :data:`SPEECH_FLUX_DB`. On the held-out test splits it names 41 of
    402 speech files music (short, even phrases) and 4 of 15 music files speech (drum hits of a
    few seconds: 3 s of the 2,249 s of music); BENCHMARKS.md has the command."""
    return "speech" if level_flux(x, sr) > SPEECH_FLUX_DB else "music"


def file_content(path: str | os.PathLike[str]) -> str:
    """:func:`content_of` the first :data:`CONTENT_SECONDS` of a file (read in bounded memory)."""
    import soundfile as sf

    from .audio import decode_error

    try:
        with sf.SoundFile(os.fsencode(path)) as f:
            x = f.read(int(CONTENT_SECONDS * f.samplerate), dtype="float32", always_2d=True).T
            return content_of(x, f.samplerate)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise decode_error(path, e) from None
