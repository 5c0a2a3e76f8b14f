import numpy as np
import pytest
import scipy.signal

from wavesr import metrics


def test_snr_of_signal_plus_noise_at_known_level(rng):
    y = rng.standard_normal(160000)
    for target_db in (0.0, 10.0, 25.0):
        noise = rng.standard_normal(y.size)
        noise *= np.sqrt(np.sum(y**2) / np.sum(noise**2) / 10 ** (target_db / 10))
        assert abs(metrics.snr(y, y + noise) - target_db) < 0.1


def test_snr_per_patch_and_perfect_estimate(rng):
    y = rng.standard_normal((4, 1000))
    x = y + 0.1 * rng.standard_normal((4, 1000))
    per_patch = metrics.snr(y, x)
    assert per_patch.shape == (4,)
    np.testing.assert_allclose(per_patch[2], metrics.snr(y[2], x[2]))
    assert np.isfinite(metrics.snr(y[0], y[0])) and metrics.snr(y[0], y[0]) > 150
    with pytest.raises(ValueError):
        metrics.snr(y[0], y[0, :10])


@pytest.mark.parametrize("convention", metrics.LSD_CONVENTIONS)
def test_lsd_of_identical_signals_is_zero(rng, convention):
    x = rng.standard_normal(20000)
    assert metrics.lsd(x, x, convention) == 0.0


def test_lsd_of_a_known_gain(rng):
    """Doubling the amplitude adds ln 4 (kuleshov) or log10 4 (standard) to every log power."""
    y = rng.standard_normal(32000)
    assert metrics.lsd(y, 2 * y, "kuleshov") == pytest.approx(np.log(4), rel=1e-6)
    assert metrics.lsd(y, 2 * y, "standard") == pytest.approx(np.log10(4), rel=1e-6)


def _independent_power(x, n_fft=2048, hop=512):
    """Per-frame loop with scipy's periodic Hann window and librosa-style reflect padding."""
    win = scipy.signal.get_window("hann", n_fft)
    xp = np.pad(x, n_fft // 2, mode="reflect")
    frames = [
        np.abs(np.fft.fft(xp[s : s + n_fft] * win)[: n_fft // 2 + 1]) ** 2
        for s in range(0, xp.size - n_fft + 1, hop)
    ]
    return np.array(frames).T  # [freq, time], librosa's layout


def test_both_lsd_conventions_against_independent_computation():
    t = np.arange(24000) / 16000
    y = np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 5000 * t) * np.exp(-t)
    x = scipy.signal.lfilter([1, 0.5], [1], y) + 0.01 * np.cos(2 * np.pi * 100 * t)
    s1, s2 = _independent_power(y), _independent_power(x)
    # the original code: mean over bins of sqrt(mean over time of squared ln-power difference)
    ln = np.log(s1 + 1e-8) - np.log(s2 + 1e-8)
    kuleshov = np.mean([np.sqrt(np.mean(ln[k] ** 2)) for k in range(ln.shape[0])])
    lg = np.log10(s1 + 1e-10) - np.log10(s2 + 1e-10)
    standard = np.mean([np.sqrt(np.mean(lg[:, t] ** 2)) for t in range(lg.shape[1])])
    assert metrics.lsd(y, x, "kuleshov") == pytest.approx(min(kuleshov, 10.0), rel=1e-9)
    assert metrics.lsd(y, x, "standard") == pytest.approx(standard, rel=1e-9)


def test_kuleshov_lsd_is_capped_at_ten(rng):
    y = rng.standard_normal(8000)
    assert metrics.lsd(y, np.zeros_like(y), "kuleshov") == 10.0
    assert metrics.lsd(y, np.zeros_like(y), "standard") > 10.0


def test_lsd_hf_and_lf_split_at_lowres_nyquist(rng):
    sr, ratio = 16000, 4
    y = rng.standard_normal(32000)
    spectrum = np.fft.rfft(y)
    spectrum[np.fft.rfftfreq(y.size, 1 / sr) > 2400] = 0
    low_only = np.fft.irfft(spectrum, y.size)  # the low band kept, the high band gone
    assert metrics.lsd_lf(y, low_only, sr, ratio) < 0.25
    assert metrics.lsd_hf(y, low_only, sr, ratio) > 3.0
    assert metrics.lsd_hf(y, low_only, sr, ratio, "kuleshov") > metrics.lsd(y, low_only, "kuleshov") * 0.9


def test_short_signals_and_bad_convention(rng):
    y = rng.standard_normal(100)
    assert metrics.lsd(y, y, "standard") == 0.0
    with pytest.raises(ValueError, match="unknown LSD convention"):
        metrics.lsd(y, y, "other")


def test_evaluate_pair_reports_every_metric(rng):
    y = rng.standard_normal(16000)
    out = metrics.evaluate_pair(y, 0.9 * y, 16000, 4)
    assert set(out) == {"snr", "lsd", "lsd_standard", "lsd_hf", "lsd_lf"}
    assert out["snr"] == pytest.approx(20.0, abs=1e-6)
