# The two commands a new user needs: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
HOST ?= 127.0.0.1
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: run test test-fast install install-test lint bench sample-docs clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel setuptools

# torch first and pinned: a looser spec pulls the CUDA build (gigabytes) on Linux.
$(VENV)/.installed: $(BIN)/python pyproject.toml scripts/install_llama.sh scripts/llama_flags.sh scripts/install_ocr.sh
	$(BIN)/pip install -q torch==2.13.0
	scripts/install_llama.sh $(BIN)/python
	$(BIN)/pip install -q -e .
	scripts/install_ocr.sh
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed scripts/install_llama_server.sh scripts/llama_flags.sh
	$(BIN)/pip install -q -e ".[dev]"
	scripts/install_browser.sh $(BIN)/python
	scripts/install_llama_server.sh $(BIN)/python
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Loopback only by default; HOST=0.0.0.0 needs CITEQA_APP_PASSWORD (the app refuses otherwise).
run: install
	$(BIN)/citeqa ingest sample_docs
	$(BIN)/citeqa app --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra

test-fast: install-test
	$(BIN)/python -m pytest -q -ra -m "not slow"

lint: install-test
	$(BIN)/ruff check .

sample-docs: install-test
	$(BIN)/python scripts/make_sample_docs.py

bench: install-test
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/answer.py

clean:
	rm -rf $(VENV) .citeqa .pytest_cache .ruff_cache
