//! [`PoseClient`]: connects to a controller's WebSocket server and applies
//! every pose it sends to the world.

use super::apply::Applier;
use super::config::{ClientConfig, OVERSIZE_FACTOR};
use super::event::{FrameEvent, FrameObserver};
use super::frame::Frame;
use super::recorder::{HeldBack, Recorder, Throttle};
use super::stats::{ConnectionState, Stats};
use super::tls;
use crate::error::{BrpError, BrpResult};
use crate::host::Host;
use crate::params::echo;
use futures_util::{FutureExt, SinkExt, StreamExt};
use log::{Level, debug, error, info, log, log_enabled, warn};
use std::borrow::Cow;
use std::cell::Cell;
use std::hash::BuildHasher;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, Uri};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Bytes, Message, Utf8Bytes};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// The `log` target of the pose client's messages.
const TARGET: &str = "brp::pose";

/// A pose stream from one controller into one [`Host`].
///
/// Everything runs on one thread of a tokio runtime the client owns: it
/// reads every frame already in the socket, keeps the newest, decodes it and
/// applies it under the app's lock, so poses never queue up (the frames it
/// skips count as dropped). Dropping the client stops it.
///
/// It logs through the `log` crate, target `brp::pose`, each message
/// starting with the controller's URL (without user info and query):
/// connecting (debug), connected and stopped (info), a failed or lost
/// connection (warn, info for a close by the controller), and per-frame
/// errors (warn; a panicking observer: error). Each kind, and the
/// connection's messages together, log at most 10 at once, then one per
/// second, saying how many were not logged.
///
/// Every method takes `&self`, so one client may be shared between threads
/// (e.g. in an `Arc`): [`stats`](Self::stats) never waits for
/// [`stop`](Self::stop), so an observer may read the stats while another
/// thread stops the client.
pub struct PoseClient {
    shared: Arc<Shared>,
    /// Taken by the first [`stop`](Self::stop); the lock is held only to
    /// take it, never while waiting.
    runtime: Mutex<Option<Runtime>>,
}

/// What the client and its network task share.
struct Shared {
    recorder: Recorder,
    /// The controller's URL for log messages ([`log_url`]).
    log_url: String,
    /// Held while a frame is applied and observed; [`PoseClient::stop`]
    /// takes it to wait for that frame.
    gate: Mutex<()>,
    /// Set by [`PoseClient::stop`]; checked under `gate` before applying.
    stopped: AtomicBool,
    /// Set by a [`PoseClient::stop`] called while this client's own frame
    /// applies (from a POLL completion it fired), which does not wait for
    /// the frame: its observer then must not run. A stop from elsewhere
    /// waits instead, so the frame it waits for is observed as it applied.
    stopped_inside: AtomicBool,
    observer: Option<FrameObserver>,
}

thread_local! {
    /// The [`Shared`] whose frame this thread is applying (null: none), so
    /// that stopping from inside that application does not wait for itself.
    static APPLYING: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

impl PoseClient {
    /// Registers the pose components with `app` and starts connecting to
    /// `config.url` in the background.
    ///
    /// Fails at once on settings that can never work (a bad URL, header,
    /// CA certificate or number); connection failures are retried and
    /// reported in [`stats`](Self::stats) instead.
    pub fn start(app: &Host, config: ClientConfig) -> BrpResult<Self> {
        Self::launch(app, config, None)
    }

    /// As [`start`](Self::start), and calls `observer` once per applied
    /// frame, in the order they apply, with a [`FrameEvent`] describing it.
    ///
    /// The observer runs on the client's network thread after the app's
    /// lock is released (so it may make requests, read the world or call
    /// [`stats`](Self::stats)), and no frame is received while it runs, so
    /// it should be quick. It must not stop or drop its own client (that
    /// waits for the observer to return). It never runs after
    /// [`stop`](Self::stop) returns; a panic in it is caught and reported as
    /// `last_error`.
    pub fn start_with_observer(
        app: &Host,
        config: ClientConfig,
        observer: FrameObserver,
    ) -> BrpResult<Self> {
        Self::launch(app, config, Some(observer))
    }

    fn launch(
        app: &Host,
        config: ClientConfig,
        observer: Option<FrameObserver>,
    ) -> BrpResult<Self> {
        config.validate()?;
        let request = handshake_request(&config)?;
        let connector = tls::connector(&config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("brp-pose-net")
            .enable_all()
            .build()
            .map_err(|e| BrpError::internal(format!("cannot start: {e}")))?;
        let shared = Arc::new(Shared {
            recorder: Recorder::new(),
            log_url: log_url(request.uri()),
            gate: Mutex::new(()),
            stopped: AtomicBool::new(false),
            stopped_inside: AtomicBool::new(false),
            observer,
        });
        let connection = Connection {
            request,
            connector,
            applier: Applier::new(config.target.clone()),
            config,
            app: app.clone(),
            shared: shared.clone(),
            throttles: Throttles::default(),
        };
        runtime.spawn(connection.run());
        Ok(Self {
            shared,
            runtime: Mutex::new(Some(runtime)),
        })
    }

    /// The statistics as of now. Never waits for [`stop`](Self::stop) or a
    /// frame being applied, and keeps working after the client stopped
    /// (`state` is then [`ConnectionState::Stopped`]).
    pub fn stats(&self) -> Stats {
        self.shared.recorder.snapshot()
    }

    /// Disconnects and stops; no frame applies and no observer runs after
    /// this returns (from any thread calling it). Stopping again does
    /// nothing more.
    ///
    /// Waits for a frame being applied, so it must not be called while the
    /// calling thread holds the app (e.g. inside [`Host::with_world_mut`]).
    /// Called from a POLL completion that this client's own frame fired
    /// (which runs on its network thread), it does not wait.
    pub fn stop(&self) {
        let shared = &*self.shared;
        shared.stopped.store(true, Ordering::Release);
        if APPLYING.get() == std::ptr::from_ref(shared) {
            shared.stopped_inside.store(true, Ordering::Release);
        } else {
            // Waits for the frame being applied (and observed); a panic
            // there left nothing to repair. From here on `stopped` keeps any
            // frame from applying.
            drop(shared.gate.lock().unwrap_or_else(PoisonError::into_inner));
        }
        let runtime = self
            .runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(runtime) = runtime {
            runtime.shutdown_background();
            info!(target: TARGET, "{}: stopped", shared.log_url);
        }
        shared.recorder.set_state(ConnectionState::Stopped);
    }
}

impl Drop for PoseClient {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The opening handshake: the URL (which must be `ws://` or `wss://`) and
/// the configured headers.
fn handshake_request(config: &ClientConfig) -> BrpResult<Request> {
    let invalid = |message: String| BrpError::invalid_params(message);
    let url = &config.url;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| invalid(format!("invalid url {:?}: {e}", echo(url))))?;
    if !matches!(request.uri().scheme_str(), Some("ws" | "wss")) {
        let url = echo(url);
        return Err(invalid(format!("url {url:?} is not ws:// or wss://")));
    }
    for (name, value) in &config.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| invalid(format!("invalid header name {:?}: {e}", echo(name))))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| invalid(format!("invalid value of header {:?}: {e}", echo(name))))?;
        request.headers_mut().insert(header, value);
    }
    Ok(request)
}

/// `uri` for log messages: its scheme, host, port and path, without the
/// user info and query, which may hold secrets.
fn log_url(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("ws");
    let host = uri.host().unwrap_or_default();
    let port = uri.port().map(|p| format!(":{p}")).unwrap_or_default();
    let url = format!("{scheme}://{host}{port}{}", uri.path());
    escape(&echo(&url)).into_owned()
}

/// `text` with its control characters escaped (`\n`, `\u{1b}`, ...), so
/// that a message quoting a peer's input stays one line and cannot steer a
/// terminal.
fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(char::is_control) {
        return Cow::Borrowed(text);
    }
    let escaped = text.chars().fold(String::new(), |mut out, c| {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        out
    });
    Cow::Owned(escaped)
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a connection attempt failed.
enum Refused {
    /// The attempt took longer than `connect_timeout_ms`.
    TimedOut,
    /// TCP, TLS or the WebSocket handshake failed.
    Failed(tungstenite::Error),
}

/// Why a connection ended other than by closing.
enum Lost {
    /// Nothing was received for `idle_timeout_ms`.
    Idle,
    /// The socket failed (or a frame was over the hard size limit).
    Socket(tungstenite::Error),
}

/// A frame as received; only the newest of a batch is decoded.
enum Pending {
    /// FlatBuffers.
    Binary(Bytes),
    /// JSON.
    Text(Utf8Bytes),
}

impl Pending {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Binary(bytes) => bytes,
            Self::Text(text) => text.as_bytes(),
        }
    }
}

/// The network task: connect, receive and apply, reconnect.
struct Connection {
    request: Request,
    connector: Connector,
    applier: Applier,
    config: ClientConfig,
    app: Host,
    shared: Arc<Shared>,
    throttles: Throttles,
}

/// The log throttles: of the connection's messages, and of the per-frame
/// errors, one per kind.
#[derive(Default)]
struct Throttles {
    connection: Throttle,
    oversize: Throttle,
    decode: Throttle,
    apply: Throttle,
    observer: Throttle,
}

impl Connection {
    async fn run(mut self) {
        let mut failures = 0u32;
        for attempt in 0u64.. {
            let recorder = &self.shared.recorder;
            if attempt > 0 {
                recorder.update(|s| s.reconnects += 1);
            }
            recorder.set_state(ConnectionState::Connecting);
            if let Some(held) = admit(&mut self.throttles.connection, Level::Debug) {
                let (url, n) = (&self.shared.log_url, attempt + 1);
                debug!(target: TARGET, "{url}: connecting (attempt {n}){held}");
            }
            let (level, ended) = match self.connect().await {
                Ok(socket) => {
                    failures = 0;
                    self.shared.recorder.connected();
                    if let Some(held) = admit(&mut self.throttles.connection, Level::Info) {
                        info!(target: TARGET, "{}: connected{held}", self.shared.log_url);
                    }
                    match self.receive(socket).await {
                        Ok(()) => (Level::Info, "connection closed".to_owned()),
                        Err(lost) => (Level::Warn, self.lost(lost)),
                    }
                }
                Err(refused) => (Level::Warn, self.refused(refused)),
            };
            if self.shared.stopped.load(Ordering::Acquire) {
                break;
            }
            let held = admit(&mut self.throttles.connection, level);
            let url = &self.shared.log_url;
            if !self.config.reconnect {
                if let Some(held) = held {
                    let plan = "not reconnecting (reconnect is off)";
                    log!(target: TARGET, level, "{url}: {ended}; {plan}{held}");
                }
                break;
            }
            let delay = self.config.backoff.delay(failures, random_unit());
            if let Some(held) = held {
                let ms = delay.as_millis();
                log!(target: TARGET, level, "{url}: {ended}; reconnecting in {ms} ms{held}");
            }
            self.shared.recorder.set_state(ConnectionState::Waiting);
            tokio::time::sleep(delay).await;
            failures = failures.saturating_add(1);
        }
        self.shared.recorder.set_state(ConnectionState::Stopped);
    }

    /// Records a failed connection attempt; what to log of it.
    fn refused(&self, refused: Refused) -> String {
        let url = echo(&self.config.url);
        let (message, logged) = match refused {
            Refused::Failed(e) => (
                format!("cannot connect to {url}: {e}"),
                format!("cannot connect: {e}"),
            ),
            Refused::TimedOut => {
                let ms = self.config.connect_timeout_ms;
                let logged = format!("connecting timed out after {ms} ms (connect_timeout_ms)");
                (format!("connecting to {url} timed out"), logged)
            }
        };
        self.shared.recorder.error(|_| (), message);
        escape(&logged).into_owned()
    }

    async fn connect(&self) -> Result<Socket, Refused> {
        let limit = self.config.max_message_size.saturating_mul(OVERSIZE_FACTOR);
        let websocket = WebSocketConfig::default()
            .max_message_size(Some(limit))
            .max_frame_size(Some(limit));
        let attempt = tokio_tungstenite::connect_async_tls_with_config(
            self.request.clone(),
            Some(websocket),
            true, // TCP_NODELAY
            Some(self.connector.clone()),
        );
        let timeout = Duration::from_millis(self.config.connect_timeout_ms);
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok((socket, _response))) => Ok(socket),
            Ok(Err(e)) => Err(Refused::Failed(e)),
            Err(_) => Err(Refused::TimedOut),
        }
    }

    /// Records why the connection ended; what to log of it.
    fn lost(&self, lost: Lost) -> String {
        let recorder = &self.shared.recorder;
        let message = match lost {
            Lost::Idle => {
                let ms = self.config.idle_timeout_ms;
                let message = format!(
                    "connection lost: idle timeout: nothing received for {ms} ms \
                     (idle_timeout_ms)"
                );
                recorder.error(|s| s.idle_timeouts += 1, message.clone());
                message
            }
            Lost::Socket(tungstenite::Error::Capacity(CapacityError::MessageTooLong {
                size,
                max_size,
            })) => {
                let message = format!(
                    "connection lost: a {size}-byte frame is over the hard limit of \
                     {max_size} bytes (max_message_size * {OVERSIZE_FACTOR})"
                );
                let count = |s: &mut Stats| {
                    s.frames_received += 1;
                    s.oversize_frames += 1;
                };
                recorder.error(count, message.clone());
                message
            }
            Lost::Socket(e) => {
                let message = format!("connection lost: {e}");
                recorder.error(|_| (), message.clone());
                message
            }
        };
        escape(&message).into_owned()
    }

    /// Receives until the connection closes or the client stops: waits for
    /// a frame, takes every further one already readable without waiting,
    /// and applies the newest of them. Meanwhile pings the controller every
    /// `ping_interval_ms`, and gives up on it after `idle_timeout_ms`
    /// without receiving anything.
    async fn receive(&mut self, mut socket: Socket) -> Result<(), Lost> {
        let millis = |ms: u64| (ms > 0).then(|| Duration::from_millis(ms));
        let ping_every = millis(self.config.ping_interval_ms);
        let idle_after = millis(self.config.idle_timeout_ms);
        let mut heard = Instant::now();
        let mut next_ping = ping_every.map(|every| heard + every);
        loop {
            let idle_at = idle_after.map(|after| heard + after);
            let wake = idle_at.into_iter().chain(next_ping).min();
            let received = match wake {
                None => Some(socket.next().await),
                Some(at) => tokio::time::timeout_at(at, socket.next()).await.ok(),
            };
            let Some(mut next) = received else {
                let now = Instant::now();
                if idle_at.is_some_and(|at| now >= at) {
                    return Err(Lost::Idle);
                }
                if let (Some(every), Some(at)) = (ping_every, next_ping)
                    && now >= at
                {
                    next_ping = Some(now + every);
                    // Bounded by the idle timeout: a peer that reads nothing
                    // cannot hold the client here.
                    let ping = socket.send(Message::Ping(Bytes::new()));
                    match idle_at {
                        None => ping.await.map_err(Lost::Socket)?,
                        Some(at) => match tokio::time::timeout_at(at, ping).await {
                            Ok(sent) => sent.map_err(Lost::Socket)?,
                            Err(_) => return Err(Lost::Idle),
                        },
                    }
                }
                continue;
            };
            let mut newest = None;
            let end = loop {
                match next {
                    None => break Some(Ok(())),
                    Some(Err(e)) => break Some(Err(Lost::Socket(e))),
                    Some(Ok(message)) => self.keep(message, &mut newest),
                }
                match socket.next().now_or_never() {
                    Some(message) => next = message,
                    None => break None,
                }
            };
            heard = Instant::now();
            if let Some(frame) = newest
                && !self.apply(&frame)
            {
                return Ok(());
            }
            if let Some(end) = end {
                return end;
            }
        }
    }

    /// Counts a message; a frame within the size limit replaces `newest`
    /// (the one it replaces counts as dropped).
    fn keep(&mut self, message: Message, newest: &mut Option<Pending>) {
        let frame = match message {
            Message::Binary(bytes) => Pending::Binary(bytes),
            Message::Text(text) => Pending::Text(text),
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => return,
        };
        let recorder = &self.shared.recorder;
        recorder.received(std::time::Instant::now());
        let (len, limit) = (frame.bytes().len(), self.config.max_message_size);
        if len > limit {
            let message =
                format!("skipped a {len}-byte frame (over max_message_size, {limit} bytes)");
            if let Some(held) = admit(&mut self.throttles.oversize, Level::Warn) {
                warn!(target: TARGET, "{}: {message}{held}", self.shared.log_url);
            }
            return recorder.error(|s| s.oversize_frames += 1, message);
        }
        if newest.replace(frame).is_some() {
            recorder.update(|s| s.frames_dropped += 1);
        }
    }

    /// Decodes `frame` and applies it, then tells the observer; a bad
    /// frame is counted and skipped. False once the client has stopped.
    fn apply(&mut self, frame: &Pending) -> bool {
        let shared = &*self.shared;
        let _gate = shared.gate.lock().unwrap_or_else(PoisonError::into_inner);
        if shared.stopped.load(Ordering::Acquire) {
            return false;
        }
        let decoded = match frame {
            Pending::Binary(bytes) => Frame::from_flatbuffers_for(bytes, self.applier.target()),
            Pending::Text(text) => Frame::from_json_for(text.as_bytes(), self.applier.target()),
        };
        let frame = match decoded {
            Ok(frame) => frame,
            Err(e) => {
                let message = e.to_string();
                if let Some(held) = admit(&mut self.throttles.decode, Level::Warn) {
                    let (url, text) = (&shared.log_url, escape(&message));
                    warn!(target: TARGET, "{url}: skipped a malformed frame: {text}{held}");
                }
                shared.recorder.error(|s| s.decode_errors += 1, message);
                return true;
            }
        };
        let mut event = FrameEvent {
            detected: !frame.people.is_empty(),
            sequence: None,
            timestamp: None,
            capture_time_ns: None,
            latency_ms: None,
        };
        if let Some(pose) = frame.people.first() {
            event.sequence = pose.sequence;
            event.timestamp = Some(pose.timestamp);
            event.capture_time_ns = pose.capture_time_ns;
        }
        APPLYING.set(shared);
        let applied = self.applier.apply(&self.app, frame);
        APPLYING.set(std::ptr::null());
        if let Err(e) = applied {
            if let Some(held) = admit(&mut self.throttles.apply, Level::Warn) {
                let (url, text) = (&shared.log_url, escape(&e.message));
                warn!(target: TARGET, "{url}: cannot apply a frame: {text}{held}");
            }
            shared.recorder.error(|s| s.apply_errors += 1, e.message);
            return true;
        }
        event.latency_ms = shared.recorder.applied(event.capture_time_ns);
        // An applied frame is observed, even when a stop began meanwhile
        // (it waits for this), unless that stop ran inside this frame's
        // application and so has already returned.
        let inside = shared.stopped_inside.load(Ordering::Acquire);
        if let Some(observer) = shared.observer.as_ref().filter(|_| !inside)
            && catch_unwind(AssertUnwindSafe(|| observer(&event))).is_err()
        {
            let message = "the frame observer panicked".to_owned();
            if let Some(held) = admit(&mut self.throttles.observer, Level::Error) {
                error!(target: TARGET, "{}: {message}{held}", shared.log_url);
            }
            shared.recorder.error(|_| (), message);
        }
        !shared.stopped.load(Ordering::Acquire)
    }
}

/// Whether to log a message at `level` through `throttle` now: `Some` with
/// the count held back before it when the level is enabled and the
/// throttle lets it through (a message nobody would see takes no turn).
fn admit(throttle: &mut Throttle, level: Level) -> Option<HeldBack> {
    if !log_enabled!(target: TARGET, level) {
        return None;
    }
    throttle.admit(std::time::Instant::now())
}

/// A random number in [0, 1) for backoff jitter, from std's randomly keyed
/// hasher.
fn random_unit() -> f64 {
    let bits = std::hash::RandomState::new().hash_one(0u8);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}
