"""Corpora (paper data sets, any folder, default corpora) and prepared patch datasets."""
