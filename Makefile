# Two commands do all the set-up on a fresh machine (see README.md):
#   make run    install, fetch the default speech corpus, prepare it, train and report
#   make test   install, fetch what the tests need, run the test suite
# Everything lives in .venv; torch is pinned to the CPU build on disk (2.13.0) so that no
# install ever pulls CUDA packages.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA   ?= data
RATIO  ?= 4

.PHONY: install system-deps corpora run test lint bench clean

$(BIN)/wavesr: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,piano]'
	touch $@

install: $(BIN)/wavesr

# Debian packages the default corpora, the browser test and the lossy-file tests (ffmpeg) use
# (needs root; skipped otherwise).
system-deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    fluidsynth fluid-soundfont-gm chromium ffmpeg >/dev/null; \
	else echo "not root: skipping apt-get install (fluidsynth fluid-soundfont-gm chromium ffmpeg)"; fi

# build each default corpus unless one is already built (any settings: `wavesr corpus build NAME --force`
# rebuilds), one after the other: a build's decoding already takes both cores (two at a time were slower)
CORPORA := speech speech-single piano music speech-fullband music-fullband
LIMIT_music := --limit 6
LIMIT_music-fullband := --limit 24

corpus-%: install
	$(BIN)/wavesr corpus show $* >/dev/null 2>&1 || $(BIN)/wavesr corpus build $* $(LIMIT_$*)

corpora: install system-deps $(addprefix corpus-,$(CORPORA))

MINUTES ?= 5
RUN    := runs/fast-speech-x$(RATIO)

# the main job on the default data: corpus -> patches -> a short training run -> held-out evaluation
# of that run, the shipped model and the baselines (with figures and audio) -> the samples page
run: install corpus-speech $(DATA)/speech-x$(RATIO)/train/settings.json $(RUN)/model.pt
	$(BIN)/wavesr evaluate cubic bandlimited speech-x$(RATIO) mine=$(RUN)/best.pt --corpus speech --split test \
	    --ratios $(RATIO) --max-files 100 --figures 3 --save-audio 4 --no-pesq --no-stoi -o runs/eval-speech-x$(RATIO)
	$(BIN)/wavesr samples runs/eval-speech-x$(RATIO) -o runs/samples-speech-x$(RATIO) --force
	@echo "samples page: runs/samples-speech-x$(RATIO)/index.html"

$(DATA)/speech-x$(RATIO)/train/settings.json:
	$(BIN)/wavesr prepare speech --split all -o $(DATA)/speech-x$(RATIO) --ratio $(RATIO) --silence-db -60

$(RUN)/model.pt:
	if [ -f $(RUN)/last.pt ]; then $(BIN)/wavesr train --resume $(RUN); else \
	  $(BIN)/wavesr train $(DATA)/speech-x$(RATIO)/train --val $(DATA)/speech-x$(RATIO)/val -o $(RUN) \
	    --model fast --set skip='"sinc"' --loss rmse+logspec --stft-weight 1e-4 --lr 3e-4 --batch-size 16 \
	    --max-minutes $(MINUTES) --epochs 100 --val-files 16; fi

# the suite on up to 4 worker processes (pytest-xdist; one per core), each and its subprocesses on one
# thread (threads of several workers on the same cores would spin against each other)
test: install corpora
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n auto --maxprocesses 4 --durations=15

# style and types: ruff's lint and formatter, mypy (strict on the public API; settings in
# pyproject.toml); CI runs it before the tests
lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# the quick benchmarks (under 20 minutes): speed of every network, every network trained for the same
# minute on speech x4 and scored on held-out voices (the paper-size AudioUNets, minutes per step here, only
# in the full run), then the load test; see BENCHMARKS.md for the full ones
bench: install corpus-speech
	$(BIN)/python benchmarks/speed.py --quick --out runs/bench_speed_quick.json
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/equal_budget.py --minutes 1 --eval-files 30 --out runs/equal-budget-quick \
	    --networks "fast (m,fast (s,audiounet r,dnn"
	$(BIN)/python benchmarks/load_test.py

clean:
	rm -rf $(VENV) $(DATA) runs
