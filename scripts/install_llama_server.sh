#!/usr/bin/env bash
# Builds llama.cpp's own OpenAI-compatible server (`llama-server`) from the llama.cpp that
# llama-cpp-python vendors, and puts it in the virtualenv's bin/ folder.
#
# Why: llama-cpp-python's server answers one request at a time, while `llama-server --parallel N`
# batches N requests in one decode. It is the server the remote-model tests and bench/remote.py run
# against for "several questions at once" (CITEQA_LLM_URL). The build (a few minutes) is kept in a
# cache folder keyed by version and flags, so later installs only copy it.
# Same flags as scripts/install_llama.sh: AMX kernels off on x86-64, Metal on Apple Silicon;
# CITEQA_LLAMA_CMAKE_ARGS overrides them (e.g. "-DGGML_CUDA=on").
set -euo pipefail
PY=${1:-.venv/bin/python}
VERSION=${LLAMA_CPP_VERSION:-0.3.36}
CACHE=${CITEQA_WHEEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/citeqa/wheels}
BIN=$(dirname "$PY")

# shellcheck source=scripts/llama_flags.sh
. "$(dirname "$0")/llama_flags.sh"

key=$(printf 'server|%s|%s|%s' "$VERSION" "$cmake_args" "$cflags" | sha1sum | cut -c1-12)
built="$CACHE/llama-server-$key/llama-server"

if [ ! -x "$built" ]; then
  if ! command -v cmake >/dev/null; then  # the registry's cmake, where the system has none
    "$PY" -m pip install -q cmake
    export PATH="$BIN:$PATH"
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "building llama.cpp's llama-server ($VERSION, $cmake_args); this takes a few minutes"
  "$PY" -m pip download -q --no-deps --no-binary :all: -d "$work" "llama-cpp-python==$VERSION"
  tar -xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
  src=$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)
  # Static, so the one binary can be copied; no curl, no web UI, only the server target.
  # The compiler's warnings go to a log, shown only if the build fails.
  log="$work/build.log"
  # shellcheck disable=SC2086
  if ! { CFLAGS="$cflags" CXXFLAGS="$cflags" cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
           -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF \
           -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON $cmake_args \
         && cmake --build "$work/build" --target llama-server -j "$(nproc)"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2; echo "building llama-server failed" >&2; exit 1
  fi
  mkdir -p "$(dirname "$built")"
  cp "$work/build/bin/llama-server" "$built.tmp" && mv "$built.tmp" "$built"
fi
cp "$built" "$BIN/llama-server"
"$BIN/llama-server" --version >/dev/null 2>&1 || { echo "llama-server was built but does not start" >&2; exit 1; }
echo "llama-server installed in $BIN"
