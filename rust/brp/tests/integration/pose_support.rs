//! A controller stand-in for the pose client tests: a WebSocket server on
//! 127.0.0.1 (plain or TLS) that hands each accepted connection to the test,
//! or a deaf one that never reads (so it answers no ping).

use brp::Host;
use brp::pose::{Backoff, ClientConfig, Frame, Landmark, PoseLandmarks};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderMap;

/// How long any wait may take before the test fails as hung.
pub(crate) const DEADLINE: Duration = Duration::from_secs(30);

/// Polls `condition` until it holds; panics (naming `what`) past [`DEADLINE`].
pub(crate) fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A test WebSocket server; dropping it closes the listener and every
/// connection.
pub(crate) struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    peers: mpsc::Receiver<Peer>,
    _runtime: Runtime,
}

/// One accepted connection.
pub(crate) struct Peer {
    /// The headers of the client's opening handshake.
    pub headers: HeaderMap,
    outgoing: UnboundedSender<Message>,
    written: Arc<AtomicUsize>,
    pings: Arc<AtomicUsize>,
}

impl Peer {
    /// Sends `message` to the client.
    pub(crate) fn send(&self, message: Message) {
        self.outgoing.send(message).expect("connection open");
    }

    /// Sends `frame` as FlatBuffers in a binary message.
    pub(crate) fn send_frame(&self, frame: &Frame) {
        self.send(Message::binary(frame.to_flatbuffers()));
    }

    /// How many messages have been written to the socket so far.
    pub(crate) fn written(&self) -> usize {
        self.written.load(Ordering::Acquire)
    }

    /// How many pings the client has sent so far (each answered with a
    /// pong, unless the server is deaf).
    pub(crate) fn pings(&self) -> usize {
        self.pings.load(Ordering::Acquire)
    }
}

impl Server {
    /// A plain `ws://` server on a free port.
    pub(crate) fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().expect("address"), None)
    }

    /// A plain `ws://` server on a free port whose connections send what
    /// the test says but never read: they answer no ping and never notice
    /// the client going away.
    pub(crate) fn start_deaf() -> Self {
        Self::launch("127.0.0.1:0".parse().expect("address"), None, false)
    }

    /// A server on `addr`; with `tls`, a `wss://` one.
    pub(crate) fn start_on(addr: SocketAddr, tls: Option<TlsAcceptor>) -> Self {
        Self::launch(addr, tls, true)
    }

    /// A server on `addr`, reading what clients send if `reads`.
    fn launch(addr: SocketAddr, tls: Option<TlsAcceptor>, reads: bool) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime.block_on(TcpListener::bind(addr)).expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (peers_tx, peers) = mpsc::channel();
        runtime.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let peers_tx = peers_tx.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(tcp).await {
                                serve(stream, peers_tx, reads).await;
                            }
                        }
                        None => serve(tcp, peers_tx, reads).await,
                    }
                });
            }
        });
        Self {
            addr,
            peers,
            _runtime: runtime,
        }
    }

    /// The `ws://` URL of this server.
    pub(crate) fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Waits for the next connection.
    pub(crate) fn next_peer(&self) -> Peer {
        self.peers
            .recv_timeout(DEADLINE)
            .expect("a client connects")
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peers: mpsc::Sender<Peer>,
    reads: bool,
) {
    let mut headers = HeaderMap::new();
    #[allow(clippy::result_large_err)] // the signature tungstenite's callbacks have
    let callback = |request: &Request, response: Response| {
        headers = request.headers().clone();
        Ok(response)
    };
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let (outgoing, mut outbox) = unbounded_channel();
    let written = Arc::new(AtomicUsize::new(0));
    let pings = Arc::new(AtomicUsize::new(0));
    let peer = Peer {
        headers,
        outgoing,
        written: written.clone(),
        pings: pings.clone(),
    };
    if peers.send(peer).is_err() {
        return;
    }
    let (mut sink, mut incoming) = socket.split();
    loop {
        tokio::select! {
            message = outbox.recv() => match message {
                Some(message) => {
                    if sink.send(message).await.is_err() { return }
                    written.fetch_add(1, Ordering::Release);
                }
                None => return,
            },
            // Reading is what answers pings (tungstenite queues the pong).
            message = incoming.next(), if reads => match message {
                Some(Ok(Message::Ping(_))) => { pings.fetch_add(1, Ordering::Release); }
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}

/// A 33-landmark pose stamped with `sequence`.
pub(crate) fn pose(sequence: u64) -> PoseLandmarks {
    PoseLandmarks {
        timestamp: sequence as f64 / 60.0,
        sequence: Some(sequence),
        capture_time_ns: None,
        landmarks: (0..33)
            .map(|i| Landmark {
                x: i as f32 / 32.0,
                y: 1.0 - i as f32 / 32.0,
                z: -0.5,
                visibility: 0.9,
                presence: 0.8,
            })
            .collect(),
        ..PoseLandmarks::default()
    }
}

/// A TLS acceptor for 127.0.0.1 with a certificate signed by a fresh CA,
/// and that CA's PEM.
pub(crate) fn tls_acceptor() -> (TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("server params")
        .signed_by(&key, &ca)
        .expect("server certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("key DER");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![server.der().clone()], key)
        .expect("server TLS config");
    (TlsAcceptor::from(Arc::new(config)), ca.pem())
}

/// A client config for `url` that retries quickly.
pub(crate) fn config(url: String) -> ClientConfig {
    ClientConfig {
        backoff: Backoff {
            initial_ms: 10,
            max_ms: 100,
            jitter: 0.5,
        },
        ..ClientConfig::new(url)
    }
}

/// Sends `request` to `app` and parses the answer.
pub(crate) fn request(app: &Host, request: Value) -> Value {
    serde_json::from_str(&app.request(&request.to_string())).expect("JSON response")
}
