/*
 * libbrp for C++17: a header-only RAII wrapper over brp.h.
 *
 * - brp::App and brp::Session own their C handle, are move-only, and free
 *   it when destroyed.
 * - Strings go in and out as std::string; responses are copied out and the
 *   library's string freed at once.
 * - A failed call throws brp::Error carrying the brp_status and the
 *   library's message. A BRP error *response* is not a failed call: it is
 *   returned like any other response.
 *
 * Thread safety is that of the C API: const member functions of App and
 * Session may be called from many threads at once; moving from or
 * destroying an object must not race with any other use of it.
 */

#ifndef BRP_HPP
#define BRP_HPP

#include "brp.h"

#include <memory>
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

  /// The C handle, still owned by this object (NULL once moved from).
  brp_app* get() const noexcept { return handle_.get(); }

 private:
  std::unique_ptr<brp_app, detail::Deleter<brp_app, brp_app_free>> handle_;
};

/// One client's request-id scope on a world (owns a brp_session). It keeps
/// the world alive, so it may outlive the App it came from.
class Session {
 public:
  /// Opens a session on `app`'s world.
  explicit Session(const App& app) {
    brp_session* session = nullptr;
    detail::check(brp_session_new(app.get(), &session));
    handle_.reset(session);
  }

  /// Answers one request (JSON text) within this session.
  std::string request(std::string_view request_json) const {
    const std::string text = detail::c_string(request_json, "request_json");
    char* response = nullptr;
    detail::check(brp_session_request(get(), text.c_str(), &response));
    return detail::take(response);
  }

  /// The C handle, still owned by this object (NULL once moved from).
  brp_session* get() const noexcept { return handle_.get(); }

 private:
  std::unique_ptr<brp_session, detail::Deleter<brp_session, brp_session_free>> handle_;
};

inline Session App::session() const { return Session(*this); }

}  // namespace brp

#endif  // BRP_HPP
