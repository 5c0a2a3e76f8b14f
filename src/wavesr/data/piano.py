"""The default ``piano`` corpus: scores from music21's corpus, rendered with a sampled piano.

The paper's piano data (the 32 Beethoven sonatas of SampleRNN) cannot be downloaded here. Its
stand-in renders the solo piano works that ship with music21 (``pip install 'wavesr[piano]'``):
each score is exported to MIDI with every part forced to General MIDI program 1 (acoustic grand
piano) and rendered by fluidsynth::

    fluidsynth -ni -q -F out.wav -r 44100 -g 0.5 SOUNDFONT in.mid

with a sampled piano soundfont: MuseScore_General(_Full).sf2 when installed (it keeps the most
high frequencies), else FluidR3_GM.sf2 (package fluid-soundfont-gm, fetched into the cache when
it is not installed). The renders are stored as 16-bit FLAC at 44.1 kHz, measured and dropped
like every default corpus (:func:`wavesr.data.curation.drop_reason`), and split by piece with
:func:`wavesr.data.curation.group_split`. Optionally the ~400 Bach chorales of the corpus are
rendered the same way (about 3.5 h more, four-part chorale writing played on a piano).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import audio
from ..errors import WavesrError
from .corpus import Corpus, Item, sha256_file
from .curation import HELD_OUT, SPLIT_KEY, drop_reason, group_split, measure, worker_pool
from .fetch import fetch_deb, require_tool

# Works of music21's corpus written for piano alone (two staves, no other instrument): 11
# pieces, about 17 minutes rendered. Checked by parsing the whole corpus (music21 10.5).
SOLO_PIANO = (
    "chopin/mazurka06-2.krn",
    "cpebach/h186.mxl",
    "joplin/maple_leaf_rag.mxl",
    "mozart/k545/movement1_exposition.mxl",
    "schoenberg/opus19/movement2.mxl",
    "schoenberg/opus19/movement6.mxl",
    "schumann_clara/polonaise_op1n1.mxl",
    "schumann_clara/polonaise_op1n2.mxl",
    "schumann_clara/polonaise_op1n3.mxl",
    "schumann_clara/polonaise_op1n4.mxl",
    "verdi/laDonnaEMobile.mxl",
)
RENDER_SR = 44100
GAIN = 0.5
SOUNDFONTS = (  # best first
    "/usr/share/sounds/sf2/MuseScore_General_Full.sf2",
    "/usr/share/sounds/sf2/MuseScore_General.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
)
LICENCE = "score: public domain (music21 corpus); samples: {soundfont} (MIT)"


def find_soundfont() -> Path:
    """The best installed piano soundfont, else FluidR3_GM.sf2 fetched with fluid-soundfont-gm."""
    for name in SOUNDFONTS:
        if Path(name).is_file():
            return Path(name)
    pkg = fetch_deb("fluid-soundfont-gm")
    path = pkg.path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
    if not path.is_file():
        raise WavesrError(
            f"{path}: fluid-soundfont-gm holds no FluidR3_GM.sf2; run `apt-get install fluid-soundfont-gm`"
        )
    return path


def _music21():
    try:
        import music21
    except ImportError:
        raise WavesrError(
            "the piano corpus needs music21: run `pip install 'wavesr[piano]'` (or `pip install music21`)"
        ) from None
    return music21


def piano_works(chorales: bool = False) -> list[str]:
    """Corpus paths of the works to render: :data:`SOLO_PIANO`, then the Bach chorales if asked."""
    works = list(SOLO_PIANO)
    if chorales:
        corpus = _music21().corpus
        works += sorted(
            str(p).split("/corpus/", 1)[1] for p in corpus.getComposer("bach") if str(p).endswith(".mxl")
        )
    return works


def score_to_midi(work: str, midi_path: str | Path) -> Path:
    """Export the music21 corpus work ``work`` to MIDI, every part on an acoustic grand piano.

    Repeats are expanded (music21 does it when writing MIDI); a score whose repeat marks are
    malformed (chopin/mazurka06-2) is written without them.
    """
    m21 = _music21()
    score = m21.corpus.parse(work)
    for part in score.parts:
        for inst in list(part.recurse().getElementsByClass(m21.instrument.Instrument)):
            inst.activeSite.remove(inst)
        part.insert(0, m21.instrument.Piano())
    try:
        score.write("midi", fp=str(midi_path))
    except m21.repeat.ExpanderException:
        for measure_ in score.recurse().getElementsByClass(m21.stream.Measure):
            if isinstance(measure_.leftBarline, m21.bar.Repeat):
                measure_.leftBarline = None
            if isinstance(measure_.rightBarline, m21.bar.Repeat):
                measure_.rightBarline = None
        for mark in list(score.recurse().getElementsByClass(m21.repeat.RepeatExpression)):
            mark.activeSite.remove(mark)
        score.write("midi", fp=str(midi_path))
    return Path(midi_path)


def render(
    midi_path: str | Path,
    out_path: str | Path,
    soundfont: str | Path,
    sr: int = RENDER_SR,
    gain: float = GAIN,
) -> Path:
    """Render a MIDI file with fluidsynth into ``out_path`` (.wav or .flac, 16-bit, stereo)."""
    fluidsynth = require_tool("fluidsynth", "run `apt-get install fluidsynth fluid-soundfont-gm` (as root)")
    with tempfile.TemporaryDirectory(prefix="wavesr-render-") as tmp:
        wav = Path(tmp) / "out.wav"
        out = subprocess.run(
            [
                fluidsynth,
                "-ni",
                "-q",
                "-F",
                str(wav),
                "-r",
                str(sr),
                "-g",
                str(gain),
                str(soundfont),
                str(midi_path),
            ],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0 or not wav.is_file():
            raise WavesrError(f"{midi_path}: fluidsynth failed ({(out.stderr or out.stdout).strip()[-200:]})")
        x, file_sr = audio.load(wav)
    return audio.save(out_path, x, file_sr, force=True)


def _render_work(args: tuple[str, str, str]) -> dict[str, Any]:
    """Worker: one corpus work to a FLAC file, measured (see :func:`wavesr.data.curation.measure`)."""
    work, out_path, soundfont = args
    try:
        with tempfile.TemporaryDirectory(prefix="wavesr-midi-") as tmp:
            midi = score_to_midi(work, Path(tmp) / "score.mid")
            render(midi, out_path, soundfont)
    except WavesrError as e:
        return {"error": str(e)}
    except Exception as e:  # a score music21 cannot parse or write: reported, not fatal
        return {"error": f"{work}: {type(e).__name__}: {e}"}
    return measure(out_path)


def build_piano(
    folder: Path, target_sr: int, limit: int | None, chorales: bool, progress: bool = True
) -> tuple[Corpus, list[dict[str, Any]]]:
    """Render the piano works into ``folder/audio/`` and return the corpus and the dropped works."""
    _music21()
    require_tool("fluidsynth", "run `apt-get install fluidsynth fluid-soundfont-gm` (as root)")
    soundfont = find_soundfont()
    works = piano_works(chorales)[:limit]
    outs = [folder / "audio" / "music21" / (work.rsplit(".", 1)[0] + ".flac") for work in works]
    for out in outs:
        out.parent.mkdir(parents=True, exist_ok=True)
    jobs = [(w, str(o), str(soundfont)) for w, o in zip(works, outs)]
    with worker_pool(len(jobs)) as imap:
        results = list(
            tqdm(
                imap(_render_work, jobs),
                total=len(jobs),
                desc="piano: rendering",
                unit="piece",
                disable=not progress,
            )
        )
    kept, dropped = [], []
    for work, out, m in zip(works, outs, results):
        reason = drop_reason(m, target_sr)
        if reason is None:
            kept.append((work, out, m))
        else:
            out.unlink(missing_ok=True)
            dropped.append(
                {
                    "path": work,
                    "source": "music21",
                    "group": work.rsplit(".", 1)[0],
                    "reason": reason,
                    **{k: m[k] for k in ("error", "bandwidth", "level_db") if k in m},
                }
            )
    seconds: dict[str, float] = defaultdict(float)
    for work, _, m in kept:
        seconds[work.rsplit(".", 1)[0]] += m["duration"]
    splits = group_split(seconds)
    licence = LICENCE.format(soundfont=soundfont.name)
    items = [
        Item(
            path=str(out),
            split=splits[work.rsplit(".", 1)[0]],
            group=work.rsplit(".", 1)[0],
            duration=round(m["duration"], 4),
            sr=m["sr"],
            channels=m["channels"],
            sha256=sha256_file(out),
            source="music21",
            licence=licence,
            meta={
                "work": work,
                "soundfont": soundfont.name,
                "bandwidth": m["bandwidth"],
                "level_db": round(m["level_db"], 1),
            },
        )
        for work, out, m in kept
    ]
    version = subprocess.run(["fluidsynth", "--version"], capture_output=True, text=True).stdout.split("\n")[
        0
    ]
    settings = {
        "render": {
            "soundfont": str(soundfont),
            "sr": RENDER_SR,
            "gain": GAIN,
            "fluidsynth": version.strip(),
            "music21": _music21().__version__,
            "program": "acoustic grand piano (GM 1)",
        },
        "split": {"by": "piece", **HELD_OUT, "key": SPLIT_KEY},
    }
    return Corpus("piano", str(folder), items, settings=settings), dropped
