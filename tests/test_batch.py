"""wavesr.batch: the batch behind `wavesr upsample`, as a library call (the CLI only prints its report)."""

import numpy as np
import soundfile as sf

from wavesr.batch import upsample_batch
from wavesr.models import build_model, save_model


def test_a_batch_reports_every_file_and_goes_on_past_a_bad_one(tmp_path):
    save_model(build_model("spline", ratio=4), tmp_path / "spline.pt")
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.wav", "sub/b.flac"):
        sf.write(folder / name, 0.1 * np.random.default_rng(0).standard_normal(4000).astype(np.float32), 4000)
    (folder / "bad.wav").write_bytes(b"RIFF but not really")
    seen = []
    report = upsample_batch(
        [folder], tmp_path / "out", model=str(tmp_path / "spline.pt"), on_file=seen.append
    )
    assert (
        [o.input.name for o in report.outcomes]
        == ["a.wav", "bad.wav", "b.flac"]
        == [o.input.name for o in seen]
    )
    assert [o.input.name for o in report.failed] == ["bad.wav"] and "bad.wav" in report.failed[0].error
    assert report.summary() == f"2 of 3 files upsampled; failed: {folder / 'bad.wav'}"
    assert sf.info(tmp_path / "out" / "sub" / "b.sr.wav").frames == 16000
    assert report.outcomes[0].result.sr_out == 16000
    again = upsample_batch([folder / "a.wav"], tmp_path / "out", model=str(tmp_path / "spline.pt"))
    assert "already exists" in again.failed[0].error  # and with force, wavesr's own output is replaced
    assert not upsample_batch(
        [folder / "a.wav"], tmp_path / "out", model=str(tmp_path / "spline.pt"), force=True
    ).failed


def test_shards_split_a_batch_and_a_rerun_resumes(tmp_path):
    """Two real processes share a folder (--shard 1/2 and 2/2, then a SLURM array's variables); a
    rerun with --resume leaves every complete output as it is."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from wavesr.batch import parse_shard, shard_from_environment
    from wavesr.errors import WavesrError

    save_model(build_model("spline", ratio=4), tmp_path / "spline.pt")
    (tmp_path / "in").mkdir()
    for i in range(9):
        sf.write(
            tmp_path / "in" / f"f{i}.wav",
            0.1 * np.random.default_rng(i).standard_normal(2000).astype(np.float32),
            4000,
        )
    wavesr = str(Path(sys.executable).parent / "wavesr")
    base = [wavesr, "upsample", "in", "-o", "out", "--model", "spline.pt", "-q"]
    procs = [
        subprocess.Popen(base + ["--shard", f"{k}/2"], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
        for k in (1, 2)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert "5 files upsampled (share 1 of 2)" in outs[0] and "4 files upsampled (share 2 of 2)" in outs[1]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"f{i}.sr.wav" for i in range(9)]
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()}
    (tmp_path / "out" / "f3.sr.wav").unlink()  # as if the run had stopped before it
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"}  # share 2 of 2
    again = subprocess.run(base + ["--resume"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "1 file upsampled; 3 already done (share 2 of 2)" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir() if p.name != "f3.sr.wav"} == {
        k: v for k, v in stamps.items() if k != "f3.sr.wav"
    }  # complete outputs left alone
    assert shard_from_environment({"RANK": "3", "WORLD_SIZE": "4"}) == (4, 4)
    assert shard_from_environment(
        {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "4"}
    ) == (2, 3)
    assert shard_from_environment({}) is None
    for bad in ("0/2", "3/2", "2", "a/b"):
        try:
            parse_shard(bad)
        except WavesrError:
            continue
        raise AssertionError(bad)
