# Two commands do everything on a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: run test lint install browser train-lung evaluate-lung ood-lung train-histo evaluate-histo bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	# torch first: pip takes these two builds from this machine's disk (environment.md)
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -r requirements.txt
	# the library itself, editable: inference.py, xai_models.py and workbench/ import from anywhere
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# Debian chromium for the browser test (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

run: $(STAMP)
	$(VENV)/bin/streamlit run Streamlit/app.py --server.port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP) browser lint
	$(PY) -m pytest -q tests

LUNG  := lung_xray-resnet-compact
HISTO := histopathology-resnet18-compact

train-lung: $(STAMP)
	$(PY) -m workbench.training train --recipe $(LUNG) --out models/$(LUNG)

evaluate-lung: $(STAMP)
	$(PY) -m workbench.training evaluate --recipe $(LUNG) --model $(LUNG) --n 1000

ood-lung: $(STAMP)
	$(PY) -m workbench.training ood --recipe $(LUNG) --model models/$(LUNG)

train-histo: $(STAMP)
	$(PY) -m workbench.training train --recipe $(HISTO) --out models/$(HISTO)

evaluate-histo: $(STAMP)
	$(PY) -m workbench.training evaluate --recipe $(HISTO) --model $(HISTO) --n 1000

bench: $(STAMP)
	$(PY) benchmarks/bench_methods.py --repeats 5
	$(PY) benchmarks/bench_memory.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
