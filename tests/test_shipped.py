"""The models shipped inside the package: they load, run, and beat cubic on real held-out speech."""

import numpy as np
import pytest

import wavesr
from wavesr import audio, metrics
from wavesr.errors import WavesrError


def test_every_shipped_model_loads_and_upsamples_one_second():
    infos = wavesr.available_models()
    assert {"speech-x2", "speech-x4", "speech-x6", "speech-x8", "piano-x4", "music-x4"} <= {m.name for m in infos}
    rng = np.random.default_rng(0)
    for info in infos:
        model = wavesr.load_model(info.name)
        low = int(round(info.sr / info.ratio))
        out, sr = model.upsample(0.1 * rng.standard_normal((2, low)).astype(np.float32), low)
        assert sr == info.sr and out.shape == (2, round(low * info.sr / low)) and np.all(np.isfinite(out))


@pytest.mark.corpus
def test_shipped_speech_x4_beats_cubic_on_held_out_voices():
    from wavesr.data.defaults import load_default

    try:
        corpus = load_default("speech")
    except WavesrError as e:
        pytest.skip(f"default speech corpus not built ({e}); `wavesr corpus build speech` installs it")
    test = corpus.split("test")
    picks = [test[i] for i in np.linspace(0, len(test) - 1, 24).astype(int)]
    model = wavesr.load_model("speech-x4")
    ours, cubic = [], []
    for item in picks:
        hr, _ = audio.load(item.path, sr=16000, mono=True)
        lr = audio.degrade(hr, 4)
        est = model.upsample(lr, 4000, limiter=False)[0][: hr.size]
        ours.append(metrics.lsd(hr, est))
        cubic.append(metrics.lsd(hr, audio.interpolate(lr, 4, "cubic", length=hr.size)))
    assert np.mean(ours) < 0.75 * np.mean(cubic), (np.mean(ours), np.mean(cubic))
