// Tests of the C++ wrapper brp.hpp: ownership, moves, and failures thrown
// as brp::Error with the status and the library's message.

#include <brp.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "support.h"

using brp_test::error_code;
using brp_test::json;
using brp_test::value_of;

static_assert(!std::is_copy_constructible_v<brp::App> && std::is_nothrow_move_constructible_v<brp::App>);
static_assert(!std::is_copy_assignable_v<brp::Session> && std::is_nothrow_move_assignable_v<brp::Session>);

namespace {

// Runs `f`, which must throw brp::Error with `status` and a message
// containing `needle`.
template <typename F>
void check_throws(F f, brp_status status, const std::string& needle) {
  try {
    f();
    CHECK(!"no brp::Error thrown");
  } catch (const brp::Error& error) {
    CHECK(error.status() == status);
    CHECK(std::string(error.what()).find(needle) != std::string::npos);
  }
}

void failures_throw() {
  check_throws([] { brp::App("{\"bogus\": 1}"); }, BRP_STATUS_INVALID_CONFIG, "brp_app_new: invalid app config");
  const brp::App app;
  check_throws([&] { app.register_component("id"); }, BRP_STATUS_INVALID_COMPONENT, "reserved");
  check_throws([&] { app.request("\xff"); }, BRP_STATUS_INVALID_UTF8, "request_json is not valid UTF-8");
  check_throws([&] { app.request(std::string("{}\0{}", 5)); }, BRP_STATUS_INVALID_UTF8, "NUL byte");
}

void moves_transfer_ownership() {
  brp::App app(R"({"components": ["Position"]})");
  brp::App moved = std::move(app);
  CHECK(app.get() == nullptr);
  CHECK(moved.get() != nullptr);
  check_throws([&] { app.update(); }, BRP_STATUS_NULL_ARGUMENT, "brp_app_update: app is NULL");

  const json spawned = json::parse(moved.request(
      R"({"id": 1, "request": "SPAWN", "params": {"components": {"Position": {"JSON": "{\"x\": 1}"}}}})"));
  CHECK(spawned["response"]["entity"] == "1v0");

  brp::Session session = moved.session();
  brp::Session other = std::move(session);
  CHECK(session.get() == nullptr);
  check_throws([&] { session.request("{}"); }, BRP_STATUS_NULL_ARGUMENT, "session is NULL");
  moved = brp::App();  // frees the first world's handle; `other` keeps it alive
  const json got = json::parse(
      other.request(R"({"id": 1, "request": "GET", "params": {"entity": "1v0", "components": ["Position"]}})"));
  CHECK(value_of(got["response"]["components"]["Position"]) == json({{"x", 1}}));
}

void error_responses_are_returned() {
  const brp::App app;
  const json response = json::parse(app.request("not json"));
  CHECK(error_code(response) == BRP_ERROR_PARSE_ERROR);
  CHECK(brp::version() == brp_version());
}

void pose() {
  const brp::App app;
  // One landmark: a target that takes any count (33 by default).
  app.push_pose(R"({"timestamp": 2.0, "landmarks": [{"x": 0.75, "y": 0.5, "z": 0.0}]})",
                R"({"landmark_count": null})");
  const json found = json::parse(
      app.request(R"({"id": 1, "request": "QUERY", "params": {"data": {"components": ["PoseLandmarks"]}}})"));
  CHECK(found["response"].size() == 1 && found.dump().find("0.75") != std::string::npos);
  check_throws([&] { app.push_pose("garbage"); }, BRP_STATUS_POSE_REJECTED, "brp_pose_push");
  // Binary frames may hold NUL bytes: they reach the decoder.
  check_throws([&] { app.push_pose(std::string("\0\1\0\2", 4)); }, BRP_STATUS_POSE_REJECTED, "brp_pose_push");
  check_throws([&] { app.push_pose("{}", R"({"entity": "42v0"})"); }, BRP_STATUS_POSE_REJECTED, "brp_pose_push");
  check_throws([&] { brp::PoseClient(app, "{}"); }, BRP_STATUS_INVALID_CONFIG, "url");

  brp::PoseClient client(app, R"({"url": "ws://127.0.0.1:1"})");
  brp::PoseClient moved = std::move(client);
  CHECK(client.get() == nullptr);
  CHECK(json::parse(moved.stats())["frames_applied"] == 0);
  moved.stop();
  CHECK(json::parse(moved.stats())["state"] == "stopped");

  // Move-assigning stops the old client before its callback goes.
  long calls = 0;
  brp::PoseClient observed(app, R"({"url": "ws://127.0.0.1:1"})",
                           [&calls](std::string_view) { ++calls; });
  observed = brp::PoseClient(app, R"({"url": "ws://127.0.0.1:1"})", [](std::string_view) {});
  CHECK(observed.get() != nullptr && calls == 0);
}

// A client that cannot connect logs its refusal to the function set, with
// its level and target; clearing stops the messages.
void log_callback() {
  struct Message {
    brp_log_level level;
    std::string target, text;
  };
  std::mutex mutex;
  std::vector<Message> got;
  brp_status nested = BRP_STATUS_OK;
  brp::set_log_callback(
      [&](brp_log_level level, std::string_view target, std::string_view text) {
        try {
          brp::set_log_callback(nullptr);
        } catch (const brp::Error& error) {
          nested = error.status();
        }
        std::lock_guard<std::mutex> lock(mutex);
        got.push_back({level, std::string(target), std::string(text)});
      },
      BRP_LOG_LEVEL_WARN);
  const brp::App app;
  const auto refused = [&] {
    brp::PoseClient client(app, R"({"url": "ws://127.0.0.1:1", "reconnect": false})");
    for (long waited = 0; waited < BRP_TEST_HANG_MS; waited += 5) {
      if (json::parse(client.stats())["state"] == "stopped") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  refused();
  {
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(got.size() == 1);
    CHECK(!got.empty() && got[0].level == BRP_LOG_LEVEL_WARN && got[0].target == "brp::pose" &&
          got[0].text.find("cannot connect") != std::string::npos);
    CHECK(nested == BRP_STATUS_LOG_UNAVAILABLE);
  }
  brp::set_log_callback(nullptr);
  refused();
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(got.size() == 1);
}

void move_assigning_a_session_closes_the_old_one() {
  const brp::App app;
  brp::Session session = app.session();
  std::vector<json> got;
  session.set_callback([&](std::string_view text) { got.push_back(json::parse(text)); });
  session.submit(R"({"id": 1, "request": "POLL", "params": {"watermark": null}})");
  const json mark = got.at(0)["response"]["watermark"];
  session.submit(json{{"id", 2}, {"request", "POLL"}, {"params", {{"watermark", mark}}}}.dump());
  session = app.session();  // the parked POLL answers CANCELLED through the old callback
  CHECK(got.size() == 2 && error_code(got.at(1)) == BRP_ERROR_CANCELLED);
  session.submit(R"({"id": 3, "request": "PING"})");  // the new session queues
  CHECK(got.size() == 2);
  CHECK(session.receive(std::chrono::milliseconds(BRP_TEST_HANG_MS)).has_value());
}

}  // namespace

int main() {
  failures_throw();
  moves_transfer_ownership();
  error_responses_are_returned();
  pose();
  log_callback();
  move_assigning_a_session_closes_the_old_one();
  return brp_test_summary("wrapper");
}
