"""wavesr.channels: the seeded family of channels real audio comes through, and drawing one per
training example as it is read (data.augment.ChannelDraw)."""

import numpy as np
import pytest
import torch
from conftest import TINY_TRAIN, prepare_voices

from wavesr import audio, channels
from wavesr.channels import Channel, draw, parse
from wavesr.data.augment import ChannelDraw
from wavesr.errors import WavesrError

SR = 44100


@pytest.fixture(scope="module")
def full_band():
    x = np.random.default_rng(0).standard_normal((2, SR * 2)).astype(np.float32)
    return 0.05 * x  # stereo white noise: content to the Nyquist frequency in both channels


SHARP = [  # channels whose content ends at the cutoff (within 3 % or 250 Hz, or below for the resamplers)
    "brickwall@3000",
    "brickwall@16000",
    "lowpass:ellip:o10:r0.1:s90:zero@8000",
    "lowpass:cheby2:o12:s80:zero@5000",
    "resample:soxr-vhq@11025",
    "resample:soxr-lq@6000",
    "codec:mp3:q0.3@12000",
    "codec:vorbis:q0.5@8000",
]


@pytest.mark.parametrize("name", SHARP)
def test_sharp_channels_end_the_content_at_their_cutoff(full_band, name):
    ch = parse(name)
    y = ch.apply(full_band, SR)
    assert y.shape == full_band.shape and y.dtype == np.float32 and np.all(np.isfinite(y))
    measured = audio.cutoff(y, SR)
    assert measured <= ch.cutoff + max(0.03 * ch.cutoff, 250), measured
    # the content below is kept (Chebyshev II's cutoff is where its stop band begins: it ends lower)
    assert measured >= (0.75 if ch.kind == "cheby2" else 0.85) * ch.cutoff, measured
    level = float(np.sqrt(np.mean(y**2)) / np.sqrt(np.mean(full_band**2)))
    assert abs(level - np.sqrt(min(ch.cutoff, measured) / (SR / 2))) < 0.1, (
        level
    )  # white noise: power ~ bandwidth


def test_a_low_quality_resampler_leaves_its_top_band_far_down(full_band):
    """scipy's polyphase filter (Kaiser, about 50 dB of stop band) leaves residue above its cutoff that
    audio.cutoff's 70 dB range still sees: the channel is lossy, not band-limited to the last dB."""
    y = parse("resample:polyphase@8000").apply(full_band[0], SR)
    bands = audio.band_frames(y, SR).mean(axis=0)
    freqs = np.arange(bands.size) * audio.CUTOFF_BAND_HZ
    below, above = bands[(freqs > 1000) & (freqs < 7000)].mean(), bands[freqs > 9000].mean()
    assert 10 * np.log10(below / above) > 40


def test_every_family_runs_on_mono_and_stereo_at_44_1_and_48_khz(full_band):
    rng = np.random.default_rng(1)
    for sr in (44100, 48000):
        for family in channels.FAMILIES:
            for _ in range(3):
                ch = draw(rng, sr, families=(family,), held_out=True)
                for x in (full_band[0], full_band):
                    y = ch.apply(x, sr)
                    assert y.shape == x.shape and np.all(np.isfinite(y)), ch.name
                assert audio.cutoff(ch.apply(full_band[0], sr), sr) < sr / 2 - 500, ch.name  # the top is gone


def test_draws_are_seeded_named_and_within_their_ranges():
    a = [draw(np.random.default_rng(7), SR) for _ in range(3)]
    b = [draw(np.random.default_rng(7), SR) for _ in range(3)]
    assert a == b
    names = set()
    rng = np.random.default_rng(3)
    for _ in range(400):
        ch = draw(rng, SR)
        names.add(ch.family)
        assert parse(ch.name) == ch, ch.name
        assert not ch.held_out, ch.name  # a training draw never makes a held-out channel
        assert channels.MIN_CUTOFF * 0.9 <= ch.cutoff <= 0.45 * SR or ch.family == "telephone", ch.name
        if ch.family == "lowpass":
            assert 2 <= ch.order <= 12 and ch.phase in ("zero", "minimum")
    assert names == set(channels.TRAINING_FAMILIES)
    held = {
        draw(rng, SR, families=("lowpass", "codec", "brickwall"), held_out=True).held_out for _ in range(200)
    }
    assert held == {True, False}
    cutoffs = [draw(rng, SR, families=("brickwall",), low=2000, high=20000).cutoff for _ in range(300)]
    assert min(cutoffs) < 2500 and max(cutoffs) > 17000  # drawn across the whole range, continuously
    assert len(set(cutoffs)) > 250


def test_bad_names_and_ranges_are_one_line():
    for bad in ("lowpass:cheby1", "nothing@100", "lowpass:cheby1:x8@100", "@"):
        with pytest.raises(WavesrError):
            parse(bad)
    with pytest.raises(WavesrError, match="unknown low-pass"):
        Channel("lowpass", 1000, "chebyshev", 4).apply(np.zeros(1000), SR)
    with pytest.raises(WavesrError, match="not below the Nyquist"):
        parse("brickwall@30000").apply(np.zeros(1000), SR)
    with pytest.raises(WavesrError, match="unknown channel family"):
        draw(np.random.default_rng(0), SR, families=("radio",))


def test_training_draws_a_new_channel_per_example_as_it_is_read(tmp_path):
    data = prepare_voices(tmp_path, counts=(("train", 2),), seconds=2.0)
    from wavesr.data.patches import PatchDataset

    patches = PatchDataset(data / "train")
    drawn = ChannelDraw(patches, seed=5)
    x, hr = drawn[0]
    assert x.shape == hr.shape == (1, patches.patch_len) and x.dtype == torch.float32
    seen = [drawn.channel(i).name for i in range(len(drawn))]
    assert len(set(seen)) > len(seen) / 2  # a draw per example (telephone and decimate repeat by nature)
    first = [drawn.channel(i) for i in range(4)]
    drawn.set_epoch(1)
    assert [drawn.channel(i) for i in range(4)] != first  # and new ones every epoch
    drawn.set_epoch(0)
    assert [drawn.channel(i) for i in range(4)] == first  # the same after a restart (seed, epoch, index)
    again = ChannelDraw(PatchDataset(data / "train"), seed=5)
    assert torch.equal(again[3][0], drawn[3][0])
    loader = torch.utils.data.DataLoader(drawn, batch_size=4, num_workers=2)
    for batch, _ in loader:  # real worker processes draw what the main process would
        assert torch.allclose(batch[0], drawn[0][0])
        break
    only = ChannelDraw(patches, families=("codec",), seed=1)
    assert {only.channel(i).family for i in range(len(only))} == {"codec"}


def test_a_training_run_draws_its_channels(tmp_path):
    """`wavesr train --channels ...`: a real (tiny) run whose every patch input is a fresh channel's."""
    import json

    from wavesr.cli import main
    from wavesr.data.patches import PatchDataset
    from wavesr.models.base import load_model_file

    data = prepare_voices(tmp_path, counts=(("train", 2),), seconds=2.0)
    tiny = [*TINY_TRAIN, "--max-steps", "3"]
    run = tmp_path / "run"
    assert (
        main(["train", str(data / "train"), "-o", str(run), *tiny, "--channels", "lowpass,resample,codec"])
        == 0
    )
    assert json.loads((run / "config.json").read_text())["train"]["channels"] == "lowpass,resample,codec"
    assert load_model_file(run / "model.pt").channel == "channels:lowpass,resample,codec"  # not conditioned
    drawn = ChannelDraw(PatchDataset(data / "train"), ("lowpass", "resample", "codec"), ratio=4)
    lr, hr = drawn[0]
    assert lr.shape == (1, hr.shape[1] // 4)
    assert all(1000 <= drawn.channel(i).cutoff <= 2000 for i in range(20))  # within the low-rate band
    assert (
        main(["train", str(data / "train"), "-o", str(tmp_path / "bad"), *tiny, "--channels", "radio"]) == 1
    )


@pytest.mark.skipif(
    __import__("shutil").which("ffmpeg") is None, reason="ffmpeg is not installed (make system-deps)"
)
@pytest.mark.parametrize(
    "name,top",
    [
        ("codec:aac:b64@16000", 16000),
        ("codec:aac:b32@8000", 8000),
        ("telephone:g722@7000", 8000),
        ("codec:mp3:b64@16000", 16000),
        ("codec:vorbis:b96@16000", 16000),
    ],
)
def test_ffmpeg_channels_keep_shape_and_time(full_band, name, top):
    """AAC (in an MP4 container, its priming trimmed) and G.722 (its filter-bank delay removed) come
    back in time with their input, stereo as stereo, band-limited; no training draw makes them."""
    ch = parse(name)
    y = ch.apply(full_band, SR)
    assert y.shape == full_band.shape and ch.needs_ffmpeg and parse(ch.name) == ch
    assert audio.cutoff(y, SR) <= top + 250
    reference = parse(f"resample:soxr-vhq@{min(ch.cutoff, 7000):.0f}").apply(full_band, SR)
    lag = int(np.argmax(np.correlate(y[0, 2000:6000], reference[0, 2000 - 200 : 6000 + 200], "valid"))) - 200
    assert lag == 0, lag
    rng = np.random.default_rng(4)
    assert not any(draw(rng, SR, held_out=True).needs_ffmpeg for _ in range(300))
