"""The optional adversarial term: discriminators, LSGAN and feature losses, a real (tiny) full-band
run with it on, and resume with the discriminators' state."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import train_and_kill, voice

from wavesr.adversarial import Adversary
from wavesr.data.corpus import Item
from wavesr.data.patches import PrepareConfig, prepare
from wavesr.errors import WavesrError
from wavesr.models.discriminators import (
    Discriminators,
    discriminator_loss,
    feature_loss,
    generator_loss,
)
from wavesr.train import TrainConfig, read_run, train


@pytest.fixture(scope="module")
def patches(tmp_path_factory):
    """48 kHz patches of 4096 samples (2 training files, 1 validation file)."""
    root = tmp_path_factory.mktemp("adv")
    rng = np.random.default_rng(1)
    items = []
    for split, n in (("train", 2), ("val", 1)):
        for i in range(n):
            path = root / "audio" / f"{split}{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, voice(rng, seconds=0.5, sr=48000), 48000)
            items.append(Item(path=str(path), split=split, group=f"{split}{i}"))
    cfg = PrepareConfig(sr=48000, ratio=2, channel="sinc", patch_len=4096, stride=2048, workers=0)
    for split in ("train", "val"):
        prepare([it for it in items if it.split == split], root / split, cfg, progress=False)
    return root


def _cfg(patches, out, **kw):
    base = dict(
        data=str(patches / "train"),
        val_data=str(patches / "val"),
        out=str(out),
        model="band",
        model_config={"width": 16, "blocks": 1, "n_fft": 256, "hop": 64},
        epochs=2,
        batch_size=4,
        lr=1e-3,
        val_patches=4,
        channels="lowpass",
        adv_weight=1.0,
        adv_width=2,
        log_every=1,
        seed=5,
    )
    return TrainConfig(**{**base, **kw})


# ------------------------------------------------------------------------------ the discriminators


@pytest.mark.parametrize("n", [4096, 4097, 5000])
def test_every_discriminator_judges_any_length_with_its_feature_maps(one_thread, n):
    net = Discriminators(width=4)
    judged = net(torch.randn(3, 1, n))
    assert len(judged) == 5 + 3  # periods 2, 3, 5, 7, 11 and three STFT resolutions
    for logits, maps in judged:
        assert logits.shape[0] == 3 and logits.ndim == 2 and torch.isfinite(logits).all()
        assert len(maps) == 6 and all(m.shape[0] == 3 for m in maps)
        assert maps[-1].flatten(1).shape == logits.shape


def test_lsgan_losses_are_zero_only_at_their_targets_and_feature_loss_only_for_equal_maps():
    ones, zeros = torch.ones(2, 5), torch.zeros(2, 5)
    maps = [torch.randn(2, 3, 4)]
    assert discriminator_loss([(ones, [])], [(zeros, [])]).item() == 0
    assert discriminator_loss([(zeros, [])], [(ones, [])]).item() == pytest.approx(2.0)
    assert generator_loss([(ones, [])]).item() == 0
    assert generator_loss([(zeros, [])]).item() == pytest.approx(1.0)
    assert feature_loss([(ones, maps)], [(ones, maps)]).item() == 0
    assert feature_loss([(ones, maps)], [(ones, [m + 1 for m in maps])]).item() > 0


def test_a_discriminator_step_lowers_its_loss_and_the_generator_terms_train_only_the_generator(one_thread):
    torch.manual_seed(0)
    cfg = TrainConfig(data="", out="", adv_weight=1.0, feature_weight=2.0, adv_width=4, lr=1e-3)
    adversary = Adversary(cfg, torch.device("cpu"), fp16=False)
    real = torch.randn(4, 1, 4096)
    fake = (0.3 * torch.randn(4, 1, 4096)).requires_grad_(True)

    def d_loss():
        with torch.no_grad():
            return discriminator_loss(adversary.net(real), adversary.net(fake)).item()

    before = d_loss()
    for _ in range(5):
        adversary.train_step(real, fake, 1e-3)
    assert d_loss() < before  # the discriminators learn to tell them apart
    adversary.optimizer.zero_grad(set_to_none=True)
    terms = adversary.generator_terms(real, fake)
    terms.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0  # the generator's gradient
    assert all(p.grad is None for p in adversary.net.parameters())  # none into the discriminators
    assert all(p.requires_grad for p in adversary.net.parameters())
    row = adversary.log_row()
    assert set(row) == {"d_loss", "adv_loss", "feature_loss"} and adversary.log_row() == {}


def test_judged_windows_are_scaled_by_the_target_and_cut_alike():
    cfg = TrainConfig(data="", out="", adv_weight=1.0, adv_segment=2048)
    adversary = Adversary(cfg, torch.device("cpu"), fp16=False)
    target = torch.randn(2, 1, 8000) * torch.tensor([0.01, 1.0])[:, None, None]
    real, fake = adversary.judged(target, 2 * target)
    assert real.shape == fake.shape == (2, 1, 2048)
    torch.testing.assert_close(fake, 2 * real)
    assert real.pow(2).mean(dim=(1, 2)).sqrt().max() < 2  # both examples at about unit RMS


# ------------------------------------------------------------------------------ training with it


def test_a_full_band_run_trains_with_discriminators_and_keeps_them_in_last_pt(patches, tmp_path, one_thread):
    trained = train(_cfg(patches, tmp_path / "run", adv_start=3), progress=False)
    rows = [json.loads(line) for line in (trained.run / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "loss" in r]
    assert all("d_loss" in r for r in steps)
    # the row of step k logs step k - 1 (counted from 0): the terms start at adv_start = 3
    assert [("adv_loss" in r) for r in steps[:5]] == [False, False, False, True, True]
    assert all(np.isfinite(r["loss"]) for r in steps) and any("val" in r for r in rows)
    cfg, checkpoint = read_run(trained.run)
    assert cfg.adv_weight == 1.0
    state = checkpoint["training"]["discriminators"]
    assert {"net", "optimizer"} <= set(state) and state["optimizer"]["state"]  # the discriminators trained
    model_pt = torch.load(trained.run / "model.pt", weights_only=True)
    assert "training" not in model_pt  # the shipped weights carry no discriminators


def test_the_adversarial_term_is_refused_where_it_does_not_apply(patches, tmp_path):
    with pytest.raises(WavesrError, match="full-band network with the band loss"):
        train(_cfg(patches, tmp_path / "l2", loss="l2"), progress=False)
    with pytest.raises(WavesrError, match="--adv-segment"):
        _cfg(patches, tmp_path / "short", adv_segment=100).check()


def test_resume_after_sigkill_restores_the_discriminators(patches, tmp_path):
    kw = dict(epochs=3, checkpoint_steps=2)
    full = train(_cfg(patches, tmp_path / "full", **kw), progress=False)
    step = train_and_kill(_cfg(patches, tmp_path / "killed", **kw), 2)
    total = torch.load(tmp_path / "full" / "last.pt", weights_only=True)["training"]["step"]
    assert 2 <= step < total, f"killed too late to test anything (step {step} of {total})"
    resumed = train(TrainConfig(data="", out=str(tmp_path / "killed")), resume=True, progress=False)
    for (name, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    d_full, d_resumed = (
        torch.load(run / "last.pt", weights_only=True)["training"]["discriminators"]["net"]
        for run in (tmp_path / "full", tmp_path / "killed")
    )
    for name, a in d_full.items():
        torch.testing.assert_close(a, d_resumed[name], rtol=1e-5, atol=1e-6, msg=name)


def test_resume_refuses_a_last_pt_without_the_discriminators(patches, tmp_path, one_thread):
    run = train(_cfg(patches, tmp_path / "plain", adv_weight=0.0, epochs=1), progress=False).run
    stored = json.loads((run / "config.json").read_text())
    stored["train"]["adv_weight"] = 1.0  # the run's settings now ask for discriminators it never had
    (run / "config.json").write_text(json.dumps(stored))
    with pytest.raises(WavesrError, match="discriminators missing"):
        read_run(run)
