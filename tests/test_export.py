"""Export: TorchScript and ONNX files reproduce the eager networks on inputs of other lengths."""

import importlib.util
import json

import numpy as np
import pytest
import torch

import wavesr
from wavesr.errors import WavesrError
from wavesr.export import export_model, load_exported, min_length
from wavesr.models import build_model

HAVE_ONNX = all(importlib.util.find_spec(name) for name in ("onnx", "onnxruntime"))

needs_onnx = pytest.mark.skipif(
    not HAVE_ONNX,
    reason="ONNX export needs the optional packages onnx and onnxruntime (pip install onnx onnxruntime)",
)
FORMATS = ["torchscript", pytest.param("onnx", marks=needs_onnx)]


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny networks run fastest on one thread


def network(name: str, ratio: int) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "audiounet":
        model = build_model("audiounet", ratio=ratio, blocks=3, filters=[8, 16, 16], kernel_sizes=[9, 5, 3])
    elif name in ("fast", "fast-sinc"):
        model = build_model(
            "fast",
            ratio=ratio,
            widths=[8, 12, 16],
            depth=[1, 1, 2],
            skip="sinc" if name == "fast-sinc" else "cubic",
        )
        torch.nn.init.normal_(model.head.weight, std=0.3)  # not the bare spline
    else:
        model = build_model(name, ratio=ratio)
    return model.eval()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("ratio", [2, 4])
@pytest.mark.parametrize("name", ["spline", "audiounet", "fast", "fast-sinc"])
def test_export_matches_the_eager_model_on_another_length(tmp_path, name, ratio, fmt):
    model = network(name, ratio)
    model.run_as(channel="decimate" if name != "spline" else None)
    path = export_model(model, tmp_path / f"{name}.{fmt}", fmt, example_len=700)
    exported = load_exported(path)
    assert exported.format == fmt and exported.ratio == ratio and exported.info["model"] == name.split("-")[0]
    assert (
        exported.info["trained_on"] == model.channel
    )  # the channel a caller must feed it (module docstring)
    for n in (1234, min_length(model)):  # neither the example's length
        x = 0.1 * torch.randn(3, 1, n)
        with torch.no_grad():
            expected = model(x)
        got = exported(x)
        assert got.shape == (3, 1, n * ratio)
        assert torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()
        assert np.allclose(exported(x.numpy()), expected.numpy(), atol=1e-5)  # numpy in, numpy out
    sidecar = json.loads((tmp_path / f"{name}.{fmt}.json").read_text())
    assert sidecar["config"]["ratio"] == ratio and sidecar["verified_max_abs_error"] < 1e-5


def test_dnn_exports_to_torchscript(tmp_path):
    model = network("dnn", 4)
    exported = load_exported(export_model(model, tmp_path / "dnn.pt", example_len=700))
    x = 0.1 * torch.randn(2, 1, 1500)
    with torch.no_grad():
        assert torch.allclose(exported(x), model(x), atol=1e-5)


@needs_onnx
def test_dnn_onnx_is_refused_in_one_line(tmp_path):
    """The ONNX exporter has no complex-valued STFT, which the DNN baseline is built on."""
    with pytest.raises(WavesrError, match="cannot be exported to ONNX"):
        export_model(network("dnn", 4), tmp_path / "dnn.onnx", "onnx")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_export_refuses_to_overwrite_and_bad_inputs(tmp_path):
    model = network("spline", 4)
    path = export_model(model, tmp_path / "s.pt")
    with pytest.raises(WavesrError, match="already exists"):
        export_model(model, path)
    export_model(model, path, force=True)
    with pytest.raises(WavesrError, match="unknown export format"):
        export_model(model, tmp_path / "s.x", "tflite")
    exported = load_exported(path)
    with pytest.raises(WavesrError, match="at least"):
        exported(torch.zeros(1, 1, min_length(model) - 1))
    with pytest.raises(WavesrError, match=r"\[batch, 1, time\]"):
        exported(torch.zeros(1, 200))
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(WavesrError):
        load_exported(tmp_path / "junk.pt")


def test_export_leaves_the_model_as_it_was(tmp_path):
    model = network("fast", 4).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    export_model(model, tmp_path / "f.pt")
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_trace_that_does_not_generalise_is_refused_and_not_written(tmp_path):
    from wavesr.models import CubicSpline

    class LengthDependent(CubicSpline):
        """Python control flow on the input length: tracing freezes the example's branch."""

        def forward(self, lr):
            y = super().forward(lr)
            return 2 * y if lr.shape[-1] > 1000 else y

    with pytest.raises(WavesrError, match="does not reproduce"):
        export_model(LengthDependent(), tmp_path / "bad.pt", example_len=2000)
    assert not list(tmp_path.iterdir())


def test_cli_export_of_a_shipped_model(tmp_path):
    from wavesr.cli import main

    out = tmp_path / "speech-x4.ts"
    assert main(["export", "speech-x4", str(out)]) == 0
    exported = load_exported(out)
    x = np.random.default_rng(0).standard_normal((1, 1, 3000)).astype(np.float32)
    reference = wavesr.load_model("speech-x4")(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(np.asarray(exported(x)), reference, atol=1e-5)
    assert main(["export", "speech-x4", str(out)]) == 1  # refuses to overwrite without --force
