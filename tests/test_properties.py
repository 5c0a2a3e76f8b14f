"""Properties of the DSP, the metrics and upsample_array for any length, ratio and amplitude (hypothesis).

Signals are drawn as (length >= 1, kind, amplitude, seed): white noise, a sine, a constant
(DC), one impulse or silence, scaled by any amplitude from 1e-30 to 1e6.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wavesr import audio, metrics
from wavesr.errors import WavesrError
from wavesr.inference import upsample_array
from wavesr.models import build_model

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = ("noise", "sine", "dc", "impulse", "silence")


def make(n: int, kind: str, amp: float, seed: int, channels: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (n,) if channels is None else (channels, n)
    if kind == "noise":
        x = rng.standard_normal(shape)
    elif kind == "sine":
        x = np.sin(2 * np.pi * rng.uniform(0.001, 0.5) * np.arange(n) + rng.uniform(0, 6)) * np.ones(shape)
    elif kind == "dc":
        x = np.ones(shape)
    elif kind == "impulse":
        x = np.zeros(shape)
        x[..., rng.integers(n)] = 1.0
    else:
        x = np.zeros(shape)
    return (amp * x).astype(np.float32)


lengths = st.integers(1, 3000)
ratios = st.integers(2, 16)
amplitudes = st.one_of(
    st.sampled_from([1e-30, 1e-6, 1.0, 1e6]), st.floats(1e-30, 1e6).filter(lambda a: a > 0)
)
signals = st.tuples(lengths, st.sampled_from(KINDS), amplitudes, st.integers(0, 2**31))


# ------------------------------------------------------------------------------------- DSP


@SETTINGS
@given(
    signal=signals,
    ratio=ratios,
    method=st.sampled_from(audio.DEGRADE_CHANNELS),
    channels=st.sampled_from([None, 2]),
)
def test_degrade_shape_and_finite(signal, ratio, method, channels):
    x = make(*signal, channels=channels)
    y = audio.degrade(x, ratio, method)
    assert y.shape == x.shape[:-1] + (math.ceil(x.shape[-1] / ratio),) and y.dtype == np.float32
    assert np.all(np.isfinite(y))


@SETTINGS
@given(
    signal=signals,
    ratio=ratios,
    method=st.sampled_from(audio.INTERPOLATE_METHODS),
    length=st.one_of(st.none(), st.integers(1, 5000)),
)
def test_interpolate_shape_and_finite(signal, ratio, method, length):
    x = make(*signal)
    y = audio.interpolate(x, ratio, method, length=length)
    assert y.shape == (x.size * ratio if length is None else length,) and y.dtype == np.float32
    assert np.all(np.isfinite(y))


@SETTINGS
@given(signal=signals, ratio=ratios)
def test_cubic_passes_through_the_low_resolution_samples(signal, ratio):
    x = make(*signal).astype(np.float64)
    y = audio.interpolate(x, ratio, "cubic")
    scale = max(np.abs(x).max(), 1e-300)
    assert np.allclose(y[::ratio] / scale, x / scale, atol=1e-6)


@SETTINGS
@given(
    signal=signals,
    rates=st.tuples(*[st.sampled_from([2000, 4000, 7999, 8000, 11025, 16000, 22050, 44100, 96000])] * 2),
)
def test_resample_shape_and_finite(signal, rates):
    x = make(*signal, channels=2)
    y = audio.resample(x, *rates)
    assert y.shape[0] == 2 and abs(y.shape[1] - x.shape[1] * rates[1] / rates[0]) <= 1
    assert np.all(np.isfinite(y))


# ----------------------------------------------------------------------------------- metrics


@SETTINGS
@given(signal=signals)
def test_snr_of_a_perfect_estimate_is_large(signal):
    x = make(*signal)
    assume(np.sum(x.astype(np.float64) ** 2) > 1e-18)  # the 1e-20 floor makes a near-silent pair 0 dB
    assert metrics.snr(x, x) > 20


@SETTINGS
@given(signal=signals, noise_seed=st.integers(0, 2**31), scale=st.floats(1e-3, 1e3))
def test_snr_scales_correctly(signal, noise_seed, scale):
    n, kind, amp, seed = signal
    x = make(n, kind, 1.0, seed).astype(np.float64)
    assume(np.sum(x**2) > 1e-6)
    e = 0.1 * np.random.default_rng(noise_seed).standard_normal(n)
    base = metrics.snr(x, x + e)
    assert base == pytest.approx(10 * np.log10(np.sum(x**2) / np.sum(e**2)), abs=1e-6)
    assert metrics.snr(scale * x, scale * (x + e)) == pytest.approx(base, abs=1e-6)  # gain does not change it
    assert metrics.snr(x, x + 2 * e) == pytest.approx(
        base - 20 * np.log10(2), abs=1e-6
    )  # twice the error: -6 dB


@SETTINGS
@given(signal=signals, convention=st.sampled_from(metrics.LSD_CONVENTIONS))
def test_lsd_of_identical_signals_is_zero(signal, convention):
    x = make(*signal)
    assert metrics.lsd(x, x, convention) == 0.0


@SETTINGS
@given(
    a=signals,
    b_seed=st.integers(0, 2**31),
    b_kind=st.sampled_from(KINDS),
    b_amp=amplitudes,
    convention=st.sampled_from(metrics.LSD_CONVENTIONS),
)
def test_lsd_is_symmetric_finite_and_non_negative(a, b_seed, b_kind, b_amp, convention):
    x = make(*a)
    y = make(x.size, b_kind, b_amp, b_seed)
    d = metrics.lsd(x, y, convention)
    assert (
        np.isfinite(d) and d >= 0 and d == pytest.approx(metrics.lsd(y, x, convention), rel=1e-12, abs=1e-12)
    )
    if convention == "kuleshov":
        assert d <= metrics.KULESHOV_CAP


# ---------------------------------------------------------------------------- upsample_array

_SPLINES = {r: build_model("spline", ratio=r) for r in (2, 4, 6)}


@SETTINGS
@given(
    signal=st.tuples(st.integers(1, 2000), st.sampled_from(KINDS), amplitudes, st.integers(0, 2**31)),
    channels=st.integers(1, 6),
    ratio=st.sampled_from([2, 4, 6]),
    sr=st.sampled_from([2000, 4000, 7999, 8000, 11025, 16000, 44100]),
    limiter=st.booleans(),
)
def test_upsample_array_spline_any_input(signal, channels, ratio, sr, limiter):
    x = make(*signal, channels=channels)
    expected = round(x.shape[1] * 16000 / sr)
    if expected < 1:
        with pytest.raises(WavesrError, match="too short"):
            upsample_array(_SPLINES[ratio], x, sr, limiter=limiter)
        return
    y, out_sr, notes = upsample_array(
        _SPLINES[ratio], x, sr, limiter=limiter, chunk_seconds=0.1, overlap_seconds=0.02
    )
    assert y.shape == (channels, expected) and out_sr == 16000 and y.dtype == np.float32
    assert np.all(np.isfinite(y)) and notes[0].startswith(f"{sr} Hz")
    if limiter:
        assert np.max(np.abs(y)) <= 1.0
    if signal[1] == "silence":
        assert not np.any(y) and any("silent" in note for note in notes)
