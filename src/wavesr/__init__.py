"""wavesr: neural audio super-resolution.

Implements Kuleshov, Enam & Ermon, *Audio Super-Resolution Using Neural Nets* (ICLR 2017
workshop): the AudioUNet network, its baselines, data preparation, training and evaluation.
"""

__version__ = "0.1.0"
