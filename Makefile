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

.PHONY: install system-deps corpora run test bench clean

$(BIN)/wavesr: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,piano]'
	touch $@

install: $(BIN)/wavesr

# Debian packages the default corpora and the browser test use (needs root; skipped otherwise).
system-deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    fluidsynth fluid-soundfont-gm chromium >/dev/null; \
	else echo "not root: skipping apt-get install (fluidsynth fluid-soundfont-gm chromium)"; fi

corpora: install system-deps
	$(BIN)/wavesr corpus build speech
	$(BIN)/wavesr corpus build speech-single
	$(BIN)/wavesr corpus build piano
	$(BIN)/wavesr corpus build music --limit 6

run: install corpora
	$(BIN)/wavesr prepare speech --split all -o $(DATA)/speech-x$(RATIO) --ratio $(RATIO)

test: install corpora
	$(BIN)/python -m pytest -q

# the quick benchmarks (minutes): speed of every network, then the load test; see BENCHMARKS.md
bench: install
	$(BIN)/python benchmarks/speed.py --quick --out runs/bench_speed_quick.json
	$(BIN)/python benchmarks/load_test.py

clean:
	rm -rf $(VENV) $(DATA) runs
