#!/usr/bin/env bash
# Puts llama.cpp's own OpenAI-compatible server (`llama-server`) in the virtualenv's bin/ folder,
# built from the same llama.cpp compile as citeqa's llama-cpp-python (scripts/install_llama.sh).
#
# Why: llama-cpp-python's server answers one request at a time, while `llama-server --parallel N`
# batches N requests in one decode. It is the server the remote-model tests and bench/remote.py run
# against for "several questions at once" (CITEQA_LLM_URL).
#
# How: install_llama.sh keeps the wheel's CMake build tree, with the server's targets added but not
# built (scripts/llama_server.cmake). Here only `llama-server` is built in that tree: its own dozen
# sources, linked against the ggml and llama libraries the wheel already holds (it finds them in the
# virtualenv's site-packages/lib at run time). The binary is cached beside the wheel, keyed by
# version, flags and that library path, so later installs only copy it; the build tree is then
# removed. A cached wheel without a tree (made before this script kept one) is compiled again, once,
# so that llama.cpp is never compiled a second time just for the server.
set -euo pipefail
PY=${1:-.venv/bin/python}
VERSION=${LLAMA_CPP_VERSION:-0.3.36}
CACHE=${CITEQA_WHEEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/citeqa/wheels}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$(dirname "$PY")" && pwd)

# shellcheck source=scripts/llama_flags.sh
. "$HERE/llama_flags.sh"

key=$(llama_key "$VERSION")
tree="$CACHE/llama-$key"
rpath=$(server_rpath "$PY")
built="$CACHE/llama-server-$(printf 'shared|%s|%s' "$key" "$rpath" | sha1sum | cut -c1-12)/llama-server"
# What the earlier scripts cached: a static llama-server compiled on its own. Still good.
legacy="$CACHE/llama-server-$(printf 'server|%s|%s|%s' "$VERSION" "$cmake_args" "$cflags" | sha1sum | cut -c1-12)/llama-server"

if [ -x "$legacy" ] && [ ! -x "$built" ]; then
  built=$legacy
elif [ ! -x "$built" ]; then
  if [ ! -f "$tree/build/build.ninja" ] || [ "$(cat "$tree/build/citeqa-rpath" 2>/dev/null)" != "$rpath" ]; then
    echo "==> the cached llama-cpp-python build has no build tree for llama-server: compiling it again, once"
    "$HERE/install_llama.sh" "$PY" --rebuild
  fi
  step_start=$(date +%s)
  echo "==> building llama-server from the same llama.cpp compile (its own sources only)"
  echo "    expected: about 1 min on 2 cores (once per machine; cached in $(dirname "$built"))"
  export PATH="$BIN:$PATH"  # the cmake and ninja install_llama.sh used, if they came from pip
  log="$tree/server-build.log"
  if ! cmake --build "$tree/build" --target llama-server -j "$(nproc)" >"$log" 2>&1; then
    tail -n 40 "$log" >&2; echo "building llama-server failed (log: $log)" >&2; exit 1
  fi
  mkdir -p "$(dirname "$built")"
  cp "$(find "$tree/build" -name llama-server -type f -perm -u+x | head -n 1)" "$built.tmp" && mv "$built.tmp" "$built"
  rm -rf "$tree/build" "$tree/src"  # the wheel stays; the tree has served its purpose
  echo "    built in $(( $(date +%s) - step_start )) s"
fi
cp "$built" "$BIN/llama-server"
"$BIN/llama-server" --version >/dev/null 2>&1 || { echo "llama-server was built but does not start" >&2; exit 1; }
echo "llama-server installed in $BIN"
