# Two commands do everything on a fresh machine:
#   make demo   creates .venv, installs, trains the default autoencoder on digits, writes runs/demo/report.html
#   make test   installs the dev extras and runs ruff and the test suite
#
# torch is installed from the pin below (the CPU wheel). GPU users install their own torch into
# .venv first and pass TORCH= (empty) so the pin is skipped:  make demo TORCH=

PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin

.PHONY: demo test install dev lint bench clean

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
	@rm -rf runs/demo
	$(BIN)/generativa train ae_digits --out runs/demo
	@$(BIN)/generativa report runs/demo >/dev/null
	@echo "report: $(CURDIR)/runs/demo/report.html"

lint: $(VENV)/.dev
	$(BIN)/ruff check .

test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/train_throughput.py

clean:
	rm -rf $(VENV) runs .cache-test
