# Two commands do everything on a fresh machine:
#   make demo   creates .venv, installs, trains a GAN on the procedural faces (about 2 minutes), writes runs/demo/report.html
#   make test   installs the dev extras and runs ruff and the test suite (make test-slow: the long tests)
#
# torch is installed from the pin below (the CPU wheel). GPU users install their own torch into
# .venv first and pass TORCH= (empty) so the pin is skipped:  make demo TORCH=

PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin

.PHONY: demo test test-slow install dev lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(if $(TORCH),$(BIN)/pip install -q "$(TORCH)")
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[dev,explore]"
	@touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev

demo: $(VENV)/.installed
	$(BIN)/generativa train dcgan_faces --out runs/demo --overwrite
	@$(BIN)/generativa sample runs/demo --n 64 --out runs/demo/faces.png >/dev/null
	@$(BIN)/generativa report runs/demo >/dev/null
	@echo "samples: $(CURDIR)/runs/demo/faces.png"
	@echo "report:  $(CURDIR)/runs/demo/report.html"

lint: $(VENV)/.dev
	$(BIN)/ruff check .

test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-slow: $(VENV)/.dev
	$(BIN)/python -m pytest -m slow

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/train_throughput.py

clean:
	rm -rf $(VENV) runs .cache-test
