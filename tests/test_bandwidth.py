"""audio.cutoff / audio.file_cutoff: where an input's real content ends, and `wavesr info`.

Band-limited noise with known cutoffs, files resampled up from lower rates, real lossy files made
with ffmpeg's MP3, Vorbis, Opus and AAC encoders (the reference: where the decoded spectrum stops
following the source's), real full-band speech when the default corpus is installed, silence,
white and pink noise, stretches of a spliced file, and the CLI on real files.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import soxr

from wavesr import audio
from wavesr.cli import main

HAVE_FFMPEG = shutil.which("ffmpeg") is not None
rng = np.random.default_rng(0)


def near(measured, expected, rel=0.03, hz=250.0):
    return abs(measured - expected) <= max(rel * expected, hz)


def brick(x, sr, fc):
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(len(x), 1 / sr) > fc] = 0
    return np.fft.irfft(spectrum, len(x))


def full_band(sr, seconds, seed=0):
    """Noise tilted like music (more low than high), with a syllable-like envelope."""
    g = np.random.default_rng(seed)
    white = g.standard_normal(int(sr * seconds))
    b, a = scipy.signal.butter(1, 2000 / (sr / 2))
    x = 0.5 * white + 2 * scipy.signal.lfilter(b, a, white)
    envelope = 0.3 + 0.7 * np.abs(np.sin(2 * np.pi * 2.5 * np.arange(x.size) / sr))
    return (0.1 * x * envelope / np.abs(x).max()).astype(np.float32)


@pytest.mark.parametrize("sr", [44100, 48000])
@pytest.mark.parametrize("fc", [3000, 4000, 5500, 8000, 11025, 16000, 19000, 21000])
def test_band_limited_noise_within_3_percent_or_250_hz(sr, fc):
    noise = rng.standard_normal(sr * 2)
    assert near(audio.cutoff(0.1 * brick(noise, sr, fc), sr), fc)
    fir = scipy.signal.firwin(2001, fc, fs=sr)  # a steep linear-phase low-pass
    assert near(audio.cutoff(0.1 * scipy.signal.fftconvolve(noise, fir, "same"), sr), fc)


@pytest.mark.parametrize("low,rel", [(8000, 0.03), (16000, 0.05), (22050, 0.05)])
def test_a_file_resampled_up_from_a_lower_rate(tmp_path, low, rel):
    x = full_band(low, 4)
    up = soxr.resample(x, low, 44100)
    sf.write(tmp_path / "up.wav", up, 44100, subtype="PCM_16")
    measured = audio.file_cutoff(tmp_path / "up.wav").cutoff
    assert near(measured, low / 2, rel=rel) and measured <= low / 2 + 100, measured


def test_silence_white_and_pink_noise():
    sr = 44100
    white = rng.standard_normal(sr * 3)
    freqs = np.fft.rfftfreq(white.size, 1 / sr)
    pink = np.fft.irfft(np.fft.rfft(white) / np.sqrt(np.maximum(freqs, 20)), white.size)
    assert audio.cutoff(np.zeros(sr), sr) == 0.0
    assert audio.cutoff(white, sr) == sr / 2 and audio.cutoff(pink, sr) == sr / 2
    assert audio.cutoff(np.ones(sr) * 0.3, sr) == 0.0  # a DC offset is no content
    assert near(audio.cutoff(0.3 * np.sin(2 * np.pi * 1000 * np.arange(sr) / sr), sr), 1000)
    assert audio.cutoff(white[:100], sr) == sr / 2  # shorter than one frame: one padded frame


def test_a_file_shorter_than_a_frame_and_an_empty_one(tmp_path):
    sf.write(tmp_path / "tiny.wav", 0.1 * rng.standard_normal(100).astype(np.float32), 44100)
    tiny = audio.file_cutoff(tmp_path / "tiny.wav")
    assert (tiny.cutoff, len(tiny.stretches), tiny.seconds) == (22050.0, 1, 100 / 44100)
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 44100)
    with pytest.raises(audio.WavesrError, match="no samples|empty"):
        audio.file_cutoff(tmp_path / "empty.wav")


def _kept(source, decoded, sr):
    """Reference: the top of the highest band where the decoded file still holds the source's level
    (within 10 dB), among the bands where the source holds content (within 70 dB of its peak)."""
    s = audio.band_frames(source, sr).mean(axis=0)
    d = audio.band_frames(decoded, sr).mean(axis=0)
    s_db, d_db = 10 * np.log10(s + 1e-30), 10 * np.log10(d + 1e-30)
    kept = np.nonzero((d_db >= s_db - 10) & (s_db >= s_db.max() - 70))[0]
    return min((kept[-1] + 1) * audio.CUTOFF_BAND_HZ, sr / 2)


def _encode(src, out, codec, kbps, cutoff=None):
    args = ["ffmpeg", "-y", "-loglevel", "error", "-i", str(src), "-c:a", codec, "-b:a", f"{kbps}k"]
    subprocess.run(args + (["-cutoff", str(cutoff)] if cutoff else []) + [str(out)], check=True)
    return out


CODECS = [  # (encoder, extension, bitrates, -cutoff values)
    ("libmp3lame", "mp3", (64, 128), (None, 8000, 12000, 16000)),
    ("libvorbis", "ogg", (64, 128), (None, 8000, 12000, 16000)),
    ("libopus", "opus", (64, 128), (None, 8000, 12000)),
    ("aac", "m4a", (64, 128), (None,)),
]


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg is not installed (make system-deps)")
@pytest.mark.parametrize("codec,ext,rates,cutoffs", CODECS, ids=[c[0] for c in CODECS])
def test_lossy_files_made_with_ffmpeg(tmp_path, codec, ext, rates, cutoffs):
    sr = 44100
    source = full_band(sr, 6)
    sf.write(tmp_path / "source.wav", source, sr)
    for kbps in rates:
        for cut in cutoffs:
            encoded = _encode(tmp_path / "source.wav", tmp_path / f"{kbps}-{cut}.{ext}", codec, kbps, cut)
            if ext == "m4a":  # libsndfile reads no MP4 container: AAC audio decoded by ffmpeg first
                subprocess.run(
                    ["ffmpeg", "-y", "-loglevel", "error", "-i", str(encoded), str(encoded) + ".wav"],
                    check=True,
                )
                encoded = Path(str(encoded) + ".wav")
            measured = audio.file_cutoff(encoded).cutoff  # MP3, Vorbis and Opus read as they are
            decoded, rate = sf.read(encoded, dtype="float32", always_2d=True)
            decoded = soxr.resample(decoded, rate, sr)[:, 0] if rate != sr else decoded[:, 0]
            assert near(measured, _kept(source, decoded, sr)), (codec, kbps, cut, measured)
            if cut:
                assert measured < sr / 2 - 2000, (codec, kbps, cut, measured)


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg is not installed (make system-deps)")
@pytest.mark.corpus
def test_real_full_band_speech_and_its_mp3s(tmp_path):
    """tuxpaint's French voice (44.1 kHz Vorbis, a 20 kHz codec cliff) and LAME's low-passes of it."""
    from wavesr.data.fetch import fetch_deb

    try:
        pkg = fetch_deb("tuxpaint-stamps-default")
    except Exception as e:  # no package lists, no mirror: the corpus tests need it
        pytest.skip(f"tuxpaint-stamps-default not available ({e})")
    files = sorted(Path(pkg.root).rglob("*_desc_fr.ogg"))[:40]
    if len(files) < 10:
        pytest.skip("tuxpaint's French recordings are not there")
    x = np.concatenate([audio.load(f, sr=44100, mono=True)[0] for f in files])
    sf.write(tmp_path / "fr.wav", x, 44100)
    assert 19000 <= audio.file_cutoff(tmp_path / "fr.wav").cutoff <= 21000  # DATA.md: 20.1 kHz
    assert (
        15500
        <= audio.file_cutoff(_encode(tmp_path / "fr.wav", tmp_path / "64.mp3", "libmp3lame", 64)).cutoff
        <= 17500
    )
    low = _encode(tmp_path / "fr.wav", tmp_path / "32.mp3", "libmp3lame", 32)
    assert 7500 <= audio.file_cutoff(low).cutoff <= 9500


def test_stretches_of_a_spliced_file_and_streaming_equals_arrays(tmp_path):
    sr = 44100
    wide = full_band(sr, 40, seed=1)
    narrow = brick(full_band(sr, 40, seed=2), sr, 8000).astype(np.float32)
    both = np.concatenate([wide, narrow])
    sf.write(tmp_path / "spliced.flac", np.stack([both, both[::-1]], axis=1), sr)
    measured = audio.file_cutoff(tmp_path / "spliced.flac", stretch_seconds=20)
    assert [round(e) for _, e, _ in measured.stretches] == [20, 40, 60, 80]
    cuts = [c for _, _, c in measured.stretches]
    assert all(c >= 20000 for c in cuts[:2])  # the second channel is the file reversed: both halves full
    sf.write(tmp_path / "spliced.wav", both, sr)
    mono = audio.file_cutoff(tmp_path / "spliced.wav", stretch_seconds=20)
    assert [near(c, e) for (_, _, c), e in zip(mono.stretches, (sr / 2, sr / 2, 8000, 8000))] == [True] * 4
    assert mono.cutoff == sr / 2 and mono.varies()
    for s, e, c in mono.stretches:  # blocks and frame carry-over give what the array gives
        assert abs(c - audio.cutoff(both[int(s * sr) : int(e * sr)], sr)) <= audio.CUTOFF_BAND_HZ


def test_wavesr_info_on_real_files(tmp_path, capsys):
    sr = 48000
    sf.write(tmp_path / "wide.wav", full_band(sr, 3), sr, subtype="PCM_24")
    sf.write(tmp_path / "phone.flac", soxr.resample(full_band(8000, 3), 8000, sr), sr)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEfmt nonsense")
    code = main(
        ["info", str(tmp_path / "wide.wav"), str(tmp_path / "broken.wav"), str(tmp_path / "phone.flac")]
    )
    out, err = capsys.readouterr()
    assert code == 1 and "broken.wav" in err and "2 of 3 files measured" in err and "Traceback" not in err
    assert "wide.wav: 48000 Hz, 1 ch, 3.00 s, WAV PCM_24" in out and "full band at this rate" in out
    assert "phone.flac: 48000 Hz" in out and "content ends at 3.9 kHz of 24.0 kHz" in out
