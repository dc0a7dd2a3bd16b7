# What libbrp's C++ tests (rust/brp-ffi/tests/c) and the example
# (cpp-example) share when they build against this source tree: libbrp.a as
# the imported target brp::brp (cargo builds it; point BRP_LIB_DIR at it),
# brp_import_library() for another library with libbrp's C ABI (a game's
# own libbrp), nlohmann/json, the sanitizer option and the warnings.
# Include it after setting BRP_ROOT to the repository's root.
set(BRP_LIB_DIR "${BRP_ROOT}/target/debug" CACHE PATH
    "Directory holding libbrp.a and the games' own libraries (cargo's target/debug or target/release)")
set(BRP_INCLUDE_DIR "${BRP_ROOT}/include" CACHE PATH
    "Directory holding brp.h and brp.hpp")
set(BRP_PYTHON "" CACHE FILEPATH
    "Python with websockets, flatbuffers and nlohmann-json, to run the tests against the reference pose controller (empty: skip them)")
set(BRP_PYTHON_DIR "${BRP_ROOT}/python" CACHE PATH
    "Directory holding the brp Python package (brp.controller)")
option(BRP_SANITIZE "Build and run with AddressSanitizer, LeakSanitizer and UBSan" OFF)

find_package(Threads REQUIRED)

# brp_import_library(<target> <name>): the imported target <target> for
# lib<name>.a in BRP_LIB_DIR, a static library with libbrp's C ABI (header
# brp.h), plus the system libraries the Rust standard library needs. The
# library's path is cached as BRP_STATIC_LIBRARY_<name>.
function(brp_import_library target name)
  find_library(BRP_STATIC_LIBRARY_${name} NAMES lib${name}.a PATHS "${BRP_LIB_DIR}"
               NO_DEFAULT_PATH REQUIRED)
  add_library(${target} STATIC IMPORTED)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${BRP_STATIC_LIBRARY_${name}}"
    INTERFACE_INCLUDE_DIRECTORIES "${BRP_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m")
endfunction()

brp_import_library(brp::brp brp)

# nlohmann/json: an installed package, or the venv's (Findnlohmann_json.cmake).
list(APPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}")
find_package(nlohmann_json 3.11 REQUIRED)

if(BRP_SANITIZE)
  set(sanitizers -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_compile_options(${sanitizers})
  add_link_options(${sanitizers})
endif()
add_compile_options(-Wall -Wextra -Werror)
