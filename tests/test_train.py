"""Training: a real (tiny) run on prepared synthetic speech-like audio, resume, DDP."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from conftest import prepare_voices, train_and_kill

from wavesr.cli import main as cli
from wavesr.data.patches import PatchDataset
from wavesr.errors import WavesrError
from wavesr.models.base import load_model_file
from wavesr.train import TrainConfig, WeightAverage, learning_rate, train

TINY = {"blocks": 2, "width": 0.0625}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return prepare_voices(tmp_path_factory.mktemp("train_data"))


def _cfg(dataset, out, **kw):
    base = dict(
        data=str(dataset / "train"),
        val_data=str(dataset / "val"),
        out=str(out),
        model="audiounet",
        model_config=TINY,
        epochs=2,
        batch_size=8,
        lr=1e-3,
        val_files=1,
        val_patches=16,
        seed=3,
    )
    return TrainConfig(**{**base, **kw})


def test_learning_rate_is_constant_then_decays_linearly():
    cfg = TrainConfig(data="", out="", lr=1e-4)
    assert [learning_rate(cfg, s, 100) for s in (0, 49, 50, 75, 100)] == pytest.approx(
        [1e-4, 1e-4, 1e-4, 5e-5, 0]
    )


def test_run_writes_checkpoints_logs_and_beats_nothing_silently(dataset, tmp_path):
    run = train(_cfg(dataset, tmp_path / "run"), progress=False).run
    for name in ("config.json", "last.pt", "best.pt", "model.pt", "metrics.jsonl", "metrics.csv"):
        assert (run / name).is_file(), name
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    vals = [r["val"] for r in rows if "val" in r]
    assert len(vals) == 2  # one validation per epoch
    for key in ("file_snr", "file_lsd", "file_lsd_standard", "file_lsd_hf", "cubic_file_lsd", "patch_snr"):
        assert np.isfinite(vals[-1][key]), key
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["model_config"] == TINY and config["data"]["ratio"] == 4
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["training"]["step"] == ckpt["training"]["total"] > 0
    for name in ("last.pt", "best.pt", "model.pt"):  # the run's config under one key in every checkpoint
        assert torch.load(run / name, weights_only=True)["train_config"] == config["train"], name
    model = load_model_file(run / "model.pt")
    assert model.ratio == 4 and model(torch.zeros(1, 1, 100)).shape == (1, 1, 400)
    with pytest.raises(WavesrError, match="already holds a training run"):
        train(_cfg(dataset, tmp_path / "run"), progress=False)


def test_tiny_network_learns(dataset, tmp_path):
    """The training loss falls well below its start on real (synthetic) patches."""
    run = train(_cfg(dataset, tmp_path / "run", epochs=6, log_every=5, val_data=None), progress=False).run
    losses = [
        json.loads(line)["loss"]
        for line in (run / "metrics.jsonl").read_text().splitlines()
        if "loss" in json.loads(line)
    ]
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_resume_after_sigkill_matches_uninterrupted_run(dataset, tmp_path, ema):
    """With ``ema`` the moving average is restored too: the compared weights are the average's."""
    kw = dict(epochs=3, checkpoint_steps=2, log_every=1, ema=ema)
    full = train(_cfg(dataset, tmp_path / "full", **kw), progress=False).model
    step = train_and_kill(_cfg(dataset, tmp_path / "killed", **kw), 4)  # of 12
    assert 4 <= step < 12, f"killed too late to test anything (step {step})"
    resumed = train(TrainConfig(data="", out=str(tmp_path / "killed")), resume=True, progress=False).model
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)


def test_weight_average_follows_the_weights_with_a_ramped_decay():
    net = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(1.0)
    avg = WeightAverage(net, decay=0.99)
    with torch.no_grad():
        net.weight.fill_(3.0)
    avg.update(net, step=0)  # decay min(0.99, 1 / 10): mostly the new weights
    torch.testing.assert_close(avg.model.weight, torch.full((1, 2), 0.1 * 1.0 + 0.9 * 3.0))
    for step in range(1, 2000):
        avg.update(net, step)
    torch.testing.assert_close(avg.model.weight, torch.full((1, 2), 3.0))
    assert not avg.model.weight.requires_grad


def test_ema_run_validates_and_ships_the_average(dataset, tmp_path):
    trained = train(_cfg(dataset, tmp_path / "run", ema=0.9), progress=False)
    run, final = trained.run, trained.model
    last = torch.load(run / "last.pt", weights_only=True)
    shipped = load_model_file(run / "model.pt").state_dict()
    for name, value in final.state_dict().items():
        torch.testing.assert_close(shipped[name], value, msg=name)
        torch.testing.assert_close(last["training"]["ema"][name], value, msg=name)
    assert any(not torch.equal(last["state_dict"][k], v) for k, v in shipped.items())  # raw != average
    resumed = train(
        TrainConfig(data="", out=str(run)), resume=True, progress=False
    ).model  # finished: no steps
    for (
        name,
        value,
    ) in resumed.state_dict().items():  # the average comes back from last.pt, not the raw weights
        torch.testing.assert_close(value, last["training"]["ema"][name], msg=name)
    with pytest.raises(WavesrError, match="--ema must be in"):
        train(_cfg(dataset, tmp_path / "bad", ema=1.0), progress=False)


def _ddp_worker(rank, world, port, cfg_json, out_dir):
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    model = train(TrainConfig(**json.loads(cfg_json)), progress=False).model
    torch.save(model.state_dict(), Path(out_dir) / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


def test_ddp_two_processes_keep_identical_weights(dataset, tmp_path):
    cfg = _cfg(dataset, tmp_path / "ddp", epochs=1, val_data=None)
    port = 29500 + os.getpid() % 1000
    mp.spawn(_ddp_worker, args=(2, port, json.dumps(cfg.__dict__), str(tmp_path)), nprocs=2, join=True)
    a, b = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    weights = [name for name in a if "running_" not in name and "num_batches" not in name]
    assert len(weights) > 4
    for name in weights:  # batch-norm statistics stay per rank (rank 0's are saved), weights are shared
        torch.testing.assert_close(a[name], b[name], msg=name)
    assert sorted(p.name for p in (tmp_path / "ddp").glob("*.pt")) == ["last.pt", "model.pt"]
    ckpt = torch.load(tmp_path / "ddp" / "last.pt", weights_only=True)
    assert (
        ckpt["training"]["step"] == len(PatchDataset(dataset / "train")) // 2 // 8
    )  # each rank: half the patches
    rows = [json.loads(line) for line in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r["step"] for r in rows if "loss" in r]
    assert train_rows and len(train_rows) == len(set(train_rows))  # rank 0 alone logs


def test_cli_train_and_resume(dataset, tmp_path, capsys):
    out = tmp_path / "cli"
    args = [
        "train",
        str(dataset / "train"),
        "-o",
        str(out),
        "--set",
        "blocks=2",
        "--set",
        "width=0.0625",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--val",
        str(dataset / "val"),
        "--val-files",
        "1",
    ]
    assert cli(args) == 0
    assert cli(args) == 1 and "already holds" in capsys.readouterr().err
    assert cli(["train", "--resume", str(out)]) == 0  # already finished: resumes to the end at once
    assert cli(["train", "--resume", str(tmp_path / "nothing")]) == 1


def test_dnn_trains_with_its_own_objective(dataset, tmp_path):
    cfg = _cfg(dataset, tmp_path / "dnn", model="dnn", model_config={"hidden": 64}, epochs=1, val_data=None)
    run = train(cfg, progress=False).run
    assert load_model_file(run / "model.pt").__class__.__name__ == "DNN"


def test_torchrun_runs_the_same_cli_command(dataset, tmp_path):
    out = tmp_path / "torchrun"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node=2",
        "--master-port",
        str(30500 + os.getpid() % 1000),
        "-m",
        "wavesr.cli",
        "train",
        str(dataset / "train"),
        "-o",
        str(out),
        "--set",
        "blocks=2",
        "--set",
        "width=0.0625",
        "--epochs",
        "1",
        "--batch-size",
        "8",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        torch.load(out / "last.pt", weights_only=True)["training"]["step"]
        == len(PatchDataset(dataset / "train")) // 16
    )


def test_wall_clock_budget_plans_fewer_steps(dataset, tmp_path):
    cfg = _cfg(dataset, tmp_path / "budget", epochs=50, max_minutes=0.1, val_data=None)
    start = time.monotonic()
    run = train(cfg, progress=False).run
    state = torch.load(run / "last.pt", weights_only=True)["training"]
    assert state["step"] == state["total"] < 50 * (len(PatchDataset(dataset / "train")) // 8)
    assert time.monotonic() - start < 60  # a 6 s budget, with start-up, validation and checkpoints on top


def test_time_budget_is_planned_again_from_the_mean_speed_until_the_decay():
    """The total follows the mean speed while the rate is constant, never below twice the steps
    taken (so the rate already used stays right), and is fixed once the decay has begun."""
    from types import SimpleNamespace

    from wavesr.train import Progress, plan_steps

    s = SimpleNamespace(
        cfg=TrainConfig(data="", out="", max_minutes=1), d=SimpleNamespace(world=1), cap=10_000
    )
    s.progress = Progress(5, 10_000, planned=False)
    assert plan_steps(s, per_step=1.0, elapsed=5) == 60  # a slow start: 55 s left at 1 s a step
    assert not s.progress.planned
    s.progress.step = 50
    assert plan_steps(s, per_step=0.1, elapsed=10) == 550  # then faster: planned again, longer
    assert not s.progress.planned
    s.progress.step = 200
    assert plan_steps(s, per_step=1.0, elapsed=40) == 400  # slower: 220 would put step 200 past half
    assert s.progress.planned
    s.progress = Progress(50, 10_000, planned=False)
    s.cap = 300
    assert plan_steps(s, per_step=0.01, elapsed=5) == 300  # never past the cap


def test_a_slow_start_does_not_fix_a_short_run(dataset, tmp_path, monkeypatch):
    """A machine busy during the first steps (here: 0.4 s each) plans a short run; the mean speed
    after it plans the run again, to the budget."""
    import wavesr.train as training

    real_step, calls = training._step, []

    def slow_at_first(s, *batch):
        calls.append(1)
        if len(calls) <= 5:
            time.sleep(0.4)
        return real_step(s, *batch)

    monkeypatch.setattr(training, "_step", slow_at_first)
    monkeypatch.setattr(training, "REPLAN_EVERY", 10)
    cfg = _cfg(dataset, tmp_path / "slow", epochs=200, max_minutes=0.12, val_data=None)
    run = train(cfg, progress=False).run
    state = torch.load(run / "last.pt", weights_only=True)["training"]
    assert state["step"] == state["total"]
    assert state["total"] > 3 * 7.2 / 0.4  # the first estimate, 5 s left at 0.4 s a step: about 12


def test_runs_and_datasets_of_older_versions_are_read_under_todays_names(dataset, tmp_path):
    """A run's config.json with ``mix_degrade`` and a dataset's settings.json with ``method`` (the
    names before ``channel``) are read as today's; run settings are training's own, not ``--set``."""
    import shutil

    from wavesr.train import read_run

    run = train(_cfg(dataset, tmp_path / "run", epochs=1, mix_channel="sinc"), progress=False).run
    assert load_model_file(run / "model.pt").channel == "decimate+sinc"
    stored = json.loads((run / "config.json").read_text())
    stored["train"]["mix_degrade"] = stored["train"].pop("mix_channel")
    (run / "config.json").write_text(json.dumps(stored))
    assert read_run(run)[0].mix_channel == "sinc"
    old = tmp_path / "old-data"
    shutil.copytree(dataset / "train", old)
    settings = json.loads((old / "settings.json").read_text())
    settings["method"] = settings.pop("channel")
    settings["config"]["method"] = settings["config"].pop("channel")
    (old / "settings.json").write_text(json.dumps(settings))
    assert PatchDataset(old).channel == "decimate"
    with pytest.raises(WavesrError, match="--set passes: set by training itself"):
        train(_cfg(dataset, tmp_path / "bad", model_config={**TINY, "passes": 4}), progress=False)
