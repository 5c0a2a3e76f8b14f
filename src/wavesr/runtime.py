"""The fastest way this CPU runs a shipped network: ONNX Runtime where it reproduces torch, torch otherwise.

What is exported (:func:`exported_part`): BandNet's :meth:`~wavesr.models.band.BandNet.core`
(everything between the STFT and its inverse: the features, the embedding, the ConvNeXt blocks,
the heads and the output spectrum; the STFT and the synthesis stay in torch), and FastNet whole
(its skip interpolation included). It is exported to ONNX when a model is loaded for a CPU and run
by ONNX Runtime, which is faster than torch's eager kernels on both (BENCHMARKS.md). The export is
checked before it is used: on random inputs of another length its outputs must equal torch's
within :data:`TOLERANCE` (float rounding; measured about 1e-7 for BandNet's core, 1e-4 for FastNet),
else, or when onnxruntime is missing or the export fails, the model runs in torch as before. The
export is kept in the user cache (``~/.cache/wavesr/onnx``, keyed by the weights), so that a
second run starts without it; a damaged entry is exported again. Training never uses it (the
runner is only taken with gradients off), nor inputs shorter than the traced example's minimum.
"""

from __future__ import annotations

import io
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
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


class _Step(nn.Module):
    """A causal BandNet's :meth:`~wavesr.models.band.BandNet.stream_step` as a module to export."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, *arrays: torch.Tensor) -> Any:  # spectrum, levels, put-back weights, states
        return self.model.stream_step(*arrays)


@dataclass
class Part:
    """What of a network ONNX Runtime runs: a module, its inputs' names and dynamic axes, an example
    to trace and inputs of other shapes to check the export on."""

    module: nn.Module
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    dynamic: dict[Any, Any]  # the axes of every input that vary ({axis: name}), or {input: {axis: name}}
    example: tuple[torch.Tensor, ...]
    check: tuple[torch.Tensor, ...]
    reference: Any  # the torch computation the export must reproduce
    min_length: int = 1  # shortest last-but-one (BandNet: frames) or last axis (FastNet: time) it takes


def exported_part(model: Any) -> Part | None:
    """The part of ``model`` :func:`accelerate` exports, or None (another network: torch runs it)."""
    g = torch.Generator().manual_seed(0)
    example: tuple[torch.Tensor, ...]
    check: tuple[torch.Tensor, ...]
    if hasattr(model, "core"):  # BandNet: the core, on spectra [batch, frames, bins]
        frames, bins = 64, model.bins
        example = (torch.randn(1, frames, bins, generator=g), torch.randn(1, frames, bins, generator=g))
        check = tuple(torch.cat([x, x.flip(1)[:, :17]], dim=1) for x in example)  # another length
        return Part(
            _Core(model),
            ("re_in", "im_in"),
            ("out_re", "out_im"),
            {0: "batch", 1: "frames"},
            example,
            check,
            model.core,
        )
    if getattr(model, "name", "") == "fast":  # FastNet whole, on low-rate audio [batch, 1, time]
        from .export import min_length

        n = 80 * model.hop_multiple
        example = (0.1 * torch.randn(1, 1, n, generator=g),)
        check = (0.1 * torch.randn(2, 1, n + n // 2 + 7, generator=g),)
        return Part(
            model,
            ("lr",),
            ("hr",),
            {0: "batch", 2: "time"},
            example,
            check,
            lambda lr: (model(lr),),
            min_length(model),
        )
    return None


def step_part(model: Any) -> Part:
    """A causal BandNet's frame step (:meth:`~wavesr.models.band.BandNet.stream_step`) as a part to
    export: spectra ``[channels, frames, bins, 2]``, levels ``[channels, frames, 1]``, the put-back
    weights ``[2, bins]`` and the blocks' states ``[channels, width, blocks * (kernel - 1)]``."""
    g = torch.Generator().manual_seed(0)
    c, n = model.config, len(model.blocks)

    def inputs(channels: int, frames: int) -> tuple[torch.Tensor, ...]:
        return (
            torch.randn(channels, frames, model.bins, 2, generator=g),
            torch.rand(channels, frames, 1, generator=g) + 0.5,
            torch.rand(2, model.bins, generator=g),
            torch.randn(channels, c.width, n * (c.kernel - 1), generator=g),
        )

    frames = {0: "channels", 1: "frames"}
    return Part(
        _Step(model),
        ("spec", "level", "mix", "states"),
        ("out", "next"),
        {"spec": frames, "level": frames, "states": {0: "channels"}},
        inputs(1, 4),
        inputs(2, 7),
        _Step(model),
    )


def accelerate_step(model: Any) -> str:
    """Give a causal BandNet (eval, CPU) a one-thread ONNX Runtime runner of its frame step, on numpy
    arrays (``model.step_runner``, which :meth:`~wavesr.models.band.BandNet.frame_step` returns); returns
    ``"onnxruntime"``, or ``"torch"`` where it cannot (no onnxruntime, an export that fails or differs)."""
    import importlib.util

    if getattr(model, "step_runner", None) is not None:
        return "onnxruntime"
    if next(model.parameters()).device.type != "cpu" or importlib.util.find_spec("onnxruntime") is None:
        return "torch"
    part = step_part(model)
    try:
        session = _session(_onnx_bytes(model, part, name="step"), 1)
        names = [i.name for i in session.get_inputs()]

        def runner(*arrays: Any) -> tuple[Any, ...]:  # (output spectrum, next states)
            return tuple(session.run(None, dict(zip(names, arrays))))

        with torch.inference_mode():
            want = part.reference(*part.check)
        got = runner(*(x.numpy() for x in part.check))
        if max(float((a - torch.from_numpy(b)).abs().max()) for a, b in zip(want, got)) > TOLERANCE:
            return "torch"
    except Exception:  # noqa: BLE001 - any exporter or runtime failure: torch runs it
        return "torch"
    model.step_runner = runner
    return "onnxruntime"


class OrtRunner:
    """An exported part run by an ONNX Runtime session: takes and returns torch tensors (a tuple).

    It follows torch's thread count: where the caller set one thread (wavesr does for short inputs,
    :func:`wavesr.inference.threads_for`), a one-thread session made from the same export runs it."""

    def __init__(self, session: Any, min_length: int = 1, onnx: bytes | None = None) -> None:
        self.session = session
        self.names = [i.name for i in session.get_inputs()]
        self.min_length = min_length
        self.onnx = onnx  # the export, for the one-thread session
        self.single: Any = None
        self.threads = session.get_session_options().intra_op_num_threads

    def __deepcopy__(self, memo: dict[int, Any]) -> None:
        """A copy of an accelerated network runs in torch (an ONNX Runtime session cannot be copied;
        :func:`wavesr.export.export_model` traces such a copy)."""
        return None

    def __call__(self, *features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feeds = {name: x.detach().contiguous().numpy() for name, x in zip(self.names, features)}
        session = self.session
        if torch.get_num_threads() == 1 and self.threads != 1 and self.onnx is not None:
            if self.single is None:
                self.single = _session(self.onnx, 1)
            session = self.single
        return tuple(torch.from_numpy(y) for y in session.run(None, feeds))


def _session(onnx: bytes, threads: int) -> Any:
    """An ONNX Runtime session on the CPU with ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])


def _onnx_bytes(model: Any, part: Part, fresh: bool = False, name: str = "") -> bytes:
    """The ONNX export of ``model``'s part, from the user cache when it was made before (keyed by the
    weights, the config, the torch version and the traced code: the export takes most of a second),
    else made and cached (atomically; a cache that cannot be written is skipped)."""
    import hashlib

    from . import __version__
    from .data.corpus import cache_dir
    from .files import atomic_path
    from .models.base import architecture

    digest = hashlib.sha256(f"{__version__} {torch.__version__} {architecture(model.config)}".encode())
    for module in (type(model).__module__, __name__):  # the code traced: an edit exports again
        digest.update(Path(sys.modules[module].__file__ or "").read_bytes())
    for key, value in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    cached = cache_dir() / "onnx" / f"{model.name}{'-' + name if name else ''}-{digest.hexdigest()[:24]}.onnx"
    if cached.is_file() and not fresh:
        return cached.read_bytes()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            part.module.eval(),
            part.example,
            buffer,  # type: ignore[arg-type]  # a file object is accepted
            input_names=list(part.inputs),
            output_names=list(part.outputs),
            dynamic_axes=(
                part.dynamic
                if all(isinstance(k, str) for k in part.dynamic)
                else {name: part.dynamic for name in part.inputs}
            ),
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
    if getattr(model, "runner", None) is not None:  # accelerated already
        return "onnxruntime"
    part = exported_part(model)
    if part is None or next(model.parameters()).device.type != "cpu":
        return "torch"
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None:
        return "torch"
    try:
        threads = threads or torch.get_num_threads()
        onnx = _onnx_bytes(model, part)
        try:
            session = _session(onnx, threads)
        except Exception:  # noqa: BLE001 - a damaged cache entry: export again (and replace it)
            onnx = _onnx_bytes(model, part, fresh=True)
            session = _session(onnx, threads)
        runner = OrtRunner(session, part.min_length, onnx)
        with torch.inference_mode():
            want, got = part.reference(*part.check), runner(*part.check)
        if max(float((a - b).abs().max()) for a, b in zip(want, got)) > TOLERANCE:
            return "torch"
    except Exception:  # noqa: BLE001 - any exporter or runtime failure: torch runs it, as before
        return "torch"
    model.runner = runner
    return "onnxruntime"
