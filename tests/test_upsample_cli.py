import glob

import numpy as np
import pytest
import soundfile as sf
import torch

from wavesr import audio, pretrained
from wavesr.cli import main
from wavesr.models import build_model, save_model


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A tiny x4 AudioUNet checkpoint, an empty registry, and a working folder."""
    torch.manual_seed(0)
    model = build_model("audiounet", ratio=4, blocks=2, filters=[4, 8], kernel_sizes=[5, 3], dropout=0.0)
    save_model(model, tmp_path / "tiny.pt")
    monkeypatch.setenv(pretrained.REGISTRY_ENV, str(tmp_path / "registry"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path, sr, channels=1, seconds=0.5, subtype="PCM_16", seed=0):
    x = 0.2 * np.random.default_rng(seed).standard_normal((int(sr * seconds), channels))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x.astype(np.float32), sr, subtype=subtype)
    return path


def no_temp_files(folder) -> bool:
    return not glob.glob(str(folder / "**" / ".*.tmp*"), recursive=True)


def test_one_file_default_name(env, capsys):
    write(env / "in.wav", 8000, channels=2)
    assert main(["upsample", "in.wav", "--model", "tiny.pt", "-q"]) == 0
    info = sf.info(env / "in.sr.wav")
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 2, 8000, "PCM_16")
    out = capsys.readouterr().out
    assert "in.wav -> in.sr.wav: 8000 Hz -> resampled to 4000 Hz -> x4 (audiounet) -> 16000 Hz, 2 ch" in out


@pytest.mark.parametrize("sr", [11025, 44100, 7999])
def test_any_rate_flac_and_target_rate(env, sr):
    write(env / "in.wav", sr, seconds=0.3)
    assert main(["upsample", "in.wav", "--model", "tiny.pt", "--format", "flac", "-q"]) == 0
    info = sf.info(env / "in.sr.flac")
    assert (info.samplerate, info.frames, info.format) == (16000, round(int(sr * 0.3) * 16000 / sr), "FLAC")
    assert (
        main(["upsample", "in.wav", "--model", "tiny.pt", "--target-sr", "22050", "-o", "t.wav", "-q"]) == 0
    )
    assert sf.info(env / "t.wav").samplerate == 22050 and sf.info(env / "t.wav").frames == round(
        int(sr * 0.3) * 22050 / sr
    )


def test_refuses_overwrite_without_force(env, capsys):
    write(env / "in.wav", 4000)
    (env / "in.sr.wav").write_bytes(b"old")
    assert main(["upsample", "in.wav", "--model", "tiny.pt", "-q"]) == 1
    err = capsys.readouterr().err
    assert "in.sr.wav: already exists (use --force to overwrite)" in err
    assert (env / "in.sr.wav").read_bytes() == b"old" and no_temp_files(env)
    assert main(["upsample", "in.wav", "--model", "tiny.pt", "--force", "-q"]) == 1  # not wavesr's: kept
    assert "not written by wavesr" in capsys.readouterr().err and (env / "in.sr.wav").read_bytes() == b"old"
    (env / "in.sr.wav").unlink()
    assert main(["upsample", "in.wav", "--model", "tiny.pt", "-q"]) == 0
    assert main(["upsample", "in.wav", "--model", "tiny.pt", "--force", "-q"]) == 0  # wavesr's own: replaced
    assert sf.info(env / "in.sr.wav").frames == 8000 and no_temp_files(env)


def test_batch_with_a_bad_file(env, capsys):
    write(env / "a.wav", 8000)
    write(env / "c.flac", 22050, subtype="PCM_24")
    (env / "b.wav").write_bytes(b"\x00garbage, not a RIFF header" * 50)
    assert main(["upsample", "a.wav", "b.wav", "c.flac", "missing.wav", "--model", "tiny.pt", "-q"]) == 1
    assert sf.info(env / "a.sr.wav").frames == 8000
    assert sf.info(env / "c.sr.wav").subtype == "PCM_24"  # deeper input subtype kept
    assert not (env / "b.sr.wav").exists() and no_temp_files(env)
    err = capsys.readouterr().err.splitlines()
    bad = [line for line in err if "b.wav" in line]
    assert len(bad) == 2 and "skipped b.wav: cannot read audio header" in bad[0]  # one line, then the summary
    assert "2 of 4 files upsampled; failed: b.wav, missing.wav" in err[-1]


def test_folder_keeps_the_tree(env, capsys):
    write(env / "music" / "a.wav", 8000)
    write(env / "music" / "deep" / "b.ogg", 16000, subtype="VORBIS")
    write(env / "music" / "a.sr.wav", 16000)  # an earlier output: not an input
    assert main(["upsample", "music", "-o", "out", "--model", "tiny.pt", "-q"]) == 0
    assert sorted(p.relative_to(env / "out").as_posix() for p in (env / "out").rglob("*")) == [
        "a.sr.wav",
        "deep",
        "deep/b.sr.wav",
    ]
    assert "2 files upsampled" in capsys.readouterr().out


def test_compare_writes_cubic_and_png(env):
    write(env / "in.wav", 4000, seconds=1.0)
    assert main(["upsample", "in.wav", "--model", "tiny.pt", "--compare", "-q"]) == 0
    assert (env / "in.compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cubic, sr = sf.read(env / "in.cubic.wav", dtype="float32")
    x, _ = sf.read(env / "in.wav", dtype="float32")
    assert sr == 16000 and np.max(np.abs(cubic - audio.interpolate(x, 4))) < 1e-3  # PCM_16 steps
    assert main(["upsample", "in.wav", "--model", "tiny.pt", "--compare", "-q"]) == 1  # all exist now
    assert main(["upsample", "in.wav", "--model", "tiny.pt", "--compare", "-q", "--force"]) == 0


def test_ratio_needs_a_shipped_model(env, capsys):
    write(env / "in.wav", 4000)
    assert main(["upsample", "in.wav", "--ratio", "4"]) == 1
    assert "no pretrained model for x4 speech (shipped: none yet)" in capsys.readouterr().err
    assert main(["upsample", "in.wav"]) == 1
    assert "no pretrained speech model is shipped; pass --model PATH" in capsys.readouterr().err
    assert main(["models"]) == 0
    assert "no pretrained models are shipped yet" in capsys.readouterr().out
    pretrained.add_model(env / "tiny.pt", "speech-x4", "speech", scores={"snr": 12.0, "cubic_snr": 11.0})
    assert main(["upsample", "in.wav", "--ratio", "4", "-q"]) == 0
    assert sf.info(env / "in.sr.wav").samplerate == 16000
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert (
        "speech-x4" in out and "x4  4000 -> 16000 Hz  speech" in out and "SNR 12.00 dB (cubic 11.00)" in out
    )


def test_without_model_or_ratio_a_full_band_model_returns_44k_or_48k(tmp_path):
    """`wavesr upsample in.wav -o out.wav` right after install: a shipped full-band model, 48 kHz out
    (44.1 kHz for the 44.1 kHz family); with --ratio the paper's model for it, 16 kHz out."""
    from wavesr.cli import main as cli_main

    for rate, out_rate, extra in (
        (8000, 48000, []),
        (4000, 48000, []),
        (11025, 44100, []),
        (8000, 16000, ["--ratio", "2"]),
    ):
        src = tmp_path / f"in{rate}.wav"
        n = int(rate * 0.5)
        sf.write(src, (0.3 * np.sin(2 * np.pi * 300 * np.arange(n) / rate)).astype(np.float32), rate)
        out = tmp_path / f"out{rate}-{out_rate}.wav"
        assert cli_main(["upsample", str(src), "-o", str(out), "-q", *extra]) == 0
        info = sf.info(out)
        assert info.samplerate == out_rate and info.frames == round(n * out_rate / rate), (rate, extra)


def test_cli_choices_come_from_the_library_and_parsing_imports_nothing_heavy():
    """The flags' choices are the library's own lists, and building the parser (``--help``, ``--version``,
    ``wavesr models``) imports neither torch, scipy nor numpy: they answer at once."""
    import subprocess
    import sys

    from wavesr import cli

    assert cli.DEGRADE_CHANNELS is audio.DEGRADE_CHANNELS
    assert cli.CONTENTS is pretrained.CONTENTS and cli.PASSES is pretrained.PASSES
    code = (
        "import sys; from wavesr.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'scipy', 'numpy', 'soundfile')))"
    )
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "[]"
    )


def test_passes_option(env, capsys):
    write(env / "in.wav", 4000)
    assert main(["upsample", "in.wav", "--model", "tiny.pt", "--passes", "2", "-q"]) == 0
    assert "x4 (audiounet, 2 passes)" in capsys.readouterr().out
    one = sf.read(env / "in.sr.wav")[0]
    assert main(["upsample", "in.wav", "--model", "tiny.pt", "--force", "-q"]) == 0
    assert not np.allclose(sf.read(env / "in.sr.wav")[0], one)  # the passes changed the output
    with pytest.raises(SystemExit) as e:  # not a supported number: argparse's one-line error
        main(["upsample", "in.wav", "--model", "tiny.pt", "--passes", "3", "--force"])
    assert e.value.code == 2 and "invalid choice: 3" in capsys.readouterr().err


def test_no_progress_bars_in_logs_and_pipes(env):
    """Not on a terminal (CI logs, pipes): the result lines only, no carriage-return progress bars."""
    import subprocess
    import sys
    from pathlib import Path

    for name in ("a.wav", "b.wav"):
        write(env / name, 4000, seconds=25)  # several chunks each, two files: both bars would show
    wavesr = str(Path(sys.executable).parent / "wavesr")
    out = subprocess.run(  # bytes: text=True would turn every \r into \n
        [wavesr, "upsample", "a.wav", "b.wav", "--model", "tiny.pt"], cwd=env, capture_output=True
    )
    assert out.returncode == 0, out.stderr
    assert b"\r" not in out.stderr + out.stdout and b"2 files upsampled" in out.stdout
