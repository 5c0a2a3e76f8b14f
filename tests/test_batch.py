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
