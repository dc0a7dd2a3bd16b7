// A controller that embeds a Bevy world through libbrp: it declares the
// Position and Player components, builds a scene of a Camera, a Light and a
// Player, then drives it with QUERY, GET, INSERT and REPARENT requests,
// printing every exchange. Exits 0 when every request succeeded.

#include <brp.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
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

// The seed's nesting: a component value is the JSON text of the value.
json component(const json& value) { return {{"JSON", value.dump()}}; }

std::string spawn(const brp::Session& session, int id, const json& components) {
  const json params = {{"components", components}};
  return send(session, {{"id", id}, {"request", "SPAWN"}, {"params", params}})["entity"];
}

}  // namespace

int main() {
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
