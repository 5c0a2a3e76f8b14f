"""Quality metrics: signal-to-noise ratio and log-spectral distance (LSD).

All functions take the reference (the true high-resolution signal) first and the estimate
second, as numpy arrays ``[time]`` (or ``[..., time]`` for SNR), and are pure.

Two LSD conventions exist in the literature and give very different numbers:

``kuleshov``
    As the original audio-super-res code computed it, and the scale of Table 1 of Kuleshov et
    al. (2017): unnormalised STFT (n_fft 2048, hop 512, periodic Hann window, centred frames with
    reflect padding, as librosa), ``S = ln(|X|^2 + 1e-8)``, then the RMS over *time* for each
    frequency bin, averaged over bins, capped at 10. (The original also adds 1e-8 inside the
    square root, a constant floor of about 1e-4 that is left out here so that LSD(x, x) = 0.)
``standard``
    The later literature (NU-Wave, AERO, AP-BWE): same STFT, ``S = log10(|X|^2 + 1e-10)``, the
    RMS over *frequency* in each frame, averaged over frames; no cap.
``clamped``
    As ``standard`` with the power clamped below at 1e-8 instead of offset, ``log10(max(|X|^2,
    1e-8))``, as the full-band literature's code computes it (NU-Wave 2, AP-BWE): the full-band
    protocol (:mod:`wavesr.fullband`) reports it.

LSD-HF and LSD-LF restrict either convention to the bins above / below the low-resolution
Nyquist frequency ``sr / (2 r)``.
"""

from __future__ import annotations

import numpy as np

N_FFT = 2048
HOP_LENGTH = 512
LSD_CONVENTIONS = ("kuleshov", "standard", "clamped")
KULESHOV_CAP = 10.0
_EPS_SNR = 1e-20


def snr(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray | float:
    """Signal-to-noise ratio in dB along the last axis.

    ``SNR(x, y) = 10 log10(||y||^2 / ||y - x||^2)`` for reference ``y`` and estimate ``x``.
    On a whole file it is the per-file SNR; on ``[patches, time]`` it returns one value per
    patch (tables say which they average). A tiny constant (1e-20) in numerator and denominator
    keeps a perfect estimate finite (about +200 dB for unit-power signals).
    """
    y = np.asarray(reference, dtype=np.float64)
    x = np.asarray(estimate, dtype=np.float64)
    if y.shape != x.shape:
        raise ValueError(f"shape mismatch: reference {y.shape} vs estimate {x.shape}")
    signal = np.sum(y**2, axis=-1)
    noise = np.sum((y - x) ** 2, axis=-1)
    out = 10 * np.log10((signal + _EPS_SNR) / (noise + _EPS_SNR))
    return float(out) if np.ndim(out) == 0 else out


def stft_power(audio: np.ndarray, n_fft: int = N_FFT, hop: int = HOP_LENGTH) -> np.ndarray:
    """Power spectrogram ``|STFT|^2`` as ``[frames, n_fft // 2 + 1]`` (unnormalised).

    Frames are centred (the signal is padded by ``n_fft // 2`` on both sides: reflect padding
    as librosa, or zeros when the signal is too short to reflect), windowed by a periodic Hann
    window and transformed with a real FFT.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {x.shape}")
    pad = n_fft // 2
    x = np.pad(x, pad, mode="reflect" if x.size > pad else "constant")
    n_frames = 1 + (x.size - n_fft) // hop
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:n_frames]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    return np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2


def _band_mask(n_bins: int, sr: float | None, band: tuple[float, float] | None) -> np.ndarray:
    if band is None:
        return np.ones(n_bins, dtype=bool)
    if sr is None:
        raise ValueError("a frequency band needs the sample rate")
    freqs = np.arange(n_bins) * sr / (2 * (n_bins - 1))
    lo, hi = band
    return (freqs >= lo) & (freqs <= hi)


def lsd(
    reference: np.ndarray,
    estimate: np.ndarray,
    convention: str = "kuleshov",
    sr: float | None = None,
    band: tuple[float, float] | None = None,
) -> float:
    """Log-spectral distance between two 1-D signals (see the module docstring for conventions).

    Parameters
    ----------
    reference, estimate : ``[time]``, same length.
    convention : ``"kuleshov"`` (natural log, RMS over time per bin, mean over bins, cap 10),
        ``"standard"`` (log10, RMS over frequency per frame, mean over frames) or ``"clamped"``.
    sr, band : restrict to STFT bins with frequency in ``[band[0], band[1]]`` Hz.
    """
    y = np.asarray(reference)
    x = np.asarray(estimate)
    if y.shape != x.shape:
        raise ValueError(f"shape mismatch: reference {y.shape} vs estimate {x.shape}")
    p_ref, p_est = stft_power(y), stft_power(x)
    mask = _band_mask(p_ref.shape[1], sr, band)
    if convention == "kuleshov":
        diff = np.log(p_ref[:, mask] + 1e-8) - np.log(p_est[:, mask] + 1e-8)
        value = float(np.mean(np.sqrt(np.mean(diff**2, axis=0))))  # RMS over time, mean over bins
        return min(value, KULESHOV_CAP)
    if convention == "standard":
        diff = np.log10(p_ref[:, mask] + 1e-10) - np.log10(p_est[:, mask] + 1e-10)
        return float(np.mean(np.sqrt(np.mean(diff**2, axis=1))))  # RMS over freq, mean over frames
    if convention == "clamped":
        diff = np.log10(np.maximum(p_ref[:, mask], 1e-8)) - np.log10(np.maximum(p_est[:, mask], 1e-8))
        return float(np.mean(np.sqrt(np.mean(diff**2, axis=1))))
    raise ValueError(f"unknown LSD convention {convention!r} (choose from {', '.join(LSD_CONVENTIONS)})")


def lsd_hf(
    reference: np.ndarray, estimate: np.ndarray, sr: float, ratio: int, convention: str = "standard"
) -> float:
    """LSD over the bins above the low-resolution Nyquist frequency ``sr / (2 ratio)``."""
    return lsd(reference, estimate, convention, sr=sr, band=(sr / (2 * ratio), sr / 2))


def lsd_lf(
    reference: np.ndarray, estimate: np.ndarray, sr: float, ratio: int, convention: str = "standard"
) -> float:
    """LSD over the bins up to the low-resolution Nyquist frequency ``sr / (2 ratio)``."""
    return lsd(reference, estimate, convention, sr=sr, band=(0.0, sr / (2 * ratio)))


def evaluate_pair(reference: np.ndarray, estimate: np.ndarray, sr: float, ratio: int) -> dict[str, float]:
    """Every metric a table reports, for one mono file: SNR, both LSDs, LSD-HF, LSD-LF."""
    return {
        "snr": float(snr(reference, estimate)),
        "lsd": lsd(reference, estimate, "kuleshov"),
        "lsd_standard": lsd(reference, estimate, "standard"),
        "lsd_hf": lsd_hf(reference, estimate, sr, ratio),
        "lsd_lf": lsd_lf(reference, estimate, sr, ratio),
    }
