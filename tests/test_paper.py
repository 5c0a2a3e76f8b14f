"""Table 1 protocol: the plan of a full run, and one cell end to end with a budget of seconds."""

import dataclasses
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from test_evaluate import voice

from wavesr import pretrained
from wavesr.cli import main as cli
from wavesr.errors import WavesrError
from wavesr.models import build_model, save_model
from wavesr.paper import (
    BUDGETS,
    PAPER_TABLE1,
    Budget,
    Table1Config,
    load_budget,
    plan,
    run_table1,
    write_tables,
)

TINY = Budget(
    name="tiny",
    epochs=1,
    max_steps=3,
    batch_size=8,
    lr=1e-3,
    patch_len=2048,
    stride=1024,
    silence_db=None,
    val_hours=None,
    test_files=2,
    test_seconds=1.5,
    val_files=1,
    figures=1,
    save_audio=1,
    interesting=0,
    reduced=True,
    workers=0,
    device="cpu",
    networks={"audiounet": {"blocks": 2, "width": 0.0625}},
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A folder corpus with train/, val/ and test/ sub-folders of synthetic voices."""
    root = tmp_path_factory.mktemp("paper") / "corpus"
    rng = np.random.default_rng(2)
    for split, n in (("train", 4), ("val", 1), ("test", 3)):
        for i in range(n):
            path = root / split / f"{split}{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, voice(rng, seconds=2.0), 16000)
    return root


def test_plan_of_the_whole_table(tmp_path):
    steps = plan(Table1Config(out=str(tmp_path / "t1"), budget=BUDGETS["quick"]))
    cells = {(s.task, s.ratio) for s in steps}
    assert cells == set(PAPER_TABLE1)  # single/multi/piano at 2, 4, 6; music at 4 only
    assert not (tmp_path / "t1").exists()  # planning writes nothing
    na = {(s.task, s.ratio) for s in steps if s.kind == "n/a"}
    assert na == {("single", 6), ("multi", 6), ("piano", 6)}  # the DNN's features need r = 2, 4, 8
    assert all(s.network == "dnn" for s in steps if s.kind == "n/a")
    trains = [s for s in steps if s.kind == "train"]
    assert {s.network for s in trains} == {"dnn", "audiounet", "fast"} and not any(s.done for s in trains)
    assert len([s for s in steps if s.kind == "evaluate"]) == 10
    assert all("/runs/quick/" in s.path and Path(s.path).name.startswith(s.network + "-") for s in trains)


def test_cli_dry_run_uses_the_paper_data_when_given(tmp_path, capsys):
    assert (
        cli(
            [
                "paper",
                "table1",
                "-o",
                str(tmp_path),
                "--dry-run",
                "--vctk",
                "/data/VCTK-Corpus",
                "--tasks",
                "single,music",
                "--ratios",
                "4",
                "--budget",
                "full",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "budget full: 400 epochs" in text
    assert re.search(r"\[todo\] data +single x4 .*vctk-single at /data/VCTK-Corpus", text)
    assert re.search(r"\[todo\] data +music x4 .*\(music, patches of 6000\)", text)
    assert re.search(r"\[todo\] train +single x4 audiounet .*paper size", text)
    assert (
        cli(["paper", "table1", "-o", str(tmp_path), "--dry-run", "--tasks", "music", "--ratios", "2"]) == 1
    )
    assert cli(["paper", "table1", "-o", str(tmp_path), "--dry-run", "--tasks", "speech"]) == 1


def test_one_cell_end_to_end_then_nothing_to_redo(corpus, tmp_path):
    cfg = Table1Config(
        out=str(tmp_path / "t1"),
        budget=TINY,
        tasks=["single"],
        ratios=[4],
        corpora={"single": f"folder@{corpus}"},
        networks=["audiounet"],
        progress=False,
    )
    result = run_table1(cfg, log=lambda line: None)
    md = Path(result["table"]).read_text()
    row = re.search(
        r"\| Single speaker \(folder\) \| r = 4 \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| 2 \|", md
    )
    assert row, md
    assert "AudioUNet* SNR" in md and "reduced" in md and "| VCTK Speaker 1 | r = 4 | 14.8 | 8.2 |" in md
    data = json.loads(Path(result["json"]).read_text())
    cell = data["cells"][0]
    assert data["budget"]["name"] == "tiny" and cell["networks"]["audiounet"]["kind"] == "train"
    assert float(row.group(1)) == pytest.approx(cell["scores"]["cubic"]["snr"], abs=0.05)
    assert float(row.group(4)) == pytest.approx(cell["scores"]["audiounet"]["lsd"], abs=0.05)
    assert len(cell["scores"]["audiounet"]["method_info"]["sha256"]) == 64
    assert Path(result["samples"]).is_file()
    # a rerun finds every step done: no preparation, training or evaluation runs again
    checkpoint = Path(cell["networks"]["audiounet"]["path"]) / "model.pt"
    stamp = checkpoint.stat().st_mtime_ns
    assert all(s.done for s in plan(cfg))
    logged: list[str] = []
    start = time.monotonic()
    run_table1(cfg, log=logged.append)
    assert logged == [] and checkpoint.stat().st_mtime_ns == stamp and time.monotonic() - start < 20
    # scores made by an older inference pipeline are not "done": that cell is evaluated again
    (summary,) = Path(cfg.out).rglob("summary.json")  # the one cell's evaluation
    stale = json.loads(summary.read_text())
    for m in stale["settings"]["methods"]:
        m.pop("pipeline", None)
    summary.write_text(json.dumps(stale))
    assert [s.kind for s in plan(cfg) if not s.done] == ["evaluate"]


def test_shipped_model_replaces_training_where_it_fits(tmp_path, monkeypatch):
    monkeypatch.setenv(pretrained.REGISTRY_ENV, str(tmp_path / "registry"))
    torch.manual_seed(0)
    ckpt = save_model(build_model("audiounet", ratio=4, blocks=2, width=0.0625), tmp_path / "tiny.pt")
    pretrained.add_model(ckpt, "speech-x4-test", content="speech")
    cfg = Table1Config(
        out=str(tmp_path / "t1"), tasks=["single", "multi"], ratios=[4], networks=["audiounet"]
    )
    kinds = {s.task: s.kind for s in plan(cfg) if s.network == "audiounet"}
    assert kinds == {"single": "train", "multi": "shipped"}  # single speaker is another task
    data = next(s for s in plan(cfg) if s.kind == "data" and s.task == "multi")
    assert data.done and "not needed" in data.detail
    md, _ = write_tables(
        dataclasses.replace(cfg, tasks=["multi"]), plan(dataclasses.replace(cfg, tasks=["multi"]))
    )
    assert "multi x4 audiounet: † the shipped model speech-x4-test" in md.read_text()  # the table says so
    own = Table1Config(
        out=str(tmp_path / "t1"),
        tasks=["multi"],
        ratios=[4],
        networks=["audiounet"],
        corpora={"multi": "vctk-multi@/data/VCTK"},
    )
    assert [s.kind for s in plan(own) if s.network] == ["train"]  # the user's data: train on it


def test_budgets(tmp_path):
    assert load_budget("quick") is BUDGETS["quick"] and BUDGETS["full"].epochs == 400
    assert BUDGETS["full"].networks == {"dnn": {}, "audiounet": {}, "fast": {}}  # paper-size networks
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"name": "mine", "epochs": 3, "max_minutes": 0.5}))
    assert load_budget(str(path)).epochs == 3
    path.write_text(json.dumps({"name": "mine", "epoch": 3}))
    with pytest.raises(WavesrError, match="fields among"):
        load_budget(str(path))
    with pytest.raises(WavesrError, match="not a budget"):
        load_budget("medium")
