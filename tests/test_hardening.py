"""Bad input, odd input and hostile environments, through the CLI, the Python API and audio.load.

Policy these tests pin down (see also audio.load, audio.truncation and audiofiles.upsample_file):

* A file wavesr cannot use -- empty, no samples, not audio, an unsupported format, a codec
  libsndfile cannot decode to its end (a truncated FLAC), NaN or infinite samples -- is one line
  naming the file and the problem: ``wavesr upsample`` skips it (exit 1 once the batch is done,
  with a summary of the failures, the other files written), ``audio.load`` and the Python API
  raise :class:`WavesrError`, ``wavesr prepare`` lists it on stderr, records it in
  settings.json and builds the dataset from the other files (exit 0 when it could).
* A truncated file that libsndfile can still decode (a WAV / AIFF cut short, a truncated MP3)
  is used as far as it goes -- ``audio.load`` and ``upsample`` use the same frames -- and
  ``upsample`` says so in a note. A WAV written as a stream (data size 0xFFFFFFFF) looks the same
  and must keep working, which is why truncation is a note and not a refusal.
* Odd but valid audio works and is explained: silence, DC offset, float samples beyond full
  scale (kept in, soft-limited out, both noted), one sample, shorter than a chunk or the
  network's receptive field, any depth, 1-8 channels, any rate (resampled, noted).
* A write that fails (an unwritable folder, a full disk, a file-size limit) leaves neither the
  output nor its temporary file, and says why in one line.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import wavesr
from wavesr import audio, inference
from wavesr.cli import main
from wavesr.data.patches import PatchDataset
from wavesr.errors import WavesrError
from wavesr.models import base, build_model, save_model

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------- helpers


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A spline x4 checkpoint and a tiny AudioUNet one (16 kHz), in the working folder."""
    save_model(build_model("spline", ratio=4), tmp_path / "spline.pt")
    torch.manual_seed(0)
    save_model(
        build_model("audiounet", ratio=4, blocks=2, filters=[4, 8], kernel_sizes=[5, 3], dropout=0.0),
        tmp_path / "tiny.pt",
    )
    monkeypatch.setenv("WAVESR_PRETRAINED", str(tmp_path / "registry"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def noise(frames, channels=1, amp=0.2, seed=0):
    return (amp * np.random.default_rng(seed).standard_normal((channels, frames))).astype(np.float32)


def write(path, x, sr=8000, subtype="PCM_16", fmt=None):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x.T, sr, subtype=subtype, format=fmt)
    return path


def cut(path, fraction=0.5):
    """Keep the first ``fraction`` of a file's bytes (a truncated copy)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def leftovers(folder):
    """Temporary files of atomic writes anywhere under ``folder``."""
    return sorted(p.name for p in Path(folder).rglob(".*.tmp*"))


def upsample_cli(*args):
    return main(["upsample", *map(str, args), "--model", "spline.pt", "-q"])


# --------------------------------------------------------------------------- files refused


def _empty(d):
    d.mkdir(parents=True, exist_ok=True)
    (d / "empty.wav").write_bytes(b"")
    return d / "empty.wav"


def _no_frames(d):
    return write(d / "zero.wav", np.zeros((1, 0), np.float32))


def _text(d):
    d.mkdir(parents=True, exist_ok=True)
    (d / "text.wav").write_text("this is not audio\n" * 40)
    return d / "text.wav"


def _truncated_flac(d):
    return cut(write(d / "cut.flac", noise(16000, 2), fmt="FLAC"))


def _m4a(d):  # an MP4 container: a format libsndfile does not read
    d.mkdir(parents=True, exist_ok=True)
    (d / "song.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A mp42isom" + bytes(4000))
    return d / "song.m4a"


def _wav_codec(d):  # a WAV whose 'fmt ' chunk names a codec libsndfile does not know
    path = write(d / "codec.wav", noise(4000))
    data = bytearray(path.read_bytes())
    i = data.find(b"fmt ")
    data[i + 8 : i + 10] = struct.pack("<H", 0x2000)  # AC-3
    path.write_bytes(bytes(data))
    return path


def _bad_mp3(d):
    d.mkdir(parents=True, exist_ok=True)
    (d / "bad.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + np.random.default_rng(1).bytes(3000))
    return d / "bad.mp3"


def _nan(d):
    x = noise(8000, 2)
    x[1, 2000] = np.nan
    return write(d / "nan.wav", x, subtype="FLOAT")


def _inf(d):
    x = noise(8000)
    x[0, 6000] = -np.inf
    return write(d / "inf.wav", x, subtype="DOUBLE")


REFUSED = {  # maker, what the message says after the file's name
    "empty file": (_empty, r"empty file \(0 bytes\)"),
    "zero frames": (_no_frames, "contains no samples"),
    "not audio": (
        _text,
        r"cannot read audio header \(Format not recognised\): damaged, truncated or not audio",
    ),
    "truncated flac": (_truncated_flac, r"cannot decode audio \(.*\): damaged, truncated or not audio"),
    "unsupported format": (_m4a, r"unsupported format \.m4a \(Format not recognised\); wavesr reads \.wav"),
    "unknown wav codec": (_wav_codec, r"cannot read audio header \(.*'fmt ' chunk\)"),
    "bad mp3": (_bad_mp3, r"\(no valid MPEG audio stream\)"),
    "nan": (_nan, r"non-finite sample \(NaN or Inf\) at 0\.250 s"),
    "inf": (_inf, r"non-finite sample \(NaN or Inf\) at 0\.750 s"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_file_is_one_line_everywhere(env, capsys, case):
    make, problem = REFUSED[case]
    bad = make(env)
    good = write(env / "good.wav", noise(4000))
    # CLI: the bad file is skipped with one line, the good one is written, the summary lists the failure
    assert upsample_cli(bad.name, good.name, "-o", "out") == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("wavesr:")]
    assert len(lines) == 1 and lines[0].startswith(f"wavesr: skipped {bad.name}: "), err
    assert re.search(problem, lines[0]), lines[0]
    assert err.splitlines()[-1] == f"1 of 2 files upsampled; failed: {bad.name}"
    assert sorted(p.name for p in (env / "out").iterdir()) == ["good.sr.wav"] and not leftovers(env)
    # audio.load and the Python API: a WavesrError with the same one line
    for call in (
        lambda: audio.load(bad),
        lambda: wavesr.upsample_file(base.load_model_file("spline.pt"), bad, "o.wav"),
    ):
        with pytest.raises(WavesrError) as e:
            call()
        assert str(bad) in str(e.value) and "\n" not in str(e.value)
    assert not (env / "o.wav").exists() and not leftovers(env)


def test_debug_shows_the_traceback(env):
    bad = _text(env)
    with pytest.raises(WavesrError, match="text.wav"):
        main(
            ["--debug", "upsample", str(bad), "--model", "spline.pt", "-o", "x.wav", "-q"]
        )  # a single-file error
    with pytest.raises(WavesrError, match="nothing.pt"):
        main(["--debug", "upsample", str(bad), "--model", "nothing.pt", "-q"])


def test_a_batch_of_every_bad_file(env, capsys):
    bad = [make(env / "in") for make, _ in REFUSED.values()]
    for i in range(3):
        write(env / "in" / f"good{i}.flac", noise(3000 + i, i + 1), fmt="FLAC")
    assert upsample_cli("in", "-o", "out") == 1
    err = capsys.readouterr().err.splitlines()
    # song.m4a is not an audio extension: a folder scan skips it (given by name, it is refused above)
    failed = sorted(str(p.relative_to(env)) for p in bad if p.suffix != ".m4a")
    assert sum(line.startswith("wavesr: skipped") for line in err) == len(failed) == len(bad) - 1
    assert err[-1] == f"3 of {3 + len(failed)} files upsampled; failed: " + ", ".join(failed)
    for i in range(3):
        info = sf.info(env / "out" / f"good{i}.sr.wav")
        assert (info.channels, info.frames) == (i + 1, 2 * (3000 + i))
    assert len(list((env / "out").iterdir())) == 3 and not leftovers(env)


def test_prepare_lists_bad_files_and_builds_from_the_rest(env, capsys):
    corpus = env / "corpus" / "train"  # train/ and test/ folders: every file is in the train split
    (env / "corpus" / "test").mkdir(parents=True)
    bad = {make(corpus).name: problem for make, problem in REFUSED.values()}
    for i in range(3):
        write(corpus / f"voice{i}.wav", noise(16000, 1 + i, seed=i), sr=16000)
    assert (
        main(
            [
                "prepare",
                "folder",
                "--root",
                str(env / "corpus"),
                "-o",
                "ds",
                "--patch-len",
                "2048",
                "--workers",
                "0",
            ]
        )
        == 1
    )  # built from the good files, but the bad ones make the exit code say so
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "UserWarning" not in captured.err
    skipped = [line for line in captured.err.splitlines() if line.startswith("wavesr: skipped")]
    del bad["song.m4a"]  # not an audio extension: never part of the corpus
    assert len(skipped) == len(bad)
    for name, problem in bad.items():  # one line per file, naming it and the problem
        line = next(line for line in skipped if f"/{name}: " in line)
        assert re.search(problem, line), line
    ds = PatchDataset(env / "ds")
    assert ds.settings["totals"]["files_used"] == 3 and len(ds) > 0
    assert np.all(np.isfinite(np.memmap(env / "ds" / "hr.f32", dtype="<f4", mode="r")))  # no NaN patch got in
    assert {"nan.wav", "inf.wav", "cut.flac"} <= {Path(f["path"]).name for f in ds.settings["skipped_files"]}
    assert "3 files skipped (unreadable: 3)" in captured.out


def test_prepare_of_nothing_usable_fails_in_one_line(env, capsys):
    corpus = env / "corpus"
    corpus.mkdir()
    _nan(corpus)
    _text(corpus)
    assert main(["prepare", "folder", "--root", str(corpus), "-o", "ds", "--workers", "0"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("wavesr: error: ")
    assert not (env / "ds").exists() and not (env / "ds.partial").exists()


# ------------------------------------------------------------------------- truncated but usable


def test_truncated_wav_is_used_as_far_as_it_goes_with_a_note(env, capsys):
    x = noise(8000, 2)
    path = cut(write(env / "cut.wav", x))
    frames = sf.info(path).frames
    assert 3900 < frames < 4000
    loaded, _ = audio.load(path)
    assert loaded.shape == (2, frames) and np.allclose(loaded, x[:, :frames], atol=1e-4)
    assert upsample_cli(path) == 0
    out = capsys.readouterr().out
    assert "the header declares 32000 bytes of samples but the file holds" in out and "truncated" in out
    assert sf.info(env / "cut.sr.wav").frames == 2 * frames


def test_truncated_mp3_is_used_as_far_as_it_goes_with_a_note(env, capsys):
    path = cut(write(env / "cut.mp3", noise(40000), fmt="MP3", subtype="MPEG_LAYER_III"))
    declared = sf.info(path).frames
    loaded, _ = audio.load(path)
    assert 0 < loaded.shape[1] < declared  # libsndfile's count comes from the (intact) header
    assert upsample_cli(path) == 0
    assert f"the file ended after {loaded.shape[1]} of the {declared} frames" in capsys.readouterr().out
    assert sf.info(env / "cut.sr.wav").frames == 2 * loaded.shape[1]


def test_wav_written_as_a_stream_still_works(env, capsys):
    """A WAV from a pipe has data size 0xFFFFFFFF: it looks truncated, and must not be refused."""
    path = write(env / "stream.wav", noise(8000))
    data = bytearray(path.read_bytes())
    i = data.find(b"data")
    data[4:8] = data[i + 4 : i + 8] = struct.pack("<I", 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    assert audio.load(path)[0].shape == (1, 8000)
    assert upsample_cli(path) == 0
    assert "written as a stream" in capsys.readouterr().out and sf.info(env / "stream.sr.wav").frames == 16000


# ------------------------------------------------------------------------ odd but valid audio


def _run_one(env, capsys, x, sr=8000, subtype="PCM_16", model="spline.pt", *extra):
    path = write(env / "in.wav", x, sr, subtype)
    assert main(["upsample", str(path), "--model", model, "-q", "-o", "out.wav", "--force", *extra]) == 0
    y, out_sr = sf.read(env / "out.wav", dtype="float32", always_2d=True)
    return y.T, out_sr, capsys.readouterr().out


def test_silence_gives_silence_with_a_note(env, capsys):
    y, sr, out = _run_one(env, capsys, np.zeros((2, 8000), np.float32))
    assert sr == 16000 and y.shape == (2, 16000) and not np.any(y)
    assert "the input is silent (all samples zero): the output is silence" in out


def test_dc_offset_is_kept_with_a_note(env, capsys):
    y, _, out = _run_one(env, capsys, 0.4 + noise(8000, amp=0.05))
    assert abs(y.mean() - 0.4) < 0.01 and "DC offset (a channel's mean is 0.4" in out


def test_float_samples_beyond_full_scale_are_limited_and_noted(env, capsys):
    x = noise(8000, 2, amp=3.0)
    y, _, out = _run_one(env, capsys, x, subtype="FLOAT")
    assert "input peak" in out and "over full scale (a float file): kept as it is" in out
    assert "soft-limited" in out and np.max(np.abs(y)) <= 1.0 and y.shape == (2, 16000)
    y, _, out = _run_one(env, capsys, x, 8000, "FLOAT", "spline.pt", "--no-limiter")
    assert np.max(np.abs(y)) > 3.0 and "kept (float output)" in out


@pytest.mark.parametrize(
    "frames,sr,expected", [(1, 8000, 2), (1, 4000, 4), (1, 16000, 1), (3, 8000, 6), (37, 44100, 13)]
)
def test_tiny_files(env, capsys, frames, sr, expected):
    for model in ("spline.pt", "tiny.pt"):  # the tiny AudioUNet's receptive field is longer than these files
        y, out_sr, _ = _run_one(env, capsys, noise(frames, 2), sr, "PCM_16", model)
        assert out_sr == 16000 and y.shape == (2, expected) and np.all(np.isfinite(y))


def test_too_short_for_one_output_sample(env, capsys):
    write(env / "one.wav", noise(1), 44100)
    assert upsample_cli("one.wav") == 1
    assert (
        "one.wav: too short (1 samples at 44100 Hz is less than one output sample at 16000 Hz)"
        in capsys.readouterr().err
    )


def test_shorter_than_one_chunk(env, capsys):
    y, _, _ = _run_one(
        env,
        capsys,
        noise(1200, 3),
        4000,
        "PCM_16",
        "tiny.pt",
        "--chunk-seconds",
        "1",
        "--overlap-seconds",
        "0.25",
    )
    assert y.shape == (3, 4800)
    y, _, out = _run_one(
        env,
        capsys,
        noise(4100, 3),
        4000,
        "PCM_16",
        "tiny.pt",
        "--chunk-seconds",
        "1",
        "--overlap-seconds",
        "0.25",
    )
    assert y.shape == (3, 16400) and "chunks of 1.00 s" in out


@pytest.mark.parametrize(
    "subtype,kept",
    [
        ("PCM_U8", "PCM_16"),
        ("PCM_16", "PCM_16"),
        ("PCM_24", "PCM_24"),
        ("PCM_32", "PCM_32"),
        ("FLOAT", "FLOAT"),
        ("DOUBLE", "DOUBLE"),
    ],
)
def test_any_depth(env, capsys, subtype, kept):
    x = noise(4000, 2)
    y, _, _ = _run_one(env, capsys, x, 8000, subtype)
    assert y.shape == (2, 8000) and sf.info(env / "out.wav").subtype == kept
    ref = audio.interpolate(audio.resample(x, 8000, 4000), 4, length=8000)
    tol = 0.02 if subtype == "PCM_U8" else 2e-3
    assert np.sqrt(np.mean((y[:, 100:-100] - inference.soft_limit(ref)[:, 100:-100]) ** 2)) < tol


@pytest.mark.parametrize("channels", range(1, 9))
def test_one_to_eight_channels(env, capsys, channels):
    x = noise(2000, channels, seed=channels)
    y, _, out = _run_one(env, capsys, x, 4000, "PCM_16")
    assert y.shape == (channels, 8000)
    spline = inference.soft_limit(audio.interpolate(x, 4))  # channel c out is channel c in, upsampled
    assert np.max(np.abs(y - spline)) < 2e-3
    assert (f"{channels} channels" in out) == (channels > 1)


@pytest.mark.parametrize("sr", [7999, 11025, 22050, 44100, 96000, 192000])
def test_unusual_rates_are_resampled_with_a_note(env, capsys, sr):
    n = sr // 3 + 1
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / sr)).astype(np.float32)[None]
    y, out_sr, out = _run_one(env, capsys, tone, sr, "FLOAT")
    assert out_sr == 16000 and y.shape == (1, round(n * 16000 / sr))
    assert f"{sr} Hz -> resampled to 4000 Hz -> x4 (spline) -> 16000 Hz" in out
    assert ("discarded and regenerated" in out) == (sr > 4000)
    t = np.arange(y.shape[1]) / 16000  # the tone is where it was (a wrong rate would move it)
    ref = 0.5 * np.sin(2 * np.pi * 440 * t)
    assert np.sqrt(np.mean((y[0, 400:-400] - ref[400:-400]) ** 2)) < 0.01


def test_rate_below_the_models_low_rate_is_noted(env, capsys):
    y, _, out = _run_one(env, capsys, noise(3000), 3000, "PCM_16", "spline.pt", "--target-sr", "44100")
    assert (
        y.shape == (1, 44100)
        and "input has no content above 1500 Hz" in out
        and "resampled to 44100 Hz" in out
    )


# ------------------------------------------------------------------------------ the Python API


@pytest.mark.parametrize(
    "audio_in,sr,problem",
    [
        (np.full(100, np.nan, np.float32), 4000, "non-finite sample"),
        (torch.tensor([0.0, float("inf")]), 4000, "non-finite sample"),
        (np.zeros(0, np.float32), 4000, "at least one sample"),
        (np.zeros((2, 2, 5), np.float32), 4000, "at least one sample"),
        (np.zeros(100, np.int16), 4000, "float array.*int16; divide by 32768"),
        (np.zeros(100, np.complex64), 4000, "float array.*complex64"),
        (["a", "b"], 4000, "float array"),
        (None, 4000, "float array"),
        (np.zeros(100, np.float32), float("nan"), "sample rate must be a finite number"),
        (np.zeros(100, np.float32), float("inf"), "sample rate must be a finite number"),
        (np.zeros(100, np.float32), "8000", "sample rate must be a finite number"),
        (np.zeros(100, np.float32), 0, "sample rate must be a finite number"),
        (np.zeros(100, np.float32), 1e12, "too short"),
    ],
)
def test_model_upsample_bad_arrays_are_one_line(env, audio_in, sr, problem):
    model = wavesr.load_model("spline.pt")
    with pytest.raises(WavesrError, match=problem) as e:
        model.upsample(audio_in, sr)
    assert "\n" not in str(e.value)
    with pytest.raises(WavesrError, match="target sample rate"):
        model.upsample(np.zeros(10, np.float32), 4000, target_sr=22050.5)


@pytest.mark.filterwarnings("ignore:output peak")  # the random network goes over full scale
def test_model_upsample_odd_but_valid_arrays(env):
    model = wavesr.load_model("tiny.pt")
    for x, sr, shape in [
        (np.zeros(1), 4000, (4,)),
        ([0.1, -0.2, 0.3], 4000, (12,)),
        (np.ones((8, 7), bool), 8000, (8, 14)),
        (1e-30 * np.ones(50), 4000, (200,)),
    ]:
        y, out_sr = model.upsample(x, sr)
        assert y.shape == shape and out_sr == 16000 and np.all(np.isfinite(y))


# ------------------------------------------------------------------- checkpoints via --model


def test_damaged_foreign_and_newer_checkpoints(env, capsys):
    write(env / "in.wav", noise(4000))
    ckpt = torch.load(env / "tiny.pt", weights_only=True)
    data = (env / "tiny.pt").read_bytes()
    cases = {
        "truncated.pt": (data[: len(data) // 2], "not a readable checkpoint, damaged or not a torch file"),
        "flipped.pt": (
            data[:200] + bytes(b ^ 0xFF for b in data[200:400]) + data[400:],
            "not a readable checkpoint",
        ),
        "text.pt": (b"hello", "not a readable checkpoint"),
        "weights.pt": (ckpt["state_dict"], "not a wavesr model checkpoint"),
        "newer.pt": (
            {**ckpt, "format_version": base.FORMAT_VERSION + 1},
            r"written by a newer wavesr .*upgrade wavesr",
        ),
        "otherconfig.pt": (
            {**ckpt, "config": {**ckpt["config"], "filters": [4, 6]}},
            "weights do not match network 'audiounet'",
        ),
        "othernet.pt": ({**ckpt, "model": "dnn"}, "DNNConfig has no setting"),
        "unknown.pt": ({**ckpt, "model": "wavenet"}, "unknown network 'wavenet'"),
    }
    for name, (content, problem) in cases.items():
        if isinstance(content, bytes):
            (env / name).write_bytes(content)
        else:
            torch.save(content, env / name)
        assert main(["upsample", "in.wav", "--model", name, "-q"]) == 1, name
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith(f"wavesr: error: {name}: "), err
        assert re.search(problem, err), err
        assert not (env / "in.sr.wav").exists() and not leftovers(env)
        with pytest.raises(WavesrError, match=name):
            wavesr.load_model(name)
    # a run folder whose checkpoints are all damaged: the same message, for best.pt
    (env / "run").mkdir()
    (env / "run" / "best.pt").write_bytes(data[:100])
    assert main(["upsample", "in.wav", "--model", "run", "-q"]) == 1
    assert "run/best.pt: not a readable checkpoint" in capsys.readouterr().err


# ---------------------------------------------------------------------- writing that fails


def test_output_under_a_file_or_in_proc(env, capsys):
    write(env / "in.wav", noise(4000))
    (env / "file.txt").write_text("a file, not a folder")
    assert upsample_cli("in.wav", "-o", "file.txt/out.wav") == 1
    assert "file.txt/out.wav: cannot write here (file.txt is a file, not a folder)" in capsys.readouterr().err
    assert upsample_cli("in.wav", "-o", "/proc/wavesr-test/out.wav") == 1
    assert "/proc/wavesr-test/out.wav: cannot write here" in capsys.readouterr().err
    assert (env / "file.txt").read_text() == "a file, not a folder" and not leftovers(env)
    write(env / "corpus" / "a.wav", noise(20000), 16000)
    for out, problem in (
        ("file.txt/ds", "file.txt/ds: cannot write the dataset (file.txt is a file, not a folder)"),
        ("/proc/wavesr-test/ds", "/proc/wavesr-test/ds: cannot write the dataset"),
    ):
        assert main(["prepare", "folder", "--root", "corpus", "-o", out, "--workers", "0"]) == 1
        err = capsys.readouterr().err
        assert f"wavesr: error: {problem}" in err and "Traceback" not in err, err


_UNPRIVILEGED = """
import contextlib, io, json, os, sys
import wavesr.cli, wavesr.inference, wavesr.pretrained, wavesr.models, tqdm  # imported while still root
import scipy.interpolate, scipy.signal  # (wavesr.audio imports them where used; the stdlib is root's here)
os.setgid(65534)
os.setuid(65534)  # nobody: permissions bite from here on
results = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        results.append((wavesr.cli.main(argv), err.getvalue()))
print(json.dumps(results))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges to nobody")
def test_folder_without_write_permission(env):
    # root ignores permissions, so the commands run as nobody, in a folder nobody can reach
    work = Path(tempfile.mkdtemp(prefix="wavesr-perm-"))
    try:
        os.chmod(work, 0o755)
        write(work / "in.wav", noise(4000))
        write(work / "secret.wav", noise(4000))
        shutil.copy(env / "spline.pt", work / "spline.pt")
        for f in work.iterdir():
            os.chmod(f, 0o600 if f.name == "secret.wav" else 0o644)
        for name, mode in (("readonly", 0o555), ("noaccess", 0o500)):
            (work / name).mkdir()
            os.chmod(work / name, mode)
        cases = [
            ("readonly/out.wav", "in.wav", "readonly/out.wav: cannot write here (Permission denied)"),
            ("readonly/sub/out.wav", "in.wav", "readonly/sub/out.wav: cannot write here (Permission denied)"),
            ("noaccess/out.wav", "in.wav", "noaccess/out.wav: Permission denied"),
            ("/tmp", "secret.wav", "secret.wav: cannot be read (permission denied)"),
        ]
        argvs = [["upsample", src, "--model", "spline.pt", "-q", "-o", out] for out, src, _ in cases]
        nobody = {**os.environ, "WAVESR_PRETRAINED": str(work / "registry"), "HOME": str(work)}
        r = subprocess.run(
            [sys.executable, "-c", _UNPRIVILEGED, json.dumps(argvs)],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=120,
            env=nobody,
        )
        assert r.returncode == 0, r.stderr
        for (rc, err), (_, _, problem) in zip(json.loads(r.stdout), cases):
            assert rc == 1 and problem in err and "Traceback" not in err, err
        assert not any((work / "readonly").iterdir()) and not any((work / "noaccess").iterdir())
        assert not (Path("/tmp") / "secret.sr.wav").exists()
    finally:
        shutil.rmtree(work)


_FILE_SIZE_LIMIT = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
from wavesr.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_file_size_limit_leaves_nothing(env, fmt):
    write(env / "long.wav", noise(4000 * 30), 4000)  # 30 s: 960 kB of 16 kHz PCM_16 out, ~400 kB as FLAC
    write(env / "short.wav", noise(400))
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            _FILE_SIZE_LIMIT,
            "200000",
            "upsample",
            "long.wav",
            "short.wav",
            "--model",
            "spline.pt",
            "-q",
            "-o",
            "out",
            "--format",
            fmt,
        ],
        cwd=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"out/long.sr.{fmt}: write failed (File too large); nothing was written" in r.stderr
    assert sorted(p.name for p in (env / "out").iterdir()) == [f"short.sr.{fmt}"] and not leftovers(env)


def _small_tmpfs(folder):
    folder.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a small tmpfs here (needs root in a mount namespace)")
    return folder


def test_full_disk_leaves_nothing(env, capsys):
    disk = _small_tmpfs(env / "disk")
    try:
        write(env / "long.wav", noise(4000 * 10), 4000)  # 320 kB of output: more than the disk
        assert upsample_cli("long.wav", "-o", disk / "out.wav") == 1
        err = capsys.readouterr().err
        assert f"{disk}/out.wav: write failed (No space left on device); nothing was written" in err
        assert list(disk.iterdir()) == []
        # prepare: the half-built dataset is removed
        write(env / "corpus" / "a.wav", noise(16000 * 10), 16000)
        assert main(["prepare", "folder", "--root", "corpus", "-o", str(disk / "ds"), "--workers", "0"]) == 1
        err = capsys.readouterr().err
        assert f"{disk}/ds: cannot write the dataset (No space left on device); nothing was kept" in err, err
        assert list(disk.iterdir()) == []
        # a checkpoint on a full disk: one line, and the previous checkpoint is kept
        small = build_model("spline", ratio=4)
        save_model(small, disk / "last.pt")
        (disk / "filler").write_bytes(b"\0" * (shutil.disk_usage(disk).free - 512))
        before = (disk / "last.pt").read_bytes()
        with pytest.raises(
            WavesrError, match=r"last.pt: write failed \(the disk is full.*previous file.*kept"
        ):
            save_model(
                build_model("audiounet", ratio=4, blocks=2, filters=[4, 8], kernel_sizes=[5, 3]),
                disk / "last.pt",
            )
        assert (disk / "last.pt").read_bytes() == before and sorted(p.name for p in disk.iterdir()) == [
            "filler",
            "last.pt",
        ]
    finally:
        subprocess.run(["umount", str(disk)], check=True)


# ---------------------------------------------------------------------------------- fuzzing


def test_loader_fuzz_short():
    """Hundreds of random and mutated files through audio.load and audio.info (benchmarks/fuzz_loader.py)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import fuzz_loader
    finally:
        sys.path.pop(0)
    stats = fuzz_loader.fuzz(n_inputs=300, seed=7)
    assert stats["inputs"] == 300 and not stats["bugs"], stats["bugs"][:3]
    assert stats["loaded"] > 30 and stats["refused"] > 30  # both outcomes were exercised
