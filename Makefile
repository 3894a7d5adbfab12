# The two commands a new user needs: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
HOST ?= 127.0.0.1
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
# The installs skip pip's byte-compilation of every file installed (--no-compile): torch alone
# brings some 10,000 Python files that citeqa never imports, and compiling them all took about 70 s
# of a fresh install on 2 cores. Python caches what is imported, at first use instead, so these
# targets let it write that cache even where the environment says not to.
unexport PYTHONDONTWRITEBYTECODE
PIP_INSTALL = $(BIN)/pip install -q --no-compile

.PHONY: run test test-fast install install-test lint bench sample-docs clean

# Each install step prints what it does and how long it takes on a 2-core machine.
step = @echo "==> $(1) (expected: $(2))"

$(BIN)/python:
	$(call step,[1/5] virtualenv in $(VENV),10 s)
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile --upgrade pip wheel setuptools

# torch first and pinned: a looser spec pulls the CUDA build (gigabytes) on Linux.
$(VENV)/.installed: $(BIN)/python pyproject.toml scripts/install_llama.sh scripts/llama_flags.sh scripts/llama_server.cmake scripts/install_ocr.sh
	$(call step,[2/5] torch (CPU),1 min)
	$(PIP_INSTALL) torch==2.13.0
	$(call step,[3/5] llama-cpp-python,10 s from the cache in ~/.cache/citeqa/wheels; about 4 min compiling llama.cpp the first time)
	scripts/install_llama.sh $(BIN)/python
	$(call step,[4/5] citeqa and its dependencies,1-2 min)
	$(PIP_INSTALL) -e .
	$(call step,[5/5] Tesseract OCR,30 s; nothing if installed)
	scripts/install_ocr.sh
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed scripts/install_llama_server.sh scripts/llama_flags.sh
	$(call step,[test 1/3] test dependencies,1 min)
	$(PIP_INSTALL) -e ".[dev]"
	$(call step,[test 2/3] Chromium for the browser tests,1 min; nothing if installed)
	scripts/install_browser.sh $(BIN)/python
	$(call step,[test 3/3] llama-server,5 s from the cache; about 1 min building from the llama.cpp compile of step 3)
	scripts/install_llama_server.sh $(BIN)/python
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Loopback only by default; HOST=0.0.0.0 needs CITEQA_APP_PASSWORD (the app refuses otherwise).
run: install
	$(BIN)/citeqa ingest sample_docs
	$(BIN)/citeqa app --host $(HOST) --port $(PORT)

# Test files run on TEST_WORKERS workers (each loads the models once: about 1.5 GB of memory each).
TEST_WORKERS ?= 2
test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra -n $(TEST_WORKERS) --dist loadfile

test-fast: install-test
	$(BIN)/python -m pytest -q -ra -n $(TEST_WORKERS) --dist loadfile -m "not slow"

lint: install-test
	$(BIN)/ruff check .

sample-docs: install-test
	$(BIN)/python scripts/make_sample_docs.py

bench: install-test
	$(PIP_INSTALL) -e ".[bench]"
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/answer.py

clean:
	rm -rf $(VENV) .citeqa .pytest_cache .ruff_cache
