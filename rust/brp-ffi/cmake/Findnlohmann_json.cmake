# find_package(nlohmann_json) for libbrp's C++ tests and example: an
# installed CMake package of nlohmann/json if there is one, else the headers
# of the nlohmann-json Python package of BRP_PYTHON (the test command's venv
# installs it from requirements-dev.txt). Defines nlohmann_json::nlohmann_json.
find_package(nlohmann_json ${nlohmann_json_FIND_VERSION} CONFIG QUIET)
if(NOT TARGET nlohmann_json::nlohmann_json)
  if(BRP_PYTHON)
    execute_process(
      COMMAND "${BRP_PYTHON}" -c "import nlohmann_json; print(nlohmann_json.get_include())"
      OUTPUT_VARIABLE _brp_json_hint OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  endif()
  find_path(nlohmann_json_INCLUDE_DIR nlohmann/json.hpp HINTS "${_brp_json_hint}")
  include(FindPackageHandleStandardArgs)
  find_package_handle_standard_args(nlohmann_json REQUIRED_VARS nlohmann_json_INCLUDE_DIR)
  if(nlohmann_json_FOUND)
    add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
    set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${nlohmann_json_INCLUDE_DIR}")
  endif()
endif()
