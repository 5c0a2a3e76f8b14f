"""Readers on small folder trees in the real layouts, with real (tiny) audio files."""

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wavesr.data.corpus import SPLITS, Corpus, hash_split
from wavesr.data.readers import (
    VCTK_TEST_SPEAKERS,
    magnatagatune_track,
    natural_key,
    open_corpus,
    random_group_split,
    read_beethoven,
    read_folder,
    read_magnatagatune,
    read_vctk,
)
from wavesr.errors import WavesrError


def write(path: Path, sr: int = 16000, n: int = 160, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(n) / sr
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr, format=fmt)
    return path


def assert_groups_disjoint(corpus: Corpus) -> None:
    seen = [set(corpus.groups(s)) for s in SPLITS]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])


OTHERS = ["p226", "p227", "p343", "p345"]


@pytest.fixture
def vctk080(tmp_path: Path) -> Path:
    root = tmp_path / "VCTK-Corpus"
    for k in [*range(1, 31), *range(40, 50)]:  # 40 utterances with a gap in the numbers
        write(root / "wav48/p225" / f"p225_{k:03d}.wav", sr=48000, n=480)
        (root / "txt/p225").mkdir(parents=True, exist_ok=True)
        (root / "txt/p225" / f"p225_{k:03d}.txt").write_text(f"sentence {k}\n")
    for spk in [*OTHERS, *VCTK_TEST_SPEAKERS]:
        for k in (1, 2, 3):
            write(root / "wav48" / spk / f"{spk}_{k:03d}.wav", sr=48000, n=480)
    (root / "speaker-info.txt").write_text(
        "ID  AGE  GENDER  ACCENTS  REGION\n"
        "225  23  F    English    Southern  England\n"
        "347  26  M    SouthAfrican  Johannesburg\n"
    )
    return tmp_path  # the parent: the reader must find VCTK-Corpus/ itself


@pytest.fixture
def vctk092(tmp_path: Path) -> Path:
    root = tmp_path / "VCTK-Corpus-0.92"
    for spk, n in [("p225", 20), ("p230", 3), ("s5", 3), ("p343", 3), ("p345", 3)] + [
        (s, 2) for s in VCTK_TEST_SPEAKERS
    ]:
        for k in range(1, n + 1):
            for mic in ("mic1", "mic2"):
                write(root / "wav48_silence_trimmed" / spk / f"{spk}_{k:03d}_{mic}.flac", sr=48000, n=480)
    (root / "txt/p315").mkdir(parents=True)  # p315 has text but no audio
    (root / "txt/p315/p315_001.txt").write_text("no audio\n")
    (root / "speaker-info.txt").write_text(
        "ID  AGE  GENDER  ACCENTS  REGION COMMENTS\np225  23  F    English    Southern  England\n"
    )
    return root


def test_vctk_080_single_speaker(vctk080: Path) -> None:
    c = read_vctk(vctk080, task="single")
    assert c.root == str((vctk080 / "VCTK-Corpus").resolve())
    assert c.groups() == ["p225"] and len(c.items) == 40
    assert [len(c.split(s)) for s in SPLITS] == [34, 2, 4]  # 85 / 5 / 10 %
    numbers = [int(Path(it.path).stem.split("_")[1]) for it in c.items]
    assert [it.split for it in c.items] == ["train"] * 34 + ["val"] * 2 + ["test"] * 4
    assert numbers == sorted(numbers) and numbers[-4:] == [46, 47, 48, 49]
    first = c.items[0]
    assert (first.sr, first.channels, first.duration) == (48000, 1, pytest.approx(0.01))
    assert (
        first.meta["gender"] == "F"
        and first.meta["accent"] == "English"
        and first.meta["text"] == "sentence 1"
    )
    assert c.settings["version"] == "0.80" and c.settings["skipped"] == []


def test_vctk_080_multi_speaker(vctk080: Path) -> None:
    c = read_vctk(vctk080 / "VCTK-Corpus", task="multi")
    assert c.groups("test") == sorted(VCTK_TEST_SPEAKERS)
    assert c.groups("val") == ["p343", "p345"]
    assert c.groups("train") == ["p225", "p226", "p227"]
    assert_groups_disjoint(c)
    p347 = next(it for it in c.items if it.group == "p347")
    assert p347.meta["gender"] == "M" and "text" not in p347.meta
    assert next(it for it in c.items if it.group == "p226").meta == {
        "speaker": "p226",
        "utterance": "p226_001",
    }


def test_vctk_092_mic_choice(vctk092: Path) -> None:
    mic1 = read_vctk(vctk092, task="multi")
    mic2 = read_vctk(vctk092, task="multi", mic="mic2")
    assert mic1.settings["version"] == "0.92" and mic1.settings["mic"] == "mic1"
    assert all(it.path.endswith("_mic1.flac") for it in mic1.items)
    assert all(it.path.endswith("_mic2.flac") and it.meta["mic"] == "mic2" for it in mic2.items)
    assert [it.meta["utterance"] for it in mic1.items] == [it.meta["utterance"] for it in mic2.items]
    assert "p315" not in mic1.groups()
    assert mic1.groups("val") == ["p343", "p345"] and "s5" in mic1.groups("train")
    single = read_vctk(vctk092, task="single", mic="mic2")
    assert [len(single.split(s)) for s in SPLITS] == [17, 1, 2]
    assert single.items[0].meta["utterance"] == "p225_001" and single.items[0].meta["gender"] == "F"


def test_vctk_errors(tmp_path: Path, vctk092: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(WavesrError, match="wav48.*found readme.txt"):
        read_vctk(tmp_path / "empty")
    with pytest.raises(WavesrError, match="no such folder"):
        read_vctk(tmp_path / "missing")
    with pytest.raises(WavesrError, match="microphone"):
        read_vctk(vctk092, mic="mic3")
    with pytest.raises(WavesrError, match="no audio for speaker p999"):
        read_vctk(vctk092, task="single", speaker="p999")
    with pytest.raises(WavesrError, match="none of the test speakers"):
        read_vctk(vctk092, test_speakers=["p998", "p999"])


def test_beethoven_natural_order_and_gap(tmp_path: Path) -> None:
    parts = tmp_path / "music" / "parts"
    for i in range(200):
        write(parts / f"p{i}.flac", n=80)
    c = read_beethoven(tmp_path / "music", gap=0)  # the parent of parts/ is accepted
    assert [len(c.split(s)) for s in SPLITS] == [176, 12, 12]  # 88 / 6 / 6 %
    assert [Path(it.path).stem for it in c.split("val")] == [f"p{i}" for i in range(176, 188)]
    assert c.split("test")[-1].group == "p199"
    gapped = read_beethoven(parts)  # p<N> names: SampleRNN's overlapping chunks, gap 7
    assert gapped.settings["gap"] == 7 and gapped.settings["gap_dropped"] == 14
    assert [Path(it.path).stem for it in gapped.split("val")] == [f"p{i}" for i in range(183, 188)]
    assert len(gapped.split("test")) == 5 and len(gapped.split("train")) == 176


def test_beethoven_pieces_stay_together(tmp_path: Path) -> None:
    for s in range(1, 5):
        for k in range(1, 11):
            write(tmp_path / f"sonata{s:02d}_part{k:03d}.wav", n=80)
    c = read_beethoven(tmp_path, val=0.2, test=0.2)  # files 24-31 val, 32-39 test: pieces 3, 4 straddle
    assert c.settings["group"] == "piece" and c.settings["gap"] == 0
    assert c.groups() == [f"sonata{s:02d}_part" for s in range(1, 5)]
    assert c.groups("val") == ["sonata03_part"] and c.groups("test") == ["sonata04_part"]
    assert_groups_disjoint(c)
    (tmp_path / "empty").mkdir()
    with pytest.raises(WavesrError, match="audio chunks"):
        read_beethoven(tmp_path / "empty")


@pytest.fixture
def mtt(tmp_path: Path) -> Path:
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write MP3 (needs >= 1.1)")
    root = tmp_path / "mp3"
    folders = "0123456789abcdef"
    for t in range(24):
        for k in range(1 + t % 4):  # 1 to 4 clips per track
            name = f"artist_{t}-album_{t}-{k + 1:02d}-title_{t}-{29 * k}-{29 * k + 29}.mp3"
            write(root / folders[(t + k) % 16] / name, n=1152, fmt="MP3")
    (root / "6" / "broken-album-01-empty-0-29.mp3").write_bytes(b"")
    return tmp_path


@pytest.mark.filterwarnings("ignore:.*skipped 1 files")
def test_magnatagatune_split(mtt: Path) -> None:
    with pytest.warns(UserWarning, match="empty file"):
        c = read_magnatagatune(mtt, n_test=10, n_val=5, seed=3)
    assert len(c.items) == 60 and len(c.split("test")) == 10 and len(c.split("val")) == 5
    assert_groups_disjoint(c)  # a track never straddles splits
    assert c.settings["skipped"] and "empty" in c.settings["skipped"][0]
    assert c.items[0].sr == 16000 and c.items[0].duration > 0
    again = read_magnatagatune(mtt / "mp3", n_test=10, n_val=5, seed=3, probe=False)
    assert [it.split for it in again.items] == [it.split for it in c.items]
    other = read_magnatagatune(mtt, n_test=10, n_val=5, seed=4, probe=False)
    assert [it.split for it in other.items] != [it.split for it in c.items]
    clips = read_magnatagatune(mtt, n_test=10, n_val=5, seed=3, group_by="clip", probe=False)
    assert len(clips.groups()) == 60 and len(clips.split("test")) == 10
    with pytest.raises(WavesrError, match="too few"):
        read_magnatagatune(mtt, n_test=50, n_val=20)
    with pytest.raises(WavesrError, match="sub-folders 0-9, a-f"):
        read_magnatagatune(mtt / "mp3" / "0")


def test_random_group_split_fills_exactly() -> None:
    groups = [f"g{i}" for i in range(40) for _ in range(1 + i % 5)]  # groups of 1 to 5 items
    for seed in range(10):
        split_of = random_group_split(groups, n_test=17, n_val=9, seed=seed)
        counts = {s: sum(split_of[g] == s for g in groups) for s in SPLITS}
        assert counts == {"train": len(groups) - 26, "val": 9, "test": 17}
    assert split_of == random_group_split(groups, n_test=17, n_val=9, seed=9)
    assert split_of != random_group_split(groups, n_test=17, n_val=9, seed=8)


@pytest.mark.filterwarnings("ignore:.*outside the train/val/test")
def test_folder_split_folders_and_hash(tmp_path: Path) -> None:
    for split in ("train", "valid", "test"):
        for k in range(3):
            write(tmp_path / "a" / split / "spk1" / f"{k}.wav")
    write(tmp_path / "a" / "extra.wav")
    with pytest.warns(UserWarning, match="skipped 1 files"):
        c = read_folder(tmp_path / "a", group_by="folder")
    assert [len(c.split(s)) for s in SPLITS] == [3, 3, 3] and c.settings["split_by"] == "folders"
    assert c.groups() == ["spk1"] and "outside" in c.settings["skipped"][0]
    by_file = read_folder(tmp_path / "a", probe=False)
    assert by_file.groups("train") == ["train/spk1/0.wav", "train/spk1/1.wav", "train/spk1/2.wav"]

    for spk in range(30):
        for k in range(3):
            write(tmp_path / "b" / f"spk{spk}" / f"{k}.flac")
    (tmp_path / "b" / "spk0" / "bad.wav").write_bytes(b"not audio at all")
    with pytest.warns(UserWarning, match="skipped 1 files"):
        by_folder = read_folder(tmp_path / "b", group_by="folder", val=0.2, test=0.2)
    assert by_folder.settings["skipped"][0].startswith(str((tmp_path / "b" / "spk0" / "bad.wav").resolve()))
    assert_groups_disjoint(by_folder)
    assert all(it.split == hash_split(it.group, 0.2, 0.2) for it in by_folder.items)
    assert {s: bool(by_folder.split(s)) for s in SPLITS} == {"train": True, "val": True, "test": True}
    by_file = read_folder(tmp_path / "b", val=0.2, test=0.2, probe=False)
    assert len(by_file.items) == 91 and by_file.items[0].duration == 0.0  # not probed: bad.wav kept
    assert len(by_file.groups()) == 91
    (tmp_path / "c").mkdir()
    with pytest.raises(WavesrError, match="no audio files"):
        read_folder(tmp_path / "c")


def test_open_corpus_dispatch_and_manifest(
    vctk080: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    single = open_corpus("vctk-single", vctk080)
    assert single.name == "vctk-single" and single.groups() == ["p225"]
    multi = open_corpus("vctk-multi", str(vctk080), probe=False)
    assert multi.name == "vctk-multi" and multi.items[0].duration == 0.0
    assert open_corpus("folder", vctk080 / "VCTK-Corpus" / "wav48" / "p226").name == "folder:p226"
    with pytest.raises(WavesrError, match="has no option gap .*mic"):
        open_corpus("vctk-multi", vctk080, gap=3)
    with pytest.raises(WavesrError, match="needs the folder"):
        open_corpus("beethoven")
    with pytest.raises(WavesrError, match="unknown corpus"):
        open_corpus("no-such-corpus")
    with pytest.raises(WavesrError, match="no manifest.json"):
        open_corpus(str(vctk080))

    out = tmp_path / "saved"
    single.save(out / "manifest.json")
    for spec in (out / "manifest.json", out):
        again = open_corpus(str(spec))
        assert again.items == single.items and again.settings == single.settings

    fake = types.ModuleType("wavesr.data.defaults")
    fake.load_default = lambda name: Corpus(name=name, root="", items=[])
    monkeypatch.setitem(sys.modules, "wavesr.data.defaults", fake)
    assert open_corpus("piano").name == "piano"
    with pytest.raises(WavesrError, match="takes no folder"):
        open_corpus("speech", vctk080)


def test_natural_key_and_track_names() -> None:
    assert sorted(["p10.flac", "p2.flac", "P1.flac"], key=natural_key) == ["P1.flac", "p2.flac", "p10.flac"]
    clip = "american_bach_soloists-j_s__bach_solo_cantatas-01-bwv54__i_aria-30-59"
    assert magnatagatune_track(clip) == "american_bach_soloists-j_s__bach_solo_cantatas-01-bwv54__i_aria"


def test_vctk_092_fullband_split(vctk092: Path) -> None:
    """The full-band literature's split: p360-p364, p374, p376 and s5 test; p280 and p315 left out."""
    from wavesr.data.readers import VCTK_FULLBAND_TEST_SPEAKERS

    for spk in ("p280", "p226"):
        for k in (1, 2):
            for mic in ("mic1", "mic2"):
                write(vctk092 / "wav48_silence_trimmed" / spk / f"{spk}_{k:03d}_{mic}.flac", sr=48000, n=480)
    c = open_corpus("vctk-fullband", str(vctk092), probe=False)
    assert c.name == "vctk-fullband"
    assert set(c.groups("test")) == set(VCTK_FULLBAND_TEST_SPEAKERS)  # all present in the fixture
    assert "s5" in c.groups("test") and "p347" not in c.groups("test")
    assert "p280" not in c.groups() and c.settings["excluded_speakers"] == ["p280", "p315"]
    assert_groups_disjoint(c)
