/*
 * libbrp for C++17: a header-only RAII wrapper over brp.h.
 *
 * - brp::App, brp::Session, brp::PoseClient and brp::Server own their C
 *   handle, are move-only, and free it when destroyed.
 * - brp::set_log_callback routes libbrp's log messages to a function.
 * - Strings go in and out as std::string; responses are copied out and the
 *   library's string freed at once.
 * - A failed call throws brp::Error carrying the brp_status and the
 *   library's message. A BRP error *response* is not a failed call: it is
 *   returned like any other response.
 *
 * Thread safety is that of the C API: const member functions of App,
 * Session and Server may be called from many threads at once; moving from or
 * destroying an object must not race with any other use of it.
 */

#ifndef BRP_HPP
#define BRP_HPP

#include "brp.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace brp {

/// A failed call: its status and the library's message.
class Error : public std::runtime_error {
 public:
  /// An error with `status` described by `message`.
  Error(brp_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}

  /// The status the failed call returned.
  brp_status status() const noexcept { return status_; }

 private:
  brp_status status_;
};

namespace detail {

/// Throws brp::Error with this thread's last error message unless `status`
/// is BRP_STATUS_OK.
inline void check(brp_status status) {
  if (status != BRP_STATUS_OK) {
    throw Error(status, brp_last_error_message());
  }
}

/// `text` as a NUL-terminated string; a NUL inside it would silently cut
/// the text short, so it is refused.
inline std::string c_string(std::string_view text, const char* what) {
  if (text.find('\0') != std::string_view::npos) {
    throw Error(BRP_STATUS_INVALID_UTF8,
                std::string(what) + " contains a NUL byte, which a C string cannot carry");
  }
  return std::string(text);
}

/// Copies a string returned by the library and frees the original.
inline std::string take(char* text) {
  std::unique_ptr<char, decltype(&brp_string_free)> owned(text, &brp_string_free);
  return std::string(owned.get());
}

/// Owns a C handle and frees it with `Free`.
template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* handle) const noexcept { Free(handle); }
};

}  // namespace detail

/// The library's version at run time, e.g. "0.1.0".
inline std::string version() { return brp_version(); }

class Session;

/// An embedded Bevy world answering BRP requests (owns a brp_app).
class App {
 public:
  /// Makes a world from its JSON configuration, e.g.
  /// `{"components": ["Position", "Player"]}`; "" gives the default.
  explicit App(std::string_view config_json = "") {
    const std::string config = detail::c_string(config_json, "config_json");
    brp_app* app = nullptr;
    detail::check(brp_app_new(config.c_str(), &app));
    handle_.reset(app);
  }

  /// Declares a dynamic component holding a JSON value.
  void register_component(std::string_view name) const {
    const std::string text = detail::c_string(name, "name");
    detail::check(brp_app_register_component(get(), text.c_str()));
  }

  /// Runs the schedule once and advances the change tick.
  void update() const { detail::check(brp_app_update(get())); }

  /// Answers one request (JSON text) outside any session.
  std::string request(std::string_view request_json) const {
    const std::string text = detail::c_string(request_json, "request_json");
    char* response = nullptr;
    detail::check(brp_request(get(), text.c_str(), &response));
    return detail::take(response);
  }

  /// Opens a session on this world.
  Session session() const;

  /// Applies one controller frame (FlatBuffers `DetectionMessage` bytes or
  /// its JSON text) to the target entity, given as JSON (`""`: the default
  /// `{"name": "Player"}`). Throws brp::Error (BRP_STATUS_POSE_REJECTED) on
  /// a malformed frame or a missing entity.
  void push_pose(std::string_view frame, std::string_view target_json = "") const {
    const std::string target = detail::c_string(target_json, "target_json");
    detail::check(brp_pose_push(get(), target.empty() ? nullptr : target.c_str(),
                                reinterpret_cast<const uint8_t*>(frame.data()), frame.size()));
  }

  /// The C handle, still owned by this object (NULL once moved from).
  brp_app* get() const noexcept { return handle_.get(); }

 private:
  std::unique_ptr<brp_app, detail::Deleter<brp_app, brp_app_free>> handle_;
};

namespace detail {

/// The callback of a Session, called by the library with the slot as
/// `user_data`. The slot outlives the C session, and replacing the function
/// never destroys one that is running (callers hold a shared_ptr).
struct CallbackSlot {
  std::mutex mutex;
  std::shared_ptr<const std::function<void(std::string_view)>> function;

  static void call(void* user_data, const char* response_json) noexcept {
    auto* slot = static_cast<CallbackSlot*>(user_data);
    std::shared_ptr<const std::function<void(std::string_view)>> function;
    {
      std::lock_guard<std::mutex> lock(slot->mutex);
      function = slot->function;
    }
    if (function) {
      (*function)(response_json);  // an exception here calls std::terminate
    }
  }
};

}  // namespace detail

/// One client's request-id scope and response queue on a world (owns a
/// brp_session). It keeps the world alive, so it may outlive the App it
/// came from. Destroying it closes it (see brp_session_free).
class Session {
 public:
  /// Opens a session on `app`'s world.
  explicit Session(const App& app) : slot_(std::make_unique<detail::CallbackSlot>()) {
    brp_session* session = nullptr;
    detail::check(brp_session_new(app.get(), &session));
    handle_.reset(session);
  }

  Session(Session&&) noexcept = default;

  /// Closes and frees the session held, then takes `other`'s.
  Session& operator=(Session&& other) noexcept {
    if (this != &other) {
      handle_.reset();  // no callback of it runs after this
      slot_ = std::move(other.slot_);
      handle_ = std::move(other.handle_);
    }
    return *this;
  }

  /// Answers one request (JSON text) within this session; a POLL blocks
  /// until it answers.
  std::string request(std::string_view request_json) const {
    const std::string text = detail::c_string(request_json, "request_json");
    char* response = nullptr;
    detail::check(brp_session_request(get(), text.c_str(), &response));
    return detail::take(response);
  }

  /// Submits one request (JSON text) without waiting; its response arrives
  /// through receive() or the callback, possibly out of order.
  void submit(std::string_view request_json) const {
    const std::string text = detail::c_string(request_json, "request_json");
    detail::check(brp_session_submit(get(), text.c_str()));
  }

  /// The next queued response, waiting up to `timeout` (negative: for
  /// ever); std::nullopt on timeout. Throws brp::Error with
  /// BRP_STATUS_CLOSED once the session is closed and drained.
  std::optional<std::string> receive(std::chrono::milliseconds timeout) const {
    char* response = nullptr;
    const brp_status status = brp_session_receive(get(), timeout.count(), &response);
    if (status == BRP_STATUS_TIMEOUT) {
      return std::nullopt;
    }
    detail::check(status);
    return detail::take(response);
  }

  /// Sends submitted responses to `callback` instead of the queue; an empty
  /// function restores the queue. The callback runs on the thread that
  /// completes the request (see brp_session_set_callback), possibly on
  /// several threads at once; it may make any call except destroying or
  /// closing this session, and must not throw (std::terminate). A replaced
  /// callback is kept alive until its running calls return.
  void set_callback(std::function<void(std::string_view response_json)> callback) const {
    const bool set = static_cast<bool>(callback);
    if (!set) {
      detail::check(brp_session_set_callback(get(), nullptr, nullptr));
    }
    {
      std::lock_guard<std::mutex> lock(slot_->mutex);
      slot_->function =
          set ? std::make_shared<const std::function<void(std::string_view)>>(std::move(callback))
              : nullptr;
    }
    if (set) {
      detail::check(brp_session_set_callback(get(), &detail::CallbackSlot::call, slot_.get()));
    }
  }

  /// Cancels this session's parked POLL `id` (it answers error
  /// BRP_ERROR_CANCELLED); false if none was parked.
  bool cancel(uint64_t id) const {
    bool found = false;
    detail::check(brp_session_cancel(get(), id, &found));
    return found;
  }

  /// Closes the session: parked POLLs answer CANCELLED, later requests are
  /// refused, receive() drains the queue then throws BRP_STATUS_CLOSED.
  /// Must not be called from this session's callback.
  void close() const { detail::check(brp_session_close(get())); }

  /// The C handle, still owned by this object (NULL once moved from).
  brp_session* get() const noexcept { return handle_.get(); }

 private:
  // Declared first so it is destroyed after the handle.
  std::unique_ptr<detail::CallbackSlot> slot_;
  std::unique_ptr<brp_session, detail::Deleter<brp_session, brp_session_free>> handle_;
};

/// A pose stream from a controller's WebSocket server into a world (owns a
/// brp_pose_client); destroying it stops it.
class PoseClient {
 public:
  /// Called once per applied frame with its JSON (see brp_pose_callback),
  /// on the client's network thread after the world's lock is released.
  using FrameCallback = std::function<void(std::string_view event_json)>;

  /// Starts a client on `app`'s world from its JSON configuration, e.g.
  /// `{"url": "ws://127.0.0.1:9000"}` (docs/pose.md). A non-empty
  /// `on_frame` is called for every applied frame; it may make any call
  /// except stopping or destroying this client, and must not throw
  /// (std::terminate).
  PoseClient(const App& app, std::string_view config_json, FrameCallback on_frame = nullptr) {
    const std::string config = detail::c_string(config_json, "config_json");
    brp_pose_client* client = nullptr;
    if (on_frame) {
      on_frame_ = std::make_unique<FrameCallback>(std::move(on_frame));
      detail::check(brp_pose_client_start_with_callback(app.get(), config.c_str(), &call,
                                                        on_frame_.get(), &client));
    } else {
      detail::check(brp_pose_client_start(app.get(), config.c_str(), &client));
    }
    handle_.reset(client);
  }

  PoseClient(PoseClient&&) noexcept = default;

  /// Stops and frees the client held, then takes `other`'s.
  PoseClient& operator=(PoseClient&& other) noexcept {
    if (this != &other) {
      handle_.reset();  // no callback of it runs after this
      on_frame_ = std::move(other.on_frame_);
      handle_ = std::move(other.handle_);
    }
    return *this;
  }

  /// The statistics as of now, as JSON text.
  std::string stats() const {
    char* json = nullptr;
    detail::check(brp_pose_client_stats(get(), &json));
    return detail::take(json);
  }

  /// Disconnects and stops; no pose applies and no callback runs after
  /// this returns.
  void stop() const { detail::check(brp_pose_client_stop(get())); }

  /// The C handle, still owned by this object (NULL once moved from).
  brp_pose_client* get() const noexcept { return handle_.get(); }

 private:
  static void call(void* user_data, const char* event_json) noexcept {
    (*static_cast<const FrameCallback*>(user_data))(event_json);  // a throw calls std::terminate
  }

  // Declared first so it is destroyed after the handle.
  std::unique_ptr<FrameCallback> on_frame_;
  std::unique_ptr<brp_pose_client, detail::Deleter<brp_pose_client, brp_pose_client_free>> handle_;
};

/// A server answering BRP requests from the network, over HTTP POST and
/// WebSocket on one address, from a world (owns a brp_server); destroying
/// it stops it. It keeps the world alive, so it may outlive the App.
class Server {
 public:
  /// Starts a server on `app`'s world from its JSON configuration, e.g.
  /// `{"address": "127.0.0.1:0"}` (see brp_server_start); "" gives the
  /// default, 127.0.0.1:15702. Throws brp::Error
  /// (BRP_STATUS_INVALID_CONFIG) on a bad configuration or an address that
  /// cannot be bound.
  explicit Server(const App& app, std::string_view config_json = {}) {
    const std::string config = detail::c_string(config_json, "config_json");
    brp_server* server = nullptr;
    detail::check(brp_server_start(app.get(), config.c_str(), &server));
    handle_.reset(server);
  }

  /// The address it listens on, "ip:port" (the port picked for port 0).
  std::string address() const {
    char* address = nullptr;
    detail::check(brp_server_address(get(), &address));
    return detail::take(address);
  }

  /// The statistics as of now, as JSON text.
  std::string stats() const {
    char* json = nullptr;
    detail::check(brp_server_stats(get(), &json));
    return detail::take(json);
  }

  /// Stops gracefully: parked POLLs and watches of its connections answer
  /// error BRP_ERROR_CANCELLED, and nothing listens on the address once this
  /// returns; stopping again does nothing. Must not be called from a
  /// session callback (see brp_server_stop).
  void stop() const { detail::check(brp_server_stop(get())); }

  /// The C handle, still owned by this object (NULL once moved from).
  brp_server* get() const noexcept { return handle_.get(); }

 private:
  std::unique_ptr<brp_server, detail::Deleter<brp_server, brp_server_free>> handle_;
};

inline Session App::session() const { return Session(*this); }

/// Is called with each log message of libbrp: its level, target (e.g.
/// "brp::pose") and text (see brp_log_callback).
using LogCallback =
    std::function<void(brp_log_level level, std::string_view target, std::string_view message)>;

namespace detail {

/// The function brp::set_log_callback set last, and the lock ordering the
/// calls that set it. Never destroyed: libbrp's threads may log until the
/// process ends.
struct LogState {
  std::mutex mutex;
  std::unique_ptr<LogCallback> callback;
};

inline LogState& log_state() {
  static LogState* const state = new LogState();
  return *state;
}

/// Whether this thread is running the log callback.
inline bool& in_log_callback() {
  thread_local bool inside = false;
  return inside;
}

inline void call_log(void* user_data, int level, const char* target, const char* message) noexcept {
  in_log_callback() = true;
  // A throw calls std::terminate.
  (*static_cast<const LogCallback*>(user_data))(static_cast<brp_log_level>(level), target, message);
  in_log_callback() = false;
}

}  // namespace detail

/// Sends libbrp's log messages up to `max_level` to `callback`, replacing
/// the function set before, which is destroyed once no call of it runs; an
/// empty `callback` or BRP_LOG_LEVEL_OFF turns logging off. The callback
/// runs on libbrp's threads and the threads calling into it (see
/// brp_set_log_callback): it must not throw (std::terminate), set the log
/// callback (brp::Error with BRP_STATUS_LOG_UNAVAILABLE), or stop or
/// destroy a PoseClient.
inline void set_log_callback(LogCallback callback, brp_log_level max_level = BRP_LOG_LEVEL_INFO) {
  if (detail::in_log_callback()) {
    throw Error(BRP_STATUS_LOG_UNAVAILABLE, "brp::set_log_callback: called from a log callback");
  }
  detail::LogState& state = detail::log_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  std::unique_ptr<LogCallback> next;
  if (callback) next = std::make_unique<LogCallback>(std::move(callback));
  detail::check(brp_set_log_callback(next ? &detail::call_log : nullptr, next.get(), max_level));
  state.callback = std::move(next);  // no call of the previous one runs any more
}

}  // namespace brp

#endif  // BRP_HPP
