// Asynchronous sessions through the C API (and brp.hpp): POLLs parked in one
// thread and woken by another, out-of-order responses, callbacks, cancel,
// timeouts, closing and freeing with parked POLLs, and a writer/poller
// stress run. Waits are bounded only to turn a hang into a failure.

#include <brp.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support.h"

using brp_test::component;
using brp_test::error_code;
using brp_test::json;
using brp_test::value_of;

namespace {

constexpr int kHangMs = BRP_TEST_HANG_MS;
constexpr int kWrites = 2000;

// A world with one entity holding Counter = 0; returns its id.
std::string seed(const brp::App& app) {
  const json spawned = json::parse(app.request(
      json{{"id", 1}, {"request", "SPAWN"}, {"params", {{"components", {{"Counter", component(0)}}}}}}
          .dump()));
  return spawned["response"]["entity"];
}

std::string insert(int id, const std::string& entity, int value) {
  return json{{"id", id},
              {"request", "INSERT"},
              {"params", {{"entity", entity}, {"components", {{"Counter", component(value)}}}}}}
      .dump();
}

// A POLL of Counter changes after `watermark` (null: answers at once).
std::string poll(int id, const json& watermark, int timeout_ms = kHangMs) {
  return json{{"id", id},
              {"request", "POLL"},
              {"params",
               {{"data", {{"components", {"Counter"}}}},
                {"filter", {{"changed", {"Counter"}}}},
                {"watermark", watermark},
                {"timeout_ms", timeout_ms}}}}
      .dump();
}

// The watermark of a fresh POLL's answer.
json watermark(const brp::Session& session) {
  return json::parse(session.request(poll(99, nullptr)))["response"]["watermark"];
}

// The Counter values of a POLL answer's entities.
std::vector<int> counters(const json& response) {
  std::vector<int> values;
  for (const json& entity : response["response"]["entities"]) {
    values.push_back(value_of(entity["Counter"]).get<int>());
  }
  return values;
}

json receive(const brp::Session& session) {
  const auto response = session.receive(std::chrono::milliseconds(kHangMs));
  CHECK(response.has_value());
  return response ? json::parse(*response) : json();
}

// Responses collected by a C callback, with a bounded wait for a count.
struct Inbox {
  const brp_app* app = nullptr;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<json> responses;
  std::vector<json> nested;  // answers of requests made from the callback

  static void collect(void* user_data, const char* response_json) {
    auto* inbox = static_cast<Inbox*>(user_data);
    json nested;
    if (inbox->app != nullptr) {
      char* text = nullptr;
      if (brp_request(inbox->app, R"({"id": 7, "request": "PING"})", &text) == BRP_STATUS_OK) {
        nested = json::parse(text);
        brp_string_free(text);
      }
    }
    std::lock_guard<std::mutex> lock(inbox->mutex);
    inbox->responses.push_back(json::parse(response_json));
    inbox->nested.push_back(nested);
    inbox->changed.notify_all();
  }

  bool wait_for(size_t count) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, std::chrono::milliseconds(kHangMs),
                            [&] { return responses.size() >= count; });
  }
};

void parked_poll_woken_from_another_thread() {
  const brp::App app(R"({"components": ["Counter"]})");
  const std::string entity = seed(app);
  const brp::Session session = app.session();
  const json mark = watermark(session);
  json answer;
  std::thread poller([&] { answer = json::parse(session.request(poll(2, mark))); });
  app.request(insert(3, entity, 1));
  poller.join();
  CHECK(answer["id"] == 2);
  CHECK(counters(answer) == std::vector<int>{1});
}

void responses_arrive_out_of_order() {
  const brp::App app(R"({"components": ["Counter"]})");
  const std::string entity = seed(app);
  const brp::Session session = app.session();
  const json mark = watermark(session);
  session.submit(poll(10, mark));
  session.submit(R"({"id": 11, "request": "PING"})");
  CHECK(receive(session)["id"] == 11);  // the POLL is still parked
  CHECK(!session.receive(std::chrono::milliseconds(0)).has_value());
  app.request(insert(12, entity, 5));
  const json woken = receive(session);
  CHECK(woken["id"] == 10);
  CHECK(counters(woken) == std::vector<int>{5});
}

void callback_receives_the_poll_answer() {
  brp::App app(R"({"components": ["Counter"]})");
  const std::string entity = seed(app);
  const brp::Session session = app.session();
  const json mark = watermark(session);
  Inbox inbox;
  inbox.app = app.get();  // the callback makes a request itself
  CHECK(brp_session_set_callback(session.get(), &Inbox::collect, &inbox) == BRP_STATUS_OK);
  session.submit(poll(20, mark));
  session.submit(insert(21, entity, 8));  // wakes the POLL from this thread
  CHECK(inbox.wait_for(2));
  std::lock_guard<std::mutex> lock(inbox.mutex);
  CHECK(inbox.responses.size() == 2);
  for (size_t i = 0; i < inbox.responses.size(); ++i) {
    if (inbox.responses[i]["id"] == 20) {
      CHECK(counters(inbox.responses[i]) == std::vector<int>{8});
    }
    CHECK(inbox.nested[i]["response"].is_object());
  }
  // NULL restores the queue.
  CHECK(brp_session_set_callback(session.get(), nullptr, nullptr) == BRP_STATUS_OK);
  session.submit(R"({"id": 22, "request": "PING"})");
  CHECK(receive(session)["id"] == 22);
}

void wrapper_callback_and_cancel() {
  const brp::App app(R"({"components": ["Counter"]})");
  seed(app);
  const brp::Session session = app.session();
  const json mark = watermark(session);
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<json> got;
  session.set_callback([&](std::string_view text) {
    std::lock_guard<std::mutex> lock(mutex);
    got.push_back(json::parse(text));
    changed.notify_all();
  });
  session.submit(poll(30, mark));
  CHECK(session.cancel(30));  // the callback runs inside cancel
  CHECK(!session.cancel(30));
  CHECK(!session.cancel(999));
  session.submit(poll(31, mark));
  session.submit(R"({"id": 32, "request": "CANCEL", "params": {"id": 31}})");
  std::unique_lock<std::mutex> lock(mutex);
  CHECK(changed.wait_for(lock, std::chrono::milliseconds(kHangMs), [&] { return got.size() >= 3; }));
  CHECK(got.size() == 3);
  for (const json& response : got) {
    if (response["id"] == 32) {
      CHECK(response["response"] == json({{"status", "OK"}}));
    } else {
      CHECK(error_code(response) == BRP_ERROR_CANCELLED);
    }
  }
  lock.unlock();
  session.set_callback(nullptr);
  session.submit(R"({"id": 33, "request": "PING"})");
  CHECK(receive(session)["id"] == 33);
}

void poll_timeout_and_receive_timeout() {
  const brp::App app(R"({"components": ["Counter"]})");
  seed(app);
  const brp::Session session = app.session();
  const json mark = watermark(session);
  char* response = nullptr;
  CHECK(brp_session_receive(session.get(), 0, &response) == BRP_STATUS_TIMEOUT);
  CHECK(response == nullptr);
  session.submit(poll(40, mark, 20));
  const json timed_out = receive(session);
  CHECK(timed_out["id"] == 40);
  CHECK(error_code(timed_out) == BRP_ERROR_TIMEOUT);
}

void closing_a_session_with_parked_polls() {
  const brp::App app(R"({"components": ["Counter"]})");
  seed(app);
  Inbox inbox;
  {
    const brp::Session session = app.session();
    const json mark = watermark(session);
    CHECK(brp_session_set_callback(session.get(), &Inbox::collect, &inbox) == BRP_STATUS_OK);
    session.submit(poll(50, mark));
    session.submit(poll(51, mark));
  }  // brp_session_free: both answer before it returns
  CHECK(inbox.responses.size() == 2);
  for (const json& response : inbox.responses) {
    CHECK(error_code(response) == BRP_ERROR_CANCELLED);
  }

  // Queue mode: close, drain, then BRP_STATUS_CLOSED.
  const brp::Session session = app.session();
  const json mark = watermark(session);
  session.submit(poll(52, mark));
  session.close();
  session.close();
  session.submit(R"({"id": 53, "request": "PING"})");  // refused
  const json first = receive(session);
  const json second = receive(session);
  CHECK(first["id"] == 52 && error_code(first) == BRP_ERROR_CANCELLED);
  CHECK(second["id"] == 53 && error_code(second) == BRP_ERROR_CANCELLED);
  char* response = nullptr;
  CHECK(brp_session_receive(session.get(), -1, &response) == BRP_STATUS_CLOSED);
  CHECK(std::string(brp_last_error_message()).find("closed") != std::string::npos);
  bool caught = false;
  try {
    session.receive(std::chrono::milliseconds(0));
  } catch (const brp::Error& error) {
    caught = error.status() == BRP_STATUS_CLOSED;
  }
  CHECK(caught);
}

void freeing_the_app_wakes_every_parked_poll() {
  auto app = std::make_unique<brp::App>(R"({"components": ["Counter"]})");
  seed(*app);
  const brp::Session blocking = app->session();
  const brp::Session submitting = app->session();
  Inbox inbox;
  CHECK(brp_session_set_callback(submitting.get(), &Inbox::collect, &inbox) == BRP_STATUS_OK);
  submitting.submit(poll(60, watermark(submitting)));
  const json mark = watermark(blocking);
  json answer;
  std::thread poller([&] { answer = json::parse(blocking.request(poll(61, mark))); });
  app.reset();  // brp_app_free
  CHECK(inbox.responses.size() == 1);
  CHECK(error_code(inbox.responses.at(0)) == BRP_ERROR_CANCELLED);
  poller.join();  // parked or refused: either way CANCELLED
  CHECK(error_code(answer) == BRP_ERROR_CANCELLED);
  // Other requests keep working; new POLLs are refused.
  CHECK(json::parse(blocking.request(R"({"id": 62, "request": "PING"})"))["response"].is_object());
  CHECK(error_code(json::parse(blocking.request(poll(63, nullptr)))) == BRP_ERROR_CANCELLED);
}

void writer_and_poller_stress() {
  const brp::App app(R"({"components": ["Counter"]})");
  const std::string entity = seed(app);
  std::atomic<bool> poller_failed{false};
  std::vector<int> seen;
  std::thread poller([&] {
    const brp::Session session = app.session();
    json mark = nullptr;
    int last = -1;
    while (last < kWrites) {
      const json answer = json::parse(session.request(poll(1, mark)));
      if (!answer.contains("response")) {
        poller_failed = true;  // a timeout here means a lost wake-up
        return;
      }
      mark = answer["response"]["watermark"];
      for (int value : counters(answer)) {
        seen.push_back(value);
        last = value;
      }
    }
  });
  std::thread writer([&] {
    const brp::Session session = app.session();
    for (int value = 1; value <= kWrites; ++value) {
      session.request(insert(1, entity, value));
    }
  });
  writer.join();
  poller.join();
  CHECK(!poller_failed);
  CHECK(!seen.empty() && seen.back() == kWrites);
  bool increasing = true;
  for (size_t i = 1; i < seen.size(); ++i) {
    increasing = increasing && seen[i] > seen[i - 1];
  }
  CHECK(increasing);
  std::cout << "stress: the poller saw " << seen.size() << " of " << kWrites + 1 << " values\n";
}

}  // namespace

// A JSON-RPC +watch submitted through a session: the state at once, one
// answer per change under the same id, and a CANCELLED answer to end it;
// sessionless, it is refused.
void jsonrpc_watch_streams_through_a_session() {
  const brp::App app(R"({"components": ["Counter"]})");
  const json spawned = json::parse(app.request(
      R"({"jsonrpc": "2.0", "id": 1, "method": "world.spawn_entity", "params": {"components": {"Counter": 0}}})"));
  const json entity = spawned["result"]["entity"];
  CHECK(entity.is_number_unsigned());
  const std::string watch =
      json{{"jsonrpc", "2.0"},
           {"id", 60},
           {"method", "world.get_components+watch"},
           {"params", {{"entity", entity}, {"components", {"Counter"}}}}}
          .dump();
  CHECK(error_code(json::parse(app.request(watch))) == BRP_ERROR_INVALID_REQUEST);

  const brp::Session session = app.session();
  session.submit(watch);
  const json first = receive(session);
  CHECK(first["jsonrpc"] == "2.0" && first["id"] == 60);
  CHECK(first["result"]["components"]["Counter"] == 0);
  for (int value = 1; value <= 3; ++value) {
    app.request(json{{"jsonrpc", "2.0"},
                     {"id", 2},
                     {"method", "world.insert_components"},
                     {"params", {{"entity", entity}, {"components", {{"Counter", value}}}}}}
                    .dump());
    const json changed = receive(session);
    CHECK(changed["id"] == 60 && changed["result"]["components"]["Counter"] == value);
  }
  CHECK(session.cancel(60));
  const json last = receive(session);
  CHECK(last["id"] == 60 && error_code(last) == BRP_ERROR_CANCELLED);
  CHECK(!session.receive(std::chrono::milliseconds(0)).has_value());
}

int main() {
  parked_poll_woken_from_another_thread();
  responses_arrive_out_of_order();
  callback_receives_the_poll_answer();
  wrapper_callback_and_cancel();
  poll_timeout_and_receive_timeout();
  closing_a_session_with_parked_polls();
  freeing_the_app_wakes_every_parked_poll();
  writer_and_poller_stress();
  jsonrpc_watch_streams_through_a_session();
  return brp_test_summary("async");
}
