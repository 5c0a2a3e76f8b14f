"""FastNet: shapes for every ratio and odd lengths, the spline at zero, level equivariance,
exact chunked inference, learning on one batch, save/load."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from wavesr import audio
from wavesr.errors import WavesrError
from wavesr.models import build_model, count_parameters, cubic_upsample, load_model_file, save_model
from wavesr.models.fast import FastConfig, FastNet

RATIOS = (2, 3, 4, 6, 8)
TINY = dict(widths=[8, 12, 16], depth=[1, 1, 2])


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny networks run fastest on one thread


def tiny(ratio: int = 4, **overrides) -> FastNet:
    torch.manual_seed(0)
    return build_model("fast", ratio=ratio, **{**TINY, **overrides})


def randomise_head(model: FastNet, std: float = 0.3) -> FastNet:
    """The head starts at zero; give it weights so that the network does something."""
    torch.nn.init.normal_(model.head.weight, std=std)
    return model


@pytest.mark.parametrize("frame", [1, 4])
@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("n", [1, 7, 1001])
def test_any_ratio_and_length_gives_n_times_ratio_samples(ratio, n, frame):
    model = randomise_head(tiny(ratio, frame=frame)).eval()
    y = model(torch.randn(2, 1, n))
    assert y.shape == (2, 1, n * ratio) and torch.isfinite(y).all()


@pytest.mark.parametrize("preset", ["small", "medium"])
def test_presets_build_and_default_is_medium(preset):
    model = build_model("fast", preset=preset)
    assert model(torch.zeros(1, 1, 300)).shape == (1, 1, 1200)
    assert FastConfig() == FastConfig.preset("medium")
    assert count_parameters(build_model("fast", preset="small")) < count_parameters(build_model("fast"))


def test_bad_settings_are_one_line_errors():
    with pytest.raises(WavesrError, match="one entry per level"):
        FastConfig(widths=[8, 16], depth=[1])
    with pytest.raises(WavesrError, match="stride"):
        FastConfig(stride=3)
    with pytest.raises(WavesrError, match="frame"):
        FastConfig(frame=3)
    with pytest.raises(WavesrError, match="kernel"):
        FastConfig(kernel=4)
    with pytest.raises(WavesrError, match="time"):
        tiny()(torch.zeros(1, 2, 10))


@pytest.mark.parametrize("ratio", [2, 4])
def test_untrained_and_zeroed_head_is_the_cubic_spline(rng, ratio):
    lr = torch.from_numpy(rng.standard_normal((2, 1, 500)).astype(np.float32))
    fresh = tiny(ratio).eval()  # the head starts at zero
    zeroed = randomise_head(tiny(ratio))
    with torch.no_grad():
        zeroed.head.weight.zero_()
    for model in (fresh, zeroed):
        assert torch.equal(model(lr), cubic_upsample(lr, ratio))
    # and the spline is audio.interpolate's
    ref = audio.interpolate(lr.numpy().astype(np.float64), ratio, "cubic")
    assert np.max(np.abs(fresh(lr).detach().numpy() - ref)) < 1e-5


def test_output_scales_with_the_input_level():
    """Bias-free and LeakyReLU: model(a x) = a model(x) for a > 0 (quiet and loud alike)."""
    model = randomise_head(tiny()).eval()
    x = torch.randn(1, 1, 700)
    with torch.no_grad():
        y = model(x)
        for a in (1e-3, 0.5, 20.0):
            assert torch.allclose(model(a * x), a * y, rtol=1e-4, atol=1e-5 * a)


def test_context_bounds_the_receptive_field():
    """Changing one input sample changes no output farther than ``context`` low-rate samples."""
    model = randomise_head(tiny()).eval()
    n, pos = 4000, 2000
    x = torch.randn(1, 1, n)
    x2 = x.clone()
    x2[..., pos] += 1.0
    with torch.no_grad():
        diff = (model(x2) - model(x)).abs()[0, 0]
    changed = torch.nonzero(diff > 1e-7)[:, 0] // model.ratio  # low-rate positions
    reach = int(max(pos - changed.min(), changed.max() - pos))
    assert 0 < reach <= model.context
    assert reach > model.context / 4  # the bound is not wildly loose


@pytest.mark.parametrize("skip", ["cubic", "sinc"])
def test_chunks_aligned_to_hop_multiple_reproduce_the_whole_signal(skip):
    """Chunked inference with ``context`` overlap, chunk starts at multiples of ``hop_multiple``."""
    model = randomise_head(tiny(skip=skip)).eval()
    n, hop, ctx, r = 6000, model.hop_multiple, model.context, model.ratio
    x = torch.randn(1, 1, n)
    with torch.no_grad():
        whole = model(x)
        step = 8 * hop  # a core of 512 low-rate samples per chunk
        pad = ctx  # overlap each side, a multiple of hop_multiple
        assert pad % hop == 0
        out = torch.zeros_like(whole)
        for start in range(0, n, step):
            lo, hi = max(0, start - pad), min(n, start + step + pad)
            y = model(x[..., lo:hi])
            out[..., start * r : min(n, start + step) * r] = y[
                ..., (start - lo) * r : (min(n, start + step) - lo) * r
            ]
    error = (out - whole).abs().max().item()
    # the network part is exact; the cubic spline's not-a-knot ends differ by ~0.268^pad
    assert error < 1e-5 * whole.abs().max().item(), error
    # without overlap, chunk edges differ: the check above is not vacuous
    with torch.no_grad():
        naive = torch.cat([model(x[..., i : i + step]) for i in range(0, n, step)], dim=-1)
    assert (naive - whole).abs().max().item() > 100 * error


def test_a_small_instance_overfits_one_batch(rng):
    torch.manual_seed(0)
    t = np.arange(2048) / 16000
    hr = np.stack(
        [
            np.sin(2 * np.pi * f * t) * 0.3 + 0.1 * np.sin(2 * np.pi * 3 * f * t + 0.5)
            for f in (220.0, 330.0, 440.0, 550.0)
        ]
    )[:, None].astype(np.float32)
    lr = np.stack([audio.degrade(h[0], 4) for h in hr])[:, None]
    hr_t, lr_t = torch.from_numpy(hr), torch.from_numpy(lr)
    model = tiny()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = F.mse_loss(model(lr_t), hr_t).item()
    for _ in range(150):
        loss = F.mse_loss(model(lr_t), hr_t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first / 10, (first, loss.item())


def test_save_and_load_give_identical_outputs(tmp_path):
    model = randomise_head(tiny(ratio=3, layer_scale=0.2, frame=2)).eval()
    path = save_model(model, tmp_path / "fast.pt")
    loaded = load_model_file(path)
    assert isinstance(loaded, FastNet) and loaded.config == model.config
    x = torch.randn(2, 1, 333)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


# ------------------------------------------------------------------ the band-limited skip


@pytest.mark.parametrize("ratio", [2, 3, 4, 6, 8])
def test_sinc_kernel_keeps_input_samples_and_constants(ratio):
    from wavesr.models.sinc import HALF_WIDTH, sinc_kernel

    h = sinc_kernel(ratio)
    assert h.shape == (2 * HALF_WIDTH * ratio + 1,)
    for phase in range(ratio):
        assert abs(h[phase::ratio].sum() - 1) < 1e-12
    centre = HALF_WIDTH * ratio
    taps = h[centre % ratio :: ratio]  # the phase at the input's own samples: a unit impulse
    assert (
        taps[centre // ratio] == pytest.approx(1.0) and np.abs(np.delete(taps, centre // ratio)).max() < 1e-12
    )


@pytest.mark.parametrize("ratio", [2, 4, 8])
def test_untrained_sinc_skip_is_band_limited_interpolation(rng, ratio):
    """An untrained ``skip="sinc"`` network returns the windowed-sinc interpolation, which agrees with
    soxr's band-limited resampling away from the ends and is closer to the truth than the spline."""
    sr, n = 16000, 16000
    t = np.arange(n) / sr
    hr = sum(
        np.sin(2 * np.pi * f * t + p) / (1 + k)
        for k, (f, p) in enumerate(zip(rng.uniform(50, sr / (2 * ratio) * 0.7, 12), rng.uniform(0, 6, 12)))
    )
    lr = audio.degrade(hr, ratio)
    model = tiny(ratio, skip="sinc").eval()
    with torch.no_grad():
        y = model(torch.from_numpy(lr.astype(np.float32))[None, None])[0, 0].numpy().astype(np.float64)
    inner = slice(2000, n - 2000)
    soxr = audio.interpolate(lr, ratio, "bandlimited")
    cubic = audio.interpolate(lr, ratio, "cubic")

    def snr(ref, est):
        return 10 * np.log10(np.sum(ref[inner] ** 2) / np.sum((ref[inner] - est[inner]) ** 2))

    assert snr(soxr, y) > 60
    assert snr(hr, y) > snr(hr, cubic) + 3


def test_sinc_skip_is_checked_and_saved(tmp_path):
    with pytest.raises(WavesrError, match="skip"):
        FastConfig(skip="linear")
    model = randomise_head(tiny(skip="sinc")).eval()
    save_model(model, tmp_path / "m.pt")
    loaded = load_model_file(tmp_path / "m.pt")
    assert loaded.config.skip == "sinc"
    x = torch.randn(1, 1, 900)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert build_model("fast").config.skip == "cubic"  # checkpoints without the field keep the spline


def test_onnx_runtime_runs_fastnet_as_torch_does_only_without_gradients(tmp_path, monkeypatch):
    from wavesr.runtime import accelerate

    monkeypatch.setenv("WAVESR_CACHE", str(tmp_path / "cache"))
    model = randomise_head(tiny(4, skip="sinc")).eval()
    x = 0.1 * torch.randn(3, 1, 3 * model.hop_multiple * 11 + 5)  # neither the traced nor the checked length
    with torch.inference_mode():
        eager = model(x)
    assert accelerate(model) == "onnxruntime" and accelerate(model) == "onnxruntime"  # once
    calls = []
    runner = model.runner
    model.runner = lambda lr: calls.append(lr.shape[-1]) or runner(lr)
    model.runner.min_length = runner.min_length
    with torch.inference_mode():
        torch.testing.assert_close(model(x), eager, rtol=0, atol=1e-4)
        short = 0.1 * torch.randn(1, 1, runner.min_length - 1)  # shorter than the export takes: torch
        assert model(short).shape == (1, 1, 4 * short.shape[-1])
    assert calls == [x.shape[-1]]
    model(x).pow(2).mean().backward()  # gradients on: torch's own forward
    assert calls == [x.shape[-1]] and model.head.weight.grad is not None
    assert len(list((tmp_path / "cache" / "onnx").glob("fast-*.onnx"))) == 1


def test_a_short_input_runs_on_one_thread_and_onnx_runtime_follows(tmp_path, monkeypatch):
    from wavesr.inference import SHORT_SECONDS, threads_for
    from wavesr.runtime import accelerate

    monkeypatch.setenv("WAVESR_CACHE", str(tmp_path / "cache"))
    model = randomise_head(tiny(4, skip="sinc")).eval()
    x = 0.1 * torch.randn(1, 1, 4000)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.inference_mode():
            eager = model(x)
        assert (
            accelerate(model) == "onnxruntime" and model.runner.threads == 2 and model.runner.single is None
        )
        with threads_for(SHORT_SECONDS + 1):  # a long input keeps the caller's threads
            assert torch.get_num_threads() == 2
        with threads_for(1.0), torch.inference_mode():
            assert torch.get_num_threads() == 1
            torch.testing.assert_close(model(x), eager, rtol=0, atol=1e-4)
        assert model.runner.single is not None  # the one-thread session ran it
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(before)
