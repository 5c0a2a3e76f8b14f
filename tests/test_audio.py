import numpy as np
import pytest
import scipy.interpolate
import scipy.signal
import soundfile as sf
from conftest import tone

from wavesr import audio
from wavesr.errors import WavesrError

# ------------------------------------------------------------------------------------ I/O


@pytest.mark.parametrize(
    "fmt,subtype,tol",
    [
        ("WAV", "PCM_U8", 1 / 64),
        ("WAV", "PCM_16", 1e-4),
        ("WAV", "PCM_24", 1e-6),
        ("WAV", "PCM_32", 1e-6),
        ("WAV", "FLOAT", 0),
        ("WAV", "DOUBLE", 1e-7),
        ("FLAC", "PCM_16", 1e-4),
        ("FLAC", "PCM_24", 1e-6),
    ],
)
@pytest.mark.parametrize("channels", [1, 2, 5])
def test_load_any_depth_and_channels(tmp_path, rng, fmt, subtype, tol, channels):
    x = (0.5 * rng.uniform(-1, 1, size=(channels, 4000))).astype(np.float32)
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, x.T, 22050, subtype=subtype, format=fmt)
    y, sr = audio.load(path)
    assert sr == 22050 and y.dtype == np.float32 and y.shape == (channels, 4000)
    assert np.max(np.abs(y - x)) <= tol + 1e-7
    mono, _ = audio.load(path, mono=True)
    assert mono.shape == (4000,)


def test_load_lossy_ogg_and_resample_on_load(tmp_path):
    x = tone([440, 1000], sr=44100, seconds=0.5)
    path = tmp_path / "x.ogg"
    sf.write(path, x, 44100, format="OGG", subtype="VORBIS")
    y, sr = audio.load(path, sr=16000, mono=True)
    assert sr == 16000 and abs(y.size - 8000) <= 1
    ref = audio.resample(x, 44100, 16000)
    n = min(y.size, ref.size)
    assert np.sqrt(np.mean((y[:n] - ref[:n]) ** 2)) < 0.02  # Vorbis is lossy, but close


@pytest.mark.parametrize("content,reason", [(b"", "empty file"), (b"not audio at all" * 10, "cannot decode")])
def test_load_bad_files_raise_one_line(tmp_path, content, reason):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(WavesrError, match=reason) as e:
        audio.load(path)
    assert "\n" not in str(e.value) and "bad.wav" in str(e.value)


def test_load_missing_file(tmp_path):
    with pytest.raises(WavesrError, match="no such file"):
        audio.load(tmp_path / "nope.wav")


def test_save_roundtrip_atomic_and_no_overwrite(tmp_path, rng):
    x = (0.5 * rng.uniform(-1, 1, size=(2, 1000))).astype(np.float32)
    out = tmp_path / "sub" / "out.flac"
    audio.save(out, x, 16000)
    assert sf.info(out).subtype == "PCM_16" and sf.info(out).channels == 2
    with pytest.raises(WavesrError, match="already exists"):
        audio.save(out, x, 16000)
    audio.save(out, x[:, :10], 16000, force=True)
    assert sf.info(out).frames == 10
    audio.save(tmp_path / "f.wav", x[0], 8000, subtype="FLOAT")
    y, sr = audio.load(tmp_path / "f.wav")
    np.testing.assert_array_equal(y[0], x[0])
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["f.wav", "out.flac"]


def test_save_failure_leaves_nothing(tmp_path):
    with pytest.raises(Exception):
        audio.save(tmp_path / "x.wav", np.zeros(10), 16000, subtype="NOT_A_SUBTYPE")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(WavesrError, match=".wav or .flac"):
        audio.save(tmp_path / "x.mp4", np.zeros(10), 16000)


def test_find_audio(tmp_path):
    for name in ["a/x.wav", "a/b/y.FLAC", "z.ogg", "notes.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in audio.find_audio(tmp_path)] == [
        "a/b/y.FLAC",
        "a/x.wav",
        "z.ogg",
    ]


# ------------------------------------------------------------------------------ resampling


def test_resample_keeps_a_tone():
    x = tone(1000, sr=44100)
    y = audio.resample(x, 44100, 16000)
    assert y.shape == (16000,)
    ref = tone(1000, sr=16000)
    assert np.max(np.abs(y[200:-200] - ref[200:-200])) < 1e-3
    stereo = audio.resample(np.stack([x, -x]), 44100, 16000)
    assert stereo.shape == (2, 16000)
    np.testing.assert_allclose(stereo[1], -stereo[0], atol=1e-6)


# ------------------------------------------------------------------------------ degrade


@pytest.mark.parametrize("ratio", [2, 3, 4, 6, 8])
def test_decimate_is_the_papers(rng, ratio):
    x = rng.standard_normal(5001).astype(np.float64)
    np.testing.assert_allclose(
        audio.degrade(x, ratio, "decimate"), scipy.signal.decimate(x, ratio), atol=1e-8
    )


@pytest.mark.parametrize("method", audio.DEGRADE_CHANNELS)
@pytest.mark.parametrize("n", [1, 2, 7, 28, 1000, 1001])
@pytest.mark.parametrize("ratio", [2, 3, 4, 6, 8, 11])
def test_degrade_lengths_any_n_any_ratio(method, n, ratio, rng):
    x = rng.standard_normal((2, n)).astype(np.float32)
    y = audio.degrade(x, ratio, method)
    assert y.shape == (2, -(-n // ratio)) and y.dtype == np.float32 and np.all(np.isfinite(y))


def test_subsample_is_plain_stride(rng):
    x = rng.standard_normal(999).astype(np.float32)
    np.testing.assert_array_equal(audio.degrade(x, 3, "subsample"), x[::3])


@pytest.mark.parametrize("method", ["decimate", "sinc"])
def test_antialiased_methods_keep_passband_and_remove_stopband(method):
    sr, ratio = 16000, 4
    low, high = tone(500, sr), tone(3500, sr)  # low-res Nyquist is 2000 Hz
    y_low = audio.degrade(low, ratio, method)
    ref = tone(500, sr // ratio)
    assert np.max(np.abs(y_low[100:-100] - ref[100:-100])) < 0.01
    assert np.sqrt(np.mean(audio.degrade(high, ratio, method)[100:-100] ** 2)) < 0.01
    aliased = audio.degrade(high, ratio, "subsample")
    assert np.sqrt(np.mean(aliased**2)) > 0.1  # plain subsampling folds 3500 Hz down to 500 Hz


def test_telephone_keeps_300_to_3400_hz_at_8_khz():
    sr, ratio = 16000, 2

    def gain_db(freq):
        y = audio.degrade(tone(freq, sr), ratio, "telephone")[400:-400]
        return 20 * np.log10(np.sqrt(np.mean(y**2)) / (0.3 / np.sqrt(2)) + 1e-12)  # tone(): amplitude 0.3

    for freq, lo, hi in [
        (100, -300, -40),
        (1000, -0.5, 0.5),
        (3000, -2.5, 0.5),
        (3800, -300, -15),
        (6000, -300, -60),
    ]:
        assert lo < gain_db(freq) < hi, (freq, gain_db(freq))
    # the 1 kHz tone comes through with the noise of an 8-bit logarithmic codec (~38 dB SNR)
    y = audio.degrade(tone(1000, sr), ratio, "telephone")[400:-400]
    ref = tone(1000, sr // ratio)[400:-400]
    snr = 10 * np.log10(np.sum(ref**2) / np.sum((y - ref) ** 2))
    assert 30 < snr < 45, snr


def test_mulaw_is_an_8_bit_logarithmic_code():
    x = np.linspace(-1, 1, 100001)
    y = audio.mulaw(x)
    assert len(np.unique(y)) == 255 and np.abs(y).max() <= 1.0
    assert np.allclose(audio.mulaw(y), y, atol=1e-12)  # decoded values are codes already
    assert np.allclose(
        audio.mulaw(np.array([3.0, -7.0])), [1.0, -1.0], atol=1e-12
    )  # beyond full scale: clipped

    def snr(a):
        s = a * np.sin(np.linspace(0, 200 * np.pi, 40000))
        return 10 * np.log10(np.sum(s**2) / np.sum((audio.mulaw(s) - s) ** 2))

    assert (
        35 < snr(1.0) < 41 and snr(0.03) > 32
    )  # the same relative precision 30 dB down (linear 8 bit: ~19 dB)


def test_degrade_rejects_bad_ratio_and_method():
    with pytest.raises(WavesrError, match="integer >= 2"):
        audio.degrade(np.zeros(10), 1)
    with pytest.raises(WavesrError, match="integer >= 2"):
        audio.degrade(np.zeros(10), 2.5)
    with pytest.raises(WavesrError, match="unknown channel"):
        audio.degrade(np.zeros(10), 2, "magic")


# ------------------------------------------------------------------------------ interpolate


@pytest.mark.parametrize("ratio", [2, 4, 6])
def test_cubic_matches_original_splrep(rng, ratio):
    lr = rng.standard_normal(300)
    n = lr.size * ratio
    f = scipy.interpolate.splrep(np.arange(n, step=ratio), lr)  # the original code's upsample()
    expected = scipy.interpolate.splev(np.arange(n), f)
    np.testing.assert_allclose(audio.interpolate(lr, ratio, "cubic"), expected, atol=1e-8)


@pytest.mark.parametrize("method", audio.INTERPOLATE_METHODS)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 50])
def test_interpolate_lengths(method, n, rng):
    lr = rng.standard_normal((3, n)).astype(np.float32)
    assert audio.interpolate(lr, 4, method).shape == (3, 4 * n)
    assert audio.interpolate(lr, 4, method, length=4 * n - 3).shape == (3, 4 * n - 3)


def test_interpolation_passes_through_samples_and_recovers_a_slow_tone():
    sr, ratio = 16000, 4
    x = tone(300, sr)
    lr = audio.degrade(x, ratio, "subsample")
    cubic = audio.interpolate(lr, ratio, "cubic")
    np.testing.assert_allclose(cubic[::ratio], lr, atol=1e-6)
    for method in audio.INTERPOLATE_METHODS:
        y = audio.interpolate(lr, ratio, method, length=x.size)
        assert np.max(np.abs(y[400:-400] - x[400:-400])) < 0.01, method


# ------------------------------------------------------------------------------ bandwidth


def test_bandwidth_finds_a_lowpass_cliff(rng):
    sr = 44100
    noise = rng.standard_normal(sr * 2)
    sos = scipy.signal.ellip(10, 0.1, 90, 7000, fs=sr, output="sos")  # a codec-like cliff at 7 kHz
    low = scipy.signal.sosfilt(sos, noise) + 1e-6 * rng.standard_normal(noise.size)
    assert 6750 <= audio.bandwidth(low, sr) <= 8500  # the filter's transition band reaches ~8 kHz
    tone_in_noise = np.sin(2 * np.pi * 1000 * np.arange(noise.size) / sr) + 1e-3 * noise
    assert audio.bandwidth(tone_in_noise, sr) <= 1500  # a flat noise floor is not bandwidth
    assert audio.bandwidth(noise, sr) >= 21000
    assert audio.bandwidth(np.zeros(1000), sr) == 0.0


@pytest.mark.parametrize("ratio", [2, 4, 6])
def test_keep_band_takes_the_low_band_from_one_signal_and_the_rest_from_the_other(ratio, rng):
    sr, n = 16000, 32000
    nyq_lr = sr / (2 * ratio)
    t = np.arange(n) / sr
    sine = lambda f: np.sin(2 * np.pi * f * t).astype(np.float32)  # noqa: E731
    given = sine(0.5 * nyq_lr) + sine(0.9 * nyq_lr)
    estimate = 0.3 * sine(0.5 * nyq_lr + 37) + sine(1.05 * nyq_lr) + sine(1.6 * nyq_lr)
    out = audio.keep_band(given, estimate, ratio)
    mid = slice(2000, -2000)  # away from the ends, where the FIR sees zeros
    expected = sine(0.5 * nyq_lr) + sine(0.9 * nyq_lr) + sine(1.05 * nyq_lr) + sine(1.6 * nyq_lr)
    assert np.abs(out[mid] - expected[mid]).max() < 0.01
    assert out.dtype == np.float32 and out.shape == estimate.shape
    two = audio.keep_band(np.stack([given, given]), np.stack([estimate, -estimate]), ratio)
    assert np.abs(two[0] - out).max() < 1e-6 and two.shape == (2, n)
    with pytest.raises(ValueError, match="shape mismatch"):
        audio.keep_band(given, estimate[:-1], ratio)
    taps = audio.crossover_taps(ratio)
    assert len(taps) % 2 == 1 and np.allclose(taps, taps[::-1])  # linear phase: no delay
