"""The networks: one module per network, each registered by name in :data:`MODELS`.

``spline`` (the cubic B-spline baseline), ``audiounet`` (Kuleshov et al., 2017), ``dnn``
(Li et al., 2015). To add a network, decorate its class with ``@register("name")`` in its own
module and import that module here.
"""

from .audiounet import AudioUNet, AudioUNetConfig, subpixel1d
from .band import BandConfig, BandNet
from .base import (
    MODELS,
    Upsampler,
    UpsamplerConfig,
    build_model,
    count_parameters,
    load_model_file,
    model_from_checkpoint,
    read_checkpoint,
    register,
    save_model,
)
from .dnn import DNN, DNNConfig
from .fast import FastBandConfig, FastBandNet, FastConfig, FastNet
from .spline import CubicSpline, SplineConfig, cubic_upsample

__all__ = [
    "MODELS",
    "Upsampler",
    "UpsamplerConfig",
    "build_model",
    "count_parameters",
    "load_model_file",
    "model_from_checkpoint",
    "read_checkpoint",
    "register",
    "save_model",
    "CubicSpline",
    "SplineConfig",
    "cubic_upsample",
    "AudioUNet",
    "AudioUNetConfig",
    "subpixel1d",
    "DNN",
    "DNNConfig",
    "FastNet",
    "FastConfig",
    "FastBandNet",
    "FastBandConfig",
    "BandNet",
    "BandConfig",
]
