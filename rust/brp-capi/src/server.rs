//! `brp_server`: the network server (docs/server.md) serving an app's world
//! over HTTP and WebSocket.

use crate::app::BrpApp;
use crate::boundary::{Failure, Out, call, guard, handle, text};
use crate::status::BrpStatus;
use crate::string::into_c;
use brp::server::{Server, ServerConfig};
use std::ffi::c_char;

/// A server answering BRP requests from the network, over HTTP POST and
/// WebSocket on one address, from an app's world. Opaque: made by
/// `brp_server_start`, freed by `brp_server_free`.
///
/// Thread safety: every function taking a `const brp_server *` may be
/// called from any number of threads at once, and so may
/// `brp_server_stop`.
pub struct BrpServer {
    server: Server,
}

/// Starts a server on `app`'s world and writes its handle to
/// `*out_server`. It listens at once, on a thread of its own, and serves
/// BRP in both dialects (the native requests and bevy_remote's JSON-RPC
/// 2.0) over HTTP/1.1 POST (one JSON request per request body) and
/// WebSocket (one request per text message) on one address (docs/server.md).
///
/// `config_json` is the server's configuration as JSON text, e.g.
/// `{"address": "127.0.0.1:0", "token": "secret", "max_connections": 64}`:
/// `address` (default `"127.0.0.1:15702"`; port 0 picks a free port, see
/// `brp_server_address`), `token` (every request must then carry
/// `Authorization: Bearer <token>`), `allowed_origins` and `allowed_hosts`
/// (which browser pages and `Host` names it serves besides its own and
/// loopback ones: docs/server.md, "What a web page can do"), and the
/// limits `max_request_bytes`, `max_request_bytes_total`,
/// `max_connections`, `max_in_flight`, `max_watches`, `max_queued_answers`,
/// `max_queued_bytes`, `header_timeout_ms`, `body_timeout_ms`,
/// `idle_timeout_ms`, `stop_timeout_ms` (docs/limits.md). NULL, `""` and
/// `"null"` give the default. Fails with `BRP_STATUS_INVALID_CONFIG` on
/// malformed JSON, an unknown field, a bad value (a limit out of its range,
/// an empty token, `"null"` among the origins, an address that is not
/// `"<ip>:<port>"`, a `max_connections` the descriptor limit cannot meet)
/// or an address that cannot be bound (e.g. already in use), and with
/// `BRP_STATUS_INTERNAL` when the server's threads cannot start.
///
/// Each connection is a session of the world: requests from the network
/// share the app's world and its lock with the app's own requests, and
/// apply in the order they reach it.
///
/// Thread safety: callable from any thread. Ownership: the caller owns the
/// server and frees it with `brp_server_free`; `config_json` is only read
/// during the call. Lifetime: the server keeps the world alive, so it may
/// outlive `app`'s handle. `*out_server` is written only on success.
///
/// # Safety
/// `app` is NULL or a live handle from `brp_app_new`; `config_json` is NULL
/// or a NUL-terminated string; `out_server` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_server_start(
    app: *const BrpApp,
    config_json: *const c_char,
    out_server: *mut *mut BrpServer,
) -> BrpStatus {
    call("brp_server_start", || {
        // SAFETY: guaranteed by the caller.
        let (app, out) = unsafe { (handle(app, "app")?, Out::new(out_server, "out_server")?) };
        let config = if config_json.is_null() {
            ""
        } else {
            // SAFETY: guaranteed by the caller.
            unsafe { text(config_json, "config_json") }?
        };
        let config = ServerConfig::from_json(config)
            .map_err(|e| Failure::new(BrpStatus::InvalidConfig, e.to_string()))?;
        let server = Server::start(app.app(), config).map_err(|e| {
            let status = match e.code {
                brp::ErrorCode::InternalError => BrpStatus::Internal,
                _ => BrpStatus::InvalidConfig,
            };
            Failure::new(status, e.to_string())
        })?;
        out.write(Box::into_raw(Box::new(BrpServer { server })));
        Ok(())
    })
}

/// Writes the address the server listens on, `"<ip>:<port>"` (e.g.
/// `"127.0.0.1:40123"`, `"[::1]:15702"` for IPv6), to `*out_address`: the
/// port the system picked when started with port 0. It stays the same after
/// a stop.
///
/// Thread safety: callable from any thread, also during and after a stop.
/// Ownership: the caller owns the text and frees it with `brp_string_free`.
/// `*out_address` is written only on success.
///
/// # Safety
/// `server` is NULL or a live handle from `brp_server_start`;
/// `out_address` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_server_address(
    server: *const BrpServer,
    out_address: *mut *mut c_char,
) -> BrpStatus {
    call("brp_server_address", || {
        // SAFETY: guaranteed by the caller.
        let (server, out) = unsafe {
            (
                handle(server, "server")?,
                Out::new(out_address, "out_address")?,
            )
        };
        out.write(into_c(server.server.address().to_string())?);
        Ok(())
    })
}

/// Writes the server's statistics as of now, as JSON text, to `*out_json`:
/// `connections` (accepted), `open_connections`, `refused_connections`
/// (beyond `max_connections`, or out of file descriptors), `requests`
/// (carried out, both transports and dialects), `unauthorized` (missing or
/// wrong token), `forbidden` (an `Origin` or `Host` refused), `oversized`
/// (beyond `max_request_bytes`), `busy` (beyond `max_request_bytes_total`),
/// `timeouts` (idle, header and body timeouts), `slow_disconnects` (clients
/// that let answers pile up or read none) and `accept_errors` (accepting
/// failed for want of file descriptors); docs/server.md.
///
/// Thread safety: callable from any thread, also after a stop, and never
/// waits for a stop in progress: meanwhile it gives the statistics as of
/// the start of that stop. Ownership: the caller owns the text and frees it
/// with `brp_string_free`. `*out_json` is written only on success.
///
/// # Safety
/// `server` is NULL or a live handle from `brp_server_start`; `out_json` is
/// NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_server_stats(
    server: *const BrpServer,
    out_json: *mut *mut c_char,
) -> BrpStatus {
    call("brp_server_stats", || {
        // SAFETY: guaranteed by the caller.
        let (server, out) = unsafe { (handle(server, "server")?, Out::new(out_json, "out_json")?) };
        let json = serde_json::to_string(&server.server.stats())
            .map_err(|e| Failure::new(BrpStatus::Internal, format!("cannot write stats: {e}")))?;
        out.write(into_c(json)?);
        Ok(())
    })
}

/// Stops the server gracefully: stops accepting, closes every connection's
/// session (their parked POLLs and `+watch` streams answer error -23405,
/// CANCELLED), writes the answers still queued, and returns once every
/// connection is closed or `stop_timeout_ms` has passed. After it returns,
/// nothing listens on the address any more. Stopping again does nothing;
/// the handle stays valid (`brp_server_address` and `brp_server_stats`
/// still answer) until `brp_server_free`.
///
/// Waits for requests of the server's connections being carried out, which
/// take the world's lock: it must not be called from code running under
/// that lock, nor from a session callback (one may run on a server thread,
/// when a network request wakes a parked POLL: stopping would wait for
/// itself).
///
/// Thread safety: callable from any thread but those above; a stop called
/// while another is in progress returns when that one is done.
///
/// # Safety
/// `server` is NULL or a live handle from `brp_server_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_server_stop(server: *const BrpServer) -> BrpStatus {
    call("brp_server_stop", || {
        // SAFETY: guaranteed by the caller.
        let server = unsafe { handle(server, "server") }?;
        server.server.stop();
        Ok(())
    })
}

/// Stops (as `brp_server_stop`) and frees a server. NULL is accepted and
/// ignored.
///
/// Thread safety: no other thread may use this handle during or after the
/// call; the restrictions of `brp_server_stop` apply.
///
/// # Safety
/// `server` is NULL or a handle from `brp_server_start` not yet freed; it
/// must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_server_free(server: *mut BrpServer) {
    guard("brp_server_free", (), || {
        if !server.is_null() {
            // SAFETY: the caller passes a handle made by `brp_server_start`,
            // once.
            let server = unsafe { Box::from_raw(server) };
            server.server.stop();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{brp_app_free, brp_app_new, brp_last_error_message, brp_string_free};
    use std::ffi::CStr;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    fn last_error() -> String {
        // SAFETY: valid until the next call on this thread.
        let message = unsafe { CStr::from_ptr(brp_last_error_message()) };
        message.to_string_lossy().into_owned()
    }

    /// Takes a string the library returned.
    fn take(text: *mut c_char) -> String {
        // SAFETY: a live string from the library, freed once here.
        unsafe {
            let owned = CStr::from_ptr(text).to_string_lossy().into_owned();
            brp_string_free(text);
            owned
        }
    }

    fn post(address: &str, body: &str) -> String {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn a_server_answers_over_http_stops_and_counts() {
        let mut app = std::ptr::null_mut();
        let mut server = std::ptr::null_mut();
        // SAFETY: valid arguments; every handle is freed below.
        unsafe {
            assert_eq!(brp_app_new(std::ptr::null(), &mut app), BrpStatus::Ok);
            let config = c"{\"address\": \"127.0.0.1:0\"}";
            let status = brp_server_start(app, config.as_ptr(), &mut server);
            assert_eq!(status, BrpStatus::Ok, "{}", last_error());
            let mut text = std::ptr::null_mut();
            assert_eq!(brp_server_address(server, &mut text), BrpStatus::Ok);
            let address = take(text);
            let port = address.parse::<std::net::SocketAddr>().unwrap().port();
            assert_ne!(port, 0);

            let answer = post(&address, r#"{"id": 1, "request": "PING"}"#);
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            assert!(answer.contains(r#""status":"OK""#), "{answer}");

            assert_eq!(brp_server_stats(server, &mut text), BrpStatus::Ok);
            let stats: serde_json::Value = serde_json::from_str(&take(text)).unwrap();
            assert_eq!(stats["requests"], 1, "{stats}");

            assert_eq!(brp_server_stop(server), BrpStatus::Ok);
            assert_eq!(brp_server_stop(server), BrpStatus::Ok);
            assert!(TcpStream::connect(&address).is_err());
            assert_eq!(brp_server_stats(server, &mut text), BrpStatus::Ok);
            let stats: serde_json::Value = serde_json::from_str(&take(text)).unwrap();
            assert_eq!(stats["requests"], 1, "{stats}");
            assert_eq!(stats["open_connections"], 0, "{stats}");
            assert_eq!(brp_server_address(server, &mut text), BrpStatus::Ok);
            assert_eq!(take(text), address);

            // A second server on the address of a running one fails.
            let mut other = std::ptr::null_mut();
            let config = c"{\"address\": \"127.0.0.1:0\"}";
            assert_eq!(
                brp_server_start(app, config.as_ptr(), &mut other),
                BrpStatus::Ok
            );
            assert_eq!(brp_server_address(other, &mut text), BrpStatus::Ok);
            let taken = format!("{{\"address\": \"{}\"}}\0", take(text));
            let mut third = std::ptr::dangling_mut();
            let status = brp_server_start(app, taken.as_ptr().cast(), &mut third);
            assert_eq!(status, BrpStatus::InvalidConfig);
            assert_eq!(third, std::ptr::dangling_mut());
            assert!(last_error().starts_with("brp_server_start: "));

            brp_server_free(other);
            brp_server_free(server);
            brp_server_free(std::ptr::null_mut());
            brp_app_free(app);
        }
    }

    #[test]
    fn bad_configs_and_null_arguments_fail() {
        let mut app = std::ptr::null_mut();
        // SAFETY: valid or NULL arguments, as each case says; freed below.
        unsafe {
            assert_eq!(brp_app_new(std::ptr::null(), &mut app), BrpStatus::Ok);
            for config in [
                c"{\"max_connections\": 0}",
                c"{\"nope\": 1}",
                c"{not json",
                c"{\"address\": \"nowhere\"}",
                c"{\"address\": \"127.0.0.1:0\", \"token\": \"\"}",
            ] {
                let mut server = std::ptr::dangling_mut();
                let status = brp_server_start(app, config.as_ptr(), &mut server);
                assert_eq!(status, BrpStatus::InvalidConfig, "{config:?}");
                assert_eq!(server, std::ptr::dangling_mut());
                assert!(last_error().starts_with("brp_server_start: "));
            }
            let mut server = std::ptr::null_mut();
            let config = c"{\"address\": \"127.0.0.1:0\"}".as_ptr();
            let status = brp_server_start(std::ptr::null(), config, &mut server);
            assert_eq!(status, BrpStatus::NullArgument);
            assert_eq!(last_error(), "brp_server_start: app is NULL");
            let status = brp_server_start(app, config, std::ptr::null_mut());
            assert_eq!(status, BrpStatus::NullArgument);
            let mut text = std::ptr::null_mut();
            let status = brp_server_address(std::ptr::null(), &mut text);
            assert_eq!(status, BrpStatus::NullArgument);
            assert_eq!(last_error(), "brp_server_address: server is NULL");
            let status = brp_server_stats(std::ptr::null(), &mut text);
            assert_eq!(status, BrpStatus::NullArgument);
            assert!(text.is_null());
            let status = brp_server_stop(std::ptr::null());
            assert_eq!(status, BrpStatus::NullArgument);
            assert_eq!(last_error(), "brp_server_stop: server is NULL");
            brp_app_free(app);
        }
    }
}
