"""wavesr.fullband and `wavesr evaluate --fullband`: the later literature's protocol for sinc and cubic."""

import csv
import json

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from wavesr import fullband, metrics
from wavesr.cli import main
from wavesr.errors import WavesrError


def full_band(sr, seconds, seed):
    g = np.random.default_rng(seed)
    white = g.standard_normal(int(sr * seconds))
    b, a = scipy.signal.butter(1, 2000 / (sr / 2))
    x = 0.5 * white + 2 * scipy.signal.lfilter(b, a, white)
    envelope = 0.3 + 0.7 * np.abs(np.sin(2 * np.pi * (2 + seed) * np.arange(x.size) / sr))
    return (0.1 * x * envelope / np.abs(x).max()).astype(np.float32)


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "heldout"
    folder.mkdir()
    for i in range(3):
        sf.write(folder / f"f{i}.wav", full_band(48000, 2, i), 48000)
    x = full_band(48000, 2, 9)
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(x.size, 1 / 48000) > 6000] = 0
    sf.write(folder / "narrow.wav", np.fft.irfft(spectrum, x.size).astype(np.float32), 48000)
    return folder


def test_the_clamped_lsd_is_the_literature_formula():
    rng = np.random.default_rng(0)
    ref, est = rng.standard_normal(8000), 0.5 * rng.standard_normal(8000)
    p_ref, p_est = metrics.stft_power(ref), metrics.stft_power(est)
    by_hand = np.mean(
        np.sqrt(np.mean((np.log10(np.maximum(p_ref, 1e-8)) - np.log10(np.maximum(p_est, 1e-8))) ** 2, axis=1))
    )
    assert metrics.lsd(ref, est, "clamped") == pytest.approx(by_hand)
    assert metrics.lsd(ref, ref, "clamped") == 0.0


def test_full_band_table_for_sinc_and_cubic(files, tmp_path, capsys):
    channels = "resample:soxr-vhq,brickwall,lowpass:ellip:o8:r0.1:s80:zero,codec:mp3:q0.6"
    args = [
        "evaluate",
        "sinc",
        "cubic",
        "--fullband",
        "--files",
        str(files),
        "--channels",
        channels,
        "-o",
        str(tmp_path / "out"),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Full-band evaluation to 48000 Hz (3 files)" in out
    for rate in ("8 kHz", "12 kHz", "16 kHz", "24 kHz"):
        assert f"| {rate} |" in out
    assert "Robustness" in out and "narrow.wav (6.1 kHz)" in out  # narrow content is left out, and said so
    rows = list(csv.DictReader(open(tmp_path / "out" / "rows.csv")))
    assert len(rows) == 3 * 4 * 4 * 2  # files x channels x rates x methods
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    cell = {(r["channel"], r["input_rate"], r["method"]): r for r in summary["table"]}
    for rate in (8000, 12000, 16000, 24000):
        sinc, cubic = cell[("resample:soxr-vhq", rate, "sinc")], cell[("resample:soxr-vhq", rate, "cubic")]
        assert sinc["snr"] > cubic["snr"]  # band-limited interpolation is the better waveform
        assert sinc["lsd_hf"] > sinc["lsd_lf"]  # the missing band is where the distance is
    # a higher input rate leaves less to restore
    assert (
        cell[("resample:soxr-vhq", 24000, "sinc")]["lsd"] < cell[("resample:soxr-vhq", 8000, "sinc")]["lsd"]
    )
    assert main(args) == 1 and "already holds files" in capsys.readouterr().err  # no silent replacement
    assert main(args + ["--force"]) == 0
    saving = args + ["--force", "--input-rates", "16000", "--save-audio", "1"]
    assert main(saving) == 0 and main(saving) == 0  # --force replaces the audio the earlier one saved
    assert len(list((tmp_path / "out" / "audio").glob("*/*/hr.wav"))) == 1


def test_min_band_sets_which_files_are_scored(files, tmp_path, capsys):
    args = ["evaluate", "sinc", "--fullband", "--files", str(files), "--input-rates", "16000", "-q"]
    assert main(args + ["-o", str(tmp_path / "a")]) == 0
    assert "(3 files)" in capsys.readouterr().out  # narrow.wav's 6.1 kHz is under 0.85 x 24 kHz
    assert main(args + ["--min-band", "0.2", "-o", str(tmp_path / "b")]) == 0
    assert "(4 files)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(args + ["--min-band", "1.5", "-o", str(tmp_path / "c")])
    assert "--min-band" in capsys.readouterr().err


def test_44_1_khz_family_and_bad_settings(files, tmp_path, capsys):
    summary = fullband.evaluate_fullband(
        ["sinc"], [files / "f0.wav"], tmp_path / "o441", fullband.FullbandConfig(sr=44100)
    )
    assert [r["input_rate"] for r in summary["table"]] == [11025, 22050]
    for cfg, problem in (
        (fullband.FullbandConfig(input_rates=(7000,)), "does not divide"),
        (fullband.FullbandConfig(channels=("radio",)), "unknown channel family"),
        (fullband.FullbandConfig(sr=32000), "no default input rates"),
    ):
        with pytest.raises(WavesrError, match=problem):
            fullband.evaluate_fullband(["sinc"], [files], tmp_path / "bad", cfg)
    with pytest.raises(WavesrError, match="a x4 network of the paper.s protocol"):
        fullband.evaluate_fullband(["speech-x4"], [files], tmp_path / "bad")
    assert (
        main(["evaluate", "speech-x4", "--fullband", "--files", str(files), "-o", str(tmp_path / "x")]) == 1
    )
    assert "full-band networks" in capsys.readouterr().err


def test_pesq_and_stoi_are_scored_where_installed(files, tmp_path):
    pytest.importorskip("pesq")
    pytest.importorskip("pystoi")
    cfg = fullband.FullbandConfig(sr=48000, input_rates=(8000, 16000), pesq=True, stoi=True)
    summary = fullband.evaluate_fullband(["sinc", "cubic"], [files], tmp_path / "ev", cfg)
    assert all(np.isfinite(r["pesq"]) and 0 < r["stoi"] <= 1 for r in summary["table"])
    text = (tmp_path / "ev" / "summary.md").read_text()
    assert "PESQ (wideband, 16 kHz) and STOI" in text and "sinc PESQ" in text


def test_source_selects_the_files_of_one_source(files, tmp_path, capsys):
    from wavesr.data.corpus import Corpus, Item

    items = [
        Item(path=str(p), split="test", group=p.stem, duration=2.0, sr=48000, channels=1, source=src)
        for p, src in zip(sorted(files.glob("f*.wav")), ("pkg-a", "pkg-b", "pkg-b"))
    ]
    manifest = Corpus("two", str(files), items).save(tmp_path / "two.json")
    base = ["evaluate", "sinc", "--fullband", "--corpus", str(manifest), "--input-rates", "16000"]
    assert main(base + ["--source", "pkg-b", "-o", str(tmp_path / "b")]) == 0
    assert "Full-band evaluation to 48000 Hz (2 files)" in capsys.readouterr().out
    settings = json.loads((tmp_path / "b" / "settings.json").read_text())
    assert settings["corpus"]["sources"] == ["pkg-b"]
    assert main(base + ["--source", "pkg-c", "-o", str(tmp_path / "c")]) == 1
    assert "no source pkg-c (its sources: pkg-a, pkg-b)" in capsys.readouterr().err
    assert main(["evaluate", "sinc", "--fullband", "--files", str(files), "--source", "x", "-o", "y"]) == 1
    assert "--source selects files of a --corpus" in capsys.readouterr().err
