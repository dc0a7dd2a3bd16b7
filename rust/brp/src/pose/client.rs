//! [`PoseClient`]: connects to a controller's WebSocket server and applies
//! every pose it sends to the world.

use super::apply::{self, Applier};
use super::config::{ClientConfig, OVERSIZE_FACTOR};
use super::frame::{DecodeError, Frame};
use super::mailbox::Mailbox;
use super::stats::{ConnectionState, Recorder, Stats};
use super::tls;
use crate::app::App;
use crate::error::{BrpError, BrpResult};
use futures_util::StreamExt;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// A pose stream from one controller into one [`App`].
///
/// The network side runs on a tokio runtime the client owns (one worker
/// thread); a second thread applies frames under the app's lock, newest
/// first: a frame that arrives while another waits replaces it, so poses
/// never queue up. Dropping the client stops it.
pub struct PoseClient {
    shared: Arc<Shared>,
    running: Option<Running>,
}

struct Running {
    runtime: Runtime,
    applier: JoinHandle<()>,
}

struct Shared {
    recorder: Recorder,
    mailbox: Mailbox<Frame>,
}

impl PoseClient {
    /// Registers the pose components with `app` and starts connecting to
    /// `config.url` in the background.
    ///
    /// Fails at once on settings that can never work (a bad URL, header,
    /// CA certificate or number); connection failures are retried and
    /// reported in [`stats`](Self::stats) instead.
    pub fn start(app: &App, config: ClientConfig) -> BrpResult<Self> {
        config.validate()?;
        let request = handshake_request(&config)?;
        let connector = tls::connector(&config)?;
        apply::register(app)?;
        let internal = |e: std::io::Error| BrpError::internal(format!("cannot start: {e}"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("brp-pose-net")
            .enable_all()
            .build()
            .map_err(internal)?;
        let shared = Arc::new(Shared {
            recorder: Recorder::new(),
            mailbox: Mailbox::new(),
        });
        let applier = std::thread::Builder::new()
            .name("brp-pose-apply".into())
            .spawn({
                let (app, shared) = (app.clone(), shared.clone());
                let applier = Applier::new(config.target.clone());
                move || apply_frames(&app, applier, &shared)
            })
            .map_err(internal)?;
        let connection = Connection {
            request,
            connector,
            config,
            shared: shared.clone(),
        };
        runtime.spawn(connection.run());
        Ok(Self {
            shared,
            running: Some(Running { runtime, applier }),
        })
    }

    /// The statistics as of now.
    pub fn stats(&self) -> Stats {
        self.shared.recorder.snapshot()
    }

    /// Disconnects and stops; no frame applies after this returns. Stopping
    /// again does nothing.
    ///
    /// Waits for a frame being applied, so it must not be called while the
    /// calling thread holds the app (e.g. inside [`App::with_world_mut`]).
    pub fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.runtime.shutdown_background();
            self.shared.mailbox.close();
            // The applier only returns; a panic in it has nothing to report.
            let _ = running.applier.join();
            self.shared.recorder.set_state(ConnectionState::Stopped);
        }
    }
}

impl Drop for PoseClient {
    fn drop(&mut self) {
        self.stop();
    }
}

fn apply_frames(app: &App, mut applier: Applier, shared: &Shared) {
    while let Some(frame) = shared.mailbox.take() {
        let capture_time_ns = match &frame {
            Frame::Pose(pose) => pose.capture_time_ns,
            Frame::Empty => None,
        };
        match applier.apply(app, frame) {
            Ok(()) => shared.recorder.applied(capture_time_ns),
            Err(e) => shared.recorder.error(|s| s.apply_errors += 1, e.message),
        }
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
        .map_err(|e| invalid(format!("invalid url {url:?}: {e}")))?;
    if !matches!(request.uri().scheme_str(), Some("ws" | "wss")) {
        return Err(invalid(format!("url {url:?} is not ws:// or wss://")));
    }
    for (name, value) in &config.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| invalid(format!("invalid header name {name:?}: {e}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| invalid(format!("invalid value of header {name:?}: {e}")))?;
        request.headers_mut().insert(header, value);
    }
    Ok(request)
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The network task: connect, receive, reconnect.
struct Connection {
    request: Request,
    connector: Connector,
    config: ClientConfig,
    shared: Arc<Shared>,
}

impl Connection {
    async fn run(self) {
        let recorder = &self.shared.recorder;
        let mut failures = 0u32;
        for attempt in 0u64.. {
            if attempt > 0 {
                recorder.update(|s| s.reconnects += 1);
            }
            recorder.set_state(ConnectionState::Connecting);
            match self.connect().await {
                Ok(socket) => {
                    failures = 0;
                    recorder.update(|s| s.connections += 1);
                    recorder.set_state(ConnectionState::Connected);
                    if let Err(e) = self.receive(socket).await {
                        recorder.error(|_| (), format!("connection lost: {e}"));
                    }
                }
                Err(message) => recorder.error(|_| (), message),
            }
            if !self.config.reconnect {
                break;
            }
            recorder.set_state(ConnectionState::Waiting);
            tokio::time::sleep(self.config.backoff.delay(failures, random_unit())).await;
            failures = failures.saturating_add(1);
        }
        recorder.set_state(ConnectionState::Stopped);
    }

    async fn connect(&self) -> Result<Socket, String> {
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
        let url = &self.config.url;
        let timeout = Duration::from_millis(self.config.connect_timeout_ms);
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok((socket, _response))) => Ok(socket),
            Ok(Err(e)) => Err(format!("cannot connect to {url}: {e}")),
            Err(_) => Err(format!("connecting to {url} timed out")),
        }
    }

    /// Receives until the connection closes.
    async fn receive(&self, mut socket: Socket) -> Result<(), tungstenite::Error> {
        while let Some(message) = socket.next().await {
            match message? {
                Message::Binary(bytes) => self.handle(&bytes, Frame::from_flatbuffers),
                Message::Text(text) => self.handle(text.as_bytes(), Frame::from_json),
                Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {}
            }
        }
        Ok(())
    }

    /// Decodes one frame and leaves it for the applier; bad frames are
    /// counted and skipped.
    fn handle(&self, bytes: &[u8], decode: fn(&[u8]) -> Result<Frame, DecodeError>) {
        let recorder = &self.shared.recorder;
        recorder.update(|s| s.frames_received += 1);
        let limit = self.config.max_message_size;
        if bytes.len() > limit {
            let message = format!("skipped a {}-byte frame (limit {limit})", bytes.len());
            return recorder.error(|s| s.oversize_frames += 1, message);
        }
        match decode(bytes) {
            Ok(frame) => {
                if self.shared.mailbox.put(frame) {
                    recorder.update(|s| s.frames_dropped += 1);
                }
            }
            Err(e) => recorder.error(|s| s.decode_errors += 1, e.to_string()),
        }
    }
}

/// A random number in [0, 1) for backoff jitter, from std's randomly keyed
/// hasher.
fn random_unit() -> f64 {
    let bits = std::hash::RandomState::new().hash_one(0u8);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}
