"""The samples page: a static, self-contained HTML page built from evaluation folders.

Like the page of the original project (Kuleshov et al. 2017), the page has a section per
experiment and ratio ("Single speaker (6x upscaling)", "Multi-speaker (4x upscaling)", "Piano",
"Music") and a final "Interesting samples" section. Each sample has an audio player per signal
(high resolution, low resolution, super-resolution, cubic interpolation, and any other method
that was evaluated), its spectrogram figure and its per-file SNR and LSD.

The input is one or more folders written by ``wavesr evaluate --save-audio N [--interesting M]``
(their ``samples.json``, ``settings.json`` and ``summary.json``). The page folder holds
``index.html``, ``style.css`` and a ``media/`` folder with copies of the WAVs and figures; every
link is relative and nothing is loaded from elsewhere, so it opens from disk (``file://``), from
any static web server, or from ``wavesr samples --serve`` (Python's ``http.server``). It is built
in a temporary sibling folder and renamed into place.

Low-rate audio: browsers refuse to play audio below 3000 Hz (Chromium's ``media::limits::
kMinSampleRate``; measured: a 2999 Hz WAV fails with MEDIA_ERR_SRC_NOT_SUPPORTED). A low-resolution
signal below that rate (r = 6 or 8 at 16 kHz) is therefore played from a copy resampled (soxr,
band-limited) to the high rate, which sounds the same; the file at its own rate is linked beside
the player.
"""

from __future__ import annotations

import html
import os
import shutil
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import soundfile as sf

from .. import audio
from ..errors import WavesrError
from ..evaluate import slug
from ..files import read_json, staged_folder
from .tables import METRIC_LABELS, degradation_channel

HERE = Path(__file__).parent
MIN_BROWSER_RATE = 3000  # Hz: browsers do not play audio below this rate
MARKER = "<!-- wavesr samples page -->"
SCORES = ("snr", "lsd", "lsd_standard", "lsd_hf", "pesq", "stoi")


@dataclass
class Section:
    """A heading, a paragraph, a table of means over all files and the samples shown."""

    title: str
    anchor: str
    text: str
    means: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)  # sample.json entries with "source"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _url(path: str) -> str:
    return quote(path, safe="/")


def _player_label(label: str, info: dict[str, Any]) -> str:
    if info["kind"] == "network":
        return f"Super-resolution ({label})"
    return {
        "cubic": "Cubic interpolation",
        "bandlimited": "Band-limited interpolation",
        "sinc": "Sinc interpolation (soxr)",
    }.get(info["spec"], label)


def _method_order(item: tuple[str, dict[str, Any]]) -> tuple[int, str]:
    label, info = item
    return (0 if info["kind"] == "network" else 2 if info["spec"] == "cubic" else 1), label


def _ratio_title(title: str, ratio: int) -> str:
    return f"{title} ({ratio}x upscaling)"


def read_evaluation(folder: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """``(settings, summary, samples)`` of an evaluation folder, with a clear error when it has none."""
    folder = Path(folder)
    for name in ("settings.json", "summary.json", "samples.json"):
        if not (folder / name).is_file():
            raise WavesrError(f"{folder}: not a finished wavesr evaluation (no {name}; run wavesr evaluate)")
    samples = read_json(folder / "samples.json")
    if not samples:
        raise WavesrError(
            f"{folder}: the evaluation saved no audio (run wavesr evaluate with --save-audio N)"
        )
    return read_json(folder / "settings.json"), read_json(folder / "summary.json"), samples


def plan_sections(
    eval_dirs: Sequence[str | os.PathLike], methods: Sequence[str] | None = None
) -> list[Section]:
    """Sections of the page: one per evaluation folder and ratio, then "Interesting samples"."""
    sections, interesting = [], []
    for folder in eval_dirs:
        settings, summary, samples = read_evaluation(folder)
        if summary.get("format") == "wavesr-fullband-evaluation":
            sections += _fullband_sections(folder, settings, summary, samples, methods)
            continue
        corpus = settings.get("corpus", {})
        title = (
            settings["config"].get("title") or corpus.get("name") or corpus.get("spec") or Path(folder).name
        )
        for s in samples:
            s["source"] = str(Path(folder).resolve())
            s["methods"] = {k: v for k, v in s["methods"].items() if methods is None or k in methods}
        for r in settings["ratios"]:
            chosen = [s for s in samples if s["ratio"] == r and "interesting" not in s]
            interesting += [s for s in samples if s["ratio"] == r and "interesting" in s]
            if not chosen:
                continue
            n, sr = settings["files"]["count"], settings["protocol"]["sr"]
            split = f" ({corpus['split']} split)" if corpus.get("split") else ""
            text = settings["config"].get("description") or (
                f"Files held out from training{split}. The low-resolution signal keeps 1 sample in {r} "
                f"({sr / r:g} Hz, made with {degradation_channel(settings)}); each method rebuilds the "
                f"{sr} Hz signal. Scores are per file; the table gives the means over all {n} evaluated "
                "files."
            )
            means = [
                row
                for row in summary["table"]
                if row["ratio"] == r and (methods is None or row["method"] in methods)
            ]
            sections.append(
                Section(_ratio_title(title, r), slug(f"{title}-x{r}").lower(), text, means, chosen)
            )
    if interesting:
        sections.append(
            Section(
                "Interesting samples",
                "interesting",
                "Files where the network's waveform is furthest from the original relative to cubic "
                "interpolation: it can \u201challucinate\u201d high frequencies that are plausible but "
                "not the original's, which the LSD rewards and the SNR does not.",
                [],
                interesting,
            )
        )
    return sections


def _fullband_sections(
    folder: str | os.PathLike,
    settings: dict[str, Any],
    summary: dict[str, Any],
    samples: list[dict[str, Any]],
    methods: Sequence[str] | None,
) -> list[Section]:
    """The sections of a full-band evaluation (``--fullband --save-audio N``): one per input rate."""
    cfg, corpus = settings["config"], settings.get("corpus", {})
    title = cfg.get("title") or f"Full band: {corpus.get('name') or corpus.get('spec') or Path(folder).name}"
    channel, sr = cfg["channels"][0], cfg["sr"]
    out = []
    for s in samples:
        s["source"] = str(Path(folder).resolve())
        s["methods"] = {k: v for k, v in s["methods"].items() if methods is None or k in methods}
    for rate in cfg["input_rates"]:
        chosen = [s for s in samples if s["lr_sr"] == rate]
        if not chosen:
            continue
        means = [
            r
            for r in summary["table"]
            if r["channel"] == channel
            and r["input_rate"] == rate
            and (methods is None or r["method"] in methods)
        ]
        text = (
            f"Held-out files at {sr / 1000:g} kHz; the input is each file made by `{channel}` at "
            f"{rate / 1000:g} kHz, and every method returns {sr / 1000:g} kHz (spectrograms up to "
            f"{sr / 2000:g} kHz). LSD: the literature's standard LSD (log10 power, clamped); the table gives "
            f"the means over all {settings['scored']} scored files."
        )
        heading = f"{title} ({rate / 1000:g} kHz to {sr / 1000:g} kHz)"
        out.append(Section(heading, slug(f"{title}-{rate}").lower(), text, means, chosen))
    return out


def _copy_audio(src: Path, dst_dir: Path, name: str, flac: bool) -> str:
    """Copy a WAV into the page (or re-encode it as FLAC: lossless, about half the size); its new name."""
    if not flac:
        shutil.copyfile(src, dst_dir / name)
        return name
    name = str(Path(name).with_suffix(".flac"))
    subtype = sf.info(os.fsencode(src)).subtype
    x, sr = audio.load(src)
    audio.save(dst_dir / name, x, sr, subtype=subtype if subtype in ("PCM_16", "PCM_24") else "PCM_24")
    return name


def _copy_sample(sample: dict[str, Any], media: Path, flac: bool = False) -> dict[str, str]:
    """Copy one sample's files under ``media``; return page-relative paths by role."""
    src = Path(sample["source"]) / sample["folder"]
    media.mkdir(parents=True, exist_ok=True)
    files = {
        "hr": _copy_audio(src / sample["audio"]["high resolution"], media, "hr.wav", flac),
        "lr": _copy_audio(src / sample["audio"]["low resolution"], media, "lr.wav", flac),
        "figure": "spectrogram" + Path(sample["figure"]).suffix,
    }
    shutil.copyfile((src / sample["figure"]).resolve(), media / files["figure"])
    if sample["lr_sr"] < MIN_BROWSER_RATE:
        lr, _ = audio.load(media / files["lr"])
        files["lr_play"] = "lr-play" + Path(files["lr"]).suffix
        audio.save(
            media / files["lr_play"], audio.resample(lr, sample["lr_sr_exact"], sample["sr"]), sample["sr"]
        )
    for label, info in sample["methods"].items():
        files[label] = _copy_audio(src / info["audio"], media, info["audio"], flac)
    return files


def _player(label: str, path: str, note: str = "") -> str:
    return (
        f'<div class="player"><span class="label">{_e(label)}:</span>'
        f'<audio controls preload="metadata" src="{_e(_url(path))}"></audio>{note}</div>'
    )


def _sample_html(
    sample: dict[str, Any], number: int, files: dict[str, str], base: str, interesting: bool
) -> str:
    def rel(name: str) -> str:
        return f"{base}/{name}"

    heading = f"Sample {number}" + (f" ({sample['ratio']}x upscaling)" if interesting else "")
    parts = [f'<article class="sample"><h3>{_e(heading)} <span class="file">{_e(sample["file"])}</span></h3>']
    if interesting:
        parts.append(f'<p class="reason">{_e(sample["interesting"])}.</p>')
    parts.append('<div class="players">')
    parts.append(_player("High resolution", rel(files["hr"])))
    if "lr_play" in files:
        note = (
            f'<span class="note">played resampled to {sample["sr"]} Hz (browsers do not play audio below '
            f'{MIN_BROWSER_RATE} Hz); <a href="{_e(_url(rel(files["lr"])))}">the {sample["lr_sr"]} Hz '
            "file</a></span>"
        )
        parts.append(_player("Low resolution", rel(files["lr_play"]), note))
    else:
        parts.append(_player("Low resolution", rel(files["lr"])))
    for label, info in sorted(sample["methods"].items(), key=_method_order):
        parts.append(_player(_player_label(label, info), rel(files[label])))
    parts.append("</div>")
    scored = [
        (label, info.get("scores", {}))
        for label, info in sorted(sample["methods"].items(), key=_method_order)
    ]
    keys = [k for k in SCORES if any(s.get(k) is not None for _, s in scored)]
    if keys:
        parts.append(
            '<table class="scores"><tr><th>method</th>'
            + "".join(f"<th>{_e(METRIC_LABELS[k])}</th>" for k in keys)
            + "</tr>"
        )
        for label, s in scored:
            cells = "".join(f"<td>{'n/a' if s.get(k) is None else f'{s[k]:.2f}'}</td>" for k in keys)
            parts.append(f"<tr><td>{_e(label)}</td>{cells}</tr>")
        parts.append("</table>")
    parts.append(
        f'<figure><img src="{_e(_url(rel(files["figure"])))}" alt="spectrograms of {_e(sample["file"])}" '
        f'loading="lazy"><figcaption>Spectrograms: high resolution, low resolution, then each method '
        f"(shared dB scale).</figcaption></figure></article>"
    )
    return "\n".join(parts)


def _means_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    keys = [k for k in SCORES if any(r.get(k) is not None for r in rows)]
    head = (
        "<tr><th>method</th><th>files</th>"
        + "".join(f"<th>{_e(METRIC_LABELS[k])}</th>" for k in keys)
        + "</tr>"
    )
    body = "".join(
        f"<tr><td>{_e(r['method'])}</td><td>{r['files']}</td>"
        + "".join(f"<td>{'n/a' if r.get(k) is None else f'{r[k]:.2f}'}</td>" for k in keys)
        + "</tr>"
        for r in rows
    )
    return f'<table class="means"><caption>Means over files</caption>{head}{body}</table>'


def build_page(
    eval_dirs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    title: str = "Audio super-resolution samples",
    intro: str | None = None,
    methods: Sequence[str] | None = None,
    force: bool = False,
    max_samples: int | None = None,
    flac: bool = False,
) -> Path:
    """Build the samples page from evaluation folders; return the path of ``index.html``.

    ``methods`` limits the players and scores to these method labels (default: all);
    ``max_samples`` the samples per section (default: every saved one); ``flac`` stores the audio
    as FLAC (lossless, about half the size of the WAVs; every current browser plays it).
    Refuses to replace ``out_dir`` unless ``force``, and never replaces a folder that is not a
    samples page.
    """
    out = Path(out_dir)
    if out.exists():
        if not force:
            raise WavesrError(f"{out}: already exists (use --force to rebuild the page)")
        index = out / "index.html"
        if out.is_file() or (
            any(out.iterdir()) and not (index.is_file() and MARKER in index.read_text(errors="replace"))
        ):
            raise WavesrError(f"{out}: exists and is not a wavesr samples page; refusing to replace it")
    sections = plan_sections(eval_dirs, methods)
    with staged_folder(out, replace=force) as partial:
        body = []
        for section in sections:
            interesting = section.anchor == "interesting"
            blocks = []
            for number, sample in enumerate(section.samples[:max_samples], 1):
                base = f"media/{section.anchor}/{number:02d}-{slug(Path(sample['file']).stem)}"
                files = _copy_sample(sample, partial / base, flac)
                blocks.append(_sample_html(sample, number, files, base, interesting))
            body.append(
                f'<section id="{_e(section.anchor)}"><h2>{_e(section.title)}</h2><p>{_e(section.text)}</p>'
                + _means_html(section.means)
                + "\n".join(blocks)
                + "</section>"
            )
        toc = "".join(f'<li><a href="#{_e(s.anchor)}">{_e(s.title)}</a></li>' for s in sections)
        full_band = all(
            read_json(Path(d) / "summary.json").get("format") == "wavesr-fullband-evaluation"
            for d in eval_dirs
        )
        intro = intro or (
            "Samples of wavesr's full-band models on held-out files. Each sample gives the original, the "
            "input at a lower rate, wavesr's output (the input's own band kept, the missing band "
            "generated), and sinc and cubic interpolation of the input."
            if full_band
            else "Samples of neural audio super-resolution (Kuleshov, Enam &amp; Ermon, 2017, reproduced "
            "with wavesr) and of its baselines. Each sample gives the original, its low-resolution "
            "version, the network's reconstruction and cubic interpolation."
        )
        page = string.Template((HERE / "page.html").read_text()).substitute(
            title=_e(title),
            intro=intro,
            toc=toc,
            sections="\n".join(body),
            marker=MARKER,
            sources=", ".join(_e(Path(d).name) for d in eval_dirs),
        )
        (partial / "index.html").write_text(page)
        shutil.copyfile(HERE / "style.css", partial / "style.css")
    return out / "index.html"


def make_server(page_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000) -> Any:
    """An ``http.server`` serving ``page_dir`` (``port=0`` picks a free port: ``server.server_address``)."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # no log line per request
            pass

    folder = Path(page_dir)
    if not (folder / "index.html").is_file():
        raise WavesrError(f"{folder}: no index.html (build the page with wavesr samples first)")
    try:
        return ThreadingHTTPServer((host, port), functools.partial(Quiet, directory=str(folder)))
    except OSError as e:
        raise WavesrError(f"cannot serve on {host}:{port} ({e.strerror or e})") from None


def serve(page_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the page until interrupted (Ctrl-C)."""
    server = make_server(page_dir, host, port)
    print(f"serving {page_dir} at http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
