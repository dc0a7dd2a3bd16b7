// A minimal check macro for the C++ tests: counts and reports failures.

#ifndef BRP_TESTS_CHECK_HPP
#define BRP_TESTS_CHECK_HPP

#include <iostream>

namespace check {
inline int failures = 0;
inline int checks = 0;

// Prints "<name>: N passed, N failed" and returns the exit code.
inline int summary(const char* name) {
  std::cout << name << ": " << checks - failures << " passed, " << failures << " failed\n";
  return failures == 0 ? 0 : 1;
}
}  // namespace check

#define CHECK(cond)                                                                          \
  do {                                                                                       \
    ++check::checks;                                                                         \
    if (!(cond)) {                                                                           \
      ++check::failures;                                                                     \
      std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK failed: " << #cond << "\n";       \
    }                                                                                        \
  } while (0)

#endif  // BRP_TESTS_CHECK_HPP
