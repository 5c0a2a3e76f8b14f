"""Crashes lose nothing: processes killed with SIGKILL (no cleanup at all) at random moments.

* ``train``: killed at several moments, several of them in the middle of a checkpoint write,
  and resumed each time; every resumed run ends with the weights of an uninterrupted run.
* ``upsample``: killed in the middle of a long file; the destination never exists half-written.
  A killed process cannot remove its temporary file: ``.NAME.XXXXXXXX.tmp.wav`` may remain beside
  the destination. It never has the destination's name, it is hidden, folder scans ignore it
  (``audio.find_audio`` skips hidden names) and a rerun writes the complete output.
* ``prepare``: killed and rerun gives the same bytes as an uninterrupted build, no patch missing
  or duplicated -- tested in tests/test_patches.py (test_killed_build_reruns_to_the_same_dataset,
  test_interrupted_build_reruns_to_the_same_dataset), not repeated here.
"""

import dataclasses
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from test_train import _cfg, dataset  # noqa: F401 - the prepared tiny dataset fixture

from wavesr.models import build_model, read_checkpoint, save_model
from wavesr.train import TrainConfig, train

# The child trains as `wavesr train` would, with checkpoint writes slowed down (the serialized
# checkpoint, 1.4 MB, is written in 16 kB pieces 1 ms apart: ~0.1 s) so that a kill can land inside one.
_SLOW_WRITES = """
import io, json, sys, time
import torch
real_save = torch.save
def slow_save(obj, f, *args, **kwargs):
    buf = io.BytesIO()
    real_save(obj, buf, *args, **kwargs)
    data = buf.getvalue()
    with open(f, "wb") as out:
        for i in range(0, len(data), 1 << 14):
            out.write(data[i:i + (1 << 14)])
            out.flush()
            time.sleep(0.001)
torch.save = slow_save
from wavesr.train import TrainConfig, train
train(TrainConfig(**json.loads(sys.argv[1])), progress=False)
"""


def _temps(run: Path, pattern: str = ".*.tmp*") -> list[str]:
    return sorted(p.name for p in run.glob(pattern))


def _kill(proc: subprocess.Popen, run: Path, mode: str, rng: np.random.Generator) -> dict:
    """SIGKILL ``proc``: ``"write"`` while ``last.pt`` is being written (its temporary file
    exists), at a random write after the first; ``"random"`` at a random moment after the first."""
    deadline = time.time() + 60
    if mode == "write":
        writes, target, seen = 0, int(rng.integers(2, 11)), False
        while proc.poll() is None and time.time() < deadline:
            now = bool(_temps(run, ".last.*.tmp.pt"))
            if now and not seen:
                writes += 1
                if writes >= target:
                    time.sleep(float(rng.uniform(0, 0.03)))
                    break
            seen = now
            time.sleep(0.001)
    else:  # a random moment after the first checkpoint
        while proc.poll() is None and not (run / "last.pt").exists() and time.time() < deadline:
            time.sleep(0.005)
        time.sleep(float(rng.uniform(0, 1.5)))
    in_write = bool(_temps(run))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return {"mode": mode, "in_write": in_write and bool(_temps(run)), "finished": proc.returncode == 0}


def test_training_killed_anywhere_resumes_to_the_same_weights(dataset, tmp_path):  # noqa: F811
    kw = dict(epochs=1, max_steps=12, checkpoint_steps=1, log_every=1, val_patches=8)
    full = train(_cfg(dataset, tmp_path / "full", **kw), progress=False).model.state_dict()
    rng = np.random.default_rng(2024)
    kills = []
    for trial, mode in enumerate(["write", "random", "write", "random", "write"]):
        run = tmp_path / f"killed{trial}"
        cfg = _cfg(dataset, run, **kw)
        proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITES, json.dumps(dataclasses.asdict(cfg))])
        kill = _kill(proc, run, mode, rng)
        last = run / "last.pt"
        if last.exists():  # whatever the moment of the kill, last.pt is a complete checkpoint
            kill["step"] = read_checkpoint(last)["training"]["step"]
            model = train(TrainConfig(data="", out=str(run)), resume=True, progress=False).model
        else:  # killed before the first checkpoint: nothing to resume, start again
            kill["step"] = None
            model = train(cfg, progress=False).model
        kills.append(kill)
        for (name, a), b in zip(full.items(), model.state_dict().values()):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=f"trial {trial} {kill}: {name}")
        assert _temps(run) == [], f"stale temporary files after the resume: {_temps(run)}"
        assert read_checkpoint(run / "model.pt") and read_checkpoint(last)["training"]["step"] == 12
    print("kills:", kills)
    mid_run = [k for k in kills if k["step"] is not None and 0 < k["step"] < 12 and not k["finished"]]
    assert sum(k["in_write"] for k in kills) >= 2, kills  # kills inside a checkpoint write did happen
    assert len(mid_run) >= 3, kills  # and runs were resumed from the middle


# ------------------------------------------------------------------------------------ upsample


def test_upsample_killed_leaves_no_half_written_output(tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    n = 4000 * 600  # 10 minutes at 4 kHz: a few seconds of work for the spline
    x = (0.2 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
    sf.write(folder / "long.wav", x, 4000, subtype="PCM_16")
    save_model(build_model("spline", ratio=4), tmp_path / "spline.pt")
    cmd = [
        sys.executable,
        "-m",
        "wavesr.cli",
        "upsample",
        str(folder),
        "--model",
        str(tmp_path / "spline.pt"),
        "-q",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    temps: list[Path] = []
    while proc.poll() is None and time.time() < deadline:
        temps = list(folder.glob(".*.tmp*"))
        if temps and temps[0].stat().st_size > 1 << 20:  # well into the output
            break
        time.sleep(0.01)
    assert proc.poll() is None, "upsampling ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    dest = folder / "long.sr.wav"
    assert not dest.exists()  # never half-written at the destination
    stale = [p.name for p in folder.glob(".*.tmp*")]
    assert len(stale) == 1 and stale[0].startswith(".long.sr.") and stale[0].endswith(".tmp.wav")
    assert 1 << 20 < (folder / stale[0]).stat().st_size < 2 * 16 * n  # partial, and beside the destination
    # the rerun ignores the stale temporary file (not an input, not in the way) and writes everything
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("long.wav -> ") == 1 and ".tmp" not in result.stdout  # one input: long.wav
    info = sf.info(dest)
    assert (info.frames, info.samplerate) == (4 * n, 16000)
    y, _ = sf.read(dest, dtype="float32", start=4 * n - 1000)
    assert np.any(y)  # the end of the file holds audio, not a zero-filled header promise
