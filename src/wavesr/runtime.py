"""The fastest way this CPU runs a shipped network: ONNX Runtime where it reproduces torch, torch otherwise.

BandNet's :meth:`~wavesr.models.band.BandNet.core` (everything between the STFT and its inverse:
the features, the embedding, the ConvNeXt blocks, the heads and the output spectrum) is exported
to ONNX when a model is loaded for a CPU and run by ONNX Runtime, which is faster than torch's
eager kernels on it (BENCHMARKS.md); the STFT and the synthesis stay in torch. The export is
checked before it is used: on random spectra its outputs must equal torch's within
:data:`TOLERANCE` (float rounding; measured about 1e-7), else, or when onnxruntime is missing or
the export fails, the model runs in torch as before. The export is kept in the user cache
(``~/.cache/wavesr/onnx``, keyed by the weights), so that a second run starts without it; a
damaged entry is exported again. Training never uses it (the runner is only taken with gradients
off).
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import torch
from torch import nn

TOLERANCE = 1e-3  # largest difference from torch's outputs an exported core may have


class _Core(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, re_in: torch.Tensor, im_in: torch.Tensor) -> Any:
        return self.model.core(re_in, im_in)


class OrtCore:
    """A BandNet core run by an ONNX Runtime session: takes and returns torch tensors."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.names = [i.name for i in session.get_inputs()]

    def __call__(self, *features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feeds = {name: x.detach().contiguous().numpy() for name, x in zip(self.names, features)}
        return tuple(torch.from_numpy(y) for y in self.session.run(None, feeds))


def _onnx_bytes(model: Any, example: tuple[torch.Tensor, ...], fresh: bool = False) -> bytes:
    """The ONNX export of ``model``'s core, from the user cache when it was made before (keyed by the
    weights, the config and the torch version: the export takes most of a second), else made and
    cached (atomically; a cache that cannot be written is skipped)."""
    import hashlib

    from . import __version__
    from .data.corpus import cache_dir
    from .files import atomic_path

    digest = hashlib.sha256(f"{__version__} {torch.__version__} {model.config}".encode())
    for key, value in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    cached = cache_dir() / "onnx" / f"{model.name}-{digest.hexdigest()[:24]}.onnx"
    if cached.is_file() and not fresh:
        return cached.read_bytes()
    buffer = io.BytesIO()
    names = ["re_in", "im_in"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Core(model).eval(),
            example,
            buffer,  # type: ignore[arg-type]  # a file object is accepted
            input_names=names,
            output_names=["out_re", "out_im"],
            dynamic_axes={name: {0: "batch", 1: "frames"} for name in names},
            opset_version=17,
            dynamo=False,
        )
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached, force=True, ours=True) as tmp:
            tmp.write_bytes(buffer.getvalue())
    except OSError:
        pass
    return buffer.getvalue()


def accelerate(model: Any, threads: int | None = None) -> str:
    """Give ``model`` (in eval mode, on the CPU) the fastest runner that reproduces it; returns
    ``"onnxruntime"`` or ``"torch"`` (what it runs with)."""
    if not hasattr(model, "core") or next(model.parameters()).device.type != "cpu":
        return "torch"
    try:
        import onnxruntime as ort
    except ImportError:
        return "torch"
    frames = 64
    example = (torch.randn(1, frames, model.bins), torch.randn(1, frames, model.bins))
    try:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        cpu = ["CPUExecutionProvider"]
        try:
            session = ort.InferenceSession(_onnx_bytes(model, example), options, providers=cpu)
        except Exception:  # noqa: BLE001 - a damaged cache entry: export again (and replace it)
            session = ort.InferenceSession(_onnx_bytes(model, example, fresh=True), options, providers=cpu)
        runner = OrtCore(session)
        check = tuple(torch.cat([x, x.flip(1)[:, :17]], dim=1) for x in example)  # another length
        with torch.inference_mode():
            want, got = model.core(*check), runner(*check)
        if max(float((a - b).abs().max()) for a, b in zip(want, got)) > TOLERANCE:
            return "torch"
    except Exception:  # noqa: BLE001 - any exporter or runtime failure: torch runs it, as before
        return "torch"
    model.runner = runner
    return "onnxruntime"
