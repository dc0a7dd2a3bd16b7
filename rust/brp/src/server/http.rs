//! One HTTP/1.1 connection (hyper): a POST's body is one request in
//! either dialect, its answer the response body; a `+watch` answers as
//! server-sent events (`data: <answer>\n\n`), as bevy_remote streams it.
//! A WebSocket upgrade hands the connection to [`ws`].

use super::budget::Charge;
use super::io::{Busy, Conn, Meter};
use super::link::{Link, Open, Queued, Shared, stopping};
use super::policy::Admitted;
use super::ws;
use crate::error::BrpError;
use crate::protocol::Response as Answer;
use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited, StreamBody};
use hyper::body::{Body as _, Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::OnUpgrade;
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, mpsc};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Serves one connection until it closes, the client falls behind or the
/// server stops; `_slot` is its place among `max_connections`.
pub(super) async fn connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    _slot: OwnedSemaphorePermit,
) {
    let _open = Open(Arc::clone(&shared.counters));
    let meter = Meter::new(stream, &shared.budget);
    shared.register(&meter);
    let link = Arc::new(Link::new(&shared));
    let upgrade = Arc::new(Mutex::new(None));
    let service = {
        let (shared, link, meter, upgrade) = (
            Arc::clone(&shared),
            Arc::clone(&link),
            Arc::clone(&meter),
            Arc::clone(&upgrade),
        );
        service_fn(move |request| {
            let busy = meter.begin();
            handle(
                request,
                Arc::clone(&shared),
                Arc::clone(&link),
                Arc::clone(&upgrade),
                busy,
            )
        })
    };
    let connection = http1::Builder::new()
        // The meter times headers and idle connections (`Meter::watch`).
        .header_read_timeout(None)
        .max_buf_size(MAX_HEAD)
        .serve_connection(TokioIo::new(Conn(Arc::clone(&meter))), service)
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stopping(shared.stopped.clone()) => {
            // Parked POLLs and watches answer -23405, and their requests
            // write that answer before the connection closes.
            link.session.close();
            connection.as_mut().graceful_shutdown();
            let _ = connection.as_mut().await;
            return;
        }
        _ = link.overflow() => {
            shared.counters.slow_disconnects.fetch_add(1, Ordering::Relaxed);
            return;
        }
        why = meter.watch(&shared.settings) => {
            shared.ended(why);
            return;
        }
    }
    let upgraded = upgrade.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(upgraded) = upgraded
        && let Ok(upgraded) = upgraded.await
    {
        meter.websocket();
        ws::run(TokioIo::new(upgraded), &shared, &link, &meter).await;
    }
}

/// The most bytes of a request's head (its request line and headers);
/// beyond, HTTP 431.
const MAX_HEAD: usize = 64 << 10;

/// Answers one HTTP request; `busy` marks it in progress until its answer
/// is made (or, for a watch, until its event stream ends).
async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    link: Arc<Link>,
    upgrade: Arc<Mutex<Option<OnUpgrade>>>,
    busy: Busy,
) -> Result<Response<Body>, Infallible> {
    let origin = match admit(&request, &shared) {
        Ok(origin) => origin,
        Err(refused) => return Ok(closing(refused.response())),
    };
    let mut response = answer(request, &shared, &link, &upgrade, busy).await;
    if let Some(origin) = origin
        && let Ok(origin) = HeaderValue::from_str(&origin)
    {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::VARY, HeaderValue::from_static("origin"));
    }
    Ok(response)
}

/// Checks the request's `Host` and `Origin` (docs/server.md, "What a web
/// page can do"): the allowed origin to answer to, if it names one, or
/// the refusal.
fn admit(request: &Request<Incoming>, shared: &Shared) -> Result<Option<String>, Refusal> {
    let headers = request.headers();
    let one = |name| {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (value, None) => Ok(value.map(HeaderValue::as_bytes)),
            _ => Err(()),
        }
    };
    let (Ok(host), Ok(origin)) = (one(header::HOST), one(header::ORIGIN)) else {
        return Err(Refusal::bad(
            "a request carries at most one Host and one Origin",
        ));
    };
    if host.is_none() && request.version() != Version::HTTP_10 {
        return Err(Refusal::bad("an HTTP/1.1 request must carry a Host header"));
    }
    match shared.settings.policy.admit(host, origin) {
        Ok(Admitted::NoOrigin) => Ok(None),
        Ok(Admitted::Origin(origin)) => Ok(Some(origin.to_owned())),
        Err(refused) => {
            shared.counters.forbidden.fetch_add(1, Ordering::Relaxed);
            Err(Refusal(StatusCode::FORBIDDEN, refused.to_string()))
        }
    }
}

/// The answer to a request the policy let through.
async fn answer(
    mut request: Request<Incoming>,
    shared: &Arc<Shared>,
    link: &Arc<Link>,
    upgrade: &Mutex<Option<OnUpgrade>>,
    busy: Busy,
) -> Response<Body> {
    if request.method() == Method::OPTIONS && request.headers().contains_key(header::ORIGIN) {
        return preflight();
    }
    let authorization = request.headers().get(header::AUTHORIZATION);
    if !shared.authorized(authorization.map(HeaderValue::as_bytes)) {
        let mut response = plain(StatusCode::UNAUTHORIZED, "missing or wrong bearer token\n");
        (response.headers_mut())
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return closing(response);
    }
    if wants_websocket(&request) {
        return match websocket_accept(&request) {
            Ok(accept) => {
                *upgrade.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(hyper::upgrade::on(&mut request));
                switching(accept)
            }
            Err(refused) => closing(refused.response()),
        };
    }
    if request.method() != Method::POST {
        let mut response = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST a BRP request, or upgrade to a WebSocket\n",
        );
        (response.headers_mut()).insert(header::ALLOW, HeaderValue::from_static("POST"));
        return closing(response);
    }
    let body = match read_body(request.into_body(), shared).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    let Ok(text) = std::str::from_utf8(&body.0) else {
        let refused = Answer::error(None, BrpError::parse("the request body is not UTF-8"));
        return json(refused.to_text());
    };
    let submitted = link.session.submit_tracked(text);
    drop(body);
    let submitted = match submitted {
        Ok(submitted) => submitted,
        Err(refused) => return json(refused.into_text()),
    };
    // Until its answer is written, a client that goes away cancels it.
    let pending = Pending {
        link: Arc::clone(link),
        id: submitted.id,
        armed: true,
    };
    let mut answers = Arc::clone(&link.answers).lock_owned().await;
    let first = match next_now(link, &mut answers, submitted.id) {
        Some(first) => Some(first),
        None => {
            let _waiting = busy.wait();
            next(link, &mut answers, submitted.id).await
        }
    };
    let Some(first) = first else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping\n");
    };
    if !submitted.streams || first.result.is_err() {
        pending.forget();
        return json(first.to_text());
    }
    events(first, Arc::clone(link), answers, pending, busy)
}

/// A request's body, read within `body_timeout_ms` and charged to the
/// server's budget until dropped; or the refusal.
async fn read_body(body: Incoming, shared: &Shared) -> Result<(Vec<u8>, Charge), Response<Body>> {
    let limit = shared.config().max_request_bytes;
    let mut charge = Charge::new(&shared.budget);
    // A declared length over the limit is refused before a byte is read.
    let declared = body.size_hint().lower();
    let mut bytes = Vec::with_capacity(declared.min(limit as u64) as usize);
    let read = async {
        if declared > limit as u64 {
            return Err(true);
        }
        let mut body = Limited::new(body, limit);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| e.is::<LengthLimitError>())?;
            if let Ok(data) = frame.into_data() {
                if !charge.add(data.len()) {
                    return Ok(false);
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(true)
    };
    let counters = &shared.counters;
    match tokio::time::timeout(shared.settings.body_timeout, read).await {
        Ok(Ok(true)) => Ok((bytes, charge)),
        Ok(Ok(false)) => {
            counters.busy.fetch_add(1, Ordering::Relaxed);
            let mut response = plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server holds max_request_bytes_total bytes of requests; try again\n",
            );
            (response.headers_mut()).insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Err(closing(response))
        }
        Ok(Err(true)) => {
            counters.oversized.fetch_add(1, Ordering::Relaxed);
            let message = format!("the request is over {limit} bytes (max_request_bytes)\n");
            Err(closing(plain(StatusCode::PAYLOAD_TOO_LARGE, &message)))
        }
        Ok(Err(false)) => Err(plain(
            StatusCode::BAD_REQUEST,
            "the request body was cut off\n",
        )),
        Err(_) => {
            counters.timeouts.fetch_add(1, Ordering::Relaxed);
            Err(closing(plain(
                StatusCode::REQUEST_TIMEOUT,
                "the request body took longer than body_timeout_ms\n",
            )))
        }
    }
}

/// `response`, after which the connection closes: its request's body was
/// not read to its end, so nothing after it on the connection can be read.
fn closing(mut response: Response<Body>) -> Response<Body> {
    (response.headers_mut()).insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The answer to a browser's CORS preflight from an allowed origin: it may
/// POST JSON with a bearer token.
fn preflight() -> Response<Body> {
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    let allow = [
        (header::ACCESS_CONTROL_ALLOW_METHODS, "POST, GET"),
        (
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "authorization, content-type",
        ),
        (header::ACCESS_CONTROL_MAX_AGE, "600"),
    ];
    for (name, value) in allow {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A watch's answers as server-sent events, from `first` until the answer
/// that ends it (an error); the request is in progress (`busy`) until then.
fn events(
    first: Answer,
    link: Arc<Link>,
    answers: OwnedMutexGuard<mpsc::Receiver<Queued>>,
    pending: Pending,
    busy: Busy,
) -> Response<Body> {
    let waiting = busy.wait();
    let state = (Some(first), answers, Some((pending, busy, waiting)));
    let events = stream::unfold(state, move |(first, mut answers, request)| {
        let link = Arc::clone(&link);
        async move {
            let (pending, busy, waiting) = request?;
            let answer = match first {
                Some(first) => first,
                None => next(&link, &mut answers, pending.id).await?,
            };
            let last = answer.result.is_err();
            let frame = Frame::data(Bytes::from(format!("data: {}\n\n", answer.to_text())));
            let request = if last {
                pending.forget();
                None
            } else {
                Some((pending, busy, waiting))
            };
            Some((Ok::<_, Infallible>(frame), (None, answers, request)))
        }
    });
    let mut response = Response::new(BodyExt::boxed_unsync(StreamBody::new(events)));
    (response.headers_mut()).insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    response
}

/// The next answer to request `id`; answers to others (left over from a
/// request whose client went away) are dropped.
async fn next(link: &Link, answers: &mut mpsc::Receiver<Queued>, id: u64) -> Option<Answer> {
    loop {
        let (answer, _) = link.taken(answers.recv().await?);
        if answer.id == Some(id) {
            return Some(answer);
        }
    }
}

/// [`next`], if it is already there.
fn next_now(link: &Link, answers: &mut mpsc::Receiver<Queued>, id: u64) -> Option<Answer> {
    while let Ok(queued) = answers.try_recv() {
        let (answer, _) = link.taken(queued);
        if answer.id == Some(id) {
            return Some(answer);
        }
    }
    None
}

/// A request whose answer is not written yet: dropped before [`forget`],
/// it cancels the request (a parked POLL or an open watch).
///
/// [`forget`]: Pending::forget
struct Pending {
    link: Arc<Link>,
    id: u64,
    armed: bool,
}

impl Pending {
    /// The answer is written: nothing to cancel.
    fn forget(mut self) {
        self.armed = false;
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.armed {
            self.link.session.cancel(self.id);
        }
    }
}

/// Whether `request` asks for a WebSocket (`Upgrade: websocket`).
fn wants_websocket(request: &Request<Incoming>) -> bool {
    has_token(request.headers(), header::UPGRADE, "websocket")
}

/// The `Sec-WebSocket-Accept` of a valid WebSocket upgrade (RFC 6455
/// §4.2.1), or the refusal of one that is not.
fn websocket_accept(request: &Request<Incoming>) -> Result<String, Refusal> {
    let headers = request.headers();
    if request.method() != Method::GET {
        return Err(Refusal::bad("a WebSocket upgrade is a GET"));
    }
    if request.version() != Version::HTTP_11 {
        return Err(Refusal::bad("a WebSocket upgrade needs HTTP/1.1"));
    }
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return Err(Refusal::bad(
            "a WebSocket upgrade carries Connection: upgrade",
        ));
    }
    let version = headers.get(header::SEC_WEBSOCKET_VERSION);
    if version.is_none_or(|v| v.as_bytes() != b"13") {
        return Err(Refusal(
            StatusCode::UPGRADE_REQUIRED,
            "this server speaks WebSocket version 13 (RFC 6455)".to_owned(),
        ));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(HeaderValue::as_bytes);
    match key {
        Some(key) if is_websocket_key(key) => Ok(derive_accept_key(key)),
        _ => Err(Refusal::bad("Sec-WebSocket-Key must be 16 bytes in base64")),
    }
}

/// A request refused before it runs: its status and why.
struct Refusal(StatusCode, String);

impl Refusal {
    /// A 400 Bad Request.
    fn bad(why: &str) -> Self {
        Self(StatusCode::BAD_REQUEST, why.to_owned())
    }

    fn response(self) -> Response<Body> {
        let Self(status, why) = self;
        let mut response = plain(status, &format!("{why}\n"));
        if status == StatusCode::UPGRADE_REQUIRED {
            (response.headers_mut()).insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
        }
        response
    }
}

/// Whether `key` is 16 bytes in base64: 22 characters of the alphabet and
/// `==`.
fn is_websocket_key(key: &[u8]) -> bool {
    let base64 = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    key.len() == 24 && key[..22].iter().all(base64) && &key[22..] == b"=="
}

/// Whether one of the `name` headers lists `token` (comma-separated, any
/// case).
fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        (value.to_str().unwrap_or_default().split(','))
            .any(|part| part.trim().eq_ignore_ascii_case(token))
    })
}

/// The `101 Switching Protocols` answer to a WebSocket upgrade.
fn switching(accept: String) -> Response<Body> {
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

fn json(text: String) -> Response<Body> {
    let mut response = Response::new(BodyExt::boxed_unsync(Full::new(Bytes::from(text))));
    (response.headers_mut()).insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(BodyExt::boxed_unsync(Full::new(Bytes::from(
        text.to_owned(),
    ))));
    *response.status_mut() = status;
    (response.headers_mut()).insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn empty() -> Body {
    BodyExt::boxed_unsync(Full::new(Bytes::new()))
}
