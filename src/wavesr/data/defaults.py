"""The default corpora: real audio that installs from Debian packages and PyPI.

The paper's data (VCTK, the Beethoven sonatas, MagnaTagATune) cannot be downloaded by wavesr;
these corpora stand in for them and build on any Debian-like machine (see the README):

``speech``
    Recorded words, syllables and short phrases from four packages (tuxpaint-stamps-default,
    klettres-data, ktuberling-data, gcin-voice): about 50 voices in 30 languages. The analogue of
    multi-speaker VCTK: whole voices are held out for val and test (about 80/10/10 of the audio).
``speech-single``
    The voice with the most kept material, split by utterance (in path order: the first 85 %
    train, the next 5 % val, the last 10 % test), like the paper's single speaker p225 (and
    the ``vctk-single`` reader). Its items all share one group, the voice.
``piano``
    The solo piano works of music21's corpus, exported to MIDI with a piano program and
    rendered by fluidsynth with a sampled piano soundfont; split by piece.
``music``
    Recorded game music (wesnoth-1.16-music, warzone2100-music), split by track: the
    MagnaTagATune analogue.
``speech-fullband``
    The voices whose recordings reach 85 % of the target's Nyquist frequency (18.7 kHz at
    44.1 kHz, :func:`wavesr.audio.cutoff`): tuxpaint's full-band languages (one voice each) and
    MegaGlest's unit voices (their acknowledge and select lines, one group per unit name;
    animals, beasts and machines left out by name). Held-out voices; validation also takes 5 %
    of the training voices' utterances.
``music-fullband``
    The same rule over the game music, Sonic Pi's lossless samples and Hydrogen's lossless drum
    kits; split by track, sample and kit.

How a corpus is built
---------------------
1. Packages are unpacked into the cache without installing them (:mod:`wavesr.data.fetch`).
2. Byte-identical copies are dropped (sha256 of the file; the copy whose path sorts first stays).
3. Every file is decoded and measured (2 processes). A file is dropped when it cannot be
   decoded, is silent (RMS below ``SILENCE_DB``), has a sample rate below the target rate, or
   has a measured bandwidth (:func:`wavesr.audio.bandwidth`) below the target's Nyquist
   frequency: a model trained on such a file as "high resolution" would learn to leave the
   top band empty.
4. Whole groups (voices, pieces, tracks) are assigned to splits by :func:`group_split`; the
   sources in :data:`SPLIT_ALONE` (added to the full-band corpora later) are split on their own.
5. The kept files are hard-linked (or copied) into ``cache_dir()/corpora/NAME/audio/`` with
   ``manifest.json`` (a :class:`~wavesr.data.corpus.Corpus` whose ``settings`` record every
   build setting) and ``dropped.json`` (each dropped file and why). The corpus is built in a
   temporary sibling folder and renamed into place, so an interrupted build never looks complete.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import __version__, audio
from ..errors import WavesrError
from ..files import atomic_path, staged_folder, write_json
from .corpus import MANIFEST, SPLITS, Corpus, Item, cache_dir, fraction_split, sha256_file, stable_fraction
from .curation import (
    FULLBAND_SHARE,
    HELD_OUT,
    SILENCE_DB,
    SPLIT_KEY,
    drop_reason,
    group_split,
    link_or_copy,
    measure,
    worker_pool,
)
from .fetch import Package, fetch_deb

DEFAULT_CORPORA = {
    "speech": "recorded words and phrases, ~50 voices, 30 languages; val/test are held-out voices",
    "speech-single": "the voice with the most wideband material, split by utterance",
    "piano": "music21's solo piano scores rendered by fluidsynth with a sampled piano; split by piece",
    "music": "recorded game music (Wesnoth, Warzone 2100); split by track",
    "speech-fullband": (
        "tuxpaint's and MegaGlest's voices whose recordings reach 85 % of 22.05 kHz (44.1 kHz);"
        " held-out voices"
    ),
    "music-fullband": (
        "game music, lossless samples and drum kits reaching 85 % of 22.05 kHz (44.1 kHz);"
        " split by track / kit"
    ),
}
FULLBAND_SR = 44100  # the full-band corpora's default target: their sources are 44.1 and 48 kHz
FULLBAND_VAL = 0.05  # speech-fullband: the share of the training voices' utterances validation takes
SINGLE_HELD_OUT = {"val": 0.05, "test": 0.10}  # speech-single, by utterance (as vctk-single)


# ------------------------------------------------------------------------------- sources


@dataclass
class Candidate:
    """A file of a package that may enter a corpus."""

    path: Path  # where it lies now
    rel: str  # where it goes under the corpus's audio/ folder
    group: str  # voice / track
    source: str  # package name
    licence: str
    meta: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""


def _files(folder: Path, pattern: str = "*") -> list[Path]:
    return sorted(
        p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in audio.AUDIO_EXTENSIONS
    )


def _candidate(pkg: Package, path: Path, group: str, licence: str, **meta: Any) -> Candidate:
    origin = "/" + path.relative_to(pkg.root).as_posix()
    return Candidate(
        path,
        f"{pkg.name}/{path.relative_to(pkg.path(_AUDIO_ROOTS[pkg.name])).as_posix()}",
        f"{pkg.name}/{group}",
        pkg.name,
        licence,
        {**meta, "origin": origin},
    )


def _tuxpaint(pkg: Package) -> list[Candidate]:
    """Stamp descriptions ``*_desc_<lang>.ogg``: about one voice per language."""
    out = []
    for p in _files(pkg.path(_AUDIO_ROOTS[pkg.name]), "**/*_desc_*.ogg"):
        lang = re.search(r"_desc_([a-z]{2,3}(?:_[A-Z]{2})?)\.", p.name)
        if lang:
            out.append(_candidate(pkg, p, lang.group(1), "GPL-2", language=lang.group(1)))
    return out


def _klettres(pkg: Package) -> list[Candidate]:
    """Letters and syllables ``<lang>/{alpha,syllab}/*.ogg``: one voice per language folder."""
    root = pkg.path(_AUDIO_ROOTS[pkg.name])
    return [_candidate(pkg, p, p.parts[-3], "GPL-2+", language=p.parts[-3]) for p in _files(root, "*/*/*")]


def _ktuberling(pkg: Package) -> list[Candidate]:
    """Words ``sounds/<lang>/*``: one voice per language folder (the sr* folders are copies)."""
    root = pkg.path(_AUDIO_ROOTS[pkg.name])
    return [
        _candidate(pkg, p, p.parts[-2], "GPL-2+", language=p.parts[-2].split("@")[0])
        for p in _files(root, "*/*")
    ]


def _gcin(pkg: Package) -> list[Candidate]:
    """Mandarin syllables ``ogg/<syllable>/{3,5}.ogg``: two voices, 3 and 5."""
    licences = {"3": "GPL-3 or LGPL-3", "5": "CC-BY-3.0"}
    return [
        _candidate(
            pkg, p, p.stem, licences.get(p.stem, "GPL-3 or LGPL-3"), language="zh", syllable=p.parts[-2]
        )
        for p in _files(pkg.path(_AUDIO_ROOTS[pkg.name]), "*/*")
    ]


def _wesnoth(pkg: Package) -> list[Candidate]:
    """Soundtrack of Battle for Wesnoth; a track's variants (``defeat2``, ``frantic-old``) share its group."""
    return [
        _candidate(pkg, p, p.stem.removesuffix("-old").rstrip("0123456789"), "GPL-2+")
        for p in _files(pkg.path(_AUDIO_ROOTS[pkg.name]))
    ]


def _sonic_pi(pkg: Package) -> list[Candidate]:
    """Sonic Pi's lossless samples (FLAC, 44.1 kHz); each sample is its own group."""
    return [_candidate(pkg, p, p.stem, "MIT or CC0") for p in _files(pkg.path(_AUDIO_ROOTS[pkg.name]))]


# megaglest's units that are animals, beasts or machines: their lines are calls and roars, not speech
MEGAGLEST_NOT_VOICES = frozenset(
    "behemoth bull chicken cow daemon dragon elephant evil_dragon flying_carpet golem pig sheep "
    "thunderbird wild_sow".split()
)


def _megaglest(pkg: Package) -> list[Candidate]:
    """MegaGlest's unit voices: the acknowledge and select lines ``<unit>_{ack,select}N.wav``.

    The other sounds of a unit (attack, die, work) are shouts and effects. A unit's lines are one
    group, merged over factions and the common sounds (``swordman`` is one group): a voice shared
    by units of one name never crosses splits. A line is left out when its name or its unit's
    folder names an animal, beast or machine (the thunderbird's lines are ``eagle_*``).
    """
    out = []
    for p in _files(pkg.path(_AUDIO_ROOTS[pkg.name]), "**/sounds/*"):
        line = re.fullmatch(r"(.+)_(ack|select)\d*", p.stem)
        unit = p.parts[-3] if p.parts[-4] == "units" else ""
        if line and not {line.group(1), unit} & MEGAGLEST_NOT_VOICES:
            out.append(_candidate(pkg, p, line.group(1), "CC-BY-SA-3.0", language="en", line=line.group(2)))
    return out


# hydrogen-drumkits' licences by kit (its Debian copyright file)
HYDROGEN_LICENCES = {
    "Audiophob": "CC0",
    "BJA_Pacific": "CC-BY-SA-3.0-us",
    "circAfrique v4": "CC-BY-SA-3.0",
    "ColomboAcousticDrumkit": "GPL-2+ with composition exception",
    "rumpf_kit_z01_h2": "CC-BY-3.0",
    "ElectricEmpireKit": "GPL-2+",
    "HardElectro1": "GPL-2+",
    "VariBreaks": "GPL-2+",
}


def _hydrogen(pkg: Package) -> list[Candidate]:
    """Hydrogen's drum kits (lossless WAV, FLAC, AIFF at 44.1 / 48 kHz); each kit is a group."""
    root = pkg.path(_AUDIO_ROOTS[pkg.name])
    return [
        _candidate(pkg, p, p.parts[-2], HYDROGEN_LICENCES.get(p.parts[-2], "GPL-2"), kit=p.parts[-2])
        for p in _files(root, "*/*")
    ]


def _warzone(pkg: Package) -> list[Candidate]:
    """Soundtracks of Warzone 2100 (Opus, 48 kHz); ``track3_enhanced`` shares ``track3``'s group."""
    return [
        _candidate(pkg, p, p.stem.removesuffix("_enhanced"), "GPL-2+", album=p.parent.name)
        for p in _files(pkg.path(_AUDIO_ROOTS[pkg.name]), "**/*")
    ]


_AUDIO_ROOTS = {
    "tuxpaint-stamps-default": "/usr/share/tuxpaint/stamps",
    "klettres-data": "/usr/share/klettres",
    "ktuberling-data": "/usr/share/ktuberling/sounds",
    "gcin-voice": "/usr/share/gcin-voice/ogg",
    "wesnoth-1.16-music": "/usr/share/games/wesnoth/1.16/data/core/music",
    "warzone2100-music": "/usr/share/games/warzone2100/music",
    "sonic-pi-samples": "/usr/share/sonic-pi/samples",
    "megaglest-data": "/usr/share/games/megaglest/techs/megapack",
    "hydrogen-drumkits": "/usr/share/hydrogen/data/drumkits",
}
SPEECH_SOURCES: dict[str, Callable[[Package], list[Candidate]]] = {
    "tuxpaint-stamps-default": _tuxpaint,
    "klettres-data": _klettres,
    "ktuberling-data": _ktuberling,
    "gcin-voice": _gcin,
}
MUSIC_SOURCES: dict[str, Callable[[Package], list[Candidate]]] = {
    "wesnoth-1.16-music": _wesnoth,
    "warzone2100-music": _warzone,
}
FULLBAND_SOURCES: dict[str, dict[str, Callable[[Package], list[Candidate]]]] = {
    "speech-fullband": {"tuxpaint-stamps-default": _tuxpaint, "megaglest-data": _megaglest},
    "music-fullband": {**MUSIC_SOURCES, "sonic-pi-samples": _sonic_pi, "hydrogen-drumkits": _hydrogen},
}
# Sources whose groups are split on their own (group_split over that source alone), so that
# each is held out in its share and adding one never moves another source's groups between splits.
SPLIT_ALONE = frozenset({"megaglest-data", "hydrogen-drumkits"})


def sources_of(name: str) -> dict[str, Callable[[Package], list[Candidate]]]:
    """The packages a default corpus reads (none for piano, which renders scores)."""
    if name in FULLBAND_SOURCES:
        return FULLBAND_SOURCES[name]
    return MUSIC_SOURCES if name == "music" else SPEECH_SOURCES if name.startswith("speech") else {}


# -------------------------------------------------------------------- measuring, dropping


def dedupe(candidates: Sequence[Candidate]) -> tuple[list[Candidate], list[tuple[Candidate, Candidate]]]:
    """Drop byte-identical copies (same ``sha256``); the copy whose ``rel`` sorts first stays.

    Returns the kept candidates (in their order) and ``(copy, kept original)`` pairs.
    """
    first: dict[str, Candidate] = {}
    for c in sorted(candidates, key=lambda c: c.rel):
        first.setdefault(c.sha256, c)
    kept = [c for c in candidates if first[c.sha256] is c]
    return kept, [(c, first[c.sha256]) for c in candidates if first[c.sha256] is not c]


def round_robin(candidates: Sequence[Candidate], key: str = SPLIT_KEY) -> list[Candidate]:
    """Interleave groups (in a stable pseudo-random order), so that any prefix spans many groups."""
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for c in sorted(candidates, key=lambda c: c.rel):
        groups[c.group].append(c)
    order = sorted(groups, key=lambda g: (stable_fraction(f"{key}/{g}"), g))
    out: list[Candidate] = []
    for i in range(max((len(v) for v in groups.values()), default=0)):
        out.extend(groups[g][i] for g in order if i < len(groups[g]))
    return out


# ------------------------------------------------------------------------------- public API


def corpus_dir(name: str) -> Path:
    """Where the default corpus ``name`` is cached: ``cache_dir()/corpora/NAME``."""
    _check_name(name)
    return cache_dir() / "corpora" / name


def _check_name(name: str) -> None:
    if name not in DEFAULT_CORPORA:
        raise WavesrError(f"unknown default corpus {name!r} (choose from {', '.join(DEFAULT_CORPORA)})")


def is_built(name: str) -> bool:
    return (corpus_dir(name) / MANIFEST).is_file()


def load_default(name: str) -> Corpus:
    """The built default corpus ``name``; raises a WavesrError saying how to build it."""
    folder = corpus_dir(name)
    if not (folder / MANIFEST).is_file():
        raise WavesrError(
            f"default corpus {name!r} is not built ({folder}): run `wavesr corpus build {name}`"
        )
    return Corpus.load(folder / MANIFEST)


def build_default(
    name: str,
    target_sr: int | None = None,
    limit: int | None = None,
    force: bool = False,
    progress: bool = True,
    sources: Sequence[str] | None = None,
    chorales: bool = False,
) -> Corpus:
    """Build (or return the already built) default corpus ``name``.

    Parameters
    ----------
    name : one of :data:`DEFAULT_CORPORA`.
    target_sr : the high-resolution rate the corpus must serve: files below this rate, or with
        a bandwidth below ``target_sr / 2`` (full-band corpora: real content ending below 85 % of
        it, ``curation.FULLBAND_SHARE``), are dropped. Default: 16000, 44100 for the full-band ones.
    limit : keep at most this many files (speech, music: taken round-robin over voices /
        tracks; piano: the first pieces), for quick builds in CI and tests.
    force : rebuild even if the corpus is built.
    progress : show tqdm progress bars.
    sources : the packages to read (speech, speech-single, music); default all of them.
    chorales : piano only: also render music21's ~400 Bach chorales with a piano (~3.5 h).

    A built corpus is returned as it is when it was built with the same settings; with other
    settings, a WavesrError asks for ``force``.
    """
    _check_name(name)
    target_sr = target_sr or (FULLBAND_SR if name in FULLBAND_SOURCES else audio.SAMPLE_RATE)
    if target_sr < 2 or limit is not None and limit < 1:
        raise WavesrError(f"target_sr must be positive and limit at least 1 (got {target_sr}, {limit})")
    known = sources_of(name)
    if sources is not None and not known:
        raise WavesrError(f"{name}: takes no sources (it renders music21's scores)")
    if sources is not None and (unknown := [s for s in sources if s not in known]):
        raise WavesrError(f"{name}: unknown source {', '.join(unknown)} (choose from {', '.join(known)})")
    if chorales and name != "piano":
        raise WavesrError(f"{name}: chorales applies to the piano corpus only")
    request: dict[str, Any] = {
        "target_sr": int(target_sr),
        "limit": limit,
        "sources": list(sources) if sources is not None else list(known),
    }
    if name == "piano":
        request = {"target_sr": int(target_sr), "limit": limit, "chorales": bool(chorales)}
    folder = corpus_dir(name)
    if (folder / MANIFEST).is_file() and not force:
        corpus = Corpus.load(folder / MANIFEST)
        built = {k: corpus.settings.get(k) for k in request}
        if built == request:
            return corpus
        diff = ", ".join(
            f"{k}={built[k]!r} (asked {request[k]!r})" for k in request if built[k] != request[k]
        )
        raise WavesrError(f"{folder}: already built with {diff}; rebuild with force=True (`--force`)")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MANIFEST).is_file():
        raise WavesrError(f"{folder}: is a non-empty folder but not a built corpus; refusing to replace it")
    start = time.time()
    with staged_folder(folder, replace=True) as tmp:
        if name == "piano":
            from .piano import build_piano  # music21 is an optional dependency

            corpus, dropped = build_piano(tmp, **request, progress=progress)
        else:
            corpus, dropped = _build_from_packages(name, tmp, **request, progress=progress)
        if not corpus.items:
            raise WavesrError(
                f"{name}: no file is usable at {target_sr} Hz (dropped: {_count_dropped(dropped)})"
            )
        corpus.name, corpus.root, corpus.description = name, str(folder), DEFAULT_CORPORA[name]
        corpus.settings = {
            "corpus": name,
            **request,
            **corpus.settings,
            "drop_below_hz": target_sr / 2 * (FULLBAND_SHARE if name in FULLBAND_SOURCES else 1),
            "silence_db": SILENCE_DB,
            "bandwidth": {
                "function": "wavesr.audio.cutoff" if name in FULLBAND_SOURCES else "wavesr.audio.bandwidth",
                **_defaults(audio.bandwidth),
            },
            "dropped": _count_dropped(dropped),
            "kept": len(corpus.items),
            "build_seconds": round(time.time() - start, 1),
            "wavesr_version": __version__,
        }
        write_json(tmp / "dropped.json", dropped)
        corpus.save(tmp / MANIFEST)
    return Corpus.load(folder / MANIFEST)


def _defaults(fn: Callable) -> dict[str, Any]:
    return {k: p.default for k, p in inspect.signature(fn).parameters.items() if p.default is not p.empty}


def _count_dropped(dropped: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """``{reason: {source: files}}``."""
    out: dict[str, Counter] = defaultdict(Counter)
    for d in dropped:
        out[d["reason"]][d["source"]] += 1
    return {r: dict(sorted(c.items())) for r, c in sorted(out.items())}


# --------------------------------------------------------------------------------- building


def _build_from_packages(
    name: str, folder: Path, target_sr: int, limit: int | None, sources: list[str], progress: bool
) -> tuple[Corpus, list[dict[str, Any]]]:
    """speech, speech-single and music: fetch, dedupe, measure, drop, split, link."""
    table = sources_of(name)
    fullband = name in FULLBAND_SOURCES
    packages = [fetch_deb(s) for s in sources]
    candidates = [c for pkg in packages for c in table[pkg.name](pkg)]
    if not candidates:
        raise WavesrError(f"{name}: no audio files found in {', '.join(sources)}")
    for c in tqdm(candidates, desc=f"{name}: hashing", unit="file", disable=not progress):
        c.sha256 = sha256_file(c.path)
    unique, copies = dedupe(candidates)
    dropped = [_dropped(c, "duplicate", duplicate_of=orig.meta["origin"]) for c, orig in copies]
    single = name == "speech-single"
    kept, rejected = measure_all(
        round_robin(unique) if limit and not single else unique,
        target_sr,
        None if single else limit,
        progress,
        desc=f"{name}: measuring",
        fullband=fullband,
    )
    dropped += rejected
    settings: dict[str, Any] = {
        "packages": [{"name": p.name, "version": p.version, "origin": p.origin} for p in packages]
    }
    if single:
        kept, splits, settings["voice"], settings["voices_by_minutes"] = _single_voice(kept, limit)
        settings["split"] = {"by": "utterance", **SINGLE_HELD_OUT}
        dropped = [d for d in dropped if d["group"] == settings["voice"]]
    else:
        splits = split_by_group(kept)
        settings["split"] = {
            "by": "voice" if name.startswith("speech") else "track",
            **HELD_OUT,
            "key": SPLIT_KEY,
            **({"alone": sorted(SPLIT_ALONE & set(sources))} if SPLIT_ALONE & set(sources) else {}),
        }
        if (
            name == "speech-fullband"
        ):  # few, unequal voices: validation also takes utterances of the training ones
            splits = [
                "val" if s == "train" and stable_fraction(f"{SPLIT_KEY}/{c.rel}") < FULLBAND_VAL else s
                for s, (c, _) in zip(splits, kept)
            ]
            settings["split"]["val_utterances"] = FULLBAND_VAL
    if fullband:
        settings["keep"] = f"audio.cutoff >= {FULLBAND_SHARE} x {target_sr / 2:g} Hz"
        settings["minutes_kept"] = round(sum(m["duration"] for _, m in kept) / 60, 1)
    items = []
    for (c, m), split in zip(tqdm(kept, desc=f"{name}: linking", unit="file", disable=not progress), splits):
        dest = folder / "audio" / c.rel
        link_or_copy(c.path, dest)
        items.append(
            Item(
                path=str(dest),
                split=split,
                group=c.group,
                duration=round(m["duration"], 4),
                sr=m["sr"],
                channels=m["channels"],
                sha256=c.sha256,
                source=c.source,
                licence=c.licence,
                meta={
                    **c.meta,
                    "bandwidth": m["bandwidth"],
                    "level_db": round(m["level_db"], 1),
                    **({"cutoff": m["cutoff"]} if "cutoff" in m else {}),
                },
            )
        )
    return Corpus(name, str(folder), items, settings=settings), dropped


def split_by_group(kept: Sequence[tuple[Candidate, dict]]) -> list[str]:
    """Each kept file's split: its group's, by :func:`group_split` over the seconds of every group.

    The groups of a source in :data:`SPLIT_ALONE` are split among themselves, the others together.
    """
    seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for c, m in kept:
        seconds[c.source if c.source in SPLIT_ALONE else ""][c.group] += m["duration"]
    by_group = {g: split for family in seconds.values() for g, split in group_split(family).items()}
    return [by_group[c.group] for c, _ in kept]


def _single_voice(kept: list[tuple[Candidate, dict]], limit: int | None):
    """The voice with the most kept seconds, its utterances in path order, split 85/5/10."""
    seconds: dict[str, float] = defaultdict(float)
    for c, m in kept:
        seconds[c.group] += m["duration"]
    ranking = sorted(seconds, key=lambda g: (-seconds[g], g))
    voice = ranking[0]
    mine = sorted(((c, m) for c, m in kept if c.group == voice), key=lambda cm: cm[0].rel)[:limit]
    splits = fraction_split(len(mine), **SINGLE_HELD_OUT)
    return mine, splits, voice, {g: round(seconds[g] / 60, 1) for g in ranking[:5]}


def measure_all(
    candidates: Sequence[Candidate],
    target_sr: int,
    limit: int | None = None,
    progress: bool = True,
    desc: str = "measuring",
    fullband: bool = False,
) -> tuple[list[tuple[Candidate, dict]], list[dict[str, Any]]]:
    """Measure candidates in order (``WORKERS`` processes) until ``limit`` are kept (all without a limit).

    Returns ``(candidate, measurement)`` pairs kept and the dropped files' records.
    """
    kept, dropped = [], []
    known = _measured()
    key = functools.partial(_measurement_key, min_sr=target_sr, fullband=fullband)
    todo = [str(c.path) for c in candidates if key(c) not in known]
    with (
        worker_pool(len(todo)) as imap,
        tqdm(total=len(candidates), desc=desc, unit="file", disable=not progress) as bar,
    ):
        fresh = imap(functools.partial(measure, min_sr=target_sr, fullband=fullband), todo)
        for c in candidates:  # in order: the cached ones as they come, the rest as the workers finish
            m = known[key(c)] if key(c) in known else next(fresh)
            known[key(c)] = m
            bar.update()
            reason = drop_reason(m, target_sr)
            if reason is None:
                kept.append((c, m))
                if limit is not None and len(kept) >= limit:
                    break
            else:
                dropped.append(_dropped(c, reason, **m))
    _remember(known)
    return kept, dropped


MEASURED = "measured.json"  # in cache_dir(): every file's measurement, by content, for the next build
MEASURE_REVISION = 1  # of curation.measure and the audio functions it calls: other revisions are ignored


def _measurement_key(c: Candidate, min_sr: int, fullband: bool) -> str:
    return f"{MEASURE_REVISION}:{c.sha256}:{min_sr}:{int(fullband)}"


def _measured() -> dict[str, dict[str, Any]]:
    """The measurements earlier builds made (``speech-single`` reads the files ``speech`` measured)."""
    try:
        data = json.loads((cache_dir() / MEASURED).read_text())
    except (OSError, ValueError):
        return {}
    ok = isinstance(data, dict) and all(isinstance(v, dict) for v in data.values())
    return {k: v for k, v in data.items() if k.startswith(f"{MEASURE_REVISION}:")} if ok else {}


def _remember(known: dict[str, dict[str, Any]]) -> None:
    try:
        with atomic_path(cache_dir() / MEASURED, force=True, ours=True) as tmp:
            tmp.write_text(json.dumps(known))
    except OSError:  # a cache that cannot be written: the next build measures again
        pass


def _dropped(c: Candidate, reason: str, **info: Any) -> dict[str, Any]:
    keep = ("sr", "duration", "bandwidth", "cutoff", "level_db", "error", "duplicate_of")
    return {
        "path": c.meta["origin"],
        "source": c.source,
        "group": c.group,
        "reason": reason,
        **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in info.items() if k in keep},
    }


# ---------------------------------------------------------------------------------- summary


def describe(corpus: Corpus) -> str:
    """The corpus summary, groups per split, and how many files were dropped and why."""
    lines = [corpus.summary()]
    for s in SPLITS:
        groups = corpus.groups(s)
        if groups:
            shown = ", ".join(groups[:8]) + (f", ... ({len(groups)})" if len(groups) > 8 else "")
            lines.append(f"  {s} groups: {shown}")
    dropped = corpus.settings.get("dropped", {})
    if dropped:
        lines.append(
            "dropped: "
            + "; ".join(
                f"{reason} {sum(by.values())} (" + ", ".join(f"{k} {v}" for k, v in by.items()) + ")"
                for reason, by in dropped.items()
            )
        )
    if "voice" in corpus.settings:
        lines.append(f"voice: {corpus.settings['voice']}")
    if "build_seconds" in corpus.settings:
        lines.append(
            f"built in {corpus.settings['build_seconds']:.0f} s for target {corpus.settings['target_sr']} Hz"
            + (f", limit {corpus.settings['limit']}" if corpus.settings.get("limit") else "")
        )
    return "\n".join(lines)
