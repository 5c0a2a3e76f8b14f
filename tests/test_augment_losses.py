"""The rmse+logspec objective and the augmentations of training patches (brightness, mixed degradations)."""

import json

import numpy as np
import pytest
import torch
from conftest import prepare_voices, voice

from wavesr import audio, metrics
from wavesr.data.augment import BrightnessAugment, DegradeMix, shelf_gain, tilt
from wavesr.data.patches import PatchDataset
from wavesr.losses import log_spectral_loss, loss_fn, rmse_per_example
from wavesr.train import TrainConfig, train


def test_log_spectral_loss_is_the_metric_stft(rng):
    """Same STFT as metrics.stft_power (centred, reflect, periodic Hann, 2048 / 512) and its floor."""
    y = voice(rng, seconds=1.0).astype(np.float32)
    x = (y + 0.01 * rng.standard_normal(y.size)).astype(np.float32)
    expected = np.mean(np.abs(np.log(metrics.stft_power(x) + 1e-8) - np.log(metrics.stft_power(y) + 1e-8)))
    got = log_spectral_loss(torch.from_numpy(x)[None, None], torch.from_numpy(y)[None, None]).item()
    assert got == pytest.approx(expected, rel=1e-3)
    assert log_spectral_loss(torch.from_numpy(y)[None, None], torch.from_numpy(y)[None, None]).item() == 0.0


def test_log_spectral_loss_sees_what_rmse_ignores(rng):
    """Removing a faint high band barely changes the RMSE but costs a lot of log-spectral distance."""
    y = voice(rng, seconds=1.0)
    faint = tilt(y, 16000, 4000, -40.0)  # the top of the spectrum 40 dB down
    t = torch.from_numpy(y.astype(np.float32))[None, None]
    f = torch.from_numpy(faint.astype(np.float32))[None, None]
    z = torch.zeros_like(t)
    assert rmse_per_example(f, t).item() < 0.5 * rmse_per_example(z, t).item()
    assert log_spectral_loss(f, t).item() > 1.0


@pytest.mark.parametrize("name", ["rmse+logspec", "l2+stft"])
def test_spectral_losses_have_finite_gradients_near_silence(name):
    """A prediction fading into digital silence has subnormal STFT bins, where the gradient of
    ``abs()`` is NaN (it diverged a real training run); the losses must stay finite there."""
    target = 0.01 * torch.randn(2, 1, 8192, generator=torch.Generator().manual_seed(0))
    pred = torch.zeros(2, 1, 8192)
    pred[..., 7500:7520] = 1e-40
    pred.requires_grad_(True)
    loss_fn(name, pred, target, stft_weight=1e-3).backward()
    assert torch.isfinite(pred.grad).all()


def _band_limited(rng, n, sr, low, high, amp):
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    spectrum[(f < low) | (f > high)] = 0
    return (amp * np.fft.irfft(spectrum, n=n) / np.sqrt(np.mean(np.fft.irfft(spectrum, n=n) ** 2))).astype(
        np.float32
    )


def test_the_band_loss_with_a_cutoff_counts_only_each_targets_own_band(rng):
    """A lossy file's empty top band is not taught: with the target's cutoff, energy the prediction
    adds above it costs nothing (and gets no gradient); the same energy below it costs as before."""
    sr, n = 48000, 8192
    target = torch.from_numpy(np.stack([_band_limited(rng, n, sr, 0, 16000, 0.1) for _ in range(2)]))[:, None]
    above = torch.from_numpy(_band_limited(rng, n, sr, 17000, 24000, 0.03))
    below = torch.from_numpy(_band_limited(rng, n, sr, 6000, 15000, 0.03))
    cutoff = torch.tensor([16000.0, 16000.0])
    same = loss_fn("band", target.clone(), target, cutoff=cutoff, sr=sr).item()
    with_top = target + above
    masked = loss_fn("band", with_top, target, cutoff=cutoff, sr=sr).item()
    assert masked < 0.05 and same < 0.05
    assert loss_fn("band", with_top, target).item() > 1.0  # without the cutoff the top band costs
    assert loss_fn("band", target + below, target, cutoff=cutoff, sr=sr).item() > 0.3
    pred = with_top.clone().requires_grad_(True)
    loss_fn("band", pred, target, cutoff=torch.tensor([16000.0, 24000.0]), sr=sr).backward()
    grad = np.abs(np.fft.rfft(pred.grad[:, 0].numpy(), axis=-1))
    top = np.fft.rfftfreq(n, 1 / sr) > 17000
    assert grad[0, top].max() < 1e-6 * grad[1, top].max()  # example 0: its top band gets no gradient
    with pytest.raises(ValueError, match="band loss"):
        loss_fn("l2", pred, target, cutoff=cutoff, sr=sr)
    # [low, high]: the band between is left out, what lies above high (a format's empty top) counts
    between = torch.tensor([[16000.0, 24000.0], [16000.0, 24000.0]])
    assert loss_fn("band", with_top, target, cutoff=between, sr=sr).item() == pytest.approx(masked, abs=1e-6)
    above_format = torch.tensor([[16000.0, 20000.0], [16000.0, 20000.0]])
    assert loss_fn("band", with_top, target, cutoff=above_format, sr=sr).item() > 0.3


def test_rmse_logspec_adds_the_weighted_term(rng):
    y = torch.from_numpy(voice(rng, seconds=0.5).astype(np.float32))[None, None]
    p = y + 0.01 * torch.randn_like(y)
    total = loss_fn("rmse+logspec", p, y, stft_weight=1e-2)
    assert total.item() == pytest.approx(
        (rmse_per_example(p, y).mean() + 1e-2 * log_spectral_loss(p, y)).item()
    )
    short = torch.randn(2, 1, 700)  # shorter than one 2048-point frame: a smaller FFT, still finite
    assert torch.isfinite(log_spectral_loss(short, short * 0.5))


def test_shelf_gain_and_tilt():
    g = shelf_gain(8192, 16000, 2000, -12.0)
    freqs = np.fft.rfftfreq(8192, 1 / 16000)
    db = 20 * np.log10(g)
    assert abs(db[freqs < 250]).max() < 0.05 and abs(db[freqs > 7000] + 12.0).max() < 0.2
    assert db[np.argmin(abs(freqs - 2000))] == pytest.approx(-6.0, abs=0.05)
    x = np.random.default_rng(1).standard_normal(4096).astype(np.float32)
    np.testing.assert_allclose(tilt(x, 16000, 2000, 0.0), x, atol=1e-6)
    assert tilt(x, 16000, 2000, 6.0).dtype == np.float32


@pytest.fixture(scope="module")
def patches(tmp_path_factory):
    return prepare_voices(tmp_path_factory.mktemp("augment"), (("train", 3), ("val", 1)))


def test_brightness_augment_rebuilds_the_input_and_is_reproducible(patches):
    data = PatchDataset(patches / "train")
    aug = BrightnessAugment(data, 12.0, seed=5)
    lr, hr = aug[3]
    assert lr.shape == data[3][0].shape and hr.shape == data[3][1].shape
    np.testing.assert_array_equal(lr[0].numpy(), audio.degrade(hr[0].numpy(), data.ratio, "decimate"))
    corner, gain = aug.draw(3)
    np.testing.assert_allclose(hr[0].numpy(), tilt(data[3][1][0].numpy(), 16000, corner, gain), atol=1e-6)
    assert 1000 <= corner <= 0.9 * 8000 and -12 <= gain <= 12
    again = BrightnessAugment(data, 12.0, seed=5)
    torch.testing.assert_close(again[3][1], hr)  # a function of (seed, epoch, index) only
    draws = {aug.draw(i) for i in range(len(aug))}
    aug.set_epoch(1)
    assert len(draws) == len(aug) and aug.draw(3) != (corner, gain)


def test_training_with_brightness_and_logspec_runs(patches, tmp_path):
    cfg = TrainConfig(
        data=str(patches / "train"),
        val_data=str(patches / "val"),
        out=str(tmp_path / "run"),
        model="fast",
        model_config={"widths": [8, 8, 8, 8], "skip": "sinc"},
        epochs=1,
        batch_size=4,
        lr=1e-3,
        loss="rmse+logspec",
        stft_weight=1e-5,
        brightness_db=9.0,
        val_files=1,
        val_patches=8,
    )
    run = train(cfg, progress=False).run
    stored = json.loads((run / "config.json").read_text())["train"]
    assert stored["brightness_db"] == 9.0 and stored["loss"] == "rmse+logspec"
    losses = [
        json.loads(line)["loss"]
        for line in (run / "metrics.jsonl").read_text().splitlines()
        if "loss" in json.loads(line)
    ]
    assert losses and all(np.isfinite(losses))


def test_degrade_mix_rebuilds_a_share_of_the_inputs_reproducibly(patches):
    data = PatchDataset(patches / "train")
    mix = DegradeMix(data, data.ratio, "telephone", fraction=0.5, seed=3)
    rebuilt = [i for i in range(len(mix)) if mix.rebuilt(i)]
    assert 0.3 * len(mix) < len(rebuilt) < 0.7 * len(mix)
    i, j = rebuilt[0], next(k for k in range(len(mix)) if not mix.rebuilt(k))
    lr, hr = mix[i]
    torch.testing.assert_close(hr, data[i][1])
    np.testing.assert_array_equal(lr[0].numpy(), audio.degrade(hr[0].numpy(), data.ratio, "telephone"))
    assert not np.allclose(
        lr[0].numpy(), data[i][0][0].numpy()
    )  # the stored input is decimated, not phone-band
    torch.testing.assert_close(mix[j][0], data[j][0])  # the rest keep their own input
    assert [DegradeMix(data, data.ratio, "telephone", 0.5, seed=3).rebuilt(k) for k in range(len(mix))] == [
        mix.rebuilt(k) for k in range(len(mix))
    ]
    mix.set_epoch(1)
    assert [mix.rebuilt(k) for k in range(len(mix))] != [k in rebuilt for k in range(len(mix))]
    stacked = DegradeMix(BrightnessAugment(data, 6.0, seed=1), data.ratio, "sinc", 1.0)
    lr, hr = stacked[2]  # every input rebuilt, from the shelved target
    np.testing.assert_array_equal(lr[0].numpy(), audio.degrade(hr[0].numpy(), data.ratio, "sinc"))
    for bad, match in ((("nope", 0.5), "unknown channel"), (("sinc", 0.0), "fraction")):
        with pytest.raises(ValueError, match=match):
            DegradeMix(data, data.ratio, *bad)


def test_training_with_mixed_degradations_records_it(patches, tmp_path):
    cfg = TrainConfig(
        data=str(patches / "train"),
        out=str(tmp_path / "run"),
        model="fast",
        model_config={"widths": [8, 8, 8, 8]},
        epochs=1,
        batch_size=4,
        lr=1e-3,
        loss="rmse",
        mix_channel="sinc",
        mix_fraction=0.3,
        val_files=0,
        val_patches=0,
    )
    run = train(cfg, progress=False).run
    stored = json.loads((run / "config.json").read_text())["train"]
    assert (stored["mix_channel"], stored["mix_fraction"]) == ("sinc", 0.3)
    assert (
        torch.load(run / "model.pt", weights_only=True)["config"]["channel"] == "decimate+sinc"
    )  # both channels seen
    with pytest.raises(Exception, match="--mix-channel 'nope'"):
        train(TrainConfig(**{**stored, "out": str(tmp_path / "bad"), "mix_channel": "nope"}), progress=False)
