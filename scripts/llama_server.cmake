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

# Unity builds (one compiler run per batch of 16 sources, as llama.cpp already does for libllama)
# for the two libraries with the most small sources: llama-common (51 sources, the largest part of
# the compile) and mtmd (51). Measured on 2 cores, objects only: llama-common 98 s -> 48 s, mtmd
# 48 s -> 30 s. json.cpp redefines `ordered_json`, and mtmd-helper refuses mtmd's internal headers,
# so those compile on their own. Set when the top-level CMakeLists.txt is done, once the targets exist.
function(citeqa_unity_build)
  foreach(target llama-common mtmd)
    if(TARGET ${target})
      set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 16)
    endif()
  endforeach()
  if(TARGET llama-common)
    get_target_property(dir llama-common SOURCE_DIR)
    set_source_files_properties(${dir}/json.cpp TARGET_DIRECTORY llama-common
      PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
  endif()
  if(TARGET mtmd)
    get_target_property(dir mtmd SOURCE_DIR)
    set_source_files_properties(${dir}/mtmd-helper.cpp ${dir}/mtmd-helper-gen.cpp TARGET_DIRECTORY mtmd
      PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
  endif()
endfunction()

cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL citeqa_unity_build)
