// The dance game played from C++ through the game's own libbrp, libdance
// (examples/dance/libdance): every app it makes holds the game's
// DancePlugin, which spawns the Player at the first update and scores each
// new pose against a "T" (both arms straight out sideways).
//
// The program pushes poses as the controller's JSON frames (docs/pose.md)
// and watches the Player's Score with POLLs: a T pose scores a point, arms
// down score none, three more T poses make 4 points. Each POLL must stay
// parked through its pose's push and answer at the update that scores it.
// Exits 0 when every score is as expected.

#include <brp.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

using json = nlohmann::ordered_json;

namespace {

// A point of the camera image: x to the right, y downwards, both in [0, 1].
struct Point {
  double x;
  double y;
};

// MediaPipe's pose landmarks, and the ones the game reads.
constexpr std::size_t kLandmarks = 33;
constexpr std::size_t kLeftShoulder = 11;
constexpr std::size_t kRightShoulder = 12;
constexpr std::size_t kLeftElbow = 13;
constexpr std::size_t kRightElbow = 14;
constexpr std::size_t kLeftHip = 23;
constexpr std::size_t kRightHip = 24;

// The player faces the camera, so their left side is on the image's right.
constexpr Point kLeftShoulderAt{0.6, 0.3};
constexpr Point kRightShoulderAt{0.4, 0.3};

// How long an answer may take once its update ran.
constexpr std::chrono::seconds kAnswerWait(5);

// The controller's JSON frame of an upright player with the elbows at
// `left_elbow` and `right_elbow`; every landmark is visible and present.
std::string frame(double timestamp, Point left_elbow, Point right_elbow) {
  std::array<Point, kLandmarks> points;
  points.fill({0.5, 0.2});  // the head's landmarks, above the shoulders
  points[kLeftShoulder] = kLeftShoulderAt;
  points[kRightShoulder] = kRightShoulderAt;
  points[kLeftElbow] = left_elbow;
  points[kRightElbow] = right_elbow;
  points[kLeftHip] = {0.58, 0.6};
  points[kRightHip] = {0.42, 0.6};
  json landmarks = json::array();
  for (const Point& point : points) {
    landmarks.push_back({{"x", point.x},
                         {"y", point.y},
                         {"z", 0.0},
                         {"availability", {{"visibility", 1.0}, {"presence", 1.0}}}});
  }
  return json{{"timestamp", timestamp}, {"landmarks", landmarks}}.dump();
}

// Both upper arms straight out sideways: 90 degrees at each shoulder.
std::string t_pose(double timestamp) {
  return frame(timestamp, {kLeftShoulderAt.x + 0.15, kLeftShoulderAt.y},
               {kRightShoulderAt.x - 0.15, kRightShoulderAt.y});
}

// Both arms down along the body: about 0 degrees at each shoulder.
std::string arms_down(double timestamp) {
  return frame(timestamp, {kLeftShoulderAt.x, kLeftShoulderAt.y + 0.15},
               {kRightShoulderAt.x, kRightShoulderAt.y + 0.15});
}

// The game's Score component.
struct Score {
  unsigned points;
  bool matched;
};

// A game and one session watching the Player's Score with POLLs.
class Game {
 public:
  // Runs the first update (the Player spawns) and takes the Score's first
  // watermark from a POLL that answers at once.
  Game() : session_(app_.session()) {
    app_.update();
    submit_poll();
    const Score score = receive_score();
    if (score.points != 0 || score.matched) {
      throw std::runtime_error("the Player starts with a score");
    }
  }

  // Pushes `pose` and updates; returns the Score the POLL woken by it reads.
  Score dance(const std::string& pose) {
    submit_poll();
    app_.push_pose(pose);
    if (const auto early = session_.receive(std::chrono::milliseconds(0))) {
      throw std::runtime_error("the POLL answered before the update: " + *early);
    }
    app_.update();
    return receive_score();
  }

 private:
  // Submits a POLL of the Player's Score that parks until the Score
  // changes since the watermark (null: answers at once).
  void submit_poll() {
    ++id_;
    const json poll = {{"id", id_},
                       {"request", "POLL"},
                       {"params",
                        {{"data", {{"components", {"Name", "Score"}}}},
                         {"filter", {{"changed", {"Score"}}}},
                         {"watermark", watermark_}}}};
    session_.submit(poll.dump());
  }

  // Receives the POLL's answer, keeps its watermark and reads the Score.
  Score receive_score() {
    const auto text = session_.receive(kAnswerWait);
    if (!text) {
      throw std::runtime_error("POLL " + std::to_string(id_) + " did not answer in " +
                               std::to_string(kAnswerWait.count()) + " s");
    }
    // at() throws on a missing member, naming it.
    const json answer = json::parse(*text);
    if (!answer.contains("response") || answer.at("id") != id_) {
      throw std::runtime_error("unexpected answer to POLL " + std::to_string(id_) + ": " + *text);
    }
    const json& response = answer.at("response");
    const json& entities = response.at("entities");
    // Values come nested (docs/protocol.md): the JSON text of the component.
    const auto value = [](const json& entity, const char* component) {
      return json::parse(entity.at(component).at("JSON").get<std::string>());
    };
    if (entities.size() != 1 || value(entities.at(0), "Name") != "Player") {
      throw std::runtime_error("expected the Player alone: " + *text);
    }
    watermark_ = response.at("watermark");
    const json score = value(entities.at(0), "Score");
    return {score.at("points").get<unsigned>(), score.at("matched").get<bool>()};
  }

  brp::App app_;
  brp::Session session_;
  json watermark_ = nullptr;
  int id_ = 0;
};

// Fails unless `score` is `points` and `matched`.
void expect(const std::string& what, const Score& score, unsigned points, bool matched) {
  std::cout << what << ": points " << score.points << ", matched "
            << (score.matched ? "true" : "false") << "\n";
  if (score.points != points || score.matched != matched) {
    throw std::runtime_error(what + ": expected points " + std::to_string(points) +
                             ", matched " + (matched ? "true" : "false"));
  }
}

}  // namespace

int main() {
  try {
    std::cout << "libbrp " << brp::version() << " (libdance)\n";
    Game game;
    expect("T pose", game.dance(t_pose(1.0)), 1, true);
    expect("arms down", game.dance(arms_down(2.0)), 1, false);
    for (unsigned points = 2; points <= 4; ++points) {
      expect("T pose", game.dance(t_pose(1.0 + points)), points, true);
    }
    return EXIT_SUCCESS;
  } catch (const std::exception& error) {
    std::cerr << "dance: " << error.what() << "\n";
    return EXIT_FAILURE;
  }
}
