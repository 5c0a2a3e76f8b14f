"""Reports: spectrogram figures (Figure 2 of the paper) and the static samples page.

:mod:`wavesr.report.plots` draws stacked spectrograms (high-res / low-res / super-resolved /
cubic) with matplotlib's Agg backend; :mod:`wavesr.report.samples` turns evaluation folders
(``wavesr evaluate --save-audio N``) into a self-contained HTML page with audio players.
"""
