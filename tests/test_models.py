import dataclasses

import numpy as np
import pytest
import torch
from conftest import tone

from wavesr import audio, metrics
from wavesr.errors import WavesrError
from wavesr.models import (
    MODELS,
    AudioUNet,
    AudioUNetConfig,
    DNNConfig,
    base,
    build_model,
    count_parameters,
    cubic_upsample,
    load_model_file,
    read_checkpoint,
    save_model,
    spline,
    subpixel1d,
)

RATIOS = (2, 3, 4, 6, 8)


def tiny_unet(**overrides) -> AudioUNet:
    settings = dict(blocks=3, filters=[8, 16, 16], kernel_sizes=[9, 5, 3], dropout=0.0)
    return build_model("audiounet", **{**settings, **overrides})


def bandlimited_noise(rng, n: int, sr: int = 16000, cutoff: int = 6000) -> np.ndarray:
    """White noise low-passed (soxr) to ``cutoff`` Hz: predictable above the low-rate band."""
    x = rng.standard_normal(n + 200).astype(np.float32)
    return (0.3 * audio.resample(audio.resample(x, sr, 2 * cutoff), 2 * cutoff, sr))[100 : n + 100]


# ------------------------------------------------------------------------------------ spline


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 39, 40, 41, 97, 1000])
def test_cubic_upsample_equals_audio_interpolate(rng, ratio, n):
    x = rng.standard_normal((3, n)).astype(np.float32)
    ref = audio.interpolate(x.astype(np.float64), ratio, "cubic")
    y = cubic_upsample(torch.from_numpy(x), ratio).numpy()
    assert y.shape == (3, n * ratio) and y.dtype == np.float32
    # exact factorisation: the same numbers everywhere, edges and extrapolated tail included
    # (measured worst case in float32: 1.1e-6 of the signal's standard deviation)
    assert np.max(np.abs(y - ref)) < 1e-5 * np.std(x)
    y64 = cubic_upsample(torch.from_numpy(x.astype(np.float64)), ratio).numpy()
    assert np.max(np.abs(y64 - ref)) < 1e-9


def test_cubic_upsample_on_audio_and_any_leading_shape(rng):
    hr = tone([300, 1200, 2500], seconds=0.3)
    lr = audio.degrade(hr, 4)
    y = cubic_upsample(torch.from_numpy(np.stack([lr, 2 * lr])[None]), 4)  # [1, 2, time_lr]
    assert y.shape == (1, 2, lr.size * 4)
    ref = audio.interpolate(lr, 4, "cubic")
    assert np.max(np.abs(y[0, 0].numpy() - ref)) < 1e-5
    assert np.allclose(y[0, 1].numpy(), 2 * ref, atol=2e-5)


def test_spline_factors_are_the_cardinal_spline():
    kernel, left, right = spline.spline_factors(4)
    k = spline.KERNEL_HALF_WIDTH
    centre = k * 4
    assert kernel[centre] == pytest.approx(1.0) and np.allclose(kernel[centre + 4 :: 4][:k], 0, atol=1e-12)
    assert np.allclose(kernel, kernel[::-1], atol=1e-12)  # symmetric
    assert abs(kernel[-1]) < 1e-10  # the cut at +-KERNEL_HALF_WIDTH leaves nothing visible
    rims = [left[-1], left[:, -4:], right[0], right[:, :4]]  # the edge blocks fade out before they end
    assert max(np.abs(rim).max() for rim in rims) < 1e-8


def test_spline_network_has_no_parameters_and_follows_interface():
    model = build_model("spline", ratio=6)
    assert isinstance(model, base.Upsampler) and MODELS["spline"] is type(model)
    assert count_parameters(model) == 0 and model.state_dict() == {}
    assert (model.ratio, model.sr, model.sr_lowres) == (6, 16000, pytest.approx(16000 / 6))
    lr = torch.randn(2, 1, 17)
    assert model(lr).shape == (2, 1, 102)
    with pytest.raises(WavesrError, match="batch, 1, time"):
        model(torch.randn(2, 17))


# ---------------------------------------------------------------------------------- AudioUNet


def test_subpixel1d_hand_example():
    x = torch.tensor([[[0, 1, 2], [10, 11, 12], [20, 21, 22], [30, 31, 32]]])  # [1, 2 * 2, 3]
    assert subpixel1d(x, 2).tolist() == [[[0, 10, 1, 11, 2, 12], [20, 30, 21, 31, 22, 32]]]
    assert subpixel1d(x, 4).tolist() == [[[0, 10, 20, 30, 1, 11, 21, 31, 2, 12, 22, 32]]]
    with pytest.raises(ValueError):
        subpixel1d(x, 3)


@pytest.mark.parametrize("ratio", RATIOS)
def test_audiounet_output_length_for_any_input_length(ratio):
    model = tiny_unet(ratio=ratio).eval()
    for n in (1, 2, 7, 33, 101):
        with torch.no_grad():
            assert model(torch.randn(2, 1, n)).shape == (2, 1, n * ratio)


def test_audiounet_residual_returns_cubic_input_when_last_layer_is_zero(rng):
    model = tiny_unet(ratio=4, dropout=0.5)  # train mode: dropout and batch norm active
    torch.nn.init.zeros_(model.last.weight)
    torch.nn.init.zeros_(model.last.bias)
    lr = torch.from_numpy(audio.degrade(bandlimited_noise(rng, 2000), 4))[None, None]
    assert torch.allclose(model(lr), cubic_upsample(lr, 4), atol=1e-6)
    # untrained (last layer ~1e-3) it is already close to the spline
    fresh = tiny_unet(ratio=4).eval()
    with torch.no_grad():
        err = (fresh(lr) - cubic_upsample(lr, 4)).std() / lr.std()
    assert err < 0.05


@pytest.mark.parametrize("preset", [{}, {"activation": "leaky_relu", "batch_norm": False}])
def test_tiny_audiounet_overfits_one_batch(rng, preset):
    torch.manual_seed(0)
    hr = torch.from_numpy(np.stack([bandlimited_noise(rng, 1024) for _ in range(4)]))[:, None]
    lr = torch.from_numpy(audio.degrade(hr.numpy(), 4))
    model = tiny_unet(ratio=4, filters=[16, 32, 32], kernel_sizes=[9, 9, 9], **preset)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(200):
        loss = torch.mean((model(lr) - hr) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert min(losses[-20:]) < losses[0] / 10


def test_audiounet_exports_with_its_interpolation():
    model = tiny_unet(ratio=4).eval()
    lr = torch.randn(2, 1, 100)
    exported = torch.export.export(model, (lr,)).module()
    other = torch.randn(2, 1, 100)
    assert torch.allclose(exported(other), model(other), atol=1e-6)


def test_audiounet_presets_and_config_errors():
    original = AudioUNetConfig.original()
    assert (original.blocks, original.activation, original.batch_norm) == (4, "leaky_relu", False)
    assert build_model("audiounet", preset="original", ratio=2, width=0.05).config.blocks == 4
    paper = AudioUNetConfig()
    assert (paper.blocks, paper.activation, paper.batch_norm, paper.dropout) == (8, "relu", True, 0.5)
    assert paper.filters == [128, 384, 512, 512, 512, 512, 512, 512]
    assert paper.kernel_sizes == [65, 33, 17, 9, 9, 9, 9, 9]
    with pytest.raises(WavesrError, match="no setting"):
        build_model("audiounet", depth=3)
    with pytest.raises(WavesrError, match="unknown preset"):
        build_model("audiounet", preset="huge")
    with pytest.raises(WavesrError, match="odd"):
        AudioUNetConfig(kernel_sizes=[64, 33, 17, 9, 9, 9, 9, 9])
    with pytest.raises(WavesrError, match="blocks"):
        AudioUNetConfig(blocks=9)
    with pytest.raises(WavesrError, match="ratio"):
        AudioUNetConfig(ratio=1)
    with pytest.raises(WavesrError, match="unknown network"):
        build_model("wavenet")


def expected_audiounet_parameters(cfg: AudioUNetConfig) -> int:
    """Parameter count derived from the architecture description, layer by layer."""
    f, k = cfg.widths(), cfg.kernel_sizes[: cfg.blocks]
    down = sum(
        c_in * c_out * kk + (2 * c_out if cfg.batch_norm else c_out)  # conv (+ BN scale/shift)
        for c_in, c_out, kk in zip([1] + f[:-1], f, k)
    )
    bottleneck = f[-1] * f[-1] * k[-1] + f[-1]
    up_inputs = [f[-1]] + [2 * c for c in f[:0:-1]]  # skip concatenation doubles the channels
    up = sum(c_in * 2 * c_out * kk + 2 * c_out for c_in, c_out, kk in zip(up_inputs, f[::-1], k[::-1]))
    last = 2 * f[0] * 2 * cfg.last_kernel + 2
    return down + bottleneck + up + last


@pytest.mark.parametrize("config", [AudioUNetConfig(), AudioUNetConfig.original()], ids=["paper", "original"])
def test_audiounet_parameter_count(config):
    with torch.device("meta"):  # no memory for 118 M weights
        model = AudioUNet(config)
    n = count_parameters(model)
    print(f"AudioUNet B={config.blocks} batch_norm={config.batch_norm}: {n:,} parameters")
    assert n == expected_audiounet_parameters(config)


# ---------------------------------------------------------------------------------------- DNN


@pytest.mark.parametrize("ratio", [2, 4, 8])
def test_dnn_runs_end_to_end_with_right_length(ratio):
    model = build_model("dnn", ratio=ratio, hidden=64).eval()
    for n in (1, 5, 300, 1001):
        with torch.no_grad():
            assert model(torch.randn(2, 1, n)).shape == (2, 1, n * ratio)


def test_dnn_ratio_must_fit_the_frame():
    with pytest.raises(WavesrError, match="ratio 3"):
        DNNConfig(ratio=3)
    with pytest.raises(WavesrError, match="ratio 6"):
        build_model("dnn", ratio=6)
    model = build_model("dnn", ratio=6, n_fft=384, hop=192, hidden=32).eval()
    assert model(torch.randn(1, 1, 100)).shape == (1, 1, 600)


def test_dnn_untrained_is_band_limited_interpolation_with_imaged_phase():
    hr = tone([440, 1000], seconds=0.5)
    lr = audio.degrade(hr, 2)
    model = build_model("dnn", ratio=2, hidden=64).eval()
    with torch.no_grad():
        spec = model.spectrum(torch.from_numpy(lr)[None, None])[0]
        y = model(torch.from_numpy(lr)[None, None])[0, 0].numpy()
    assert metrics.snr(hr[500:-500], y[500:-500]) > 30  # high band starts ~26 dB down, tones are low band
    half = model.config.n_fft // 2  # r = 2: the high band's phase is the low band's, flipped
    k = np.arange(1, model.config.n_low)
    low, high = spec[k].angle(), spec[half - k].angle()
    big = spec[k].abs() > 1e-3 * spec.abs().max()
    assert torch.allclose(torch.cos(high + low)[big], torch.ones(1), atol=1e-4)


@pytest.mark.parametrize("objective", ["waveform", "lps"])
def test_dnn_trains(rng, objective):
    torch.manual_seed(0)
    hr = torch.from_numpy(np.stack([bandlimited_noise(rng, 4096) for _ in range(2)]))[:, None]
    lr = torch.from_numpy(audio.degrade(hr.numpy(), 2))
    model = build_model("dnn", ratio=2, hidden=128)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(60):
        loss = torch.mean((model(lr) - hr) ** 2) if objective == "waveform" else model.lps_loss(lr, hr)
        opt.zero_grad()
        loss.backward()
        assert model.mlp[0].weight.grad.abs().sum() > 0  # gradients reach the first layer
        opt.step()
        losses.append(loss.item())
    # an L2 loss can only quieten a high band whose phase is imaged; Li et al.'s LPS loss fits it
    assert min(losses[-5:]) < (0.95 if objective == "waveform" else 0.1) * losses[0]


# -------------------------------------------------------------------------------- checkpoints

NETWORKS = {
    "spline": {"ratio": 3},
    "audiounet": {"blocks": 2, "filters": [4, 8], "kernel_sizes": [5, 3], "ratio": 2},
    "dnn": {"ratio": 4, "hidden": 32, "context": 1},
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_save_load_round_trip(tmp_path, name):
    torch.manual_seed(0)
    model = build_model(name, **NETWORKS[name])
    if name != "spline":  # move batch-norm statistics off their defaults
        model.train()
        model(torch.randn(3, 1, 200))
    model.eval()
    path = save_model(model, tmp_path / "m.pt", extra={"step": 7, "train": {"lr": 1e-3}, "cfg": model.config})
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # atomic: no temporary left behind
    loaded = load_model_file(path)
    assert type(loaded) is type(model) and loaded.config == model.config and not loaded.training
    lr = torch.randn(2, 1, 123)
    with torch.no_grad():
        assert torch.equal(loaded(lr), model(lr))
    ckpt = read_checkpoint(path)
    assert ckpt["model"] == name and ckpt["format_version"] == base.FORMAT_VERSION
    assert ckpt["step"] == 7 and ckpt["cfg"] == dataclasses.asdict(model.config)


def test_save_model_refuses_reserved_extra_keys(tmp_path):
    with pytest.raises(ValueError, match="config"):
        save_model(build_model("spline"), tmp_path / "m.pt", extra={"config": {}})


def test_damaged_and_foreign_files_give_one_line_errors(tmp_path):
    model = build_model("audiounet", **NETWORKS["audiounet"])
    good = save_model(model, tmp_path / "good.pt")
    ckpt = torch.load(good, weights_only=True)
    state = ckpt["state_dict"]
    data = good.read_bytes()

    def write(name, content):
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            torch.save(content, path)
        return path

    cases = {
        "no such file": tmp_path / "missing.pt",
        "not a readable checkpoint": write("truncated.pt", data[: len(data) // 2]),
        "not a readable checkpoint ": write("noise.pt", np.random.default_rng(0).bytes(5000)),
        "not a readable checkpoint  ": write("empty.pt", b""),
        "not a wavesr model": write("other.pt", {"state_dict": state}),
        "not a wavesr model ": write("bare.pt", state),
        "newer wavesr": write("newer.pt", {**ckpt, "format_version": base.FORMAT_VERSION + 1}),
        "unknown network": write("unknown.pt", {**ckpt, "model": "wavenet"}),
        "no setting": write("otherconfig.pt", {**ckpt, "model": "dnn"}),
        "weights do not match": write(
            "otherweights.pt", {**ckpt, "config": {**ckpt["config"], "filters": [4, 6]}}
        ),
        "weights do not match ": write(
            "missingkey.pt", {**ckpt, "state_dict": dict(list(state.items())[1:])}
        ),
        "damaged checkpoint": write("nostate.pt", {**ckpt, "state_dict": None}),
    }
    for expected, path in cases.items():
        with pytest.raises(WavesrError) as e:
            load_model_file(path)
        message = str(e.value)
        assert expected.strip() in message and str(path) in message and "\n" not in message, message
