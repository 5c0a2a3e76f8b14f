"""The full-band path: BandNet, audio.put_back, wavesr.extend, training a full-band run, and
`wavesr upsample` with a full-band model (any rate in, 44.1/48 kHz out, the input's band kept)."""

import json

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import soxr
import torch

from wavesr import audio, extend, metrics, pretrained
from wavesr.channels import parse
from wavesr.cli import main
from wavesr.data.corpus import Item
from wavesr.data.patches import PatchDataset, PrepareConfig, prepare
from wavesr.errors import WavesrError
from wavesr.inference import upsample_array
from wavesr.models import BandNet, build_model, load_model_file

TINY_BAND = [
    "--model",
    "band",
    "--set",
    "width=16",
    "--set",
    "blocks=1",
    "--set",
    "n_fft=256",
    "--set",
    "hop=64",
    "--batch-size",
    "4",
    "--val-patches",
    "4",
    "--epochs",
    "1",
]


def full_band(sr, seconds, seed, amp=0.1):
    """Noise with a speech-like tilt and a syllable envelope, content up to the Nyquist frequency."""
    g = np.random.default_rng(seed)
    white = g.standard_normal(int(sr * seconds))
    b, a = scipy.signal.butter(1, 2000 / (sr / 2))
    x = 0.3 * white + 2 * scipy.signal.lfilter(b, a, white)
    envelope = 0.2 + 0.8 * np.abs(np.sin(2 * np.pi * 3 * np.arange(x.size) / sr))
    return (amp * x * envelope / np.abs(x).max()).astype(np.float32)


def tiny_band(**overrides):
    torch.manual_seed(0)
    return build_model("band", width=16, blocks=1, n_fft=256, hop=64, **overrides).eval()


# ------------------------------------------------------------------------------------ the network


@pytest.mark.parametrize("n", [1, 100, 255, 256, 1000, 4801])
def test_bandnet_takes_any_length_at_one_rate(one_thread, n):
    model = tiny_band()
    with torch.no_grad():
        y = model(torch.randn(2, 1, n) * 0.1)
    assert y.shape == (2, 1, n) and torch.isfinite(y).all()
    assert model.ratio == 1 and model.full_band


def test_without_gradients_a_long_input_goes_through_the_core_in_pieces_with_the_same_result(
    one_thread, monkeypatch
):
    from wavesr.models import band

    model = build_model("band", width=16, blocks=3, kernel=5, n_fft=256, hop=64).eval()
    with torch.no_grad():  # random weights that mix frames: every block's convolution counts
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    x = torch.randn(2, 1, 64 * 700) * 0.1
    calls = []
    core = model.core
    monkeypatch.setattr(model, "core", lambda re, im: calls.append(re.shape[1]) or core(re, im))
    with torch.no_grad():
        whole = model(x)
        monkeypatch.setattr(band, "CORE_FRAMES", 100)
        pieces = model(x)
    assert calls[0] == 701 and max(calls[1:]) == 100 + 2 * model.frame_context and len(calls) == 9
    torch.testing.assert_close(pieces, whole, rtol=0, atol=1e-6)
    monkeypatch.setattr(band, "CORE_FRAMES", 10)  # pieces shorter than the context: still the same
    with torch.no_grad():
        torch.testing.assert_close(model(x), whole, rtol=0, atol=1e-6)


def test_a_full_band_network_runs_in_its_own_chunks_unless_told(one_thread):
    from wavesr.inference import FULL_BAND_CHUNK_SECONDS, Stream

    model = tiny_band()
    assert Stream(model, 48000, 1).chunk == FULL_BAND_CHUNK_SECONDS * 48000
    assert Stream(model, 48000, 1, chunk_seconds=10.0).chunk == 10 * 48000  # the paper models' default, asked
    with pytest.raises(WavesrError, match="chunk length must be"):
        Stream(model, 48000, 1, chunk_seconds="long")


def test_an_untrained_bandnet_returns_its_input_and_is_level_invariant(one_thread):
    model = tiny_band()
    x = torch.from_numpy(full_band(48000, 0.5, 0))[None, None]
    with torch.no_grad():
        y, louder = model(x), model(8 * x)
    assert metrics.snr(x[0, 0].numpy(), y[0, 0].numpy()) > 40
    np.testing.assert_allclose(louder.numpy(), 8 * y.numpy(), rtol=1e-4, atol=1e-6)


def test_bandnet_refuses_other_ratios_and_bad_settings():
    with pytest.raises(WavesrError, match="ratio 1"):
        build_model("band", ratio=2)
    with pytest.raises(WavesrError, match="odd kernel"):
        build_model("band", kernel=4)


def causal_band(seed: int = 0):
    """A small causal BandNet with weights moved off their start (so that it generates)."""
    torch.manual_seed(seed)
    model = build_model("band", causal=True, n_fft=256, hop=64, width=16, blocks=2, level_frames=8).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("runner", ["onnxruntime", "torch"])
def test_a_causal_bandnet_streams_frame_by_frame_as_it_runs_whole(one_thread, runner, monkeypatch):
    """In ONNX Runtime (the frame step exported) and in torch (where it cannot be)."""
    model = causal_band()
    if runner == "torch":
        monkeypatch.setattr("wavesr.runtime.accelerate_step", lambda model: "torch")
    else:
        from wavesr.runtime import accelerate_step

        assert accelerate_step(model) == "onnxruntime" and model.step_runner is not None
    rng = np.random.default_rng(3)
    for n in (48000, 300, 40):  # longer and shorter than a frame
        x = torch.from_numpy(np.stack([full_band(48000, n / 48000, 4), full_band(48000, n / 48000, 5)]))
        with torch.no_grad():
            whole = model(x[:, None], band=6000.0, strength=0.5)[:, 0]
        stream, parts, i = model.streamer(2, band=6000.0, strength=0.5), [], 0
        while i < n:
            k = int(rng.integers(0, 700))
            parts.append(stream.push(x[:, i : i + k].numpy()))
            i = min(n, i + k)
            given = sum(p.shape[1] for p in parts)
            assert i - stream.lookahead <= given <= i  # each sample out within n_fft of its input
            assert stream.buffered() < 2000
        y = np.concatenate([*parts, stream.flush()], axis=1)
        assert y.shape == whole.shape
        np.testing.assert_allclose(y, whole.numpy(), atol=1e-6)
    x = torch.from_numpy(full_band(48000, 0.5, 6))[None, None]
    later = x.clone()
    later[..., 12000:] = 0
    with torch.no_grad():
        changed = (model(x) - model(later)).abs()[0, 0] > 1e-7
    assert not changed[: 12000 - 256].any() and changed[12000:].any()  # nothing depends on the future
    with pytest.raises(WavesrError, match="causal"):
        tiny_band().streamer()


def test_a_causal_bandnet_keeps_the_input_band_on_its_frames(one_thread):
    model = causal_band(1)
    low = soxr.resample(full_band(48000, 1, 7), 48000, 8000)
    y, sr, notes = upsample_array(model, low, 8000)
    assert sr == 48000 and "band extended" in notes[1]
    sinc = audio.fit_length(soxr.resample(low, 8000, 48000), y.shape[1])
    b = scipy.signal.firwin(1023, 3000, fs=48000)
    assert metrics.snr(np.convolve(sinc, b, "same"), np.convolve(y[0], b, "same")) > 30


def test_the_time_domain_candidate_is_fastnet_at_the_output_rate(one_thread):
    model = build_model("fastband", widths=[4, 8], depth=[1, 1]).eval()
    assert (model.ratio, model.sr, model.full_band, model.hop_multiple) == (1, 48000, True, 32)
    x = torch.from_numpy(full_band(48000, 0.3, 1))[None, None]
    with torch.no_grad():
        torch.nn.init.normal_(model.head.weight, std=0.1)  # trained: homogeneous, as FastNet
        y, louder = model(x), model(8 * x)
    assert y.shape == x.shape and not torch.equal(y, x)
    np.testing.assert_allclose(louder.numpy(), 8 * y.numpy(), rtol=1e-4, atol=1e-6)
    with pytest.raises(WavesrError, match="ratio 1"):
        build_model("fastband", ratio=2)
    with pytest.raises(WavesrError, match="skip must be one of none"):
        build_model("fastband", skip="sinc")


# ------------------------------------------------------------------------------------ put_back


def test_put_back_keeps_the_input_below_the_cutoff_and_the_network_above():
    sr, n = 48000, 48000
    given = full_band(sr, 1, 1)
    spectrum = np.fft.rfft(given)
    freqs = np.fft.rfftfreq(n, 1 / sr)
    spectrum[freqs > 8000] = 0
    given = np.fft.irfft(spectrum, n).astype(np.float32)
    estimate = full_band(sr, 1, 2)  # a different signal everywhere
    out = audio.put_back(given, estimate, sr, 8000)
    o = np.fft.rfft(out)
    low, high = freqs < audio.PUT_BACK_BAND[0] * 8000, freqs > audio.PUT_BACK_BAND[1] * 8000
    np.testing.assert_allclose(o[low], spectrum[low], atol=1e-3 * np.abs(spectrum).max())
    ratio = np.abs(o[high]) / np.maximum(np.abs(np.fft.rfft(estimate)[high]), 1e-12)
    assert np.allclose(ratio, ratio[0], rtol=1e-3)  # the estimate's band, one level-match gain
    assert 10 ** (-6 / 20) - 1e-6 <= ratio[0] <= 10 ** (6 / 20) + 1e-6
    assert np.array_equal(audio.put_back(given, estimate, sr, 0.0), given)  # silence: the input


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_equalize_lifts_a_resamplers_transition_band_back_to_the_truth(rate):
    sr = 48000
    truth = full_band(sr, 4, 5)
    given = audio.fit_length(
        soxr.resample(soxr.resample(truth, sr, rate, "VHQ"), rate, sr, "VHQ"), truth.size
    )
    cutoff = audio.cutoff(given[None], sr)
    lifted = audio.put_back(given, given, sr, cutoff, equalize=True)  # the input's band alone, lifted
    plain = audio.put_back(given, given, sr, cutoff)
    freqs = np.fft.rfftfreq(truth.size, 1 / sr)
    top = (freqs > 0.93 * rate / 2) & (freqs < cutoff)  # soxr's transition band, below the cutoff

    def error(y):
        return np.sum(np.abs(np.fft.rfft(truth)[top] - np.fft.rfft(y)[top]) ** 2)

    assert error(lifted) < 0.6 * error(plain)  # the attenuated top: its phase was the truth's
    assert metrics.snr(truth, lifted) > metrics.snr(truth, plain)  # so closer to the truth than sinc
    below = freqs < 0.9 * rate / 2
    np.testing.assert_allclose(np.fft.rfft(lifted)[below], np.fft.rfft(plain)[below], atol=1e-3)


def test_equalize_does_not_ring_at_a_files_ends(monkeypatch):
    sr, rate = 48000, 8000
    truth = full_band(sr, 2, 7) * np.linspace(0.0, 1.0, 2 * sr, dtype=np.float32)  # silent start, loud end
    given = audio.fit_length(
        soxr.resample(soxr.resample(truth, sr, rate, "VHQ"), rate, sr, "VHQ"), truth.size
    )
    cutoff = audio.cutoff(given[None], sr)
    sos = scipy.signal.butter(8, [0.9 * cutoff, cutoff], "bandpass", fs=sr, output="sos")

    def start(y):  # the top of the kept band in the first 20 ms, where the truth is nearly silent
        return np.abs(scipy.signal.sosfiltfilt(sos, y)[: sr // 50]).max()

    plain = start(audio.put_back(given, given, sr, cutoff))  # 1.3 x the truth's
    assert start(audio.put_back(given, given, sr, cutoff, equalize=True)) < 3 * plain
    # the spectrum of a chunk treats it as periodic: lifted without the fade, the jump from its loud
    # end to its silent start rings there
    monkeypatch.setattr(audio, "EQUALIZE_FADE_SECONDS", 0.0)
    assert start(audio.put_back(given, given, sr, cutoff, equalize=True)) > 5 * plain


def test_equalize_leaves_a_band_without_a_filters_cliff_alone():
    sr, n = 48000, 48000 * 4
    x = full_band(sr, 4, 6)
    freqs = np.fft.rfftfreq(n, 1 / sr)
    power = np.abs(np.fft.rfft(x)) ** 2
    gain = audio.transition_gain(power, freqs, 8000)  # no filter at 8 kHz: the noise's own spectrum
    assert gain.min() == 1.0 and gain.max() < 10 ** (1.5 / 20)  # at most the smoothing's wobble
    cliff = power * np.where(freqs < 7900, 1.0, 1e-4)  # a 40 dB cliff 100 Hz under the cutoff
    gain = audio.transition_gain(cliff, freqs, 8000)
    past = (freqs > 7900 + 40) & (freqs < 8000)  # beyond the smoothing's reach under each bin
    assert np.all(np.abs(20 * np.log10(gain[past]) - 40) < 2)  # undone: 40 dB, to the noise's wobble
    deep = power * np.where(freqs < 7900, 1.0, 1e-10)  # 100 dB
    gain = audio.transition_gain(deep, freqs, 8000)
    edge = (freqs > 7900 + 20) & (freqs < 8000)
    assert gain[edge].min() == pytest.approx(10 ** (audio.EQUALIZE_MAX_DB / 20))  # lifted, at most this
    assert np.all(gain[freqs >= 8000] == 1.0) and np.all(gain[freqs < 0.95 * 8000] == 1.0)
    assert np.all(audio.transition_gain(power, freqs, 0.0) == 1.0)
    # a brick-wall at the cutoff: full level up to it, nothing attenuated, so nothing lifted (the
    # smoothing never reaches over the cliff into the empty band)
    brick = np.where(freqs < 7900, power, 0.0)
    assert audio.transition_gain(brick, freqs, 7900).max() < 10 ** (1.5 / 20)


def test_put_back_matches_the_generated_band_to_the_inputs_level():
    sr = 48000
    given = full_band(sr, 1, 3)
    too_loud = 1.5 * given  # a network that got the level wrong by 3.5 dB
    out = audio.put_back(given, too_loud, sr, 6000)
    assert metrics.snr(given, out) > 40  # the whole band back at the input's level


# ------------------------------------------------------------------------------------ extend


@pytest.mark.parametrize(
    "sr, out",
    [
        (8000, 48000),
        (16000, 48000),
        (11025, 44100),
        (22050, 44100),
        (44100, 44100),
        (88200, 44100),
        (48000, 48000),
        (12345, 48000),
    ],
)
def test_the_output_rate_follows_the_inputs_family(sr, out):
    assert extend.output_rate(sr) == out


def test_plan_copies_full_band_and_silent_inputs_and_extends_the_rest():
    assert extend.plan(19500, 44100).copy and "nothing was missing" in extend.plan(19500, 44100).note
    assert extend.plan(0, 16000).copy and "silent" in extend.plan(0, 16000).note
    p = extend.plan(3900, 8000)
    assert not p.copy and p.sr_out == 48000 and "3.9 kHz to 24 kHz" in p.note
    assert extend.plan(3900, 8000, target_sr=32000).sr_out == 32000


def test_content_is_told_by_how_the_level_moves():
    sr = 16000
    t = np.arange(sr * 4) / sr
    steady = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.05 * np.sin(2 * np.pi * 0.5 * t))
    syllables = full_band(sr, 4, 5) * (np.sin(2 * np.pi * 4 * t) > 0.3)
    assert extend.content_of(steady, sr) == "music"
    assert extend.content_of(syllables, sr) == "speech"


# ------------------------------------------------------------------------ training and upsampling


@pytest.fixture(scope="module")
def band_run(tmp_path_factory):
    """A real (tiny) full-band training run on 48 kHz files, through random channels."""
    root = tmp_path_factory.mktemp("band")
    items = []
    for split, n in (("train", 3), ("val", 1)):
        for i in range(n):
            path = root / "audio" / f"{split}{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, full_band(48000, 1.0, 10 + i + 5 * (split == "val")), 48000)
            items.append(Item(path=str(path), split=split, group=f"{split}{i}"))
    cfg = PrepareConfig(sr=48000, ratio=2, channel="sinc", patch_len=4096, stride=4096, workers=0)
    for split in ("train", "val"):
        prepare([it for it in items if it.split == split], root / split, cfg, progress=False)
    torch.set_num_threads(1)
    main(
        [
            "train",
            str(root / "train"),
            "--val",
            str(root / "val"),
            "-o",
            str(root / "run"),
            *TINY_BAND,
            "--channels",
            "lowpass,resample",
        ]
    )
    return root / "run"


def test_a_full_band_run_trains_through_channels_and_validates_against_its_input(band_run):
    rows = [json.loads(line) for line in (band_run / "metrics.jsonl").read_text().splitlines()]
    val = [r["val"] for r in rows if "val" in r][-1]
    assert {"patch_snr", "patch_lsd", "patch_lsd_hf", "input_patch_lsd"} <= set(val)
    model = load_model_file(band_run / "model.pt")
    assert isinstance(model, BandNet) and model.sr == 48000 and model.channel == "channels:lowpass,resample"


def test_the_time_domain_candidate_trains_through_channels_and_upsamples(band_run, tmp_path, one_thread):
    root = band_run.parent
    tiny = ["--model", "fastband", "--set", "widths=[4, 8]", "--set", "depth=[1, 1]"]
    args = ["train", str(root / "train"), "--val", str(root / "val"), "-o", str(tmp_path / "run"), *tiny]
    assert main(args + ["--batch-size", "4", "--val-patches", "4", "--epochs", "1"]) == 0
    model = load_model_file(tmp_path / "run" / "model.pt")
    assert model.name == "fastband" and model.channel.startswith("channels:")
    low = soxr.resample(full_band(48000, 1, 31), 48000, 8000)
    y, sr, notes = upsample_array(model, low, 8000)
    assert sr == 48000 and y.shape == (1, low.size * 6) and "band extended" in notes[1]


def test_the_array_api_measures_the_band_and_returns_48k(band_run, one_thread):
    model = load_model_file(band_run / "model.pt")
    x = full_band(48000, 2, 30)
    low = soxr.resample(x, 48000, 8000)
    y, sr, notes = upsample_array(model, low, 8000)
    assert sr == 48000 and y.shape == (1, round(low.size * 6))
    assert "content ends at" in notes[0] and "band extended" in notes[1]
    # the input's own band is kept: below its cutoff the output is the input (sinc) within 30 dB
    sinc = audio.fit_length(soxr.resample(low, 8000, 48000), y.shape[1])
    b = scipy.signal.firwin(1023, 3000, fs=48000)
    assert metrics.snr(np.convolve(sinc, b, "same"), np.convolve(y[0], b, "same")) > 30
    full, sr_full, notes_full = upsample_array(model, x[:24000], 48000)  # nothing missing: copied
    assert sr_full == 48000 and "nothing was missing" in notes_full[0]
    np.testing.assert_allclose(full[0], x[:24000], atol=1e-6)


def test_wavesr_upsample_defaults_to_the_full_band_model(band_run, tmp_path, monkeypatch, capsys):
    registry = tmp_path / "registry"
    for content in ("speech", "music"):
        pretrained.add_model(band_run / "model.pt", f"{content}-48k", content, registry=registry)
    monkeypatch.setenv(pretrained.REGISTRY_ENV, str(registry))
    x = full_band(44100, 1.5, 40)
    narrow = soxr.resample(x, 44100, 11025)
    sf.write(tmp_path / "call.wav", soxr.resample(narrow, 11025, 44100), 44100)  # 44.1 kHz, 5.5 kHz band
    sf.write(tmp_path / "song.wav", np.stack([x, x[::-1]], axis=1), 44100)  # full band, stereo
    assert (
        main(
            ["upsample", str(tmp_path / "call.wav"), str(tmp_path / "song.wav"), "-o", str(tmp_path / "out")]
        )
        == 0
    )
    printed = capsys.readouterr().out
    call, sr = sf.read(tmp_path / "out" / "call.sr.wav")
    song, sr_song = sf.read(tmp_path / "out" / "song.sr.wav", always_2d=True)
    assert sr == sr_song == 44100 and song.shape == (x.size, 2)
    assert "the band from 5." in printed and "nothing was missing" in printed
    np.testing.assert_allclose(song[:, 0], x, atol=2e-4)  # copied (PCM_16 rounding)


def test_fullband_evaluation_scores_a_network_beside_sinc(band_run, tmp_path, capsys):
    folder = tmp_path / "heldout"
    folder.mkdir()
    sf.write(folder / "a.wav", full_band(48000, 1.5, 50), 48000)
    args = [
        "evaluate",
        "sinc",
        f"band={band_run}",
        "--fullband",
        "--files",
        str(folder),
        "--input-rates",
        "8000,16000",
        "-o",
        str(tmp_path / "ev"),
        "--save-audio",
        "1",
    ]
    assert main(args) == 0
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert {r["method"] for r in summary["table"]} == {"sinc", "band"}
    # the samples page gets a section per input rate with the reference, the input and both methods
    assert main(["samples", str(tmp_path / "ev"), "-o", str(tmp_path / "page")]) == 0
    page = (tmp_path / "page" / "index.html").read_text()
    assert "8 kHz to 48 kHz" in page and "16 kHz to 48 kHz" in page
    assert page.count("<audio") == 2 * 4 and "spectrogram" in page
    played = list((tmp_path / "page" / "media").rglob("*.wav"))
    assert {sf.info(p).samplerate for p in played} == {48000, 8000, 16000}
    with pytest.raises(WavesrError, match="full-band networks"):
        from wavesr.fullband import evaluate_fullband

        evaluate_fullband(["speech-x4"], [str(folder)], tmp_path / "ev2")


def test_a_run_fine_tunes_from_another_with_init(band_run, tmp_path):
    data = band_run.parent
    args = [
        "train",
        str(data / "train"),
        "-o",
        str(tmp_path / "tuned"),
        *TINY_BAND,
        "--channels",
        "lowpass",
        "--max-steps",
        "1",
        "--lr",
        "1e-9",
        "--wave-weight",
        "30",
    ]
    assert main([*args, "--init", str(band_run / "model.pt")]) == 0
    start, tuned = (load_model_file(p) for p in (band_run / "model.pt", tmp_path / "tuned" / "model.pt"))
    for a, b in zip(start.parameters(), tuned.parameters()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)  # one step at lr 1e-9: the weights it began with
    older = torch.load(band_run / "model.pt", weights_only=False)  # as shipped before two settings existed
    older["config"] = {k: v for k, v in older["config"].items() if k not in ("causal", "level_frames")}
    older["config"]["strength"] = 0.25  # a run setting, not the network's
    torch.save(older, tmp_path / "older.pt")
    assert main([*args, "-o", str(tmp_path / "from-older"), "--init", str(tmp_path / "older.pt")]) == 0
    other = ["--set" if a == "--set" else a for a in args]
    other[other.index("width=16")] = "width=8"
    assert main([*other, "-o", str(tmp_path / "other"), "--init", str(band_run / "model.pt")]) == 1


def test_a_run_can_compare_only_each_targets_own_band(band_run, tmp_path, capsys):
    """Prepare measures where each file's content ends; --target-band source trains on it, and a
    dataset prepared without those measurements is refused in one line."""
    data = band_run.parent
    narrow = tmp_path / "narrow.wav"  # stored at 44.1 kHz, content to 12 kHz
    sf.write(narrow, parse("brickwall@12000").apply(full_band(44100, 1.0, 40), 44100), 44100)
    cfg = PrepareConfig(sr=48000, ratio=2, channel="sinc", patch_len=4096, stride=4096, workers=0)
    prepare([Item(path=str(narrow), split="train", group="n")], tmp_path / "narrow", cfg, progress=False)
    assert 10000 < PatchDataset(tmp_path / "narrow").cutoff(0) <= 13000
    assert PatchDataset(data / "train").cutoff(0) > 22000
    assert PatchDataset(tmp_path / "narrow").format_top(0) == 22050
    assert PatchDataset(data / "train").format_top(0) == 24000
    args = ["train", str(tmp_path / "narrow"), *TINY_BAND, "--channels", "lowpass", "--max-steps", "2"]
    assert main([*args, "-o", str(tmp_path / "run"), "--target-band", "source"]) == 0
    stored = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert stored["target_band"] == "source"
    capsys.readouterr()
    assert main([*args, "-o", str(tmp_path / "l2"), "--target-band", "source", "--loss", "l2"]) == 1
    assert "band loss's option" in capsys.readouterr().err
    assert main([*args, "-o", str(tmp_path / "rate"), "--target-band", "source-rate"]) == 0
    settings = json.loads((tmp_path / "narrow" / "settings.json").read_text())
    del settings["sources"][0]["source_sr"]
    (tmp_path / "narrow" / "settings.json").write_text(json.dumps(settings))
    capsys.readouterr()
    assert main([*args, "-o", str(tmp_path / "rate-old"), "--target-band", "source-rate"]) == 1
    assert "own rate" in capsys.readouterr().err
    del settings["sources"][0]["cutoff"]
    (tmp_path / "narrow" / "settings.json").write_text(json.dumps(settings))
    assert main([*args, "-o", str(tmp_path / "old"), "--target-band", "source"]) == 1
    assert "prepare it again" in capsys.readouterr().err


def test_a_full_band_recipe_runs_its_stages_evaluates_and_ships(tmp_path, monkeypatch):
    """The recipe's whole chain on a small corpus of real files (the default corpus swapped for it)."""
    import dataclasses

    from wavesr import fullband_recipes
    from wavesr.configs import TrainConfig
    from wavesr.data import defaults
    from wavesr.data.corpus import Corpus
    from wavesr.fullband import candidate

    items = []
    for split, n in (("train", 2), ("val", 1), ("test", 1)):
        for i in range(n):
            path = tmp_path / "c" / f"{split}{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, full_band(48000, 1.0, 60 + len(items)), 48000)
            items.append(Item(path=str(path), split=split, group=f"{split}{i}", licence="CC0", source="test"))
    corpus = Corpus("tiny-fullband", str(tmp_path / "c"), items)
    monkeypatch.setattr(defaults, "is_built", lambda name: True)
    monkeypatch.setattr(defaults, "load_default", lambda name: corpus)
    recipe = dataclasses.replace(
        fullband_recipes.FULLBAND_RECIPES["speech-48k"],
        model_config={"width": 16, "blocks": 1, "n_fft": 256, "hop": 64},
        patch_len=4096,
        batch_size=2,
        minutes=0.02,
        tune_minutes=0.02,
        later=(  # every kind of later stage: from stage 1, from stage 2, from a later stage
            fullband_recipes.FineTune("stage3", "stage1", 0.02, target_band="source"),
            fullband_recipes.FineTune("stage4", "stage2", 0.02, wave_weight=300.0),
            fullband_recipes.FineTune("stage5", "stage4", 0.02, wave_weight=1000.0),
        ),
        val_patches=4,
        eval_files=1,
        eval_seconds=1.0,
    )
    torch.set_num_threads(1)
    record = fullband_recipes.run_fullband_recipe(
        recipe, tmp_path / "work", ship=True, registry=tmp_path / "reg", progress=False
    )
    assert set(record["evaluations"]) == {"48000", "44100"}
    tuned = json.loads((tmp_path / "work" / "speech-48k" / "tune" / "config.json").read_text())["train"]
    assert tuned["init"].endswith("run/model.pt") and tuned["wave_weight"] == recipe.tune_wave_weight
    third = json.loads((tmp_path / "work" / "speech-48k" / "source" / "config.json").read_text())["train"]
    assert third["init"].endswith("run/model.pt") and third["target_band"] == "source"
    assert third["wave_weight"] == TrainConfig.wave_weight  # the default where a stage names none
    fourth = json.loads((tmp_path / "work" / "speech-48k" / "wave" / "config.json").read_text())["train"]
    assert fourth["init"].endswith("tune/model.pt") and fourth["wave_weight"] == 300.0
    fifth = json.loads((tmp_path / "work" / "speech-48k" / "wave1000" / "config.json").read_text())["train"]
    assert fifth["init"].endswith("wave/model.pt") and fifth["wave_weight"] == 1000.0
    assert {"stage1@1", "stage2@1", "stage3@1", "stage4@1", "stage5@1", "stage1@1+eq"} <= set(
        record["validation"]
    )
    assert "stage 5 0.02 min from stage 4 at lr 0.0002 with waveform weight 1000" in recipe.objective
    info = pretrained.get_model_info("speech-48k", registry=tmp_path / "reg")
    assert info.ratio == 1 and info.sr == 48000 and "to 48 kHz: LSD" in info.scores_text()
    _, strength, equalize = candidate(record["choice"]["candidate"])  # the choice's run settings shipped
    assert (info.strength, info.equalize) == (strength, equalize)
    card = (tmp_path / "reg" / "speech-48k.md").read_text()
    assert "codec:mp3" in card and "any input rate" in card
    assert f"at strength {strength:g}" in card and ("transition band lifted" in card) == equalize


def test_the_paper_task_scores_a_paper_network_beside_a_full_band_one(band_run, tmp_path):
    folder = tmp_path / "heldout"
    folder.mkdir()
    sf.write(folder / "a.wav", full_band(16000, 2, 70), 16000)
    args = [
        "evaluate",
        "cubic",
        "speech-x4",
        f"band={band_run}",
        "--fullband",
        "--files",
        str(folder),
        "--sr",
        "16000",
        "--input-rates",
        "4000",
        "-o",
        str(tmp_path / "ev"),
    ]
    assert main(args) == 0
    table = json.loads((tmp_path / "ev" / "summary.json").read_text())["table"]
    assert {r["method"] for r in table} == {"cubic", "speech-x4", "band"}
    assert all(np.isfinite(r["snr"]) for r in table)
    assert main([*args[:-4], "--input-rates", "8000", "-o", str(tmp_path / "ev2")]) == 1  # x4 is 4 kHz in


def test_onnx_runtime_runs_the_core_as_torch_does_and_never_in_training(
    band_run, one_thread, tmp_path, monkeypatch
):
    from wavesr.runtime import accelerate

    monkeypatch.setenv("WAVESR_CACHE", str(tmp_path / "cache"))

    model = load_model_file(band_run / "model.pt").eval()
    x = torch.from_numpy(full_band(48000, 1.3, 80))[None, None]
    with torch.inference_mode():
        eager = model(x)
    assert accelerate(model) == "onnxruntime" and model.runner is not None
    calls = []
    runner = model.runner
    model.runner = lambda *a: calls.append(1) or runner(*a)
    with torch.inference_mode():
        fast = model(x)
    assert calls and torch.allclose(fast, eager, atol=1e-4)
    model(x).pow(2).mean().backward()  # gradients on: torch's own core, the runner is not called
    assert len(calls) == 1 and model.embed.weight.grad is not None
    assert accelerate(build_model("spline", ratio=2)) == "torch"  # no core to run elsewhere
    assert pretrained.load_model(band_run / "model.pt").runner is not None  # loading for the CPU does it
    cached = list((tmp_path / "cache" / "onnx").glob("band-*.onnx"))
    assert len(cached) == 1  # one export for these weights, reused by the second load
    cached[0].write_bytes(b"damaged")  # a damaged cache entry is exported again and replaced
    again = load_model_file(band_run / "model.pt").eval()
    assert accelerate(again) == "onnxruntime" and cached[0].read_bytes() != b"damaged"


def test_strength_scales_only_the_generated_band():
    sr = 48000
    given, estimate = full_band(sr, 1, 90), full_band(sr, 1, 91)
    full, half, none = (audio.put_back(given, estimate, sr, 6000, s) for s in (1.0, 0.5, 0.0))
    freqs = np.fft.rfftfreq(given.size, 1 / sr)
    top = max(audio.PUT_BACK_BAND[1], audio.STRENGTH_RAMP[1])  # all of it the network's, at the strength
    low, high = freqs < audio.PUT_BACK_BAND[0] * 6000, freqs > top * 6000
    f, h, z = (np.fft.rfft(v) for v in (full, half, none))
    np.testing.assert_allclose(h[low], f[low], atol=1e-6 * np.abs(f).max())  # the kept band untouched
    np.testing.assert_allclose(np.abs(h[high]), 0.5 * np.abs(f[high]), rtol=1e-4, atol=1e-6 * np.abs(f).max())
    assert np.abs(z[high]).max() < 1e-6 * np.abs(f).max()  # 0: nothing generated above the ramp


def test_the_choice_holds_every_input_rate_to_the_lsd_target():
    from wavesr.fullband import choose

    def m(lsd8, lsd24, snr):
        return {
            "lsd": (lsd8 + lsd24) / 2,
            "lsd_hf": 0.0,
            "snr": snr,
            "rates": {8000: {"lsd": lsd8}, 24000: {"lsd": lsd24}},
        }

    means = {"sinc": m(4.0, 2.0, 20.0), "net@1": m(1.5, 0.9, 19.0), "net@0.25": m(1.6, 1.1, 19.9)}
    # net@0.25 is within 0.5 x sinc's mean LSD and closer to its SNR, but at 24 kHz 0.55 x sinc's
    assert choose(means) == ("net@1", "the highest SNR with LSD at most 0.5 x sinc's at every input rate")
    flat = {k: {key: v[key] for key in ("lsd", "lsd_hf", "snr")} for k, v in means.items()}
    assert choose(flat)[0] == "net@0.25"  # per-rate figures missing: the mean is held to the target
    means["net@1"]["rates"][24000]["lsd"], means["net@1"]["lsd"] = 1.15, 1.325
    # none at every rate: the highest SNR within the target on the mean, else the lowest mean LSD
    assert choose(means) == (
        "net@0.25",
        "the highest SNR with LSD at most 0.5 x sinc's on the mean over input rates",
    )
    means["sinc"]["lsd"] = 2.6
    assert choose(means)[0] == "net@1" and choose(means)[1].startswith("no candidate")


def test_validation_scores_both_output_rates_per_input_and_source_rate(band_run, tmp_path, one_thread):
    from wavesr.fullband import RATES, candidate, validate

    items = []
    for name, sr, cut in (("a48", 48000, None), ("b44", 44100, None), ("narrow", 48000, 8000)):
        x = full_band(sr, 1.0, 70 + len(items))
        if cut:  # content to 8 kHz only: below the band scored at either rate
            x = scipy.signal.sosfiltfilt(scipy.signal.butter(12, cut, fs=sr, output="sos"), x).astype(
                np.float32
            )
        sf.write(tmp_path / f"{name}.wav", x, sr)
        items.append(Item(path=str(tmp_path / f"{name}.wav"), split="val", group=name))
    model = load_model_file(band_run / "model.pt").eval()
    means = validate(
        {"net": model, "live": tiny_band(causal=True)}, items, strengths=(1.0, 0.0), max_files=None
    )
    # a causal network puts the band back on its frames, where nothing is lifted: no +eq candidates
    assert set(means) == {"sinc", "net@1", "net@0", "net@1+eq", "net@0+eq", "live@1", "live@0"}
    assert candidate("net@0.25+eq") == ("net", 0.25, True) and candidate("a@b@1") == ("a@b", 1.0, False)
    every = {r for sr in (48000, 44100) for r in RATES[sr]}
    for m in means.values():
        assert set(m["rates"]) == every and set(m["sources"]) == {48000, 44100}
    # each file at the six input rates of both output rates; the narrow one not scored
    sinc = means["sinc"]
    assert sinc["n"] == 12 and sinc["sources"][48000]["n"] == 6 and sinc["sources"][44100]["n"] == 6
    assert sinc["snr"] == pytest.approx(np.mean([sinc["rates"][r]["snr"] for r in sorted(every)]))
    assert abs(means["net@0"]["snr"] - sinc["snr"]) < 0.5  # strength 0 keeps the input's band alone
    assert means["net@0+eq"]["snr"] > means["net@0"]["snr"]  # and lifting its transition band helps


def test_a_registry_strength_reaches_upsampling(band_run, tmp_path, monkeypatch):
    registry = tmp_path / "reg"
    pretrained.add_model(band_run / "model.pt", "speech-48k", "speech", registry=registry, strength=0.0)
    model = pretrained.load_model("speech-48k", registry=registry)
    assert model.strength == 0.0
    low = soxr.resample(full_band(48000, 1, 92), 48000, 8000)
    y, sr, _ = upsample_array(model, low, 8000)
    sinc = audio.fit_length(soxr.resample(low, 8000, 48000), y.shape[1])
    spectrum = np.abs(np.fft.rfft(y[0]))
    freqs = np.fft.rfftfreq(y.shape[1], 1 / sr)
    assert spectrum[freqs > 4500].max() < 1e-3 * spectrum.max()  # strength 0: no band generated
    assert metrics.snr(sinc, y[0]) > 30
    with pytest.raises(WavesrError, match="strength"):
        pretrained.add_model(band_run / "model.pt", "x", "speech", registry=registry, strength=2.0)


def test_upsample_equalize_flags_reach_the_put_back(band_run, tmp_path):
    low = soxr.resample(full_band(48000, 1, 94), 48000, 16000)
    sf.write(tmp_path / "in.wav", low, 16000, subtype="FLOAT")
    outs = {}
    for flag in ("--equalize", "--no-equalize"):
        out = tmp_path / f"{flag.strip('-')}.wav"
        args = ["upsample", str(tmp_path / "in.wav"), "-o", str(out), "--model", str(band_run), flag]
        assert main(args) == 0
        outs[flag] = sf.read(out)[0]
    plain, _, _ = upsample_array(load_model_file(band_run / "model.pt"), low, 16000, equalize=False)
    np.testing.assert_allclose(outs["--no-equalize"], plain[0], atol=2e-4)  # the run's own setting: off
    assert not np.allclose(outs["--equalize"], outs["--no-equalize"], atol=1e-5)


def test_a_registry_equalize_reaches_upsampling(band_run, tmp_path):
    registry = tmp_path / "reg"
    pretrained.add_model(band_run / "model.pt", "speech-48k", "speech", registry=registry, equalize=True)
    model = pretrained.load_model("speech-48k", registry=registry)
    assert model.equalize and not load_model_file(band_run / "model.pt").equalize
    low = soxr.resample(full_band(48000, 1, 93), 48000, 16000)
    mine, _, notes = upsample_array(model, low, 16000)
    again, _, _ = upsample_array(model, low, 16000, equalize=True)
    off, _, _ = upsample_array(model, low, 16000, equalize=False)
    assert np.array_equal(mine, again) and not np.allclose(mine, off, atol=1e-5)
    assert "attenuated top lifted" in notes[1]
    index = json.loads((registry / "registry.json").read_text())
    index["models"]["speech-48k"]["equalize"] = "yes"
    (registry / "registry.json").write_text(json.dumps(index))
    with pytest.raises(WavesrError, match="equalize"):
        pretrained.load_model("speech-48k", registry=registry)
