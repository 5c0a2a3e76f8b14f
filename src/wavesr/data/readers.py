"""Readers for the paper's data sets in their real layouts, for any folder of audio, and by name.

None of the paper's corpora can be downloaded here; each reader takes a folder the user already
has (its root or the folder just above it) and returns a :class:`~wavesr.data.corpus.Corpus`
whose splits follow Kuleshov et al. (2017) where the paper fixes them, and a documented,
deterministic rule where it does not:

* **VCTK** 0.80 (``wav48/p225/p225_001.wav``) or 0.92 (``wav48_silence_trimmed/p225/
  p225_001_mic1.flac``, one microphone chosen, ``mic1`` by default). Group = speaker.
  ``single``: speaker p225 only, its utterances in number order, the first 85 % train, the next
  5 % val, the last 10 % test (the original code held out the last 8 of p225's 231 files,
  ``ls | tail -n 8``; 10 % gives a steadier test score). ``multi``: the nine speakers the
  original code held out (p347 ... p376, the last nine by number) are test; the two highest-
  numbered remaining speakers (p343, p345) are val; everyone else trains.
* **Beethoven** piano of SampleRNN (Mehri et al., 2016): chunks in one folder, naturally sorted
  (``p2`` before ``p10``), the first 88 % train, 6 % val, 6 % test *in order*. SampleRNN itself
  shuffled before cutting, but its script starts chunk ``p<i>`` at second ``i`` of the
  concatenated audio (8-second chunks, 7 s overlap, SampleRNN issue #18), so a shuffled split
  leaks test audio into training; in order, only the ``gap`` chunks after each split boundary
  overlap the previous split and are dropped (7 for ``p<N>`` names, else 0). Group = piece when
  the names show one (``sonata01_part003`` -> ``sonata01_part``), else the file.
* **MagnaTagATune**: mp3 clips in sub-folders ``0``-``9``, ``a``-``f``. ``n_test`` (1,000) random
  test clips and ``n_val`` (250) val clips drawn with ``numpy.random.default_rng(seed)``; the rest
  train (24,613 of the 25,863, where the paper trained on all 24,863). By default whole tracks
  (the name without its ``-<start>-<end>`` seconds) are drawn, filling the counts exactly, so the
  29-second clips of one song never straddle splits; ``group_by="clip"`` draws single clips as
  the paper did.
* **Any folder**: ``train/``, ``val/`` (or ``valid/``, ``dev/``) and ``test/`` sub-folders when
  present, else a stable hash of each file's relative path (``group_by="file"``) or of its parent
  folder (``group_by="folder"``, to keep speakers together): 90 / 5 / 5 %.

Every reader reads each file's header (``probe=True``: rate, channels, duration; no decoding);
files that cannot be read are skipped and listed in ``corpus.settings["skipped"]``.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import audio
from ..errors import WavesrError
from .corpus import MANIFEST, Corpus, Item, fraction_split, hash_split
from .defaults import DEFAULT_CORPORA

VCTK_TEST_SPEAKERS = ("p347", "p351", "p360", "p361", "p362", "p363", "p364", "p374", "p376")
# The later full-band literature's split of VCTK 0.92 at 48 kHz (NU-Wave 2, AP-BWE): these speakers
# test, p280 and p315 left out (p315 has no audio; p280 was recorded with another microphone setup).
VCTK_FULLBAND_TEST_SPEAKERS = ("p360", "p361", "p362", "p363", "p364", "p374", "p376", "s5")
VCTK_FULLBAND_EXCLUDED = ("p280", "p315")
VCTK_MICS = ("mic1", "mic2")
MTT_FOLDERS = tuple("0123456789abcdef")
SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "valid", "validation", "dev"), "test": ("test",)}
CORPUS_SPECS = {
    "vctk-single": "VCTK 0.80 or 0.92 folder, speaker p225 only, split by utterance (85/5/10 %)",
    "vctk-multi": "VCTK 0.80 or 0.92 folder, 9 speakers held out for test, 2 for val",
    "vctk-fullband": "VCTK 0.92 at 48 kHz, the full-band literature's split: p360-p364, p374, p376, s5 test; "
    "p280, p315 left out",
    "beethoven": "SampleRNN's Beethoven piano chunks, 88/6/6 % in natural order",
    "magnatagatune": "MagnaTagATune mp3 folders 0-9, a-f: 1,000 random test clips, 250 val",
    "folder": "any folder of audio: train/val/test sub-folders, else a stable hash",
    **{name: f"default corpus: {text} (wavesr.data.defaults)" for name, text in DEFAULT_CORPORA.items()},
}


# ------------------------------------------------------------------------------------ helpers


def natural_key(text: str) -> list:
    """Sort key that orders digit runs by value: ``p2`` < ``p10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def _locate(root: str | os.PathLike, looks_right: Callable[[Path], bool], expected: str) -> Path:
    """``root`` or its first sub-folder (sorted) for which ``looks_right`` holds."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise WavesrError(f"{root}: no such folder")
    subs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name))
    for cand in (root, *subs):
        if looks_right(cand):
            return cand.resolve()
    names = sorted(p.name + "/" * p.is_dir() for p in root.iterdir())
    found = ", ".join(names[:12]) + (f", ... ({len(names)} entries)" if len(names) > 12 else "")
    raise WavesrError(
        f"{root}: expected {expected} in this folder or one below it; found {found or 'nothing'}"
    )


def _items(
    entries: Sequence[tuple[Path, str, str, dict]], probe: bool, source: str, licence: str, skipped: list[str]
) -> list[Item]:
    """Items from ``(path, split, group, meta)``; with ``probe``, header fields and skips."""
    items = []
    for path, split, group, meta in entries:
        it = Item(path=str(path), split=split, group=group, source=source, licence=licence, meta=meta)
        if probe:
            try:
                head = audio.info(path)
            except WavesrError as e:
                skipped.append(str(e))
                continue
            if head.frames <= 0:
                skipped.append(f"{path}: contains no samples")
                continue
            it.sr, it.channels = int(head.samplerate), int(head.channels)
            it.duration = head.frames / head.samplerate
        items.append(it)
    return items


def _corpus(
    name: str,
    root: Path,
    items: list[Item],
    description: str,
    settings: dict[str, Any],
    skipped: list[str],
    probe: bool,
) -> Corpus:
    if not items:
        raise WavesrError(f"{root}: no readable audio for {name} ({len(skipped)} files skipped)")
    if skipped:
        warnings.warn(
            f"{root}: skipped {len(skipped)} files (listed in settings['skipped']), e.g. {skipped[0]}",
            stacklevel=3,
        )
    return Corpus(
        name=name,
        root=str(root),
        items=items,
        description=description,
        settings={**settings, "probe": probe, "skipped": skipped},
    )


# --------------------------------------------------------------------------------------- VCTK


def _vctk_layout(folder: Path) -> str | None:
    """``"0.92"``, ``"0.80"`` or None, from the audio folder present."""
    if (folder / "wav48_silence_trimmed").is_dir():
        return "0.92"
    if (folder / "wav48").is_dir():
        return "0.80"
    return None


def _speaker_info(path: Path) -> dict[str, dict[str, str]]:
    """``speaker-info.txt`` rows (``ID AGE GENDER ACCENTS REGION``) keyed ``p225``; {} if absent."""
    info: dict[str, dict[str, str]] = {}
    if not path.is_file():
        return info
    for line in path.read_text(errors="replace").splitlines():
        cols = line.split()
        if len(cols) < 4 or cols[0].upper() == "ID" or line.startswith(";"):
            continue
        sid = f"p{cols[0]}" if cols[0].isdigit() else cols[0]
        info[sid] = {"age": cols[1], "gender": cols[2], "accent": cols[3], "region": " ".join(cols[4:])}
    return info


def _speaker_number(speaker: str) -> tuple[int, str]:
    """Sort key by speaker number: p225 -> 225, s5 -> 5."""
    return int(re.sub(r"\D", "", speaker) or 0), speaker


def read_vctk(
    root: str | os.PathLike,
    task: str = "multi",
    mic: str = "mic1",
    speaker: str = "p225",
    val: float = 0.05,
    test: float = 0.10,
    test_speakers: Sequence[str] = VCTK_TEST_SPEAKERS,
    n_val_speakers: int = 2,
    probe: bool = True,
) -> Corpus:
    """VCTK 0.80 or 0.92 (see the module docstring for the splits).

    Parameters
    ----------
    root : the corpus folder (holding ``wav48/`` or ``wav48_silence_trimmed/``) or its parent.
    task : ``single`` (one ``speaker``, split by utterance with fractions ``val``/``test``),
        ``multi`` (``test_speakers`` test, the ``n_val_speakers`` highest-numbered others val) or
        ``fullband`` (as multi with :data:`VCTK_FULLBAND_TEST_SPEAKERS` test and
        :data:`VCTK_FULLBAND_EXCLUDED` left out, at the native 48 kHz).
    mic : ``mic1`` or ``mic2``, for 0.92 only.
    """
    if task not in ("single", "multi", "fullband"):
        raise WavesrError(f"unknown VCTK task {task!r} (choose single, multi or fullband)")
    excluded: tuple[str, ...] = ()
    if task == "fullband":
        test_speakers, excluded = VCTK_FULLBAND_TEST_SPEAKERS, VCTK_FULLBAND_EXCLUDED
    if mic not in VCTK_MICS:
        raise WavesrError(f"unknown VCTK microphone {mic!r} (choose {' or '.join(VCTK_MICS)})")
    base = _locate(
        root,
        lambda p: _vctk_layout(p) is not None,
        "VCTK: wav48/p225/p225_001.wav (0.80) or wav48_silence_trimmed/p225/p225_001_mic1.flac (0.92)",
    )
    version = _vctk_layout(base)
    if version == "0.92":
        wav_dir, pattern = base / "wav48_silence_trimmed", f"*_{mic}.flac"
    else:
        wav_dir, pattern = base / "wav48", "*.wav"
    speakers = {
        d.name: sorted(d.glob(pattern), key=lambda p: natural_key(p.name))
        for d in wav_dir.iterdir()
        if d.is_dir()
    }
    speakers = {s: files for s, files in speakers.items() if files and s not in excluded}
    if not speakers:
        raise WavesrError(f"{wav_dir}: no speaker folders with {pattern} files")
    if task == "single":
        if speaker not in speakers:
            known = ", ".join(sorted(speakers, key=_speaker_number)[:8])
            raise WavesrError(f"{wav_dir}: no audio for speaker {speaker} (found {known}, ...)")
        files = speakers[speaker]
        plan = list(zip(files, fraction_split(len(files), val, test)))
        held = {"speaker": speaker, "val": val, "test": test}
    else:
        test_set = [s for s in test_speakers if s in speakers]
        if not test_set:
            raise WavesrError(f"{wav_dir}: none of the test speakers {' '.join(test_speakers)} is present")
        rest = sorted((s for s in speakers if s not in test_set), key=_speaker_number)
        val_set = rest[-n_val_speakers:] if n_val_speakers else []
        split_of = {s: "test" if s in test_set else "val" if s in val_set else "train" for s in speakers}
        plan = [(f, split_of[s]) for s in sorted(speakers, key=_speaker_number) for f in speakers[s]]
        held = {
            "test_speakers": test_set,
            "val_speakers": val_set,
            "missing_test_speakers": [s for s in test_speakers if s not in speakers],
            **({"excluded_speakers": list(excluded)} if excluded else {}),
        }
    who = _speaker_info(base / "speaker-info.txt")
    entries = []
    for f, split in plan:
        spk = f.parent.name
        utt = f.stem.removesuffix(f"_{mic}") if version == "0.92" else f.stem
        meta: dict[str, Any] = {"speaker": spk, "utterance": utt, **who.get(spk, {})}
        if version == "0.92":
            meta["mic"] = mic
        txt = base / "txt" / spk / f"{utt}.txt"
        if txt.is_file():
            meta["text"] = txt.read_text(errors="replace").strip()
        entries.append((f, split, spk, meta))
    skipped: list[str] = []
    licence = "CC-BY-4.0" if version == "0.92" else "ODC-By-1.0"
    items = _items(entries, probe, f"VCTK {version}", licence, skipped)
    settings = {"reader": "vctk", "version": version, "task": task, **held}
    if version == "0.92":
        settings["mic"] = mic
    description = f"VCTK {version} ({task}-speaker task)"
    return _corpus(f"vctk-{task}", base, items, description, settings, skipped, probe)


# ---------------------------------------------------------------------------------- Beethoven


def _flat_audio(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.suffix.lower() in audio.AUDIO_EXTENSIONS and p.is_file()]


def read_beethoven(
    root: str | os.PathLike, val: float = 0.06, test: float = 0.06, gap: int | None = None, probe: bool = True
) -> Corpus:
    """SampleRNN's Beethoven piano chunks (one folder, e.g. ``music/parts/p0.flac``), split in order.

    ``gap`` files after each split boundary are dropped (default 7 when every name is ``p<N>``,
    SampleRNN's overlapping 8-second chunks, else 0). A group (piece) never straddles splits: it
    goes to the split that holds most of its files.
    """
    base = _locate(root, lambda p: bool(_flat_audio(p)), "audio chunks (p0.flac, p1.flac, ...)")
    files = sorted(_flat_audio(base), key=lambda p: natural_key(p.name))
    stems = [p.stem for p in files]
    sample_rnn = all(re.fullmatch(r"p\d+", s) for s in stems)
    gap = (7 if sample_rnn else 0) if gap is None else gap
    prefixes = [re.sub(r"[\s_.-]*\d+$", "", s) for s in stems]
    by_piece = len(set(prefixes)) > 1 and all(prefixes)
    groups = prefixes if by_piece else stems
    splits = fraction_split(len(files), val, test)
    votes: dict[str, Counter] = {}
    for g, s in zip(groups, splits):
        votes.setdefault(g, Counter())[s] += 1
    splits = [votes[g].most_common(1)[0][0] for g in groups]
    entries: list[Any] = []
    last_change = -gap
    for i, (f, g, s) in enumerate(zip(files, groups, splits)):
        if i and s != splits[i - 1]:
            last_change = i
        if i - last_change >= gap:
            entries.append((f, s, g, {}))
    skipped: list[str] = []
    items = _items(entries, probe, "SampleRNN Beethoven piano sonatas", "", skipped)
    settings = {
        "reader": "beethoven",
        "val": val,
        "test": test,
        "gap": gap,
        "gap_dropped": len(files) - len(entries),
        "group": "piece" if by_piece else "file",
    }
    description = "Beethoven piano sonatas (SampleRNN chunks)"
    return _corpus("beethoven", base, items, description, settings, skipped, probe)


# ------------------------------------------------------------------------------ MagnaTagATune


def magnatagatune_track(stem: str) -> str:
    """``artist-album-01-title-30-59`` -> ``artist-album-01-title`` (the clip's seconds removed)."""
    return re.sub(r"-\d+-\d+$", "", stem)


def random_group_split(groups: Sequence[str], n_test: int, n_val: int, seed: int) -> dict[str, str]:
    """Split of each group: groups drawn in a random order (``default_rng(seed)``) fill test up to
    ``n_test`` items, then val up to ``n_val``, skipping any group that would overshoot; with many
    small groups (MagnaTagATune's tracks) the counts come out exact."""
    sizes = Counter(groups)
    names = sorted(sizes)
    order = np.random.default_rng(seed).permutation(len(names))
    split_of, filled = {}, {"test": 0, "val": 0}
    for i in order:
        g = names[i]
        split_of[g] = "train"
        for s, n in (("test", n_test), ("val", n_val)):
            if filled[s] + sizes[g] <= n:
                split_of[g], filled[s] = s, filled[s] + sizes[g]
                break
    return split_of


def read_magnatagatune(
    root: str | os.PathLike,
    n_test: int = 1000,
    n_val: int = 250,
    seed: int = 0,
    group_by: str = "track",
    probe: bool = True,
) -> Corpus:
    """MagnaTagATune mp3 clips in sub-folders ``0``-``9``, ``a``-``f`` (see the module docstring).

    ``group_by`` is ``track`` (clips of one song stay in one split) or ``clip`` (the paper).
    Empty files (a few exist in the release) are skipped before the split is drawn.
    """
    if group_by not in ("track", "clip"):
        raise WavesrError(f"unknown group_by {group_by!r} for MagnaTagATune (choose track or clip)")
    base = _locate(
        root,
        lambda p: any(any((p / d).glob("*.mp3")) for d in MTT_FOLDERS if (p / d).is_dir()),
        "MagnaTagATune: sub-folders 0-9, a-f holding .mp3 clips",
    )
    skipped: list[str] = []
    files = []
    for f in sorted(f for d in MTT_FOLDERS if (base / d).is_dir() for f in (base / d).glob("*.mp3")):
        if f.stat().st_size:
            files.append(f)
        else:
            skipped.append(f"{f}: empty file")
    if n_test + n_val >= len(files):
        raise WavesrError(f"{base}: {len(files)} clips, too few for {n_test} test and {n_val} val clips")
    groups = [
        magnatagatune_track(f.stem) if group_by == "track" else f"{f.parent.name}/{f.stem}" for f in files
    ]
    split_of = random_group_split(groups, n_test, n_val, seed)
    entries = [(f, split_of[g], g, {"track": magnatagatune_track(f.stem)}) for f, g in zip(files, groups)]
    items = _items(entries, probe, "MagnaTagATune", "CC-BY-NC-SA-1.0", skipped)
    settings = {
        "reader": "magnatagatune",
        "n_test": n_test,
        "n_val": n_val,
        "seed": seed,
        "group_by": group_by,
    }
    return _corpus("magnatagatune", base, items, "MagnaTagATune clips", settings, skipped, probe)


# ------------------------------------------------------------------------------- any folder


def _split_folders(root: Path) -> dict[str, Path]:
    subs = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    found = {s: next((subs[n] for n in names if n in subs), None) for s, names in SPLIT_FOLDERS.items()}
    return {s: p for s, p in found.items() if p is not None} if found["train"] and found["test"] else {}


def read_folder(
    root: str | os.PathLike, group_by: str = "file", val: float = 0.05, test: float = 0.05, probe: bool = True
) -> Corpus:
    """Any folder of audio (recursive), split by ``train/`` ``val/`` ``test/`` sub-folders if it has
    ``train/`` and ``test/``, else by a stable hash (:func:`~wavesr.data.corpus.hash_split`) of the
    group: the file's relative path (``group_by="file"``) or its parent folder (``"folder"``)."""
    if group_by not in ("file", "folder"):
        raise WavesrError(f"unknown group_by {group_by!r} (choose file or folder)")
    base = Path(root).expanduser()
    if not base.is_dir():
        raise WavesrError(f"{base}: no such folder")
    base = base.resolve()
    files = audio.find_audio(base)
    if not files:
        raise WavesrError(f"{base}: no audio files ({' '.join(audio.AUDIO_EXTENSIONS)}) here or below")
    folders = _split_folders(base)
    skipped: list[str] = []
    entries: list[Any] = []
    for f in files:
        split, top = None, base
        for s, folder in folders.items():
            if f.is_relative_to(folder):
                split, top = s, folder
        if folders and split is None:
            skipped.append(f"{f}: outside the train/val/test folders")
            continue
        # a folder is named from its split folder (train/p225 and test/p225 are one speaker)
        group = (
            f.relative_to(top).parent.as_posix() if group_by == "folder" else f.relative_to(base).as_posix()
        )
        entries.append((f, split or hash_split(group, val, test), group, {}))
    items = _items(entries, probe, base.name, "", skipped)
    settings = {
        "reader": "folder",
        "group_by": group_by,
        "split_by": "folders" if folders else "hash",
        **({} if folders else {"val": val, "test": test}),
    }
    return _corpus(f"folder:{base.name}", base, items, f"audio files under {base}", settings, skipped, probe)


# ------------------------------------------------------------------------------------ by name


def open_corpus(spec: str, root: str | os.PathLike | None = None, **options: Any) -> Corpus:
    """Open a corpus by spec: a reader in :data:`CORPUS_SPECS` (needs ``root``; ``options`` go to
    the reader), a manifest ``.json`` (or a folder holding ``manifest.json``), or a default
    corpus name (:data:`wavesr.data.defaults.DEFAULT_CORPORA`, built by ``defaults``)."""
    readers: dict[str, Callable[..., Corpus]] = {
        "vctk-single": functools.partial(read_vctk, task="single"),
        "vctk-multi": functools.partial(read_vctk, task="multi"),
        "vctk-fullband": functools.partial(read_vctk, task="fullband"),
        "beethoven": read_beethoven,
        "magnatagatune": read_magnatagatune,
        "folder": read_folder,
    }
    if spec in readers:
        if root is None:
            raise WavesrError(f"corpus {spec!r} needs the folder that holds it (root)")
        accepted = [n for n in inspect.signature(readers[spec]).parameters if n not in ("root", "task")]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise WavesrError(
                f"corpus {spec!r} has no option {', '.join(unknown)} (it takes {', '.join(accepted)})"
            )
        return readers[spec](root, **options)
    if root is not None or options:
        raise WavesrError(f"corpus {spec!r} takes no folder or options (only {', '.join(readers)} do)")
    if spec in DEFAULT_CORPORA:
        from .defaults import load_default

        return load_default(spec)
    path = Path(spec).expanduser()
    if path.is_file():
        return Corpus.load(path)
    if path.is_dir():
        if (path / MANIFEST).is_file():
            return Corpus.load(path / MANIFEST)
        raise WavesrError(f"{path}: no {MANIFEST} here (to read a folder of audio, use the spec 'folder')")
    raise WavesrError(f"unknown corpus {spec!r}: not a manifest and not one of {', '.join(CORPUS_SPECS)}")
