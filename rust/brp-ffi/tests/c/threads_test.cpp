// Drives one App from several threads at once: each thread has its own
// session (all reusing the same request ids) and entity, INSERTs then GETs
// its entity's Position M times and SPAWNs M entities; the final state is
// then checked exactly.

#include <brp.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support.h"

using brp_test::component;
using brp_test::json;
using brp_test::value_of;

namespace {

constexpr int kThreads = 4;
constexpr int kRounds = 50;

json send(const brp::Session& session, int id, const char* request, const json& params) {
  return json::parse(session.request(json{{"id", id}, {"request", request}, {"params", params}}.dump()));
}

// One thread's work; returns the number of mismatches it saw.
int worker(const brp::App& app, const std::string& entity, int thread) {
  const brp::Session session = app.session();
  int mismatches = 0;
  for (int round = 0; round < kRounds; ++round) {
    const json position = {{"thread", thread}, {"round", round}};
    const json inserted =
        send(session, 1, "INSERT", {{"entity", entity}, {"components", {{"Position", component(position)}}}});
    const json got = send(session, 2, "GET", {{"entity", entity}, {"components", {"Position"}}});
    const json spawned = send(session, 3, "SPAWN", {{"components", {{"Marker", component(position)}}}});
    mismatches += inserted["response"] != json({{"status", "OK"}});
    mismatches += value_of(got["response"]["components"]["Position"]) != position;
    mismatches += !spawned["response"].contains("entity");
  }
  return mismatches;
}

}  // namespace

int main() {
  const brp::App app(R"({"components": ["Position", "Marker"]})");
  const brp::Session setup = app.session();
  std::vector<std::string> entities;
  for (int thread = 0; thread < kThreads; ++thread) {
    entities.push_back(send(setup, thread, "SPAWN", {{"components", json::object()}})["response"]["entity"]);
  }

  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int thread = 0; thread < kThreads; ++thread) {
    threads.emplace_back([&, thread] { mismatches[thread] = worker(app, entities[thread], thread); });
  }
  for (auto& thread : threads) thread.join();
  for (int thread = 0; thread < kThreads; ++thread) CHECK(mismatches[thread] == 0);

  // Every thread's last write won on its own entity.
  const json positions = send(setup, 100, "QUERY", {{"data", {{"components", {"Position"}}}}});
  CHECK(positions["response"]["entities"].size() == kThreads);
  for (const json& row : positions["response"]["entities"]) {
    const int thread = static_cast<int>(
        std::find(entities.begin(), entities.end(), row["id"].get<std::string>()) - entities.begin());
    CHECK(thread < kThreads);
    CHECK(value_of(row["Position"]) == json({{"thread", thread}, {"round", kRounds - 1}}));
  }

  // Every spawn landed exactly once.
  const json markers = send(setup, 101, "QUERY", {{"data", {{"components", {"Marker"}}}}});
  std::set<std::pair<int, int>> seen;
  for (const json& row : markers["response"]["entities"]) {
    const json marker = value_of(row["Marker"]);
    seen.emplace(marker["thread"].get<int>(), marker["round"].get<int>());
  }
  CHECK(markers["response"]["entities"].size() == kThreads * kRounds);
  CHECK(seen.size() == kThreads * kRounds);
  return brp_test_summary("threads");
}
