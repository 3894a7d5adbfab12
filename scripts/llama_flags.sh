# Sourced by install_llama.sh and install_llama_server.sh: llama.cpp's build flags for this machine.
# x86-64: AMX kernels off (they crash on CPUs that report AMX without kernel support).
# Apple Silicon: Metal. CITEQA_LLAMA_CMAKE_ARGS overrides them (e.g. "-DGGML_CUDA=on").
# Sets cmake_args and cflags; defines llama_key and server_rpath.
arch=$(uname -m)
if [ -n "${CITEQA_LLAMA_CMAKE_ARGS:-}" ]; then
  cmake_args=$CITEQA_LLAMA_CMAKE_ARGS; cflags=""
elif [ "$arch" = "x86_64" ] || [ "$arch" = "amd64" ]; then
  cmake_args="-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
  cflags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
elif [ "$(uname -s)" = "Darwin" ]; then
  cmake_args="-DGGML_METAL=on"; cflags=""
else
  cmake_args=""; cflags=""
fi

# The cache key of a llama-cpp-python build: version and flags (pip's wheel cache ignores CMAKE_ARGS).
llama_key() {
  printf '%s|%s|%s' "$1" "$cmake_args" "$cflags" | sha1sum | cut -c1-12
}

# Where a llama-server in the virtualenv's bin/ finds the libraries the llama-cpp-python wheel
# installs (site-packages/lib: libllama, libggml*, libllama-common, libmtmd), relative to bin/.
server_rpath() {
  "$1" -c 'import os, sysconfig; print(os.path.relpath(sysconfig.get_path("platlib"), sysconfig.get_path("scripts")) + "/lib")'
}
