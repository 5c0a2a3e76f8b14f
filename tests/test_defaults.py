"""Default corpora: dropping by measured bandwidth, dedupe, voice splits, manifests, real builds.

The first tests run on signals made here (written through libsndfile). Tests marked ``corpus``
read the default corpora built on this machine (`wavesr corpus build NAME`) and skip, saying
so, where one is not built. The small real builds fetch gcin-voice (8 MB) from the Debian
mirror, or skip when it cannot be reached.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wavesr import audio, cli
from wavesr.data import defaults
from wavesr.data.corpus import SPLITS, Corpus
from wavesr.data.defaults import (
    Candidate,
    build_default,
    dedupe,
    drop_reason,
    group_split,
    load_default,
    measure,
    round_robin,
)
from wavesr.errors import WavesrError
from wavesr.files import staged_folder


def write(path: Path, x: np.ndarray, sr: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x.astype(np.float32), sr, subtype="PCM_24")
    return path


def lowpassed(x: np.ndarray, sr: int, cutoff: float) -> np.ndarray:
    """A brick-wall low-pass (as a resampler or a lossy codec leaves): FFT bins above ``cutoff`` zeroed."""
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(len(x), 1 / sr) > cutoff] = 0
    return np.fft.irfft(spectrum, len(x))


# --------------------------------------------------------------------- dropping by bandwidth


def test_drop_reason_separates_wideband_from_narrowband_noise(tmp_path, rng):
    sr = 44100
    noise = 0.1 * rng.standard_normal(2 * sr)
    cases = {
        "full.wav": (noise, sr, None),
        "lp9k.wav": (lowpassed(noise, sr, 9000), sr, None),  # above 8 kHz: kept for a 16 kHz target
        "lp7k.wav": (lowpassed(noise, sr, 7000), sr, "narrowband"),  # as klettres' es voice
        "lp4k.wav": (lowpassed(noise, sr, 4000), sr, "narrowband"),
        # a voice band over a flat noise floor 50 dB down (as klettres' en): the floor is not signal
        "floor.wav": (
            lowpassed(noise, sr, 4000) + 0.1 * 10 ** (-50 / 20) * rng.standard_normal(2 * sr),
            sr,
            "narrowband",
        ),
        "rate8k.wav": (0.1 * rng.standard_normal(16000), 8000, "low_rate"),  # as ktuberling's 8 kHz files
        "silent.wav": (np.zeros(sr), sr, "silent"),
        "dither.wav": (1e-5 * rng.standard_normal(sr), sr, "silent"),
    }
    for name, (x, file_sr, expected) in cases.items():
        m = measure(write(tmp_path / name, x, file_sr))
        assert drop_reason(m, 16000) == expected, (name, m)
    assert drop_reason(measure(tmp_path / "lp9k.wav"), 22050) == "narrowband"  # 9 kHz < 11.025 kHz
    assert drop_reason(measure(tmp_path / "full.wav"), 48000) == "low_rate"
    header_only = measure(tmp_path / "full.wav", min_sr=48000)  # below min_sr: not decoded
    assert "bandwidth" not in header_only and drop_reason(header_only, 48000) == "low_rate"
    assert header_only["duration"] == pytest.approx(2.0)


def test_measure_reports_undecodable_files(tmp_path):
    bad = tmp_path / "bad.ogg"
    bad.write_bytes(b"OggS but not really")
    m = measure(bad)
    assert "bad.ogg" in m["error"] and drop_reason(m, 16000) == "unreadable"


def test_measure_reads_rate_channels_and_duration(tmp_path, rng):
    m = measure(write(tmp_path / "st.wav", 0.1 * rng.standard_normal((22050, 2)), 22050))
    assert (m["sr"], m["channels"]) == (22050, 2) and m["duration"] == pytest.approx(1.0)
    assert m["level_db"] == pytest.approx(-20, abs=0.5)


# ------------------------------------------------------------------------ dedupe, ordering


def cand(rel: str, group: str, sha: str = "") -> Candidate:
    return Candidate(Path("/x") / rel, rel, group, "pkg", "GPL", {"origin": "/" + rel}, sha or rel)


def test_dedupe_keeps_the_copy_whose_path_sorts_first():
    cands = [
        cand("ktuberling/sr@latin/a.ogg", "sr@latin", "h1"),
        cand("ktuberling/sr/a.ogg", "sr", "h1"),
        cand("ktuberling/sr/b.ogg", "sr", "h2"),
        cand("ktuberling/sr@ijekavian/a.ogg", "sr@ijekavian", "h1"),
    ]
    kept, copies = dedupe(cands)
    assert [c.rel for c in kept] == ["ktuberling/sr/a.ogg", "ktuberling/sr/b.ogg"]
    assert sorted(c.rel for c, _ in copies) == ["ktuberling/sr@ijekavian/a.ogg", "ktuberling/sr@latin/a.ogg"]
    assert all(orig.rel == "ktuberling/sr/a.ogg" for _, orig in copies)


def test_round_robin_spans_groups_and_keeps_every_file():
    cands = [cand(f"{g}/{i}.ogg", g) for g in "abcd" for i in range(5 if g == "a" else 2)]
    order = round_robin(cands)
    assert sorted(c.rel for c in order) == sorted(c.rel for c in cands)
    assert {c.group for c in order[:4]} == set("abcd")
    assert [c.rel for c in order if c.group == "a"] == [f"a/{i}.ogg" for i in range(5)]
    assert order == round_robin(list(reversed(cands)))


# ------------------------------------------------------------------------------ voice split


def test_group_split_holds_out_whole_groups_near_the_target_fractions(rng):
    durations = {f"voice{i}": float(d) for i, d in enumerate(rng.lognormal(5, 1, 55))}
    split = group_split(durations)
    assert set(split) == set(durations) and set(split.values()) == set(SPLITS)
    total = sum(durations.values())
    share = {s: sum(d for g, d in durations.items() if split[g] == s) / total for s in SPLITS}
    assert 0.05 < share["val"] <= 0.15 and 0.05 < share["test"] <= 0.15 and share["train"] > 0.7
    assert group_split(dict(reversed(durations.items()))) == split  # depends on names and durations only


def test_group_split_never_leaves_train_empty():
    assert group_split({"only": 10.0}) == {"only": "train"}
    two = group_split({"a": 50.0, "b": 40.0})
    assert sorted(two.values()) == ["test", "train"]
    three = group_split({"a": 50.0, "b": 40.0, "c": 30.0})
    assert sorted(three.values()) == ["test", "train", "val"]


def test_sources_split_alone_leave_the_other_sources_groups_where_they_were(rng):
    def kept(source: str, groups: int, files: int) -> list[tuple[Candidate, dict]]:
        out = []
        for g in range(groups):
            for i in range(files):
                c = cand(f"{source}/{g}/{i}.wav", f"{source}/v{g}")
                c.source = source
                out.append((c, {"duration": float(rng.uniform(1, 3))}))
        return out

    first = kept("tuxpaint-stamps-default", 12, 6)
    (alone,) = sorted(defaults.SPLIT_ALONE)[:1]
    added = kept(alone, 20, 4)
    before = defaults.split_by_group(first)
    after = defaults.split_by_group(first + added)
    assert after[: len(first)] == before  # the first source's voices did not move
    theirs = dict(zip((c.group for c, _ in added), after[len(first) :]))
    assert {"train", "val", "test"} == set(theirs.values())  # the added source is held out in its share
    assert theirs == group_split({g: sum(m["duration"] for c, m in added if c.group == g) for g in theirs})


def test_megaglest_reads_the_voice_lines_of_speaking_units(tmp_path):
    from wavesr.data.fetch import Package

    root = tmp_path / "root"
    base = root / "usr/share/games/megaglest/techs/megapack"
    for rel in (
        "factions/norsemen/units/swordman/sounds/swordman_ack1.wav",
        "factions/norsemen/units/swordman/sounds/swordman_select12.wav",
        "factions/norsemen/units/swordman/sounds/swordman_attack1.wav",  # a shout, not a line
        "factions/indian/units/bull/sounds/bull_ack1.wav",  # an animal
        "factions/indian/units/thunderbird/sounds/eagle_select1.wav",  # a bird, by its unit's folder
        "commondata/sounds/swordman_ack3.wav",  # the common sounds join the unit of that name
        "commondata/sounds/technician_select1.wav",
        "commondata/sounds/arrow_hit1.wav",
    ):
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(b"")
    pkg = Package("megaglest-data", "1", root, "test")
    got = {
        (c.rel.split("/", 1)[1], c.group, c.meta["line"])
        for c in defaults.FULLBAND_SOURCES["speech-fullband"]["megaglest-data"](pkg)
    }
    assert got == {
        ("factions/norsemen/units/swordman/sounds/swordman_ack1.wav", "megaglest-data/swordman", "ack"),
        (
            "factions/norsemen/units/swordman/sounds/swordman_select12.wav",
            "megaglest-data/swordman",
            "select",
        ),
        ("commondata/sounds/swordman_ack3.wav", "megaglest-data/swordman", "ack"),
        ("commondata/sounds/technician_select1.wav", "megaglest-data/technician", "select"),
    }


def test_hydrogen_groups_by_kit_with_the_kits_licence(tmp_path):
    from wavesr.data.fetch import Package

    root = tmp_path / "root"
    kits = root / "usr/share/hydrogen/data/drumkits"
    for rel in ("Audiophob/kick.wav", "The Black Pearl 1.0/snare.flac", "VariBreaks/drumkit.xml"):
        (kits / rel).parent.mkdir(parents=True, exist_ok=True)
        (kits / rel).write_bytes(b"")
    pkg = Package("hydrogen-drumkits", "1", root, "test")
    got = {
        (c.group, c.licence) for c in defaults.FULLBAND_SOURCES["music-fullband"]["hydrogen-drumkits"](pkg)
    }
    assert got == {("hydrogen-drumkits/Audiophob", "CC0"), ("hydrogen-drumkits/The Black Pearl 1.0", "GPL-2")}


# ------------------------------------------------------------------------- staging, loading


def test_staging_replaces_only_on_success(tmp_path):
    final = tmp_path / "corpora" / "speech"
    with staged_folder(final, replace=True) as tmp:
        (tmp / "manifest.json").write_text("{}")
    assert (final / "manifest.json").is_file()
    with pytest.raises(RuntimeError):
        with staged_folder(final, replace=True) as tmp:
            (tmp / "manifest.json").write_text('{"new": 1}')
            raise RuntimeError("interrupted")
    assert (final / "manifest.json").read_text() == "{}"  # the old corpus survives
    assert [p.name for p in final.parent.iterdir()] == ["speech"]  # no partial folder left
    with pytest.raises(WavesrError, match="already exists"):  # without replace an existing folder stays
        with staged_folder(final) as tmp:
            (tmp / "manifest.json").write_text('{"new": 2}')
    assert (final / "manifest.json").read_text() == "{}"
    assert [p.name for p in final.parent.iterdir()] == ["speech"]


def test_load_default_says_how_to_build(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WAVESR_CACHE", str(tmp_path))
    assert cli.main(["corpus", "list"]) == 0
    out = capsys.readouterr().out
    assert "speech " in out and "not built" in out
    with pytest.raises(WavesrError, match="run `wavesr corpus build speech`"):
        load_default("speech")
    with pytest.raises(WavesrError, match="unknown default corpus 'vctk'"):
        load_default("vctk")
    with pytest.raises(WavesrError, match="unknown source nope"):
        build_default("music", sources=["nope"])
    assert cli.main(["corpus", "show", "speech"]) == 1


# ------------------------------------------------------------------ small real builds (gcin)


@pytest.fixture(scope="module")
def gcin():
    """gcin-voice unpacked in the user's package cache (fetched once, 8 MB)."""
    try:
        return defaults.fetch_deb("gcin-voice")
    except WavesrError as e:
        pytest.skip(f"cannot fetch gcin-voice: {e}")


@pytest.fixture
def corpora(tmp_path, monkeypatch) -> Path:
    """Build corpora under tmp_path; packages still come from the user's cache."""
    monkeypatch.setattr(defaults, "corpus_dir", lambda name: tmp_path / "corpora" / name)
    return tmp_path / "corpora"


def test_small_real_speech_build(gcin, corpora, capsys):
    assert cli.main(["corpus", "build", "speech", "--limit", "40", "--sources", "gcin-voice", "-q"]) == 0
    assert "speech: 40 files" in capsys.readouterr().out
    corpus = load_default("speech")
    assert len(corpus.items) == 40 and corpus.groups() == ["gcin-voice/3", "gcin-voice/5"]
    assert {corpus.groups(s)[0] for s in ("train", "test")} == set(corpus.groups())  # one voice each
    for it in corpus.items:
        assert Path(it.path).is_file() and Path(it.path).is_relative_to(corpora / "speech")
        assert it.sr == 44100 and it.duration > 0 and it.meta["bandwidth"] >= 8000 and len(it.sha256) == 64
    raw = json.loads((corpora / "speech/manifest.json").read_text())
    assert not Path(raw["items"][0]["path"]).is_absolute()
    assert raw["settings"]["limit"] == 40 and raw["settings"]["packages"][0]["name"] == "gcin-voice"
    assert (corpora / "speech/dropped.json").is_file()
    # same settings: returned as built; other settings: refused without force
    assert build_default("speech", limit=40, sources=["gcin-voice"]).settings == corpus.settings
    with pytest.raises(WavesrError, match="already built with limit=40 \\(asked 20\\)"):
        build_default("speech", limit=20, sources=["gcin-voice"])
    with pytest.raises(WavesrError, match="no file is usable at 96000 Hz"):  # all 44.1 kHz: nothing left
        build_default("speech", target_sr=96000, limit=5, sources=["gcin-voice"], force=True, progress=False)
    assert load_default("speech").settings == corpus.settings  # the failed rebuild left the corpus alone
    # the folder can move: paths in the manifest are relative
    shutil.move(corpora / "speech", corpora / "moved")
    moved = Corpus.load(corpora / "moved")
    assert [Path(it.path).name for it in moved.items] == [Path(it.path).name for it in corpus.items]
    assert all(Path(it.path).is_file() for it in moved.items)


def test_a_build_reads_what_an_earlier_one_measured(gcin, corpora, tmp_path, monkeypatch):
    from wavesr.data import curation

    monkeypatch.setattr(defaults, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(curation, "WORKERS", 1)  # measured in this process, where the patch below holds
    first = build_default("speech", limit=12, sources=["gcin-voice"], progress=False)
    stored = json.loads((tmp_path / "cache" / defaults.MEASURED).read_text())
    assert len(stored) >= 12 and all(k.startswith(f"{defaults.MEASURE_REVISION}:") for k in stored)

    def measure(*args, **kwargs):
        raise AssertionError("measured again")

    monkeypatch.setattr(defaults, "measure", measure)
    again = build_default("speech", limit=12, sources=["gcin-voice"], progress=False, force=True)
    assert [(it.path, it.meta["bandwidth"]) for it in again.items] == [
        (it.path, it.meta["bandwidth"]) for it in first.items
    ]
    (tmp_path / "cache" / defaults.MEASURED).write_text("damaged")  # a damaged cache: measured again
    with pytest.raises(AssertionError, match="measured again"):
        build_default("speech", limit=12, sources=["gcin-voice"], progress=False, force=True)


def test_small_real_speech_single_build(gcin, corpora):
    corpus = build_default("speech-single", limit=20, sources=["gcin-voice"], progress=False)
    assert corpus.settings["voice"] == "gcin-voice/3"  # 7.8 min against 5.9 min
    assert corpus.groups() == ["gcin-voice/3"]
    assert [it.split for it in corpus.items] == ["train"] * 17 + ["val"] * 1 + ["test"] * 2
    assert [it.path for it in corpus.items] == sorted(it.path for it in corpus.items)


def test_small_piano_build(corpora):
    pytest.importorskip("music21", reason="music21 not installed (pip install 'wavesr[piano]')")
    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth not installed (apt-get install fluidsynth fluid-soundfont-gm)")
    from wavesr.data.piano import SOLO_PIANO, piano_works

    works = piano_works(chorales=True)
    assert works[: len(SOLO_PIANO)] == list(SOLO_PIANO) and len(works) > 400 and works[-1].startswith("bach/")
    corpus = build_default("piano", limit=3, progress=False)
    assert len(corpus.items) == 3 and len(corpus.groups()) == 3
    for it in corpus.items:
        x, sr = audio.load(it.path)
        assert sr == 44100 and x.shape[0] == 2 and x.shape[1] / sr == pytest.approx(it.duration)
        assert 8000 <= it.meta["bandwidth"] and np.abs(x).max() > 0.05


# -------------------------------------------------------------- the corpora built on this machine


def built(name: str) -> Corpus:
    try:
        return load_default(name)
    except WavesrError as e:
        pytest.skip(str(e))


@pytest.mark.corpus
@pytest.mark.parametrize("name", list(defaults.DEFAULT_CORPORA))
def test_built_corpus_is_sound(name):
    corpus = built(name)
    target = corpus.settings["target_sr"]
    assert all(corpus.split(s) for s in SPLITS), "every split has material"
    if corpus.settings["split"]["by"] == "utterance":  # speech-single: one voice, split in order
        assert len(corpus.groups()) == 1
        assert [it.split for it in corpus.items] == sorted(
            (it.split for it in corpus.items), key=SPLITS.index
        )
    else:
        groups = [set(corpus.groups(s)) for s in SPLITS]
        assert not (groups[0] & groups[2] or groups[1] & groups[2])  # test voices / tracks are held out
        if not corpus.settings["split"].get(
            "val_utterances"
        ):  # speech-fullband validates on training voices too
            assert not groups[0] & groups[1]
    assert len({it.sha256 for it in corpus.items}) == len(corpus.items)
    for it in corpus.items:
        band = it.meta["cutoff"] if "cutoff" in it.meta else it.meta["bandwidth"]  # full-band: audio.cutoff
        assert it.sr >= target and it.duration > 0 and band >= corpus.settings["drop_below_hz"]
    sample = corpus.items[:: max(1, len(corpus.items) // 25)]  # headers of ~25 files, decode the 3 shortest
    for it in sample:
        info = audio.info(it.path)
        assert (info.samplerate, info.channels) == (it.sr, it.channels)
        assert abs(info.frames / info.samplerate - it.duration) < 0.5  # Ogg headers can be approximate
    for it in sorted(sample, key=lambda it: it.duration)[:3]:
        x, sr = audio.load(it.path)
        assert sr == it.sr and x.shape[0] == it.channels and abs(x.shape[1] / sr - it.duration) < 1e-3
        assert np.abs(x).max() > 1e-3


@pytest.mark.corpus
def test_built_speech_corpus_holds_out_voices_across_languages():
    corpus = built("speech")
    if corpus.settings.get("limit"):
        pytest.skip("speech was built with a limit")
    hours = {s: sum(it.duration for it in corpus.split(s)) / 3600 for s in SPLITS}
    assert sum(hours.values()) > 3.0 and len(corpus.groups()) >= 40
    assert (
        0.05 < hours["val"] / sum(hours.values()) < 0.16 and 0.05 < hours["test"] / sum(hours.values()) < 0.16
    )
    for s in ("val", "test"):
        assert len({it.meta["language"] for it in corpus.split(s)}) >= 2
    dropped = corpus.settings["dropped"]
    assert dropped["narrowband"]["klettres-data"] > 100  # klettres' es voice, low-passed at 7 kHz
    assert dropped["low_rate"]["ktuberling-data"] > 50  # ktuberling's 8 kHz files
    assert dropped["duplicate"]["ktuberling-data"] >= 45  # the three copies of the sr folder


# ------------------------------------------------------------------ full-band corpora (real, small)


def test_small_real_fullband_builds(corpora, capsys):
    """speech-fullband (tuxpaint's and MegaGlest's voices) and music-fullband (Sonic Pi's samples,
    Hydrogen's drum kits), a slice of each source."""
    from wavesr.data.curation import FULLBAND_SHARE

    for name, source in (
        ("speech-fullband", "tuxpaint-stamps-default"),
        ("speech-fullband", "megaglest-data"),
        ("music-fullband", "sonic-pi-samples"),
        ("music-fullband", "hydrogen-drumkits"),
    ):
        try:
            defaults.fetch_deb(source)
        except WavesrError as e:
            pytest.skip(f"cannot fetch {source}: {e}")
        assert cli.main(["corpus", "build", name, "--limit", "30", "--sources", source, "-q", "--force"]) == 0
        corpus = load_default(name)
        assert len(corpus.items) == 30 and corpus.settings["target_sr"] == 44100
        assert corpus.settings["keep"] == f"audio.cutoff >= {FULLBAND_SHARE} x 22050 Hz"
        assert (
            corpus.settings["minutes_kept"] > 0 and corpus.settings["drop_below_hz"] == FULLBAND_SHARE * 22050
        )
        for it in corpus.items:  # every kept file's real content reaches the band a full-band model restores
            assert it.meta["cutoff"] >= FULLBAND_SHARE * 22050 and it.sr >= 44100, it.path
        train, test = set(corpus.groups("train")), set(corpus.groups("test"))
        assert test and not train & test  # held-out voices / tracks
        dropped = json.loads((corpora / name / "dropped.json").read_text())
        assert all(
            d.get("cutoff", 0) < FULLBAND_SHARE * 22050 for d in dropped if d["reason"] == "narrowband"
        )
    capsys.readouterr()
