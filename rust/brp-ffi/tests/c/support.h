/*
 * What every C and C++ test of the C ABI shares: the CHECK macro and its
 * summary line, the bound on waits, and an error response's code; for C++
 * also the JSON helpers (nlohmann::json).
 *
 * Each test is one translation unit, so the counters are file-local.
 */

#ifndef BRP_TESTS_SUPPORT_H
#define BRP_TESTS_SUPPORT_H

#include <brp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds every wait, only to turn a hang into a failure: long enough never
 * to expire on a loaded machine. */
#define BRP_TEST_HANG_MS 60000

static int brp_test_checks = 0;
static int brp_test_failures = 0;

/* Counts a check; reports it on stderr when `cond` is false. */
#define CHECK(cond)                                                            \
  do {                                                                         \
    ++brp_test_checks;                                                         \
    if (!(cond)) {                                                             \
      ++brp_test_failures;                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* Prints "<name>: N passed, N failed" and returns the exit status. */
static inline int brp_test_summary(const char *name) {
  printf("%s: %d passed, %d failed\n", name, brp_test_checks - brp_test_failures,
         brp_test_failures);
  return brp_test_failures == 0 ? 0 : 1;
}

/* The code of the "error" object of a response's JSON text, to compare with
 * the BRP_ERROR_* constants; 0 when `response` is NULL or not an error
 * response. (The library writes compact JSON: `"error":{"code":-23401,...`.) */
static inline long brp_test_error_code(const char *response) {
  const char *error = response == NULL ? NULL : strstr(response, "\"error\":{");
  const char *code = error == NULL ? NULL : strstr(error, "\"code\":");
  return code == NULL ? 0 : strtol(code + strlen("\"code\":"), NULL, 10);
}

#ifdef __cplusplus

#include <nlohmann/json.hpp>

#include <string>

namespace brp_test {

using json = nlohmann::json;

/* A component value in the protocol's nesting, {"JSON": "<json text>"}
 * (docs/protocol.md). */
inline json component(const json& value) { return {{"JSON", value.dump()}}; }

/* The value inside that nesting. */
inline json value_of(const json& wrapped) {
  return json::parse(wrapped.at("JSON").get<std::string>());
}

/* The code of an error response, to compare with the BRP_ERROR_*
 * constants; 0 for a response that is not an error. */
inline int error_code(const json& response) {
  return response.contains("error") ? response.at("error").at("code").get<int>() : 0;
}

}  // namespace brp_test

#endif /* __cplusplus */

#endif /* BRP_TESTS_SUPPORT_H */
