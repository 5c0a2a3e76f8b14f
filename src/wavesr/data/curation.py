"""What every default corpus build does to its files: measure them, drop those that cannot serve
as high-resolution audio, split them by group into train / val / test, and link them into place.

Shared by :mod:`wavesr.data.defaults` (corpora from Debian packages) and :mod:`wavesr.data.piano`
(renderings of music21's scores), so that every default corpus follows the same rules.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import audio
from ..errors import WavesrError
from .corpus import stable_fraction

SILENCE_DB = -60.0  # files quieter than this (RMS, dBFS) are dropped as silent
HELD_OUT = {"val": 0.1, "test": 0.1}  # fractions of the audio held out by group_split
SPLIT_KEY = "wavesr-default-v1"  # salt of the stable group order
WORKERS = 2  # decoding processes of a build
# A full-band corpus keeps the files whose real content (audio.cutoff) reaches this share of the
# target's Nyquist frequency: 18.7 kHz at 44.1 kHz, the band a full-band model is trained to restore.
FULLBAND_SHARE = 0.85


def measure(path: str | os.PathLike, min_sr: int = 0, fullband: bool = False) -> dict[str, Any]:
    """Decode ``path``: its rate, channels, duration (s), bandwidth (Hz) and RMS level (dBFS), and
    with ``fullband`` where its real content ends (``cutoff``, :func:`wavesr.audio.cutoff`).

    A file whose header rate is below ``min_sr`` is not decoded (rate, channels and duration
    only). Returns ``{"error": message}`` instead when the file cannot be decoded.
    """
    try:
        info = audio.info(path)
        if info.samplerate < min_sr:
            return {
                "sr": info.samplerate,
                "channels": info.channels,
                "duration": info.frames / info.samplerate,
            }
        x, sr = audio.load(path)
    except WavesrError as e:
        return {"error": str(e)}
    rms = float(np.linalg.norm(x)) / math.sqrt(x.size)
    out = {
        "sr": sr,
        "channels": int(x.shape[0]),
        "duration": x.shape[1] / sr,
        "bandwidth": audio.bandwidth(x, sr),
        "level_db": 20 * math.log10(rms + 1e-12),
    }
    if fullband:
        out["cutoff"] = audio.cutoff(x, sr)
    return out


def drop_reason(m: dict[str, Any], target_sr: int) -> str | None:
    """Why a measured file (see :func:`measure`) cannot serve as high-resolution audio at ``target_sr``.

    ``unreadable``, ``low_rate`` (sample rate below the target's), ``silent`` (RMS below
    ``SILENCE_DB``), ``narrowband`` (bandwidth below ``target_sr / 2``; for a full-band measurement,
    content ending below ``FULLBAND_SHARE`` of it), or None to keep it.
    """
    if "error" in m:
        return "unreadable"
    if m["sr"] < target_sr:
        return "low_rate"
    if m["level_db"] < SILENCE_DB:
        return "silent"
    if "cutoff" in m:
        return "narrowband" if m["cutoff"] < FULLBAND_SHARE * target_sr / 2 else None
    if m["bandwidth"] < target_sr / 2:
        return "narrowband"
    return None


def group_split(
    durations: dict[str, float],
    val: float = HELD_OUT["val"],
    test: float = HELD_OUT["test"],
    key: str = SPLIT_KEY,
) -> dict[str, str]:
    """Assign whole groups to ``train`` / ``val`` / ``test`` by duration.

    Groups are visited in a stable pseudo-random order (sha1 of ``key`` and the group name). Each
    goes to the first held-out split (test, then val) that is still below its target share of
    the total duration and that it would not push more than 50 % past that target; every other
    group trains. A held-out split left empty then takes the shortest training group, as long
    as training keeps at least one. Depends only on the names and durations, so it never changes.

    Parameters
    ----------
    durations : seconds of audio per group.
    val, test : target fractions of the total duration.
    """
    total = sum(durations.values())
    targets = {"test": test * total, "val": val * total}
    filled = {"test": 0.0, "val": 0.0}
    out = {}
    for g in sorted(durations, key=lambda g: (stable_fraction(f"{key}/{g}"), g)):
        d = durations[g]
        split = next(
            (s for s in ("test", "val") if filled[s] < targets[s] and filled[s] + d <= 1.5 * targets[s]),
            "train",
        )
        out[g] = split
        if split != "train":
            filled[split] += d
    for s in ("test", "val"):
        train = sorted((g for g in out if out[g] == "train"), key=lambda g: (durations[g], g))
        if targets[s] > 0 and filled[s] == 0 and len(train) > 1:
            out[train[0]] = s
    return out


@contextlib.contextmanager
def worker_pool(n_tasks: int) -> Iterator[Callable]:
    """An ordered ``imap`` over ``WORKERS`` spawned processes (in-process for a handful of tasks)."""
    if n_tasks < 8 or WORKERS < 2:
        yield map
        return
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        yield lambda fn, xs: pool.imap(fn, xs, chunksize=4)


def link_or_copy(src: Path, dest: Path) -> None:
    """Hard-link ``src`` at ``dest`` (no extra disk), or copy it where links cannot be made."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
