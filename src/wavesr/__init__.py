"""wavesr: neural audio super-resolution.

Implements Kuleshov, Enam & Ermon, *Audio Super-Resolution Using Neural Nets* (ICLR 2017
workshop): the AudioUNet network, its baselines, data preparation, training and evaluation.

Upsampling audio from Python::

    import wavesr
    model = wavesr.load_model("speech-x4")          # a shipped model, a .pt file or a run folder
    hi, sr = model.upsample(audio, 8000)            # numpy [time] / [channels, time] or a torch tensor
    wavesr.upsample_file(model, "in.wav", "out.wav")
    live = model.stream(8000)                       # live audio: live.process(block) ..., live.flush()

The names below are imported on first use, so ``import wavesr`` does not import torch.
"""

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_model": "wavesr.pretrained",
    "available_models": "wavesr.pretrained",
    "pick_model": "wavesr.pretrained",
    "ModelInfo": "wavesr.pretrained",
    "upsample_array": "wavesr.inference",
    "upsample_file": "wavesr.audiofiles",
    "UpsampleResult": "wavesr.audiofiles",
    "upsample_batch": "wavesr.batch",
    "LiveStream": "wavesr.live",
    "WavesrError": "wavesr.errors",
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wavesr' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
