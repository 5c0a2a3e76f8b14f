import glob
import math

import numpy as np
import pytest
import soundfile as sf
import torch

from wavesr import audio, inference
from wavesr.audiofiles import upsample_file
from wavesr.batch import companion_paths, plan_outputs
from wavesr.errors import WavesrError
from wavesr.inference import upsample_array
from wavesr.models import build_model


def spline(ratio: int = 4, sr: int = 16000):
    return build_model("spline", ratio=ratio, sr=sr)


def tiny_unet(ratio: int = 4, seed: int = 0):
    """A tiny random AudioUNet whose network part is as large as its cubic part (the last layer is
    re-drawn, not near zero), so chunking errors in the network would show."""
    torch.manual_seed(seed)
    model = build_model(
        "audiounet", ratio=ratio, blocks=3, filters=[8, 16, 16], kernel_sizes=[9, 5, 3], dropout=0.0
    )
    torch.nn.init.kaiming_normal_(model.last.weight)
    return model.eval()


def speechlike(sr: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Voiced harmonics with a gliding pitch and a syllable envelope, plus noise bursts (fricatives)."""
    t = np.arange(int(sr * seconds)) / sr
    phase = 2 * np.pi * np.cumsum(120 + 40 * np.sin(2 * np.pi * 0.7 * t)) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 40) if k * 160 < sr / 2)
    bursts = rng.standard_normal(t.size) * (np.sin(2 * np.pi * 0.5 * t) > 0.6)
    return (0.2 * voiced * 0.5 * (1 + np.sin(2 * np.pi * 3 * t)) + 0.05 * bursts).astype(np.float32)


def no_temp_files(folder) -> bool:
    return not glob.glob(str(folder / "**" / ".*.tmp*"), recursive=True)


# --------------------------------------------------------------------------- rates and shapes


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_array_rate_length_and_channels(rng, channels):
    x = (0.3 * rng.standard_normal((channels, 4001))).astype(np.float32)
    y, sr, notes = upsample_array(spline(), x, 4000)
    assert y.shape == (channels, 4001 * 4) and y.dtype == np.float32 and sr == 16000
    assert notes[0] == "4000 Hz -> x4 (spline) -> 16000 Hz"


@pytest.mark.parametrize("sr_in", [11025, 44100, 7999, 8000, 2000])
def test_any_input_rate_gives_the_model_rate(rng, sr_in):
    n = sr_in // 2 + 7
    y, sr, notes = upsample_array(spline(), 0.3 * rng.standard_normal((2, n)), sr_in)
    assert sr == 16000 and y.shape == (2, round(n * 16000 / sr_in))
    assert notes[0] == f"{sr_in} Hz -> resampled to 4000 Hz -> x4 (spline) -> 16000 Hz"


def test_fractional_low_rate_and_target_rate(rng):
    model = spline(ratio=6)  # low rate 2666.67 Hz
    n = 22050
    y, sr, notes = upsample_array(model, 0.3 * rng.standard_normal(n), 22050, target_sr=22050)
    assert sr == 22050 and y.shape == (1, n)
    assert (
        notes[0] == "22050 Hz -> resampled to 2666.67 Hz -> x6 (spline) -> 16000 Hz -> resampled to 22050 Hz"
    )
    # the round trip keeps a 500 Hz tone in place, up to the spline's own error (-47 dB here);
    # a shift of one output sample would be an error of 0.05 RMS
    tone = np.sin(2 * np.pi * 500 * np.arange(n) / 22050).astype(np.float32) * 0.5
    y, _, _ = upsample_array(model, tone, 22050, target_sr=22050, limiter=False)
    assert np.sqrt(np.mean((y[0, 2000:-2000] - tone[2000:-2000]) ** 2)) < 3e-3


def test_resampling_equals_one_shot_soxr(rng):
    """The streaming resampler gives the numbers of audio.resample (one shot), block edges included."""
    x = (0.3 * rng.standard_normal(3 * inference.BLOCK_FRAMES + 123)).astype(np.float32)
    y, _, _ = upsample_array(spline(), x, 11025, limiter=False)
    lr = audio.resample(x, 11025, 4000)
    ref = audio.interpolate(lr, 4)
    # the last low-rate sample may be padded or cropped to make the exact output length, which
    # moves the spline's end condition: compare up to 50 low-rate samples from the end
    assert np.max(np.abs(y[0, :-200] - ref[: y.shape[1] - 200])) < 1e-5


@pytest.mark.parametrize("n", [1, 2, 3, 50])
def test_very_short_inputs(rng, n):
    x = (0.3 * rng.standard_normal(n)).astype(np.float32)
    for model in (spline(), tiny_unet()):
        y, _, _ = upsample_array(model, x, 4000)
        assert y.shape == (1, 4 * n) and np.all(np.isfinite(y))
    y, _, _ = upsample_array(spline(), x[:1], 4000, limiter=False)
    assert np.allclose(y, x[0])  # one sample: a constant


def test_too_short_to_make_one_output_sample():
    with pytest.raises(WavesrError, match="too short"):
        upsample_array(spline(), np.zeros(1, np.float32), 44100)  # 0.36 output samples


def test_non_finite_input_is_an_error(rng):
    x = rng.standard_normal((2, 5000)).astype(np.float32) * 0.1
    x[1, 3000] = np.nan
    with pytest.raises(WavesrError, match=r"non-finite sample.*0\.750 s"):
        upsample_array(spline(), x, 4000)
    x[1, 3000] = 0.0
    x[0, 1000] = -np.inf  # one infinity among the largest finite samples: found (their sum is finite)
    x[1, :10] = np.finfo(np.float32).max
    with pytest.raises(WavesrError, match=r"non-finite sample.*0\.250 s"):
        audio.check_finite(x, 4000, "x")
    x[0, 1000] = 0.0
    audio.check_finite(x, 4000, "x")  # huge but finite: no error


# ------------------------------------------------------------------------ chunked vs whole

# Bound: a network whose one-sided receptive field is shorter than a quarter of the overlap gives
# the same output in chunks as on the whole input, up to float32 rounding: max |diff| < 1e-6 at
# signal RMS ~0.1 (measured: spline 6e-8, tiny AudioUNet 6e-8; a 4-block AudioUNet with kernels
# 65..9 2.4e-7; the paper-shaped B = 8 network at width 0.05 with the default 10 s / 1 s: 1.4e-5
# max, 1.9e-7 RMS, its receptive field being wider than 0.25 s).
CHUNK_BOUND = 1e-6


@pytest.mark.parametrize("make", [spline, tiny_unet], ids=["spline", "tiny-audiounet"])
def test_chunked_equals_whole(rng, make):
    model = make()
    x = np.stack([speechlike(4000, 8.0, rng), speechlike(4000, 8.0, rng)[::-1]])
    whole, _, _ = upsample_array(model, x, 4000, chunk_seconds=None, limiter=False)
    for chunk, overlap in [(1.0, 0.25), (1.5, 0.5), (3.3, 1.1)]:
        y, _, notes = upsample_array(
            model, x, 4000, chunk_seconds=chunk, overlap_seconds=overlap, limiter=False
        )
        assert y.shape == whole.shape and any("chunks of" in n for n in notes)
        assert np.max(np.abs(y - whole)) < CHUNK_BOUND
    cubic = audio.interpolate(x, 4)
    if make is spline:
        assert np.max(np.abs(whole - cubic)) < 1e-5
    else:  # the network part is not negligible, so the comparison above is a real one
        assert np.sqrt(np.mean((whole - cubic) ** 2)) > 0.3 * np.sqrt(np.mean(whole**2))
        # and without overlap the chunk edges do show: the test can fail
        y, _, _ = upsample_array(model, x, 4000, chunk_seconds=1.0, overlap_seconds=0.0, limiter=False)
        assert np.max(np.abs(y - whole)) > 100 * CHUNK_BOUND


def test_chunks_on_the_network_grid(rng):
    """Chunk and overlap sizes are whole multiples of AudioUNet's stride grid at the low rate."""
    model = build_model("audiounet", ratio=3, blocks=4, filters=[4, 4, 4, 4], kernel_sizes=[3, 3, 3, 3])
    chunk, overlap = inference.chunk_sizes(model, 1.0, 0.3)
    step = 32 // math.gcd(32, 3)  # 2^(blocks + 1) high-rate samples -> 32 low-rate samples at r = 3
    assert chunk % step == 0 and overlap % (4 * step) == 0 and chunk >= model.sr_lowres
    with pytest.raises(WavesrError, match="twice the overlap"):
        inference.chunk_sizes(model, 1.0, 0.6)


def test_channels_as_batch_equal_channels_alone(rng):
    model = tiny_unet()
    x = np.stack([speechlike(4000, 2.0, rng), 0.1 * rng.standard_normal(8000).astype(np.float32)])
    both, _, _ = upsample_array(model, x, 4000, chunk_seconds=0.7, overlap_seconds=0.2)
    for c in range(2):
        alone, _, _ = upsample_array(model, x[c], 4000, chunk_seconds=0.7, overlap_seconds=0.2)
        assert np.max(np.abs(both[c] - alone[0])) < 1e-6


# ------------------------------------------------------------------------------- clipping


def test_soft_limit_is_identity_below_the_knee_and_bounded():
    x = np.linspace(-5, 5, 10001, dtype=np.float32)
    y = inference.soft_limit(x)
    below = np.abs(x) <= inference.LIMIT_KNEE
    assert np.array_equal(y[below], x[below])
    assert np.all(np.abs(y) <= 1.0) and np.all(np.diff(y) >= 0)
    assert 0.98 < inference.soft_limit(np.float32([1.0]))[0] < 0.99  # full scale itself loses 0.1 dB
    # a block within the knee comes back equal (a copy), one sample over it is limited, empty is empty
    quiet = np.float32([[0.5, -inference.LIMIT_KNEE]])
    assert np.array_equal(inference.soft_limit(quiet), quiet) and inference.soft_limit(quiet) is not quiet
    assert -1.0 < inference.soft_limit(np.float32([[0.1, -1.1]]))[0, 1] < -inference.LIMIT_KNEE
    assert inference.soft_limit(np.zeros((1, 0), np.float32)).shape == (1, 0)


def test_clipping_is_reported_and_limited_by_default():
    square = np.where(np.arange(4000) % 40 < 20, 0.99, -0.99).astype(np.float32)  # the spline overshoots
    y, _, notes = upsample_array(spline(), square, 4000)
    assert np.max(np.abs(y)) < 1.0
    assert any("over full scale" in n and "soft-limited" in n for n in notes)
    y, _, notes = upsample_array(spline(), square, 4000, limiter=False)
    assert np.max(np.abs(y)) > 1.05 and any("kept (float output)" in n for n in notes)


def test_clipping_without_limiter_is_reported_for_pcm(tmp_path):
    square = np.where(np.arange(4000) % 40 < 20, 0.99, -0.99).astype(np.float32)
    sf.write(tmp_path / "sq.wav", square, 4000, subtype="PCM_16")
    result = upsample_file(spline(), tmp_path / "sq.wav", tmp_path / "out.wav", limiter=False)
    assert result.samples_over > 0 and result.peak > 1.05
    assert any("clipped to full scale by PCM_16" in n for n in result.notes)


# ---------------------------------------------------------------------------------- files


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_file_rate_length_channels_subtype(tmp_path, rng, channels):
    x = (0.2 * rng.standard_normal((8011, channels))).astype(np.float32)
    sf.write(tmp_path / "in.wav", x, 8000, subtype="PCM_16")
    result = upsample_file(tiny_unet(), tmp_path / "in.wav", tmp_path / "out.wav")
    info = sf.info(tmp_path / "out.wav")
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, channels, 16022, "PCM_16")
    assert (result.sr_in, result.sr_out, result.frames_in, result.frames_out) == (8000, 16000, 8011, 16022)
    assert result.seconds == pytest.approx(8011 / 8000) and no_temp_files(tmp_path)


def test_file_streaming_equals_array(tmp_path, rng, monkeypatch):
    """Reading in blocks and writing block by block gives the in-memory result, bit for bit (FLOAT)."""
    monkeypatch.setattr(inference, "BLOCK_FRAMES", 1000)
    x = np.stack([speechlike(11025, 3.0, rng), speechlike(11025, 3.0, rng)])
    sf.write(tmp_path / "in.wav", x.T, 11025, subtype="FLOAT")
    model = tiny_unet()
    upsample_file(
        model,
        tmp_path / "in.wav",
        tmp_path / "out.wav",
        chunk_seconds=0.5,
        overlap_seconds=0.1,
        target_sr=22050,
    )
    y, sr, _ = upsample_array(model, x, 11025, chunk_seconds=0.5, overlap_seconds=0.1, target_sr=22050)
    z, zsr = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    assert zsr == sr == 22050 and sf.info(tmp_path / "out.wav").subtype == "FLOAT"
    assert z.shape == (x.shape[1] * 2, 2) and np.max(np.abs(z.T - y)) < 1e-6


@pytest.mark.parametrize(
    "in_subtype,out_name,expected",
    [
        ("PCM_16", "o.wav", "PCM_16"),
        ("PCM_24", "o.wav", "PCM_24"),
        ("FLOAT", "o.wav", "FLOAT"),
        ("PCM_U8", "o.wav", "PCM_16"),
        ("FLOAT", "o.flac", "PCM_24"),
        ("PCM_16", "o.flac", "PCM_16"),
    ],
)
def test_default_subtype_keeps_deeper_inputs(tmp_path, rng, in_subtype, out_name, expected):
    sf.write(
        tmp_path / "in.wav", (0.2 * rng.standard_normal(400)).astype(np.float32), 4000, subtype=in_subtype
    )
    result = upsample_file(spline(), tmp_path / "in.wav", tmp_path / out_name)
    assert result.subtype == expected == sf.info(tmp_path / out_name).subtype


def test_subtype_and_format_errors(tmp_path, rng):
    sf.write(tmp_path / "in.wav", (0.2 * rng.standard_normal(400)).astype(np.float32), 4000)
    with pytest.raises(WavesrError, match="FLAC cannot store subtype FLOAT"):
        upsample_file(spline(), tmp_path / "in.wav", tmp_path / "o.flac", subtype="FLOAT")
    with pytest.raises(WavesrError, match="must be .wav or .flac"):
        upsample_file(spline(), tmp_path / "in.wav", tmp_path / "o.mp3")
    assert (
        upsample_file(spline(), tmp_path / "in.wav", tmp_path / "o.wav", subtype="pcm_24").subtype == "PCM_24"
    )


def test_file_refuses_overwrite_and_leaves_nothing_on_failure(tmp_path, rng):
    x = (0.2 * rng.standard_normal(4000)).astype(np.float32)
    sf.write(tmp_path / "in.wav", x, 4000)
    (tmp_path / "out.wav").write_bytes(b"keep me")
    with pytest.raises(WavesrError, match="already exists"):
        upsample_file(spline(), tmp_path / "in.wav", tmp_path / "out.wav")
    assert (tmp_path / "out.wav").read_bytes() == b"keep me"
    with pytest.raises(
        WavesrError, match="not written by wavesr"
    ):  # force replaces only wavesr's own outputs
        upsample_file(spline(), tmp_path / "in.wav", tmp_path / "out.wav", force=True)
    assert (tmp_path / "out.wav").read_bytes() == b"keep me"
    (tmp_path / "out.wav").unlink()
    upsample_file(spline(), tmp_path / "in.wav", tmp_path / "out.wav")
    upsample_file(spline(), tmp_path / "in.wav", tmp_path / "out.wav", force=True)
    assert sf.info(tmp_path / "out.wav").frames == 16000
    x[3000] = np.inf  # fails after the first block was written to the temporary file
    sf.write(tmp_path / "bad.wav", x, 4000, subtype="FLOAT")
    with pytest.raises(WavesrError, match="bad.wav: non-finite"):
        upsample_file(spline(), tmp_path / "bad.wav", tmp_path / "bad.sr.wav")
    assert not (tmp_path / "bad.sr.wav").exists() and no_temp_files(tmp_path)


def test_plan_outputs(tmp_path):
    (tmp_path / "a" / "sub").mkdir(parents=True)
    for name in ("a/x.wav", "a/sub/y.flac", "a/x.sr.wav", "a/x.cubic.wav", "z.ogg"):
        (tmp_path / name).write_bytes(b"")
    jobs = plan_outputs([tmp_path / "a", tmp_path / "z.ogg"], tmp_path / "out", ".flac")
    assert jobs == [
        (tmp_path / "a/sub/y.flac", tmp_path / "out/sub/y.sr.flac"),
        (tmp_path / "a/x.wav", tmp_path / "out/x.sr.flac"),
        (tmp_path / "z.ogg", tmp_path / "out/z.sr.flac"),
    ]
    assert plan_outputs([tmp_path / "z.ogg"]) == [(tmp_path / "z.ogg", tmp_path / "z.sr.wav")]
    assert plan_outputs([tmp_path / "z.ogg"], tmp_path / "o.wav") == [
        (tmp_path / "z.ogg", tmp_path / "o.wav")
    ]
    with pytest.raises(WavesrError, match="must be a folder"):
        plan_outputs([tmp_path / "a"], tmp_path / "o.wav")
    assert companion_paths(tmp_path / "x.sr.wav") == (
        tmp_path / "x.cubic.wav",
        tmp_path / "x.compare.png",
    )


# ------------------------------------------------------------------------------ Python API


@pytest.mark.filterwarnings("ignore:output peak")  # a random network goes over full scale
def test_model_upsample_numpy_and_torch(rng):
    model = tiny_unet()
    x = speechlike(8000, 1.0, rng)
    y, sr = model.upsample(x, 8000)
    assert isinstance(y, np.ndarray) and y.shape == (16000,) and sr == 16000
    y2, _ = model.upsample(np.stack([x, x]), 8000)
    assert y2.shape == (2, 16000) and np.allclose(y2[0], y, atol=1e-6)
    t, sr = model.upsample(torch.from_numpy(x).double(), 8000)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64 and t.shape == (16000,)
    assert np.allclose(t.numpy(), y, atol=1e-6)
    t, sr = model.upsample(torch.from_numpy(np.stack([x, x])), 8000, target_sr=44100)
    assert t.shape == (2, 44100) and t.dtype == torch.float32 and sr == 44100


@pytest.mark.filterwarnings("ignore:output peak")
def test_model_upsample_warns_when_limiting_and_restores_train_mode():
    model = tiny_unet().train()
    square = np.where(np.arange(4000) % 40 < 20, 0.99, -0.99).astype(np.float32)
    with pytest.warns(UserWarning, match="over full scale"):
        spline().upsample(square, 4000)
    model.upsample(square[:100], 4000)
    assert model.training  # evaluated in eval mode, given back as it was


def test_import_wavesr_is_light():
    import subprocess
    import sys

    code = "import sys, wavesr; wavesr.available_models(); print('torch' in sys.modules)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )


def test_fast_network_chunked_equals_whole():
    """FastNet strides over hop_multiple low-rate samples: chunk starts must sit on that grid."""
    from wavesr.inference import upsample_array
    from wavesr.models import build_model

    torch.manual_seed(0)
    model = build_model("fast", ratio=4, preset="small").eval()
    with torch.no_grad():
        for p in model.head.parameters():
            p.normal_(0, 0.05)  # an untrained head is zero: the output would be the bare spline
    rng = np.random.default_rng(1)
    t = np.arange(4000 * 25) / 4000
    x = (0.2 * np.sin(2 * np.pi * 300 * t) + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    whole, _, _ = upsample_array(model, x, 4000, chunk_seconds=None, limiter=False)
    chunked, _, _ = upsample_array(model, x, 4000, chunk_seconds=7.3, limiter=False)
    spline, _, _ = upsample_array(build_model("spline", ratio=4), x, 4000, chunk_seconds=None, limiter=False)
    assert np.abs(whole - spline).max() > 0.01  # the network changes the output
    assert np.abs(chunked - whole).max() < 1e-5


# ------------------------------------------------------------------ self-ensemble and conditioning


def random_fast(ratio: int = 4, channel: str | None = None):
    """A small FastNet with a random (non-zero) head, so its output is more than its skip."""
    torch.manual_seed(0)
    model = build_model("fast", ratio=ratio, preset="small", channel=channel).eval()
    with torch.no_grad():
        for p in model.head.parameters():
            p.normal_(0, 0.05)
    return model


def test_ensemble_offsets_cover_signs_and_the_stride_grid():
    model = random_fast()
    assert inference.ensemble_offsets(model, 1) == [(0, 1)]
    assert inference.ensemble_offsets(model, 2) == [(0, 1), (0, -1)]
    assert inference.ensemble_offsets(model, 4) == [(0, 1), (0, -1), (32, 1), (32, -1)]
    assert sorted({s for s, _ in inference.ensemble_offsets(model, 8)}) == [0, 16, 32, 48]
    for bad in (0, 3, 16, 2.0, True):
        with pytest.raises(WavesrError, match="passes must be one of 1, 2, 4, 8"):
            inference.ensemble_offsets(model, bad)


def test_self_ensemble_is_the_mean_of_flipped_and_shifted_runs(rng):
    model = random_fast()
    x = speechlike(4000, 3.0, rng)
    one, _, notes1 = upsample_array(model, x, 4000, chunk_seconds=None, limiter=False)
    two, _, notes2 = upsample_array(model, x, 4000, chunk_seconds=None, limiter=False, passes=2)
    with torch.no_grad():
        plus = model(torch.from_numpy(x)[None, None])[0, 0].numpy()
        minus = -model(torch.from_numpy(-x)[None, None])[0, 0].numpy()
        shifted = model(torch.from_numpy(np.pad(x, (32, 0)))[None, None])[0, 0, 32 * 4 :].numpy()
    assert np.abs(one[0] - plus).max() < 1e-6
    assert np.abs(two[0] - (plus + minus) / 2).max() < 1e-6 and np.abs(plus - minus).max() > 1e-3
    four, _, _ = upsample_array(model, x, 4000, chunk_seconds=None, limiter=False, passes=4)
    assert np.abs(shifted - plus).max() > 1e-3  # a shift on the grid's half changes the guess
    assert np.abs(four[0] - two[0]).max() > 1e-4
    assert "2 passes" in notes2[0] and "passes" not in notes1[0]
    model.run_as(passes=4)  # a model's own default (the registry's), overridden by an explicit value
    assert np.array_equal(upsample_array(model, x, 4000, chunk_seconds=None, limiter=False)[0], four)
    assert np.array_equal(upsample_array(model, x, 4000, chunk_seconds=None, limiter=False, passes=1)[0], one)


@pytest.mark.parametrize("passes", [4, 8])
def test_self_ensemble_chunked_equals_whole(passes):
    """Every pass sees each chunk at the same phase of the stride grid: chunks still add up to the whole."""
    model = random_fast()
    rng = np.random.default_rng(1)
    t = np.arange(4000 * 20) / 4000
    x = (0.2 * np.sin(2 * np.pi * 300 * t) + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    whole, _, _ = upsample_array(model, x, 4000, chunk_seconds=None, limiter=False, passes=passes)
    chunked, _, _ = upsample_array(model, x, 4000, chunk_seconds=6.1, limiter=False, passes=passes)
    assert np.abs(chunked - whole).max() < 1e-5


def test_real_input_goes_through_the_training_channel(rng):
    """A model trained on `decimate` gets real input re-degraded, and keeps the input's band below the
    crossover; input declared to come from that channel runs as it is."""
    model = random_fast(channel="decimate")
    x = speechlike(4000, 4.0, rng)
    raw, _, notes_raw = upsample_array(
        model, x, 4000, chunk_seconds=None, limiter=False, input_channel="decimate"
    )
    with torch.no_grad():
        forward = model(torch.from_numpy(x)[None, None])[0, 0].numpy()
    assert np.abs(raw[0] - forward).max() < 1e-6 and "training channel" not in notes_raw[0]
    real, _, notes = upsample_array(model, x, 4000, chunk_seconds=None, limiter=False)
    assert "input put through its decimate training channel" in notes[0]
    given = audio.interpolate(x, 4, "bandlimited")
    with torch.no_grad():
        guess = model(torch.from_numpy(audio.degrade(given, 4, "decimate"))[None, None])[0, 0].numpy()
    assert np.abs(real[0] - audio.keep_band(given, guess, 4)).max() < 1e-5
    spectrum = lambda y: np.abs(np.fft.rfft(y[4000:-4000]))  # noqa: E731 (away from the file's edges)
    f = np.fft.rfftfreq(x.size * 4 - 8000, 1 / 16000)
    band = (f > 1700) & (f < 1850)  # above the channel's cutoff (1600 Hz), below the crossover (1900 Hz)
    assert np.allclose(
        spectrum(real[0])[band], spectrum(given)[band], rtol=0.05, atol=1e-3 * spectrum(given).max()
    )
    for other in (
        None,
        "sinc",
        "decimate+sinc",
    ):  # untrained, or trained on real-like input: nothing to condition
        model.run_as(channel=other)
        y, _, notes = upsample_array(model, x, 4000, chunk_seconds=None, limiter=False)
        assert np.abs(y[0] - forward).max() < 1e-6 and "training channel" not in notes[0]


def test_conditioned_chunked_equals_whole(rng):
    model = random_fast(channel="decimate")
    x = np.stack([speechlike(4000, 12.0, rng), speechlike(4000, 12.0, rng)[::-1]])
    whole, _, _ = upsample_array(model, x, 4000, chunk_seconds=None, limiter=False, passes=2)
    chunked, _, notes = upsample_array(
        model, x, 4000, chunk_seconds=3.3, overlap_seconds=1.1, limiter=False, passes=2
    )
    assert any("chunks of" in n for n in notes)
    assert (
        np.abs(chunked - whole).max() < CHUNK_BOUND
    )  # measured 9e-8: the filters are short beside the overlap
