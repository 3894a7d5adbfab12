# Injected into llama-cpp-python's CMake build (CMAKE_PROJECT_INCLUDE, read at each project() call)
# by scripts/install_llama.sh so that the one llama.cpp compile serves both the Python binding and
# llama.cpp's `llama-server`: at llama.cpp's project() the server's targets are added to the same
# build tree (the targets they link are named here and resolved when CMake generates), left out of
# the wheel's build (EXCLUDE_FROM_ALL), and built later with `cmake --build <tree> --target llama-server`, which
# compiles only the server's own sources and links the binding's already-built libraries.
# The server finds those libraries where the wheel installs them (CITEQA_SERVER_RPATH, relative to
# the server's folder, e.g. ../lib/python3.11/site-packages/lib from the virtualenv's bin/).
if(NOT PROJECT_NAME STREQUAL "llama.cpp")
  return()
endif()

function(citeqa_add_llama_server)
  # Static server libraries; libllama, libggml*, libllama-common and libmtmd stay shared (the wheel's).
  set(BUILD_SHARED_LIBS OFF)
  # No download of the prebuilt web UI at build time: citeqa talks to the server's API only.
  set(LLAMA_USE_PREBUILT_UI OFF)
  add_subdirectory(${PROJECT_SOURCE_DIR}/tools/ui ${PROJECT_BINARY_DIR}/citeqa-ui EXCLUDE_FROM_ALL)
  add_subdirectory(${PROJECT_SOURCE_DIR}/tools/server ${PROJECT_BINARY_DIR}/citeqa-server EXCLUDE_FROM_ALL)
  if(APPLE)
    set(origin "@loader_path")
  else()
    set(origin "$ORIGIN")
  endif()
  set_target_properties(llama-server PROPERTIES
    BUILD_WITH_INSTALL_RPATH TRUE
    INSTALL_RPATH "${origin}/${CITEQA_SERVER_RPATH};${origin}")
endfunction()

citeqa_add_llama_server()
