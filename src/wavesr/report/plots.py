"""Spectrogram figures: Figure 2 of Kuleshov et al. (2017) for any file, ratio and model.

Figure 2 of the paper stacks the spectrograms of a high-resolution speech signal, its version
subsampled at r = 4 and the network's reconstruction; wavesr adds the cubic interpolation, the
baseline, as a fourth panel. Every panel here:

* is a power spectrum in dB, ``10 log10(P + 1e-12)``, from ``scipy.signal.spectrogram`` with a
  Hann window of ``window_seconds`` (32 ms) and 75 % overlap, scaled as a *spectrum*
  (``|X|^2 / (sum w)^2``), so a sine has the same level whatever the panel's sample rate;
* has time in seconds and frequency in Hz, with the same axes for all panels (the low-rate panel
  is empty above its Nyquist frequency: that is the missing band);
* shares one colour scale: the loudest value over all panels down to ``dynamic_range_db`` below it.

Figures are drawn with matplotlib's object API on an Agg canvas (no pyplot, no display needed),
written atomically as PNG or SVG by the output's extension.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.signal

from ..errors import WavesrError
from ..files import atomic_path, software_tag

WINDOW_SECONDS = 0.032
DYNAMIC_RANGE_DB = 80.0
FORMATS = (".png", ".svg", ".pdf")


@dataclass
class Panel:
    """One spectrogram: a title, mono audio ``[time]`` and its sample rate (may be fractional)."""

    title: str
    audio: np.ndarray
    sr: float


def spectrogram_db(
    x: np.ndarray, sr: float, window_seconds: float = WINDOW_SECONDS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(freqs [F] Hz, times [T] s, power [F, T] dB)`` of a mono signal (see the module docstring)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise WavesrError(f"a spectrogram needs a non-empty mono signal, got shape {list(x.shape)}")
    nperseg = int(min(x.size, max(16, 2 ** round(np.log2(window_seconds * sr)))))
    f, t, p = scipy.signal.spectrogram(
        x, fs=sr, window="hann", nperseg=nperseg, noverlap=nperseg * 3 // 4, scaling="spectrum", mode="psd"
    )
    return f, t, 10 * np.log10(p + 1e-12)


def make_figure(
    panels: Sequence[Panel],
    title: str | None = None,
    max_hz: float | None = None,
    dynamic_range_db: float = DYNAMIC_RANGE_DB,
    window_seconds: float = WINDOW_SECONDS,
) -> Any:
    """A matplotlib ``Figure`` with one spectrogram per panel, stacked, and a shared colour bar.

    ``max_hz`` is the top of every frequency axis (default: the highest Nyquist frequency).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not panels:
        raise WavesrError("a figure needs at least one panel")
    specs = [spectrogram_db(p.audio, p.sr, window_seconds) for p in panels]
    top = max(s[2].max() for s in specs)
    vmax = float(np.ceil(top / 10) * 10)
    vmin = vmax - dynamic_range_db
    max_hz = max_hz or max(p.sr for p in panels) / 2
    seconds = max(p.audio.size / p.sr for p in panels)

    fig = Figure(figsize=(10, 1.9 * len(panels) + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    image = None
    for ax, panel, (f, t, db) in zip(axes, panels, specs):
        hop = (t[1] - t[0]) if t.size > 1 else panel.audio.size / panel.sr
        extent = (t[0] - hop / 2, t[-1] + hop / 2, 0.0, float(f[-1]))
        image = ax.imshow(
            db,
            origin="lower",
            aspect="auto",
            extent=extent,
            cmap="magma",
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
        )
        ax.set_xlim(0, seconds)
        ax.set_ylim(0, max_hz)
        rate = f"{panel.sr:.0f}" if float(panel.sr).is_integer() else f"{panel.sr:.2f}"
        ax.set_title(f"{panel.title} ({rate} Hz)", fontsize=10, loc="left")
        ax.set_ylabel("frequency (Hz)")
    axes[-1].set_xlabel("time (s)")
    assert image is not None  # at least one panel
    fig.colorbar(image, ax=list(axes), label="power (dB)", shrink=0.9, pad=0.01)
    if title:
        fig.suptitle(title)
    return fig


def save_figure(fig: Any, out: str | os.PathLike, force: bool = False, dpi: int = 100) -> Path:
    """Write ``fig`` as PNG, SVG or PDF (by the extension), atomically."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise WavesrError(f"{out}: figure must be {', '.join(FORMATS)}")
    with atomic_path(out, force=force) as tmp:
        fmt = out.suffix[1:].lower()
        fig.savefig(
            tmp, format=fmt, dpi=dpi, metadata={"Software" if fmt == "png" else "Creator": software_tag()}
        )
    return out


def save_spectrograms(
    panels: Sequence[Panel],
    out: str | os.PathLike,
    title: str | None = None,
    force: bool = False,
    **options: Any,
) -> Path:
    """:func:`make_figure` then :func:`save_figure`."""
    return save_figure(make_figure(panels, title=title, **options), out, force=force)
