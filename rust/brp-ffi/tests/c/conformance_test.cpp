// Runs the shared conformance vectors (tests/conformance/*.json) through
// brp_request, with the matching rules of tests/conformance/README.md (the
// same as the Rust runner rust/brp/tests/conformance.rs).
//
// Usage: conformance_test <directory of vector files>

#include <brp.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool matches(const json& expected, const json& actual, const std::string& key);

bool strings_match(const std::string& expected, const std::string& actual, const std::string& key) {
  if (key == "JSON") {
    const json e = json::parse(expected, nullptr, false);
    const json a = json::parse(actual, nullptr, false);
    return !e.is_discarded() && !a.is_discarded() && matches(e, a, "");
  }
  if (expected.size() >= 2 && expected.front() == '<' && expected.back() == '>') {
    return true;
  }
  if (key == "message") {
    return actual.find(expected) != std::string::npos;
  }
  return expected == actual;
}

bool matches(const json& expected, const json& actual, const std::string& key) {
  if (expected.is_string() && actual.is_string()) {
    return strings_match(expected.get<std::string>(), actual.get<std::string>(), key);
  }
  if (expected.is_number() && actual.is_number()) {
    return expected.get<double>() == actual.get<double>();
  }
  if (expected.is_array() && actual.is_array()) {
    if (expected.size() != actual.size()) return false;
    for (size_t i = 0; i < expected.size(); ++i) {
      if (!matches(expected[i], actual[i], "")) return false;
    }
    return true;
  }
  if (expected.is_object() && actual.is_object()) {
    const bool subset = key == "error";
    if (!subset && expected.size() != actual.size()) return false;
    for (const auto& [k, e] : expected.items()) {
      if (!actual.contains(k) || !matches(e, actual[k], k)) return false;
    }
    return true;
  }
  return expected == actual;
}

// The matcher must tell differences apart, or the suite would pass vacuously.
int check_matcher() {
  const auto m = [](const char* e, const char* a) { return matches(json::parse(e), json::parse(a), ""); };
  const bool ok = m(R"({"a": {"JSON": "{ \"x\": 1.0 }"}})", R"({"a": {"JSON": "{\"x\":1}"}})") &&
                  !m(R"({"a": {"JSON": "{\"x\": 1.0}"}})", R"({"a": {"JSON": "{\"x\":2}"}})") &&
                  !m(R"({"a": 1})", R"({"a": 1, "b": 2})") &&
                  m(R"({"error": {"code": 1}})", R"({"error": {"code": 1, "message": "m"}})") &&
                  !m(R"({"error": {"code": 1}})", R"({"error": {"code": 2, "message": "m"}})") &&
                  m(R"({"error": {"message": "bad"}})", R"({"error": {"message": "a bad id"}})") &&
                  m(R"({"w": "<any>"})", R"({"w": "7"})") && !m("[1, 2]", "[2, 1]");
  if (!ok) std::cerr << "FAIL: the matcher accepts a difference or rejects a match\n";
  return ok ? 0 : 1;
}

// Sends `request` through brp_request; returns the parsed response.
json request(const brp_app* app, const std::string& text) {
  char* response = nullptr;
  if (brp_request(app, text.c_str(), &response) != BRP_STATUS_OK) {
    throw std::runtime_error(std::string("brp_request failed: ") + brp_last_error_message());
  }
  const json parsed = json::parse(response);
  brp_string_free(response);
  return parsed;
}

// Runs one vector file; returns the number of failed steps.
int run_file(const fs::path& file, int& steps_run) {
  std::ifstream in(file);
  const json vectors = json::parse(in);
  const json config = vectors.value("config", json());
  brp_app* app = nullptr;
  if (brp_app_new(config.dump().c_str(), &app) != BRP_STATUS_OK) {
    std::cerr << "FAIL " << file << ": brp_app_new: " << brp_last_error_message() << "\n";
    return 1;
  }
  int failed = 0;
  const json& steps = vectors.at("steps");
  for (size_t n = 0; n < steps.size(); ++n) {
    const json& step = steps[n];
    const std::string text =
        step.contains("request_text") ? step["request_text"].get<std::string>() : step["request"].dump();
    const json actual = request(app, text);
    ++steps_run;
    if (!matches(step["response"], actual, "")) {
      ++failed;
      std::cerr << "FAIL " << file.filename().string() << " step " << n << " (" << step.value("note", "")
                << "):\n request  " << text << "\n expected " << step["response"].dump() << "\n actual   "
                << actual.dump() << "\n";
    }
  }
  brp_app_free(app);
  return failed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: conformance_test <vector directory>\n";
    return 2;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(argv[1])) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::cerr << "no vector files in " << argv[1] << "\n";
    return 1;
  }
  int failed = check_matcher();
  int steps = 0;
  for (const auto& file : files) failed += run_file(file, steps);
  std::cout << files.size() << " vector files, " << steps - failed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}
