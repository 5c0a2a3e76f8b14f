"""Export a wavesr network for inference without wavesr: TorchScript or ONNX.

An exported model is one file that maps low-rate audio ``lr [batch, 1, time_lr]`` (float32) to
``[batch, 1, time_lr * ratio]``, interpolation included, for any batch and any length from
:func:`min_length` up; it runs in libtorch (C++) or any ONNX runtime without Python code
from wavesr.

It is the bare network, as trained: it expects inputs from its training channel (``model.channel``;
``decimate`` for the shipped models) and runs one pass. ``wavesr upsample`` also puts real audio
through that channel first and can average several passes (:mod:`wavesr.inference`); a caller of
an exported file does that itself, or feeds it decimated audio.

Method
------
Both formats record the network by *tracing* it on an example input of ``example_len``
low-rate samples (``torch.jit.trace``; ``torch.onnx.export`` with its TorchScript-based
exporter, ``dynamo=False``, batch and time axes marked dynamic). Tracing records tensor
operations and shape arithmetic but freezes Python control flow at the example's branch:
the cubic spline's dense path for inputs shorter than ``spline.MIN_LENGTH`` low-rate samples,
and AudioUNet's choice between reflection and zero padding. So:

- ``example_len`` must be at least :func:`min_length`, and for AudioUNet it is nudged until its
  high-rate length needs padding (otherwise the padding would be traced away);
- inputs shorter than :func:`min_length` are refused by :class:`ExportedModel`;
- every export is *verified* before it is written: the exported file is loaded and run on
  batches of two inputs of two other lengths (one of them :func:`min_length`), and compared
  with the eager network (maximum absolute
  difference at most ``1e-4`` of the output's peak, float32). A trace that does not generalise
  raises :class:`~wavesr.errors.WavesrError` and leaves no file behind.

Settings (network name and config, ratio, sample rate, format, minimum length, versions, the
verification error) travel inside the file -- TorchScript ``extra_files`` entry ``wavesr.json``,
ONNX ``metadata_props`` key ``wavesr`` -- and in ``<file>.json`` beside it. Files are written
atomically. ONNX needs the optional packages ``onnx`` and ``onnxruntime``
(``pip install onnx onnxruntime``). The DNN baseline exports to TorchScript only: the ONNX
exporter has no complex-valued STFT.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from . import __version__
from .errors import WavesrError
from .files import atomic_path, check_writable, write_json
from .models.base import Upsampler
from .models.spline import MIN_LENGTH

FORMATS = ("torchscript", "onnx")
METADATA_KEY = "wavesr"  # ONNX metadata_props key; TorchScript extra file "wavesr.json"
DEFAULT_EXAMPLE_LEN = 4001  # low-rate samples of the tracing example (about 1 s at 4 kHz)
ONNX_OPSET = 17
VERIFY_RTOL = 1e-4  # tolerated difference, relative to the output's peak


def min_length(model: Upsampler) -> int:
    """Shortest input (low-rate samples) an exported ``model`` handles: the spline's dense path
    and AudioUNet's reflection padding are frozen by tracing."""
    multiple = int(getattr(model, "multiple", 1))  # AudioUNet pads to a multiple of this (high rate)
    return max(MIN_LENGTH, -(-multiple // model.ratio))


def _example_len(model: Upsampler, requested: int) -> int:
    n = max(int(requested), min_length(model))
    multiple = int(getattr(model, "multiple", 1))
    while multiple > 1 and (n * model.ratio) % multiple == 0:  # the example must need padding
        n += 1
    return n


def _onnx_modules() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise WavesrError(
            "ONNX export needs the packages onnx and onnxruntime (pip install onnx onnxruntime)"
        ) from None
    return onnx, onnxruntime


@contextlib.contextmanager
def _quiet_jit() -> Iterator[None]:
    """Silence torch.jit's deprecation notices (torch >= 2.10) and the tracer's warnings about
    frozen Python control flow: both are expected here, and every export is verified."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.")
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        yield


def _write_torchscript(model: Upsampler, example: Tensor, path: Path, info: dict[str, Any]) -> None:
    with _quiet_jit():
        traced = torch.jit.trace(model, example, check_trace=False)
        torch.jit.save(traced, str(path), _extra_files={"wavesr.json": json.dumps(info)})


def _write_onnx(model: Upsampler, example: Tensor, path: Path, info: dict[str, Any]) -> None:
    onnx, _ = _onnx_modules()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (example,),
                str(path),
                input_names=["lr"],
                output_names=["hr"],
                dynamic_axes={"lr": {0: "batch", 2: "time_lr"}, "hr": {0: "batch", 2: "time"}},
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
    except Exception as e:  # the exporter raises many types for unsupported operators
        reason = " ".join(str(e).split())[:200]
        raise WavesrError(
            f"{model.name}: cannot be exported to ONNX ({type(e).__name__}: {reason})"
        ) from None
    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(info)
    onnx.save(proto, str(path))


def export_model(
    model: Upsampler,
    path: str | os.PathLike,
    format: str = "torchscript",
    example_len: int = DEFAULT_EXAMPLE_LEN,
    force: bool = False,
) -> Path:
    """Export ``model`` to ``path`` (atomically), verified against the eager network.

    Parameters
    ----------
    model : a wavesr network (any device, any mode; it is not changed: a float32 CPU copy in
        eval mode is exported).
    path : destination, conventionally ``.pt`` for TorchScript and ``.onnx`` for ONNX. Its
        settings are also written to ``<path>.json``.
    format : ``"torchscript"`` or ``"onnx"``.
    example_len : low-rate samples of the tracing example (raised to :func:`min_length`).
    force : replace existing files.

    Returns
    -------
    ``path``.
    """
    if format not in FORMATS:
        raise WavesrError(f"unknown export format {format!r} (choose from {', '.join(FORMATS)})")
    if format == "onnx":
        _onnx_modules()
    path, sidecar = Path(path), Path(f"{path}.json")
    for p in (path, sidecar):  # before any work; with force, only what wavesr made is replaced
        check_writable(p, force)
    model = copy.deepcopy(model).cpu().float().eval()
    n = _example_len(model, example_len)
    generator = torch.Generator().manual_seed(0)
    example = 0.1 * torch.randn(1, 1, n, generator=generator)
    info: dict[str, Any] = {
        "format": format,
        "model": model.name,
        "config": dataclasses.asdict(model.config),
        "ratio": model.ratio,
        "sr": model.sr,
        "min_length": min_length(model),
        "example_len": n,
        "input": "lr [batch, 1, time_lr] float32",
        "output": "[batch, 1, time_lr * ratio] float32",
        "trained_on": model.channel,  # the audio.degrade channel(s) its inputs came from (module docstring)
        "wavesr_version": __version__,
        "torch_version": torch.__version__,
    }
    # verified on a batch of two at other lengths: longer than the example, and the shortest allowed
    checks = [0.1 * torch.randn(2, 1, m, generator=generator) for m in (n + n // 2 + 7, min_length(model))]
    with torch.no_grad():
        expected = [model(x) for x in checks]
    with atomic_path(path, force=force) as tmp:
        if format == "torchscript":
            _write_torchscript(model, example, tmp, info)
        else:
            _write_onnx(model, example, tmp, info)
        exported = load_exported(tmp)
        error = max(float((exported(x) - y).abs().max()) for x, y in zip(checks, expected))
        scale = max(1.0, *(float(y.abs().max()) for y in expected))
        if not error <= VERIFY_RTOL * scale:  # also catches NaN
            raise WavesrError(
                f"{model.name}: the {format} export does not reproduce the network on inputs "
                f"of other lengths (max difference {error:.2e}); not written"
            )
    info["verified_max_abs_error"] = error
    write_json(sidecar, info)
    return path


class ExportedModel:
    """An exported network, callable like the original network.

    ``[batch, 1, time_lr]`` -> ``[batch, 1, time_lr * ratio]``.

    Takes and returns float32 torch tensors or numpy arrays (the type it is given).
    ``info`` holds the settings written at export (``ratio``, ``sr``, ``model``, ``config``, ...).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise WavesrError(f"{self.path}: no such file")
        if zipfile.is_zipfile(self.path):
            self.format = "torchscript"
            extra = {"wavesr.json": ""}
            try:
                with _quiet_jit():
                    self._module = torch.jit.load(str(self.path), map_location="cpu", _extra_files=extra)
            except RuntimeError as e:
                raise WavesrError(
                    f"{self.path}: not a readable TorchScript file ({str(e).splitlines()[0][:120]})"
                ) from None
            raw = extra["wavesr.json"]
        else:
            self.format = "onnx"
            onnx, ort = _onnx_modules()
            try:
                self._session = ort.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
            except Exception as e:  # onnxruntime raises its own exception types
                raise WavesrError(
                    f"{self.path}: neither TorchScript nor a readable ONNX model ({str(e)[:120]})"
                ) from None
            raw = self._session.get_modelmeta().custom_metadata_map.get(METADATA_KEY, "")
        try:
            self.info: dict[str, Any] = json.loads(raw)
        except (json.JSONDecodeError, TypeError):
            raise WavesrError(
                f"{self.path}: not exported by wavesr (no '{METADATA_KEY}' settings inside)"
            ) from None

    @property
    def ratio(self) -> int:
        return int(self.info["ratio"])

    @property
    def sr(self) -> int:
        return int(self.info["sr"])

    def __call__(self, lr: Tensor | np.ndarray) -> Tensor | np.ndarray:
        if lr.ndim != 3 or lr.shape[1] != 1:
            raise WavesrError(
                f"an exported network takes [batch, 1, time] low-rate audio, got shape {list(lr.shape)}"
            )
        if lr.shape[-1] < self.info["min_length"]:
            raise WavesrError(
                f"{self.path}: inputs need at least {self.info['min_length']} low-rate samples, "
                f"got {lr.shape[-1]} (pad them)"
            )
        is_numpy = isinstance(lr, np.ndarray)
        if self.format == "torchscript":
            if isinstance(lr, np.ndarray):
                x = torch.from_numpy(np.ascontiguousarray(lr, dtype=np.float32))
            else:
                x = lr.float()
            with torch.inference_mode():
                y = self._module(x)
            return y.numpy() if is_numpy else y
        arr = np.ascontiguousarray(
            lr if isinstance(lr, np.ndarray) else lr.detach().cpu().numpy(), dtype=np.float32
        )
        y = self._session.run(None, {"lr": arr})[0]
        return y if is_numpy else torch.from_numpy(y)


def load_exported(path: str | os.PathLike) -> ExportedModel:
    """Load a file written by :func:`export_model` (format recognised from its content)."""
    return ExportedModel(path)
