import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import torch
from conftest import tone

from wavesr import __version__, audio, cli
from wavesr.data import patches
from wavesr.data.corpus import Corpus, Item
from wavesr.data.patches import PatchDataset, PrepareConfig, load_settings, prepare, prepare_corpus
from wavesr.errors import WavesrError

# ------------------------------------------------------------------------------- test audio


def chirp(sr: int, seconds: float) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.4 * scipy.signal.chirp(t, 100, seconds, 0.45 * sr)).astype(np.float32)


def write(path: Path, x: np.ndarray, sr: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x.T if x.ndim == 2 else x, sr, subtype="FLOAT")
    return str(path)


@pytest.fixture
def corpus_files(tmp_path, rng) -> list[Item]:
    """Sines, chirps and noise at 22050 / 44100 Hz, mono and stereo, plus a short and a broken file."""
    d = tmp_path / "audio"
    files = [
        write(d / "sine22.wav", tone([440, 3000], sr=22050, seconds=1.6), 22050),
        write(d / "chirp44_stereo.wav", np.stack([chirp(44100, 1.2), 0.5 * chirp(44100, 1.2)]), 44100),
        write(d / "noise44.wav", (0.1 * rng.standard_normal(int(44100 * 2.1))).astype(np.float32), 44100),
        write(d / "short22.wav", tone(1000, sr=22050, seconds=0.2), 22050),
        write(
            d / "noise22_stereo.wav",
            (0.2 * rng.uniform(-1, 1, (2, int(22050 * 1.3)))).astype(np.float32),
            22050,
        ),
    ]
    broken = d / "broken.wav"
    broken.write_bytes(b"not audio" * 50)
    files.insert(2, str(broken))
    return [
        Item(path=f, split="train", group=Path(f).stem, sha256="ab" * 32 if i == 0 else "")
        for i, f in enumerate(files)
    ]


_sources: dict[tuple[str, int], np.ndarray] = {}


def source(path: str, sr: int) -> np.ndarray:
    if (path, sr) not in _sources:
        _sources[path, sr] = audio.load(path, sr=sr, mono=True)[0]
    return _sources[path, sr]


def raw(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("hr.f32", "lr.f32", "index.csv")}


def settings_without_time(folder: Path) -> dict:
    s = json.loads((folder / "settings.json").read_text())
    s.pop("created")
    return s


# ------------------------------------------------------------------------------ preparation


@pytest.mark.parametrize("patch_len", [6000, 8192])
@pytest.mark.parametrize("ratio", [2, 4, 6, 8])
def test_pairs_are_degraded_patches_of_the_resampled_source(tmp_path, corpus_files, patch_len, ratio):
    cfg = PrepareConfig(ratio=ratio, patch_len=patch_len, workers=0)
    ds = PatchDataset(prepare(corpus_files, tmp_path / "ds", cfg, progress=False))
    length = patch_len - patch_len % ratio  # 8192 at r=6 -> 8190, 6000 at r=8 -> 6000
    assert ds.patch_len == length == ds.settings["patch_len"] and ds.lr_len == length // ratio
    assert ds.ratio == ratio and ds.sr == 16000 and ds.settings["stride"] == patch_len // 2
    counts = {s["path"]: s["patches"] for s in ds.settings["sources"]}
    for s in ds.settings["sources"]:  # every full patch of every readable file, and no more
        assert s["patches"] == (source(s["path"], 16000).size - length) // (patch_len // 2) + 1
    assert len(ds) == sum(counts.values()) > 0
    for i in range(len(ds)):
        lr, hr = ds[i]
        assert lr.shape == (1, length // ratio) and hr.shape == (1, length)
        assert lr.dtype == hr.dtype == torch.float32
        path, offset = ds.source(i)
        assert offset % (patch_len // 2) == 0
        np.testing.assert_array_equal(hr[0].numpy(), source(path, 16000)[offset : offset + length])
        np.testing.assert_array_equal(lr[0].numpy(), audio.degrade(hr[0].numpy(), ratio, "decimate"))


def test_settings_record_everything(tmp_path, corpus_files):
    cfg = PrepareConfig(ratio=3, patch_len=4000, stride=3000, channel="subsample", silence_db=-90, workers=0)
    info = {"name": "synthetic", "root": str(tmp_path), "spec": "folder", "split": "train"}
    s = load_settings(prepare(corpus_files, tmp_path / "ds", cfg, corpus_info=info, progress=False))
    assert s["config"] == dataclasses.asdict(cfg) and set(s["config"]) == {
        f.name for f in dataclasses.fields(cfg)
    }
    assert (s["sr"], s["ratio"], s["channel"], s["patch_len"], s["lr_len"], s["stride"]) == (
        16000,
        3,
        "subsample",
        3999,
        1333,
        3000,
    )
    assert s["corpus"] == info and s["split"] == "train"
    assert s["wavesr_version"] == __version__ and s["created"][:4].isdigit()
    assert [Path(x["path"]).name for x in s["sources"]] == [
        "sine22.wav",
        "chirp44_stereo.wav",
        "noise44.wav",
        "noise22_stereo.wav",
    ]
    first = s["sources"][0]
    assert first["sha256"] == "ab" * 32 and first["group"] == "sine22" and abs(first["duration"] - 1.6) < 1e-3
    assert s["skipped"] == {"unreadable": 1, "shorter than one patch": 1}
    assert {Path(x["path"]).name for x in s["skipped_files"]} == {"broken.wav", "short22.wav"}
    assert "broken.wav" in next(x["detail"] for x in s["skipped_files"] if x["reason"] == "unreadable")
    t = s["totals"]
    n = sum(x["patches"] for x in s["sources"])
    assert (t["files"], t["files_used"], t["files_skipped"], t["patches"]) == (6, 4, 2, n)
    assert t["patch_seconds"] == round(n * 3999 / 16000, 2)
    assert abs(t["source_seconds"] - (1.6 + 1.2 + 2.1 + 1.3)) < 0.01
    assert s["files"]["hr"]["shape"] == [n, 3999] and s["files"]["lr"]["shape"] == [n, 1333]
    assert os.path.getsize(tmp_path / "ds" / "hr.f32") == n * 3999 * 4


def test_stride_sets_patch_offsets(tmp_path, corpus_files):
    for stride in (1000, 5001, 9000):  # overlapping, not a multiple of the ratio, with gaps
        ds = PatchDataset(
            prepare(
                corpus_files[:1],
                tmp_path / f"s{stride}",
                progress=False,
                cfg=PrepareConfig(patch_len=4096, stride=stride, workers=0),
            )
        )
        n = (source(corpus_files[0].path, 16000).size - 4096) // stride + 1
        assert [ds.source(i)[1] for i in range(len(ds))] == [i * stride for i in range(n)]


def test_silence_filter_drops_quiet_patches(tmp_path):
    sr = 16000
    x = np.concatenate(
        [tone(500, sr, 1.0), np.zeros(2 * sr, np.float32), 1e-4 * tone(700, sr, 1.0), tone(900, sr, 1.0)]
    )  # loud, silent, -83 dBFS, loud
    items = [Item(path=write(tmp_path / "gappy.wav", x, sr), split="train", group="g")]
    cfg = PrepareConfig(patch_len=4000, stride=4000, workers=0)
    every = PatchDataset(prepare(items, tmp_path / "all", cfg, progress=False))
    loud = PatchDataset(
        prepare(items, tmp_path / "loud", dataclasses.replace(cfg, silence_db=-60), progress=False)
    )
    assert len(every) == 20 and len(loud) == 8
    assert [loud.source(i)[1] for i in range(8)] == [0, 4000, 8000, 12000, 64000, 68000, 72000, 76000]
    assert loud.settings["totals"]["silent_patches"] == 12 and loud.settings["sources"][0]["silent"] == 12
    assert all(patches.rms_db(loud[i][1].numpy()) >= -60 for i in range(8))
    with pytest.raises(WavesrError, match=r"no patches from 1 files \(20 patches below -10 dBFS\)"):
        prepare(items, tmp_path / "none", dataclasses.replace(cfg, silence_db=-10), progress=False)
    assert not (tmp_path / "none").exists() and not (tmp_path / "none.partial").exists()


def test_max_files_picks_a_seeded_subset_in_order(tmp_path, corpus_files):
    order = [it.path for it in corpus_files]

    def chosen(seed):
        cfg = PrepareConfig(max_files=3, seed=seed, workers=0)
        s = load_settings(prepare(corpus_files, tmp_path / f"m{seed}", cfg, force=True, progress=False))
        assert s["totals"]["files"] == 3 and s["totals"]["files_given"] == 6
        paths = sorted([x["path"] for x in s["sources"] + s["skipped_files"]], key=order.index)
        assert [x["path"] for x in s["sources"]] == [
            p for p in paths if p in {x["path"] for x in s["sources"]}
        ]
        return paths

    subsets = [chosen(seed) for seed in range(4)]
    assert chosen(0) == subsets[0] and len(set(map(tuple, subsets))) > 1


def test_worker_processes_and_dataloader(tmp_path, corpus_files):
    cfg = PrepareConfig(ratio=4, patch_len=6000, workers=2)
    folder = prepare(corpus_files, tmp_path / "pool", cfg, progress=False)
    serial = prepare(corpus_files, tmp_path / "serial", dataclasses.replace(cfg, workers=0), progress=False)
    assert raw(folder) == raw(serial)  # same bytes whatever the number of workers
    ds = PatchDataset(folder)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2, shuffle=False)
    seen = 0
    for lr, hr in loader:
        assert lr.shape[1:] == (1, 1500) and hr.shape[1:] == (1, 6000) and lr.shape[0] == hr.shape[0]
        torch.testing.assert_close(hr, torch.stack([ds[seen + k][1] for k in range(len(hr))]), rtol=0, atol=0)
        seen += len(hr)
    assert seen == len(ds)
    assert len(ds[-1]) == 2 and "PatchDataset" in repr(ds)
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_refuses_existing_output_without_force(tmp_path, corpus_files):
    cfg = PrepareConfig(patch_len=6000, workers=0)
    out = prepare(corpus_files[:1], tmp_path / "ds", cfg, progress=False)
    with pytest.raises(WavesrError, match="already exists"):
        prepare(corpus_files, out, cfg, progress=False)
    assert len(PatchDataset(out).settings["sources"]) == 1  # untouched
    prepare(corpus_files, out, cfg, force=True, progress=False)
    assert len(PatchDataset(out).settings["sources"]) == 4 and not (tmp_path / "ds.old").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(WavesrError, match="not a prepared dataset"):
        prepare(corpus_files, tmp_path / "mine", cfg, force=True, progress=False)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_interrupted_build_reruns_to_the_same_dataset(tmp_path, corpus_files, monkeypatch):
    cfg = PrepareConfig(ratio=2, patch_len=6000, workers=0)
    reference = prepare(corpus_files, tmp_path / "reference", cfg, progress=False)
    out = tmp_path / "ds"
    real_load, calls = audio.load, []

    def interrupted_load(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 4:  # Ctrl-C while the 4th file is being read: 2 files already written
            raise KeyboardInterrupt
        return real_load(*args, **kwargs)

    monkeypatch.setattr(audio, "load", interrupted_load)
    with pytest.raises(KeyboardInterrupt):
        prepare(corpus_files, out, cfg, progress=False)
    monkeypatch.setattr(audio, "load", real_load)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audio", "reference"]  # nothing half-built is left
    prepare(corpus_files, out, cfg, progress=False)
    assert raw(out) == raw(reference) and settings_without_time(out) == settings_without_time(reference)


def test_killed_build_reruns_to_the_same_dataset(tmp_path, corpus_files):
    """A process killed with SIGKILL (no cleanup at all) mid-build, then a rerun."""
    cfg = PrepareConfig(patch_len=4096, workers=1)
    reference = prepare(corpus_files, tmp_path / "reference", cfg, progress=False)
    script = tmp_path / "build.py"
    script.write_text(f"""
import time
from wavesr import audio
from wavesr.data.corpus import Item
from wavesr.data.patches import PrepareConfig, prepare
real = audio.load
def slow_load(*a, **k):
    time.sleep(0.3)
    return real(*a, **k)
audio.load = slow_load
items = [Item(**d) for d in {[dataclasses.asdict(it) for it in corpus_files]!r}]
prepare(items, {str(tmp_path / "ds")!r}, PrepareConfig(patch_len=4096, workers=1), progress=False)
""")
    (tmp_path / "ds.partial").mkdir()  # a folder of the user's with the name older versions used
    (tmp_path / "ds.partial" / "mine.txt").write_text("keep me")
    proc = subprocess.Popen([sys.executable, str(script)])

    def written():
        return [p for p in tmp_path.glob(".ds.partial-*/hr.f32") if p.stat().st_size > 0]

    deadline = time.time() + 30
    while proc.poll() is None and time.time() < deadline and not written():
        time.sleep(0.02)
    assert proc.poll() is None, "the build ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    hr = written()[0]
    assert 0 < hr.stat().st_size < (reference / "hr.f32").stat().st_size and not (tmp_path / "ds").exists()
    with pytest.raises(WavesrError, match="interrupted build"):
        PatchDataset(hr.parent)
    out = prepare(corpus_files, tmp_path / "ds", cfg, progress=False)
    assert not hr.parent.exists(), "the killed build's folder is removed by the next build"
    assert (tmp_path / "ds.partial" / "mine.txt").read_text() == "keep me"
    assert raw(out) == raw(reference) and settings_without_time(out) == settings_without_time(reference)


# ---------------------------------------------------------------------------------- reading


def test_load_settings_rejects_what_is_not_a_complete_dataset(tmp_path, corpus_files):
    with pytest.raises(WavesrError, match="no such folder"):
        load_settings(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WavesrError, match="not a prepared patch dataset"):
        PatchDataset(tmp_path / "empty")
    out = prepare(corpus_files[:1], tmp_path / "ds", PrepareConfig(workers=0), progress=False)
    with open(out / "lr.f32", "r+b") as f:
        f.truncate(100)
    with pytest.raises(WavesrError, match=r"lr.f32: incomplete dataset \(100 bytes"):
        PatchDataset(out)
    (out / "hr.f32").unlink()
    with pytest.raises(WavesrError, match="hr.f32: incomplete dataset \\(missing"):
        load_settings(out)


def test_config_is_checked():
    with pytest.raises(WavesrError, match="ratio"):
        PrepareConfig(ratio=1)
    with pytest.raises(WavesrError, match="unknown channel"):
        PrepareConfig(channel="mp3")
    with pytest.raises(WavesrError, match="shorter than the ratio"):
        PrepareConfig(patch_len=3, ratio=4)
    assert (PrepareConfig(ratio=6).length, PrepareConfig(ratio=6).hop) == (8190, 4096)


def test_prepare_corpus_records_the_corpus(tmp_path, corpus_files):
    for it, split in zip(corpus_files, ["train", "test", "train", "val", "train", "test"]):
        it.split = split
    corpus = Corpus(name="synthetic", root=str(tmp_path), items=corpus_files, settings={"reader": "hand"})
    s = load_settings(
        prepare_corpus(corpus, "test", tmp_path / "test", PrepareConfig(workers=0), progress=False)
    )
    assert (
        s["split"] == "test"
        and s["corpus"]["name"] == "synthetic"
        and s["corpus"]["settings"] == {"reader": "hand"}
    )
    assert {x["split"] for x in s["sources"]} == {"test"} and s["totals"]["files"] == 2
    with pytest.raises(WavesrError, match="unknown split"):
        prepare_corpus(corpus, "dev", tmp_path / "dev", PrepareConfig())


# -------------------------------------------------------------------------------------- CLI


def test_cli_prepares_every_split_of_a_folder(tmp_path, capsys):
    root = tmp_path / "music"
    for split, n in (("train", 3), ("val", 1), ("test", 2)):
        for i in range(n):
            write(
                root / split / f"{split}{i}.wav",
                tone([220 * (i + 1), 2000], sr=44100, seconds=1.0 + 0.3 * i),
                44100,
            )
    out = tmp_path / "prepared"
    args = [
        "prepare",
        "folder",
        "--root",
        str(root),
        "--split",
        "all",
        "-o",
        str(out),
        "--ratio",
        "2",
        "--patch-len",
        "6000",
        "--stride",
        "3000",
        "--workers",
        "1",
    ]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    for split, n in (("train", 3), ("val", 1), ("test", 2)):
        ds = PatchDataset(out / split)
        assert ds.settings["split"] == split and ds.settings["totals"]["files_used"] == n
        assert ds.settings["corpus"]["spec"] == "folder" and ds.settings["config"]["ratio"] == 2
        assert ds[0][0].shape == (1, 3000) and ds[0][1].shape == (1, 6000)
        assert f"{out / split}: {len(ds)} patches" in printed
    assert cli.main(args) == 1 and "already exists" in capsys.readouterr().err
    assert cli.main(args + ["--force", "--split", "val", "-o", str(out / "val"), "--silence-db", "-60"]) == 0
    assert PatchDataset(out / "val").settings["config"]["silence_db"] == -60


def test_prepare_shows_no_progress_bars_in_logs_and_pipes(tmp_path):
    """Not on a terminal: the result lines only, no carriage-return progress bars."""
    import subprocess
    import sys
    from pathlib import Path

    import soundfile as sf

    (tmp_path / "audio").mkdir()
    for i in range(3):
        noise = np.random.default_rng(i).standard_normal(16000).astype(np.float32) * 0.1
        sf.write(tmp_path / "audio" / f"f{i}.wav", noise, 16000)
    wavesr = str(Path(sys.executable).parent / "wavesr")
    args = [
        "prepare",
        "folder",
        "--root",
        str(tmp_path / "audio"),
        "--split",
        "all",
        "-o",
        str(tmp_path / "p"),
    ]
    out = subprocess.run(
        [wavesr, *args, "--workers", "0"], capture_output=True
    )  # bytes: text would turn \r to \n
    assert out.returncode == 0, out.stderr
    assert b"\r" not in out.stderr + out.stdout and b"patches of" in out.stdout
