"""Figures and the samples page: real matplotlib output, real evaluation folders, a real browser.

The browser test drives headless Chromium (Debian package ``chromium``) over the Chrome DevTools
protocol: it opens the page from disk (``file://``) and from ``http.server``, waits for every
``<audio>`` element to load its file, checks each reports a positive duration and no error, and
takes a screenshot. It is skipped, with the reason, only where Chromium is not installed.
"""

import base64
import html.parser
import json
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image
from test_evaluate import voice

from wavesr.cli import main as cli
from wavesr.data.readers import open_corpus
from wavesr.errors import WavesrError
from wavesr.evaluate import EvalConfig, evaluate
from wavesr.models import build_model, save_model
from wavesr.report.plots import Panel, make_figure, save_spectrograms
from wavesr.report.samples import MIN_BROWSER_RATE, build_page, make_server

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
)


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    """An evaluation folder with saved audio at x4 (cubic + a tiny AudioUNet) and x6 (below 3 kHz)."""
    root = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(1)
    for i in range(3):
        path = root / "corpus" / "test" / f"utt {i}.wav"  # a space: links must be URL-quoted
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, voice(rng, seconds=1.0), 16000)
    (root / "corpus" / "train").mkdir()
    sf.write(root / "corpus" / "train" / "a.wav", voice(rng, seconds=0.5), 16000)
    torch.manual_seed(0)
    ckpt = save_model(build_model("audiounet", ratio=4, blocks=2, width=0.0625), root / "tiny.pt")
    corpus = open_corpus("folder", root=root / "corpus")
    out = root / "eval"
    evaluate(
        ["cubic", f"audiounet={ckpt}"],
        corpus.split("test"),
        [4, 6],
        out,
        EvalConfig(
            progress=False,
            figures=1,
            save_audio=2,
            interesting=1,
            title="Multi-speaker",
            pesq=False,
            stoi=False,
        ),
        corpus_info={"spec": "folder", "root": corpus.root, "split": "test", "name": corpus.name},
    )
    return root, out, ckpt


# ------------------------------------------------------------------------------------ figures


def test_figure_has_a_panel_per_signal_and_a_shared_scale(tmp_path):
    sr, t = 16000, np.arange(16000) / 16000
    hr = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)
    lr = hr[::4]
    panels = [
        Panel("high resolution", hr, sr),
        Panel("low resolution", lr, sr / 4),
        Panel("super-resolution", hr, sr),
        Panel("cubic", hr, sr),
    ]
    fig = make_figure(panels)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 4 and len(fig.axes) == 5  # four spectrograms and the colour bar
    assert len({im.get_clim() for im in images}) == 1  # one dB scale for all panels
    assert all(ax.get_ylim() == (0.0, 8000.0) for ax in fig.axes[:4])
    assert fig.axes[3].get_xlabel() == "time (s)" and fig.axes[0].get_ylabel() == "frequency (Hz)"
    # a sine has the same level at 16 kHz and at 4 kHz (spectrum scaling)
    top = [im.get_array().max() for im in images[:2]]
    assert abs(top[0] - top[1]) < 1.0
    png = save_spectrograms(panels, tmp_path / "fig.png")
    svg = save_spectrograms(panels, tmp_path / "fig.svg")
    assert png.stat().st_size > 10_000 and svg.read_text().lstrip().startswith("<?xml")
    with Image.open(png) as im:
        assert im.size == (1000, 840)  # 10 x (1.9 * 4 + 0.8) inches at 100 dpi
    with pytest.raises(WavesrError, match="already exists"):
        save_spectrograms(panels, png)


def test_plot_cli_writes_figure2(evaluation, tmp_path):
    root, _, ckpt = evaluation
    out = tmp_path / "fig2.png"
    assert (
        cli(
            [
                "plot",
                str(root / "corpus" / "test" / "utt 0.wav"),
                "--ratio",
                "4",
                "--model",
                str(ckpt),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    with Image.open(out) as im:
        assert im.size == (1000, 840)  # four panels
    assert (
        cli(
            [
                "plot",
                str(root / "corpus" / "test" / "utt 0.wav"),
                "--ratio",
                "2",
                "--model",
                str(ckpt),
                "-o",
                str(tmp_path / "x.png"),
            ]
        )
        == 1
    )  # an x4 network asked for x2


# ------------------------------------------------------------------------------- samples page


class _Links(html.parser.HTMLParser):
    """Audio players (grouped by sample), images and links of a page."""

    def __init__(self):
        super().__init__()
        self.samples, self.refs, self.sections = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "article":
            self.samples.append([])
        elif tag == "audio":
            self.samples[-1].append(a["src"])
        if tag in ("audio", "img") and "src" in a:
            self.refs.append(a["src"])
        if tag in ("a", "link") and "href" in a and not a["href"].startswith("#"):
            self.refs.append(a["href"])
        if tag == "section":
            self.sections.append(a["id"])


@pytest.fixture(scope="module")
def page(evaluation):
    root, out, _ = evaluation
    index = build_page([out], root / "page")
    parser = _Links()
    parser.feed(index.read_text())
    return index, parser


def test_page_has_four_players_per_sample_and_every_file(page):
    from urllib.parse import unquote

    index, links = page
    text = index.read_text()
    assert links.sections == ["multi-speaker-x4", "multi-speaker-x6", "interesting"]
    assert "Multi-speaker (4x upscaling)" in text and "Interesting samples" in text
    x4 = links.samples[:2]
    assert all(len(players) == 4 for players in x4)  # high res, low res, super-resolution, cubic
    for label in (
        "High resolution:",
        "Low resolution:",
        "Super-resolution (audiounet):",
        "Cubic interpolation:",
    ):
        assert text.count(label) >= 2
    assert len(links.samples[2]) == len(links.samples[3]) == 3  # x6: the x4 network is skipped
    for ref in links.refs:
        assert not ref.startswith(("/", "http:", "https:", "file:", "//")), ref  # relative links only
        assert (index.parent / unquote(ref)).is_file(), ref
    # x6: the 2667 Hz low-res file cannot play in a browser; a resampled copy plays, the file is linked
    lr6 = next(r for r in links.refs if "x6" in r and r.endswith("/lr.wav"))
    assert sf.info(index.parent / unquote(lr6)).samplerate == 2667 < MIN_BROWSER_RATE
    assert sf.info(index.parent / unquote(lr6.replace("lr.wav", "lr-play.wav"))).samplerate == 16000
    assert "SNR (dB)" in text and "<img" in text


def test_page_refuses_to_replace_other_folders(evaluation, tmp_path):
    root, out, _ = evaluation
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(WavesrError, match="not a wavesr samples page"):
        build_page([out], tmp_path / "mine", force=True)
    build_page([out], tmp_path / "p")
    with pytest.raises(WavesrError, match="already exists"):
        build_page([out], tmp_path / "p")
    assert build_page([out], tmp_path / "p", force=True).is_file()
    with pytest.raises(WavesrError, match="not a finished wavesr evaluation"):
        build_page([tmp_path / "mine"], tmp_path / "q")


def test_cli_samples_and_server(evaluation, tmp_path):
    root, out, _ = evaluation
    assert cli(["samples", str(out), "-o", str(tmp_path / "page"), "--methods", "cubic"]) == 0
    assert "Super-resolution" not in (tmp_path / "page" / "index.html").read_text()
    server = make_server(tmp_path / "page", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        with urllib.request.urlopen(base) as r:
            assert r.status == 200 and b"<audio" in r.read()
        with urllib.request.urlopen(base + "style.css") as r:
            assert r.status == 200
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------------------------ browser


class Chromium:
    """Headless Chromium driven over the DevTools protocol (a websocket)."""

    FLAGS = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--mute-audio",
        "--remote-debugging-port=0",
    ]

    def __init__(self, exe, profile):
        import websocket

        self.proc = subprocess.Popen(
            [exe, *self.FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file, start = Path(profile) / "DevToolsActivePort", time.monotonic()
        while not port_file.is_file() or not port_file.read_text().strip():
            if time.monotonic() - start > 30 or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start its DevTools server")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"]["value"]

    def close(self):
        if getattr(self, "ws", None):
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


AUDIO_DURATIONS = """new Promise(resolve => {
  const one = a => new Promise(done => {
    const report = () => done({src: a.getAttribute('src'), duration: a.duration,
                               error: a.error ? a.error.code : null});
    if (a.readyState >= 1 || a.error) return report();
    a.addEventListener('loadedmetadata', report, {once: true});
    a.addEventListener('error', report, {once: true});
    setTimeout(report, 15000);
  });
  const wait = () => document.readyState === 'complete'
    ? Promise.all(Array.from(document.querySelectorAll('audio')).map(one)).then(resolve)
    : setTimeout(wait, 50);
  wait();
})"""


def _load(browser, url):
    browser.call("Page.navigate", url=url)
    for _ in range(200):  # until the new document is there
        if browser.evaluate("document.readyState === 'complete' && location.href") == url:
            break
        time.sleep(0.05)
    return browser.evaluate(AUDIO_DURATIONS)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_every_player_loads_in_a_real_browser(page, tmp_path):
    index, links = page
    n_players = sum(len(s) for s in links.samples)
    server = make_server(index.parent, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    browser = Chromium(CHROMIUM, tmp_path / "profile")
    try:
        for url in (index.resolve().as_uri(), f"http://127.0.0.1:{server.server_address[1]}/index.html"):
            players = _load(browser, url)
            assert len(players) == n_players, url
            failed = [
                p for p in players if p["error"] is not None or not p["duration"] or not p["duration"] > 0
            ]
            assert not failed, (url, failed)
            assert all(abs(p["duration"] - 1.0) < 0.01 for p in players)  # every file is the 1 s excerpt
        shot = browser.call("Page.captureScreenshot", format="png")
        png = tmp_path / "page.png"
        png.write_bytes(base64.b64decode(shot["data"]))
        with Image.open(png) as im:
            assert im.size[0] > 300 and im.size[1] > 200
            assert len(np.unique(np.asarray(im.convert("L")))) > 10  # text was drawn, not a blank page
    finally:
        browser.close()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def flac_page(evaluation):
    root, out, _ = evaluation
    index = build_page([out], root / "page-flac", max_samples=1, flac=True)
    parser = _Links()
    parser.feed(index.read_text())
    return index, parser


def test_flac_page_holds_the_same_audio_and_fewer_samples(page, flac_page):
    from urllib.parse import unquote

    (index, links), (findex, flinks) = page, flac_page
    assert flinks.sections == links.sections
    assert len(flinks.samples) == len(links.sections)  # one sample per section
    audio_refs = [r for r in flinks.refs if r.endswith((".wav", ".flac"))]
    assert audio_refs and all(r.endswith(".flac") for r in audio_refs)
    for ref in flinks.samples[0]:  # lossless: the same samples as the WAV page's first sample
        wav = index.parent / unquote(ref).replace(".flac", ".wav")
        a, _ = sf.read(findex.parent / unquote(ref))
        b, _ = sf.read(wav)
        assert np.array_equal(a, b), ref


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_flac_players_load_in_a_real_browser(flac_page, tmp_path):
    index, links = flac_page
    browser = Chromium(CHROMIUM, tmp_path / "profile")
    try:
        players = _load(browser, index.resolve().as_uri())
        assert len(players) == sum(len(s) for s in links.samples)
        assert all(
            p["error"] is None and p["duration"] and abs(p["duration"] - 1.0) < 0.01 for p in players
        ), players
    finally:
        browser.close()
