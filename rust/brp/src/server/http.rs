//! One HTTP/1.1 connection (hyper): a POST's body is one request in
//! either dialect, its answer the response body; a `+watch` answers as
//! server-sent events (`data: <answer>\n\n`), as bevy_remote streams it.
//! A WebSocket upgrade hands the connection to [`ws`](super::ws).

use super::link::{Link, Open, Shared, stopping};
use super::ws;
use crate::error::BrpError;
use crate::protocol::Response as Answer;
use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::OnUpgrade;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
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
    let link = Arc::new(Link::new(&shared));
    let upgrade = Arc::new(Mutex::new(None));
    let service = {
        let (shared, link, upgrade) =
            (Arc::clone(&shared), Arc::clone(&link), Arc::clone(&upgrade));
        service_fn(move |request| {
            handle(
                request,
                Arc::clone(&shared),
                Arc::clone(&link),
                Arc::clone(&upgrade),
            )
        })
    };
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(shared.config.header_timeout_ms))
        .serve_connection(TokioIo::new(stream), service)
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
    }
    let upgraded = upgrade.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(upgraded) = upgraded
        && let Ok(upgraded) = upgraded.await
    {
        ws::run(TokioIo::new(upgraded), &shared, &link).await;
    }
}

/// Answers one HTTP request.
async fn handle(
    mut request: Request<Incoming>,
    shared: Arc<Shared>,
    link: Arc<Link>,
    upgrade: Arc<Mutex<Option<OnUpgrade>>>,
) -> Result<Response<Body>, Infallible> {
    let authorization = request.headers().get(header::AUTHORIZATION);
    if !shared.authorized(authorization.map(HeaderValue::as_bytes)) {
        let mut response = plain(StatusCode::UNAUTHORIZED, "missing or wrong bearer token\n");
        (response.headers_mut())
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Ok(response);
    }
    if let Some(key) = websocket_key(&request) {
        let accept = derive_accept_key(key.as_bytes());
        *upgrade.lock().unwrap_or_else(|p| p.into_inner()) = Some(hyper::upgrade::on(&mut request));
        let mut response = Response::new(empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        return Ok(response);
    }
    if request.method() != Method::POST {
        let mut response = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST a BRP request, or upgrade to a WebSocket\n",
        );
        (response.headers_mut()).insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Ok(response);
    }
    let limit = shared.config.max_request_bytes;
    let body = match Limited::new(request.into_body(), limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            shared.counters.oversized.fetch_add(1, Ordering::Relaxed);
            let message = format!("the request is over {limit} bytes (max_request_bytes)\n");
            return Ok(plain(StatusCode::PAYLOAD_TOO_LARGE, &message));
        }
        Err(_) => {
            return Ok(plain(
                StatusCode::BAD_REQUEST,
                "the request body was cut off\n",
            ));
        }
    };
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    let Ok(text) = std::str::from_utf8(&body) else {
        let refused = Answer::error(None, BrpError::parse("the request body is not UTF-8"));
        return Ok(json(refused.to_text()));
    };
    let submitted = match link.session.submit_tracked(text) {
        Ok(submitted) => submitted,
        Err(refused) => return Ok(json(refused.into_text())),
    };
    // Until its answer is written, a client that goes away cancels it.
    let pending = Pending {
        link: Arc::clone(&link),
        id: submitted.id,
        armed: true,
    };
    let mut answers = Arc::clone(&link.answers).lock_owned().await;
    let Some(first) = next(&mut answers, submitted.id).await else {
        return Ok(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is stopping\n",
        ));
    };
    if !submitted.streams || first.result.is_err() {
        pending.forget();
        return Ok(json(first.to_text()));
    }
    Ok(events(first, answers, pending))
}

/// A watch's answers as server-sent events, from `first` until the answer
/// that ends it (an error).
fn events(
    first: Answer,
    answers: OwnedMutexGuard<mpsc::Receiver<Answer>>,
    pending: Pending,
) -> Response<Body> {
    let state = (Some(first), answers, Some(pending));
    let events = stream::unfold(state, |(first, mut answers, pending)| async move {
        let pending = pending?;
        let answer = match first {
            Some(first) => first,
            None => next(&mut answers, pending.id).await?,
        };
        let last = answer.result.is_err();
        let frame = Frame::data(Bytes::from(format!("data: {}\n\n", answer.to_text())));
        let pending = if last {
            pending.forget();
            None
        } else {
            Some(pending)
        };
        Some((Ok::<_, Infallible>(frame), (None, answers, pending)))
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
async fn next(answers: &mut mpsc::Receiver<Answer>, id: u64) -> Option<Answer> {
    loop {
        let answer = answers.recv().await?;
        if answer.id == Some(id) {
            return Some(answer);
        }
    }
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

/// The `Sec-WebSocket-Key` of a WebSocket upgrade request.
fn websocket_key(request: &Request<Incoming>) -> Option<String> {
    let headers = request.headers();
    let has = |name, token: &str| {
        headers.get_all(name).iter().any(|value: &HeaderValue| {
            (value.to_str().unwrap_or_default().split(','))
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    };
    if request.method() != Method::GET
        || !has(header::UPGRADE, "websocket")
        || !has(header::CONNECTION, "upgrade")
    {
        return None;
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY)?.to_str().ok()?;
    Some(key.to_owned())
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
