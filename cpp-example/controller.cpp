// A controller that embeds a Bevy world through libbrp: it declares the
// Position and Player components, builds a scene of a Camera, a Light and a
// Player, then drives it with QUERY, GET, INSERT and REPARENT requests,
// printing every exchange. Exits 0 when every request succeeded.
//
// With `--pose-url ws://HOST:PORT --frames N` it instead streams poses from
// a pose controller (e.g. `python -m brp.tools.controller`): it starts a pose
// client (counting applied frames in its per-frame callback), waits on POLLs
// of PoseLandmarks until N poses were applied (or 60 seconds passed), then
// prints the newest landmarks and the client's statistics. Exits 0 when N
// poses arrived and the callback saw each of them.

#include <brp.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

using json = nlohmann::ordered_json;

namespace {

// Sends one request through the session, prints both sides, and returns the
// "response" object; a BRP error response throws.
json send(const brp::Session& session, const json& request) {
  const std::string text = request.dump();
  const json response = json::parse(session.request(text));
  std::cout << "-> " << text << "\n<- " << response.dump() << "\n\n";
  if (response.contains("error")) {
    throw std::runtime_error("request failed: " + response["error"].dump());
  }
  return response["response"];
}

// The protocol's nesting (docs/protocol.md): a component value is the JSON
// text of the value.
json component(const json& value) { return {{"JSON", value.dump()}}; }

std::string spawn(const brp::Session& session, int id, const json& components) {
  const json params = {{"components", components}};
  return send(session, {{"id", id}, {"request", "SPAWN"}, {"params", params}})["entity"];
}

// How long the pose-stream mode waits for its poses before giving up.
constexpr std::chrono::seconds kPoseDeadline(60);

// Streams poses from `url` until `frames` were applied; returns the exit code.
int stream_poses(const std::string& url, long frames) {
  brp::App app;
  std::atomic<long> observed{0};
  const brp::PoseClient client(app, json{{"url", url}}.dump(),
                               [&observed](std::string_view) { ++observed; });
  const brp::Session session = app.session();
  const auto deadline = std::chrono::steady_clock::now() + kPoseDeadline;
  json watermark = nullptr;
  json newest;
  long applied = 0;
  while (applied < frames && std::chrono::steady_clock::now() < deadline) {
    // Parks until a pose lands (PoseLandmarks changes), or 1 s passes.
    const json poll = {{"id", 1},
                       {"request", "POLL"},
                       {"params",
                        {{"data", {{"components", {"PoseLandmarks"}}}},
                         {"filter", {{"changed", {"PoseLandmarks"}}}},
                         {"watermark", watermark},
                         {"timeout_ms", 1000}}}};
    const json answer = json::parse(session.request(poll.dump()));
    if (answer.contains("response")) {
      watermark = answer["response"]["watermark"];
      for (const json& entity : answer["response"]["entities"]) {
        newest = entity;
      }
    }
    applied = json::parse(client.stats())["frames_applied"].get<long>();
  }
  client.stop();
  const json stats = json::parse(client.stats());
  if (!newest.is_null()) {
    // Values come nested (docs/protocol.md): the JSON text of the component.
    const json pose = json::parse(newest["PoseLandmarks"]["JSON"].get<std::string>());
    std::cout << "entity " << newest["id"].get<std::string>() << ": sequence " << pose["sequence"]
              << ", timestamp " << pose["timestamp"] << ", " << pose["landmarks"].size()
              << " landmarks\n";
    for (const json& landmark : pose["landmarks"]) {
      std::cout << "  " << landmark.dump() << "\n";
    }
  }
  std::cout << "stats: " << stats.dump() << "\n";
  if (observed != stats["frames_applied"].get<long>()) {
    std::cerr << "controller: the callback saw " << observed << " frames, "
              << stats["frames_applied"] << " applied\n";
    return EXIT_FAILURE;
  }
  if (applied < frames) {
    std::cerr << "controller: " << applied << " of " << frames << " poses applied in "
              << kPoseDeadline.count() << " s\n";
    return EXIT_FAILURE;
  }
  std::cout << applied << " poses applied\n";
  return EXIT_SUCCESS;
}

// The scene walk-through described at the top.
int run_scene() {
  try {
    std::cout << "libbrp " << brp::version() << "\n\n";
    brp::App app;
    app.register_component("Position");
    app.register_component("Player");
    const brp::Session session = app.session();

    const std::string camera = spawn(session, 1, {{"Name", component("Camera")}});
    const std::string light = spawn(session, 2, {{"Name", component("Light")}});
    const std::string player =
        spawn(session, 3,
              {{"Name", component("Player")},
               {"Player", component(json::object())},
               {"Position", component({{"x", 0.0}, {"y", 0.0}, {"z", 0.0}})}});

    const json roots_query = {
        {"data", {{"components", {"Name"}}}},
        {"filter", {{"without", {{"components", {"Parent"}}}}}}};
    send(session, {{"id", 4}, {"request", "QUERY"}, {"params", roots_query}});

    const json position = {{"x", 1.0}, {"y", 2.0}, {"z", 3.0}};
    send(session, {{"id", 5},
                   {"request", "INSERT"},
                   {"params", {{"entity", player}, {"components", {{"Position", component(position)}}}}}});
    const json got = send(session, {{"id", 6},
                                    {"request", "GET"},
                                    {"params", {{"entity", player}, {"components", {"Position"}}}}});
    if (json::parse(got["components"]["Position"]["JSON"].get<std::string>()) != position) {
      throw std::runtime_error("GET did not return the inserted position");
    }

    send(session, {{"id", 7}, {"request", "REPARENT"}, {"params", {{"entity", light}, {"parent", camera}}}});
    const json roots = send(session, {{"id", 8}, {"request", "QUERY"}, {"params", roots_query}});
    std::cout << "root entities after reparenting the Light under the Camera: "
              << roots["entities"].size() << "\n";
    app.update();
    return roots["entities"].size() == 2 ? EXIT_SUCCESS : EXIT_FAILURE;
  } catch (const std::exception& error) {
    std::cerr << "controller: " << error.what() << "\n";
    return EXIT_FAILURE;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  long frames = 60;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--pose-url") == 0 && has_value) {
      url = argv[++i];
    } else if (std::strcmp(argv[i], "--frames") == 0 && has_value) {
      frames = std::strtol(argv[++i], nullptr, 10);
    } else {
      std::cerr << "usage: controller [--pose-url ws://HOST:PORT [--frames N]]\n";
      return EXIT_FAILURE;
    }
  }
  if (url.empty()) {
    return run_scene();
  }
  try {
    return stream_poses(url, frames);
  } catch (const std::exception& error) {
    std::cerr << "controller: " << error.what() << "\n";
    return EXIT_FAILURE;
  }
}
