// brp_server_*: a server on an app's world answers BRP over HTTP/1.1 POST
// in both dialects (checked with a plain blocking POSIX socket client),
// counts its requests, refuses bad configs and a taken address, stops
// (answering a parked POLL with -23405) idempotently, and stops listening;
// then the same briefly through brp::Server. Loopback, port 0 only (the
// default address is tried once, and may be taken).

#include <brp.hpp>

#include "support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>

using brp_test::json;

namespace {

// "ip:port" of an IPv4 address as a socket address.
std::optional<sockaddr_in> parse_address(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  sockaddr_in socket_address{};
  socket_address.sin_family = AF_INET;
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &socket_address.sin_addr) != 1) {
    return std::nullopt;
  }
  const long port = std::strtol(address.c_str() + colon + 1, nullptr, 10);
  if (port <= 0 || port > 65535) return std::nullopt;
  socket_address.sin_port = htons(static_cast<uint16_t>(port));
  return socket_address;
}

// A socket connected to `address`, or -1.
int connect_to(const sockaddr_in& address) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// POSTs `body` to `address` over HTTP/1.1 and returns the whole answer
// (status line, headers, body): the connection is closed after it, and every
// read is bounded by SO_RCVTIMEO. "" when the connection fails.
std::string post(const std::string& address, const std::string& body) {
  const std::optional<sockaddr_in> to = parse_address(address);
  if (!to) return "";
  const int fd = connect_to(*to);
  if (fd < 0) return "";
  timeval timeout{};
  timeout.tv_sec = BRP_TEST_HANG_MS / 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const std::string request = "POST / HTTP/1.1\r\nHost: " + address +
                              "\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string answer;
  char buffer[4096];
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;  // closed, or the timeout passed
    answer.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}

// The body of an HTTP answer as JSON (null when it is not JSON).
json body_of(const std::string& answer) {
  const size_t start = answer.find("\r\n\r\n");
  if (start == std::string::npos) return nullptr;
  return json::parse(answer.substr(start + 4), nullptr, false);
}

std::string take(char* text) {
  std::string copy = text == nullptr ? "" : text;
  brp_string_free(text);
  return copy;
}

std::string address_of(const brp_server* server) {
  char* address = nullptr;
  CHECK(brp_server_address(server, &address) == BRP_STATUS_OK);
  return take(address);
}

json stats_of(const brp_server* server) {
  char* stats = nullptr;
  CHECK(brp_server_stats(server, &stats) == BRP_STATUS_OK);
  return json::parse(take(stats), nullptr, false);
}

bool listening(const std::string& address) {
  const std::optional<sockaddr_in> to = parse_address(address);
  if (!to) return false;
  const int fd = connect_to(*to);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

const char* const kAnyPort = R"({"address": "127.0.0.1:0"})";

// Checks that starting with `config` fails with `status`, leaves the out
// pointer alone and leaves a message.
void check_refused(const brp_app* app, const char* config, brp_status status) {
  brp_server* const sentinel = reinterpret_cast<brp_server*>(0x1);
  brp_server* server = sentinel;
  CHECK(brp_server_start(app, config, &server) == status);
  CHECK(server == sentinel);
  CHECK(std::strncmp(brp_last_error_message(), "brp_server_start: ", 18) == 0);
  CHECK(std::strlen(brp_last_error_message()) > 18);
}

void default_config(const brp_app* app) {
  // NULL: 127.0.0.1:15702, which something else on this machine may hold.
  brp_server* server = nullptr;
  const brp_status status = brp_server_start(app, nullptr, &server);
  if (status == BRP_STATUS_OK) {
    CHECK(address_of(server) == "127.0.0.1:15702");
    CHECK(brp_server_stop(server) == BRP_STATUS_OK);
  } else {
    CHECK(status == BRP_STATUS_INVALID_CONFIG);
    CHECK(server == nullptr);
    CHECK(std::strstr(brp_last_error_message(), "cannot listen on 127.0.0.1:15702") != nullptr);
  }
  brp_server_free(server);
}

void serve_stop_and_refuse() {
  brp_app* app = nullptr;
  CHECK(brp_app_new(R"({"components": ["Counter"]})", &app) == BRP_STATUS_OK);
  default_config(app);

  brp_server* server = nullptr;
  CHECK(brp_server_start(app, kAnyPort, &server) == BRP_STATUS_OK);
  const std::string address = address_of(server);
  const std::optional<sockaddr_in> parsed = parse_address(address);
  CHECK(parsed.has_value());
  CHECK(address.rfind("127.0.0.1:", 0) == 0);
  CHECK(parsed && ntohs(parsed->sin_port) != 0);

  // The native dialect.
  const std::string pong = post(address, R"({"id":1,"request":"PING"})");
  CHECK(pong.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(pong.find(R"("status":"OK")") != std::string::npos);
  CHECK(body_of(pong)["id"] == 1);

  // bevy_remote's JSON-RPC dialect.
  const std::string listed =
      post(address, R"({"jsonrpc":"2.0","id":2,"method":"world.list_resources"})");
  CHECK(listed.rfind("HTTP/1.1 200", 0) == 0);
  const json rpc = body_of(listed);
  CHECK(rpc.is_object() && rpc.contains("result"));
  CHECK(rpc.value("jsonrpc", "") == "2.0");
  CHECK(rpc.value("id", 0) == 2);

  const json stats = stats_of(server);
  CHECK(stats.is_object());
  CHECK(stats.value("requests", 0) >= 2);
  CHECK(stats.value("connections", 0) >= 2);
  for (const char* field : {"open_connections", "refused_connections", "unauthorized",
                            "forbidden", "oversized", "busy", "timeouts", "slow_disconnects",
                            "accept_errors"}) {
    CHECK(stats.contains(field));
  }

  // Bad configs, a taken address, NULL arguments.
  check_refused(app, R"({"max_connections":0})", BRP_STATUS_INVALID_CONFIG);
  check_refused(app, R"({"nope":1})", BRP_STATUS_INVALID_CONFIG);
  check_refused(app, "{not json", BRP_STATUS_INVALID_CONFIG);
  const std::string same = R"({"address": ")" + address + R"("})";
  check_refused(app, same.c_str(), BRP_STATUS_INVALID_CONFIG);
  check_refused(nullptr, kAnyPort, BRP_STATUS_NULL_ARGUMENT);
  CHECK(brp_server_start(app, kAnyPort, nullptr) == BRP_STATUS_NULL_ARGUMENT);
  char* text = reinterpret_cast<char*>(0x1);
  CHECK(brp_server_address(nullptr, &text) == BRP_STATUS_NULL_ARGUMENT);
  CHECK(std::strcmp(brp_last_error_message(), "brp_server_address: server is NULL") == 0);
  CHECK(brp_server_address(server, nullptr) == BRP_STATUS_NULL_ARGUMENT);
  CHECK(brp_server_stats(nullptr, &text) == BRP_STATUS_NULL_ARGUMENT);
  CHECK(brp_server_stats(server, nullptr) == BRP_STATUS_NULL_ARGUMENT);
  CHECK(text == reinterpret_cast<char*>(0x1));
  CHECK(brp_server_stop(nullptr) == BRP_STATUS_NULL_ARGUMENT);
  CHECK(std::strcmp(brp_last_error_message(), "brp_server_stop: server is NULL") == 0);
  brp_server_free(nullptr);

  // A POLL parked over HTTP answers -23405 when the server stops.
  char* response = nullptr;
  const std::string first = R"({"id":3,"request":"POLL","params":{"data":{"components":["Counter"]},)"
                            R"("filter":{"changed":["Counter"]},"watermark":null}})";
  CHECK(brp_request(app, first.c_str(), &response) == BRP_STATUS_OK);
  const json watermark = json::parse(take(response))["response"]["watermark"];
  const std::string parked =
      json{{"id", 4},
           {"request", "POLL"},
           {"params",
            {{"data", {{"components", {"Counter"}}}},
             {"filter", {{"changed", {"Counter"}}}},
             {"watermark", watermark},
             {"timeout_ms", BRP_TEST_HANG_MS}}}}
          .dump();
  const int before = stats_of(server).value("requests", 0);
  std::string cancelled;
  std::thread poller([&] { cancelled = post(address, parked); });
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(BRP_TEST_HANG_MS);
  while (stats_of(server).value("requests", 0) == before &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // submitted, parked
  CHECK(brp_server_stop(server) == BRP_STATUS_OK);
  poller.join();
  CHECK(brp_test_error_code(cancelled.c_str()) == BRP_ERROR_CANCELLED);
  CHECK(body_of(cancelled).value("id", 0) == 4);

  // Stopped: again is fine, nothing listens, the handle still answers.
  CHECK(brp_server_stop(server) == BRP_STATUS_OK);
  CHECK(std::strcmp(brp_last_error_message(), "") == 0);
  CHECK(!listening(address));
  CHECK(address_of(server) == address);
  const json after = stats_of(server);
  CHECK(after.value("requests", 0) >= 3);
  CHECK(after.value("open_connections", -1) == 0);
  brp_server_free(server);

  // The server keeps the world alive: it may outlive the app's handle.
  CHECK(brp_server_start(app, kAnyPort, &server) == BRP_STATUS_OK);
  brp_app_free(app);
  const std::string late = post(address_of(server), R"({"id":5,"request":"PING"})");
  CHECK(late.find(R"("status":"OK")") != std::string::npos);
  brp_server_free(server);  // stops a running server
}

void wrapper() {
  brp::App app;
  brp::Server server(app, kAnyPort);
  const std::string address = server.address();
  CHECK(parse_address(address).has_value());
  const std::string pong = post(address, R"({"id":1,"request":"PING"})");
  CHECK(pong.find(R"("status":"OK")") != std::string::npos);
  CHECK(json::parse(server.stats()).value("requests", 0) >= 1);

  try {
    brp::Server bad(app, R"({"nope":1})");
    CHECK(false);
  } catch (const brp::Error& e) {
    CHECK(e.status() == BRP_STATUS_INVALID_CONFIG);
    CHECK(std::strstr(e.what(), "brp_server_start") != nullptr);
  }
  try {
    brp::Server taken(app, R"({"address": ")" + address + R"("})");
    CHECK(false);
  } catch (const brp::Error& e) {
    CHECK(e.status() == BRP_STATUS_INVALID_CONFIG);
  }

  brp::Server moved(std::move(server));
  CHECK(server.get() == nullptr);
  CHECK(moved.address() == address);
  try {
    (void)server.address();
    CHECK(false);
  } catch (const brp::Error& e) {
    CHECK(e.status() == BRP_STATUS_NULL_ARGUMENT);
  }
  moved.stop();
  moved.stop();
  CHECK(!listening(address));
  CHECK(json::parse(moved.stats()).value("open_connections", -1) == 0);

  // Move-assigning stops and frees the server held.
  brp::Server other(app, kAnyPort);
  const std::string other_address = other.address();
  other = brp::Server(app, kAnyPort);
  CHECK(!listening(other_address));
  CHECK(listening(other.address()));
}  // destroying `other` stops it

// While a stop waits for a client that reads none of its 40 MB of answers,
// brp_server_stats answers at once.
void stats_during_a_stop() {
  brp_app* app = nullptr;
  CHECK(brp_app_new(R"({"components": ["Blob"]})", &app) == BRP_STATUS_OK);
  const std::string blob(2 << 20, 'x');
  const std::string spawn = R"({"id":1,"request":"SPAWN","params":{"components":{"Blob":{"JSON":"\")" +
                            blob + R"(\""}}}})";
  char* spawned = nullptr;
  CHECK(brp_request(app, spawn.c_str(), &spawned) == BRP_STATUS_OK);
  take(spawned);
  brp_server* server = nullptr;
  CHECK(brp_server_start(app, R"({"address": "127.0.0.1:0", "stop_timeout_ms": 3000})", &server) ==
        BRP_STATUS_OK);
  const std::string address = address_of(server);
  const std::string get = R"({"id":2,"request":"GET","params":{"entity":"1v0","components":["Blob"]}})";
  const std::string request = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                              std::to_string(get.size()) + "\r\n\r\n" + get;
  std::string requests;
  for (int i = 0; i < 20; ++i) requests += request;
  const int client = connect_to(*parse_address(address));
  CHECK(client >= 0);
  CHECK(send(client, requests.data(), requests.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(requests.size()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(BRP_TEST_HANG_MS);
  while (stats_of(server).value("requests", 0) < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    CHECK(brp_server_stop(server) == BRP_STATUS_OK);
    stopped = true;
  });
  while (listening(address) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(stats_of(server).value("requests", 0) >= 2);
  CHECK(!stopped);  // the stop still waits for the client
  stopper.join();
  close(client);
  brp_server_free(server);
  brp_app_free(app);
}

}  // namespace

int main() {
  serve_stop_and_refuse();
  stats_during_a_stop();
  wrapper();
  return brp_test_summary("server");
}
