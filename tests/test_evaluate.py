"""Evaluation: real files through libsndfile, real baselines and a real (tiny) saved AudioUNet."""

import csv
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import voice

from wavesr import audio, metrics
from wavesr.cli import main as cli
from wavesr.data.readers import open_corpus
from wavesr.errors import WavesrError
from wavesr.evaluate import EvalConfig, evaluate, read_rows, resolve_method
from wavesr.inference import upsample_array
from wavesr.models import build_model, save_model

HAVE_PESQ = importlib.util.find_spec("pesq") is not None and importlib.util.find_spec("pystoi") is not None


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A folder corpus (train/ and test/ sub-folders; a test file in stereo at 22.05 kHz), a tiny network."""
    root = tmp_path_factory.mktemp("eval")
    rng = np.random.default_rng(0)
    for split, n in (("train", 1), ("test", 3)):
        for i in range(n):
            path = root / "corpus" / split / f"{split}{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            if split == "test" and i == 0:
                sf.write(path, np.stack([voice(rng, sr=22050), voice(rng, sr=22050)], axis=1), 22050)
            else:
                sf.write(path, voice(rng), 16000)
    torch.manual_seed(0)
    ckpt = save_model(build_model("audiounet", ratio=4, blocks=2, width=0.0625), root / "tiny.pt")
    corpus = open_corpus("folder", root=root / "corpus")
    info = {"spec": "folder", "root": corpus.root, "split": "test", "name": corpus.name}
    return root, corpus.split("test"), info, ckpt


@pytest.fixture(scope="module")
def evaluated(setup):
    root, items, info, ckpt = setup
    out = root / "run"
    summary = evaluate(
        ["cubic", "bandlimited", str(ckpt)],
        items,
        [2, 4],
        out,
        EvalConfig(progress=False, save_audio=1, pesq=False, stoi=False),
        corpus_info=info,
    )
    return out, summary


def test_rows_complete_and_tables_written(evaluated):
    out, summary = evaluated
    table = {(row["ratio"], row["method"]): row for row in summary["table"]}
    assert set(table) == {(2, "cubic"), (2, "bandlimited"), (4, "cubic"), (4, "bandlimited"), (4, "tiny")}
    assert all(row["files"] == 3 and row["complete"] and row["failed"] == 0 for row in table.values())
    assert "tiny: skipped at x2, the network upsamples x4" in summary["settings"]["notes"]
    for name in ("summary.md", "summary.csv", "summary.json", "per_file.csv", "settings.json", "files.txt"):
        assert (out / name).stat().st_size > 0
    with open(out / "per_file.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 15 and {"snr", "lsd", "lsd_standard", "lsd_hf", "lsd_lf"} <= set(rows[0])
    md = (out / "summary.md").read_text()
    assert "per-file SNR averaged over files" in md and "| x4 | tiny | 3 |" in md
    settings = json.loads((out / "settings.json").read_text())
    net = next(m for m in settings["methods"] if m["label"] == "tiny")
    assert len(net["sha256"]) == 64 and net["network"] == "audiounet"
    assert settings["degradation"]["channel"] == "decimate" and len(settings["files"]["sha256"]) == 64
    assert {"wavesr", "torch", "numpy"} <= set(settings["versions"])
    # x4 cubic and the network differ; the untrained network is near cubic in SNR (it starts from it)
    assert abs(table[(4, "tiny")]["snr"] - table[(4, "cubic")]["snr"]) < 3
    assert table[(2, "cubic")]["snr"] > table[(4, "cubic")]["snr"]


def test_numbers_equal_a_direct_computation(setup, evaluated):
    root, items, info, ckpt = setup
    out, _ = evaluated
    path = Path(items[0].path)  # the stereo 22.05 kHz file: loaded mono, resampled to 16 kHz
    key = path.relative_to(info["root"]).as_posix()
    hr, _ = audio.load(path, sr=16000, mono=True)
    lr = audio.degrade(hr, 4, "decimate")
    cubic = metrics.evaluate_pair(hr, audio.interpolate(lr, 4, "cubic", length=hr.size), 16000, 4)
    model = resolve_method(str(ckpt), "cpu").model
    net = metrics.evaluate_pair(
        hr, upsample_array(model, lr, model.sr_lowres, limiter=False)[0][0, : hr.size], 16000, 4
    )
    for log, expected in (("cubic-x4", cubic), ("tiny-x4", net)):
        row = next(r for r in read_rows(out / "rows" / f"{log}.jsonl") if r["file"] == key)
        for k, v in expected.items():
            assert row[k] == pytest.approx(v, rel=1e-6, abs=1e-9), (log, k)
        assert row["duration"] == pytest.approx(hr.size / 16000)


def test_saved_audio_low_res_at_its_own_rate(evaluated):
    out, _ = evaluated
    folder = next((out / "audio" / "x4").iterdir())
    assert sorted(p.name for p in folder.iterdir()) == [
        "bandlimited.wav",
        "cubic.wav",
        "hr.wav",
        "lr.wav",
        "sample.json",
        "spectrogram.png",
        "tiny.wav",
    ]
    hr, lr = sf.info(folder / "hr.wav"), sf.info(folder / "lr.wav")
    assert (hr.samplerate, lr.samplerate) == (16000, 4000)
    assert lr.frames == math.ceil(hr.frames / 4)
    samples = json.loads((out / "samples.json").read_text())
    assert len(samples) == 2 and {s["ratio"] for s in samples} == {2, 4}
    s4 = next(s for s in samples if s["ratio"] == 4)
    assert set(s4["methods"]) == {"cubic", "bandlimited", "tiny"} and "snr" in s4["methods"]["tiny"]["scores"]


def test_restart_skips_complete_methods_and_resumes_partial_ones(setup, evaluated):
    root, items, info, ckpt = setup
    out, summary = evaluated
    logs = {p.name: p.read_bytes() for p in (out / "rows").glob("*.jsonl")}
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "rows").glob("*.jsonl")}
    # a killed run: the network's log lost two rows and has a torn last line
    tiny = out / "rows" / "tiny-x4.jsonl"
    first = logs["tiny-x4.jsonl"].split(b"\n")[0]
    tiny.write_bytes(first + b"\n" + b'{"file": "test/te')
    again = evaluate(
        ["cubic", "bandlimited", str(ckpt)],
        items,
        [2, 4],
        out,
        EvalConfig(progress=False, save_audio=1, pesq=False, stoi=False),
        corpus_info=info,
    )
    for p in (out / "rows").glob("*.jsonl"):
        if p.name != "tiny-x4.jsonl":  # complete logs are not touched: those methods did not run
            assert p.stat().st_mtime_ns == mtimes[p.name] and p.read_bytes() == logs[p.name]
    rows = read_rows(tiny)
    assert len(rows) == 3 and json.loads(first) == rows[0]  # the kept row, then two new ones
    before = [json.loads(line) for line in logs["tiny-x4.jsonl"].splitlines()]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(rows) == strip(before)  # the same numbers as the uninterrupted run
    assert [r["snr"] for r in again["table"]] == [r["snr"] for r in summary["table"]]


def test_other_settings_are_refused_unless_forced(setup, tmp_path):
    root, items, info, ckpt = setup
    out = tmp_path / "ev"
    evaluate(
        ["cubic"], items[:1], [2], out, EvalConfig(progress=False, pesq=False, stoi=False), corpus_info=info
    )
    with pytest.raises(WavesrError, match="other settings"):
        evaluate(["cubic"], items[:1], [2], out, EvalConfig(channel="sinc", progress=False), corpus_info=info)
    summary = evaluate(
        ["cubic"],
        items[:1],
        [2],
        out,
        EvalConfig(channel="sinc", progress=False, pesq=False, stoi=False),
        corpus_info=info,
        force=True,
    )
    assert summary["settings"]["degradation"]["channel"] == "sinc"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(WavesrError, match="not a wavesr evaluation"):
        evaluate(["cubic"], items[:1], [2], tmp_path / "other", EvalConfig(progress=False))
    with pytest.raises(WavesrError, match="not a wavesr evaluation"):  # force does not make it wavesr's
        evaluate(["cubic"], items[:1], [2], tmp_path / "other", EvalConfig(progress=False), force=True)
    assert [p.name for p in (tmp_path / "other").iterdir()] == ["notes.txt"]


@pytest.mark.skipif(not HAVE_PESQ, reason="pesq and pystoi are not installed (pip install wavesr[quality])")
def test_pesq_and_stoi_when_installed(setup, tmp_path):
    root, items, info, ckpt = setup
    summary = evaluate(
        ["cubic"], items[1:2], [4], tmp_path / "ev", EvalConfig(progress=False), corpus_info=info
    )
    row = summary["table"][0]
    assert 1.0 <= row["pesq"] <= 4.7 and 0.5 < row["stoi"] <= 1.0
    assert "pesq" in summary["settings"]["versions"]


@pytest.mark.skipif(HAVE_PESQ, reason="pesq and pystoi are installed")
def test_pesq_asked_without_the_package_is_a_clear_error(setup, tmp_path):
    root, items, info, ckpt = setup
    with pytest.raises(WavesrError, match="pesq"):
        evaluate(["cubic"], items[:1], [4], tmp_path / "ev", EvalConfig(pesq=True, progress=False))


def test_cli_on_files(setup, tmp_path, capsys):
    root, items, info, ckpt = setup
    out = tmp_path / "cli"
    assert (
        cli(
            [
                "evaluate",
                "cubic",
                f"net={ckpt}",
                "--files",
                str(root / "corpus" / "test"),
                "-o",
                str(out),
                "--ratio",
                "4",
                "--max-files",
                "2",
                "--figures",
                "1",
                "--no-pesq",
                "--no-stoi",
                "-q",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "| x4 | net | 2 |" in text and "| x4 | cubic | 2 |" in text
    assert len(list((out / "figures" / "x4").glob("*.png"))) == 1
    assert (out / "files.txt").read_text().splitlines() == ["test0.wav", "test2.wav"]  # evenly spaced
    assert cli(["evaluate", "nonexistent.pt", "--files", str(root), "-o", str(tmp_path / "x")]) == 1


def test_a_changed_checkpoint_is_evaluated_again(setup, tmp_path):
    root, items, info, _ = setup
    ckpt, out = tmp_path / "net.pt", tmp_path / "ev"
    cfg = EvalConfig(progress=False, save_audio=1, pesq=False, stoi=False)
    torch.manual_seed(1)
    save_model(build_model("audiounet", ratio=4, blocks=2, width=0.0625), ckpt)
    first = evaluate([f"net={ckpt}"], items[1:2], [4], out, cfg, corpus_info=info)
    saved = next((out / "audio" / "x4").iterdir()) / "net.wav"
    old_audio = saved.read_bytes()
    torch.manual_seed(2)  # other weights under the same path and label
    save_model(build_model("audiounet", ratio=4, blocks=2, width=0.0625), ckpt)
    second = evaluate([f"net={ckpt}"], items[1:2], [4], out, cfg, corpus_info=info)
    assert first["table"][0]["snr"] != second["table"][0]["snr"]
    assert second["settings"]["methods"][0]["sha256"] != first["settings"]["methods"][0]["sha256"]
    assert len(read_rows(out / "rows" / "net-x4.jsonl")) == 1 and saved.read_bytes() != old_audio


def test_corpus_groups_get_their_own_means(setup, tmp_path):
    """Files from several voices: per-file rows name the group, and each group has its means."""
    import dataclasses

    _, items, info, _ = setup
    grouped = [
        dataclasses.replace(it, group="voice-a" if i == 0 else "voice-b") for i, it in enumerate(items)
    ]
    summary = evaluate(
        ["cubic"],
        grouped,
        [4],
        tmp_path / "g",
        EvalConfig(progress=False, pesq=False, stoi=False),
        corpus_info=info,
    )
    rows = {r["group"]: r for r in summary["by_group"]}
    assert (
        set(rows) == {"voice-a", "voice-b"}
        and rows["voice-a"]["files"] == 1
        and rows["voice-b"]["files"] == 2
    )
    with open(tmp_path / "g" / "per_file.csv") as f:
        per_file = list(csv.DictReader(f))
    b = [float(r["snr"]) for r in per_file if r["group"] == "voice-b"]
    assert rows["voice-b"]["snr"] == pytest.approx(np.mean(b))
    assert "## By group" in (tmp_path / "g" / "summary.md").read_text()
    # one group (or plain files): no such table
    plain = evaluate(
        ["cubic"],
        [it.path for it in items],
        [4],
        tmp_path / "p",
        EvalConfig(progress=False, pesq=False, stoi=False),
    )
    assert plain["by_group"] == [] and "## By group" not in (tmp_path / "p" / "summary.md").read_text()


def test_passes_and_input_conditioning_are_part_of_a_networks_identity(setup, tmp_path):
    """A network trained on `decimate` is conditioned when scored on other inputs, not on its own channel;
    passes and conditioning are recorded with the method, and a change of either scores it again."""
    root, items, info, _ = setup
    torch.manual_seed(3)
    model = build_model("fast", ratio=4, widths=[8, 8, 8, 8])
    with torch.no_grad():
        for p in model.head.parameters():
            p.normal_(0, 0.05)
    ckpt = save_model(model.run_as(channel="decimate"), tmp_path / "fast.pt")
    base = dict(progress=False, pesq=False, stoi=False)
    own = evaluate([f"net={ckpt}"], items[1:2], [4], tmp_path / "own", EvalConfig(**base), corpus_info=info)
    assert (
        "conditioned" not in own["settings"]["methods"][0] and "passes" not in own["settings"]["methods"][0]
    )
    real = evaluate(
        [f"net={ckpt}"],
        items[1:2],
        [4],
        tmp_path / "real",
        EvalConfig(channel="sinc", **base),
        corpus_info=info,
    )
    assert real["settings"]["methods"][0]["conditioned"] is True
    out = tmp_path / "passes"
    one = evaluate([f"net={ckpt}"], items[1:2], [4], out, EvalConfig(**base), corpus_info=info)
    two = evaluate([f"net={ckpt}"], items[1:2], [4], out, EvalConfig(passes=2, **base), corpus_info=info)
    assert two["settings"]["methods"][0]["passes"] == 2 and two["table"][0]["snr"] != one["table"][0]["snr"]
    with pytest.raises(WavesrError, match="passes must be one of"):
        evaluate(
            [f"net={ckpt}"], items[1:2], [4], tmp_path / "bad", EvalConfig(passes=3, **base), corpus_info=info
        )


def test_rows_made_by_another_inference_pipeline_are_computed_again(setup, tmp_path):
    """Rows are reused only if the network ran the same way: rows recorded under an older
    ``inference.PIPELINE`` (or none, as before it existed) are evaluated again."""
    from wavesr.inference import PIPELINE

    root, items, info, _ = setup
    torch.manual_seed(4)
    ckpt = save_model(build_model("fast", ratio=4, widths=[8, 8, 8, 8]), tmp_path / "fast.pt")
    out, cfg = tmp_path / "e", EvalConfig(progress=False, pesq=False, stoi=False)
    first = evaluate([f"net={ckpt}"], items[1:2], [4], out, cfg, corpus_info=info)
    assert first["settings"]["methods"][0]["pipeline"] == PIPELINE
    log, meta = out / "rows" / "net-x4.jsonl", out / "rows" / "net-x4.json"
    row = json.loads(log.read_text())
    log.write_text(json.dumps({**row, "snr": 999.0}) + "\n")  # a marker: reused rows keep it
    assert evaluate([f"net={ckpt}"], items[1:2], [4], out, cfg, corpus_info=info)["table"][0]["snr"] == 999.0
    stale = json.loads(meta.read_text())
    stale["method"].pop("pipeline")  # rows from before the revision was recorded
    meta.write_text(json.dumps(stale))
    again = evaluate([f"net={ckpt}"], items[1:2], [4], out, cfg, corpus_info=info)
    assert again["table"][0]["snr"] == pytest.approx(first["table"][0]["snr"])
