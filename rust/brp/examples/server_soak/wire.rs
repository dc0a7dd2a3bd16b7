//! The client side of the wire: TCP connections to the server, each
//! counted (the check that `stats()` adds up needs every one), a minimal
//! HTTP/1.1 client like the one in the server's tests, server-sent events,
//! and WebSocket handshakes through tokio-tungstenite.

use crate::ctx::Ctx;
use crate::settings::TOKEN;
use serde_json::Value;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

/// Connections the clients made to the server.
pub(crate) static CONNECTS: AtomicU64 = AtomicU64::new(0);

/// How long a client waits for an answer that is due; only stops a hang.
pub(crate) const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// The longest line, the most header lines and the longest body or event
/// the client reads: the server's answers here are far smaller.
const MAX_LINE: u64 = 8 << 10;
const MAX_HEADERS: usize = 64;
const MAX_BODY: usize = 4 << 20;

/// The receive buffer of a client that reads nothing.
const SMALL_BUFFER: u32 = 4096;

/// Opens a connection to the server, counted in [`CONNECTS`]; `small`
/// gives it a small receive buffer, which fills quickly.
pub(crate) async fn connect(ctx: &Ctx, small: bool) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if small {
        socket.set_recv_buffer_size(SMALL_BUFFER)?;
    }
    let stream = socket.connect(ctx.address).await?;
    CONNECTS.fetch_add(1, Ordering::Relaxed);
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// How an abusive connection ended.
pub(crate) struct Closed {
    /// How long after the abuse began the server closed it; `None` if it
    /// was still open at the bound.
    pub(crate) after: Option<Duration>,
    /// The status of the response the server sent first, if any.
    pub(crate) status: Option<u16>,
}

/// Reads what the server sends (keeping the start of it) until it closes
/// the connection, or at most until `since + bound`.
pub(crate) async fn closed(
    stream: &mut (impl AsyncRead + Unpin),
    since: Instant,
    bound: Duration,
) -> Closed {
    let until = tokio::time::Instant::from_std(since + bound);
    let mut first = Vec::new();
    let mut buffer = [0; 4096];
    let after = loop {
        match tokio::time::timeout_at(until, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => break Some(since.elapsed()),
            Ok(Ok(read)) if first.len() < 64 => first.extend(&buffer[..read]),
            Ok(Ok(_)) => {}
            Err(_) => break None,
        }
    };
    let status = (first.strip_prefix(b"HTTP/1.1 "))
        .and_then(|rest| std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok());
    Closed { after, status }
}

/// Why a request got no reply.
pub(crate) enum Lost {
    /// The server closed (or reset) the connection first.
    Closed,
    /// Nothing within [`ANSWER_WAIT`].
    Timeout,
    /// Something that is not HTTP as the server writes it.
    Garbled(String),
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed => f.write_str("closed by the server"),
            Self::Timeout => write!(f, "no answer within {ANSWER_WAIT:?}"),
            Self::Garbled(what) => write!(f, "garbled: {what}"),
        }
    }
}

impl From<io::Error> for Lost {
    fn from(error: io::Error) -> Self {
        use io::ErrorKind::*;
        match error.kind() {
            UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe => Self::Closed,
            _ => Self::Garbled(error.to_string()),
        }
    }
}

/// A response: status and body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    pub(crate) fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body)
            .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// The text of a POST of `body` to the server at `host` with the token,
/// and `extra` headers.
pub(crate) fn post_text(host: &str, body: &str, extra: &[(&str, &str)]) -> String {
    let mut text = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in extra {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text
}

/// One HTTP/1.1 connection, kept alive across requests.
pub(crate) struct Http {
    reader: BufReader<TcpStream>,
    /// The `Host` header of its requests.
    host: String,
    /// Bytes of server-sent events read but not yet returned.
    events: Vec<u8>,
}

impl Http {
    /// Connects to the server.
    pub(crate) async fn open(ctx: &Ctx) -> io::Result<Self> {
        Ok(Self::on(connect(ctx, false).await?, ctx.host()))
    }

    /// HTTP over `stream`, with `host` as the `Host` header.
    pub(crate) fn on(stream: TcpStream, host: String) -> Self {
        Self {
            reader: BufReader::new(stream),
            host,
            events: Vec::new(),
        }
    }

    pub(crate) fn stream(&mut self) -> &mut TcpStream {
        self.reader.get_mut()
    }

    /// Writes `bytes` as they are.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<(), Lost> {
        Ok(self.stream().write_all(bytes).await?)
    }

    /// Sends a POST of `body`, with `extra` headers.
    pub(crate) async fn send(&mut self, body: &str, extra: &[(&str, &str)]) -> Result<(), Lost> {
        let text = post_text(&self.host, body, extra);
        self.write(text.as_bytes()).await
    }

    /// POSTs `body` and reads the reply.
    pub(crate) async fn post(&mut self, body: &str, extra: &[(&str, &str)]) -> Result<Reply, Lost> {
        self.send(body, extra).await?;
        self.reply().await
    }

    /// The next response, within [`ANSWER_WAIT`].
    pub(crate) async fn reply(&mut self) -> Result<Reply, Lost> {
        let reply = async {
            let (status, headers) = self.head().await?;
            let length = (headers.iter()).find(|(n, _)| n == "content-length");
            let body = match length {
                Some((_, length)) => {
                    let length: usize =
                        length.parse().map_err(|_| Lost::Garbled(length.clone()))?;
                    if length > MAX_BODY {
                        return Err(Lost::Garbled(format!("a body of {length} bytes")));
                    }
                    let mut body = vec![0; length];
                    self.reader.read_exact(&mut body).await?;
                    body
                }
                None if (headers.iter()).any(|(n, _)| n == "transfer-encoding") => {
                    let mut body = Vec::new();
                    loop {
                        let chunk = self.chunk().await?;
                        if chunk.is_empty() {
                            break body;
                        }
                        body.extend(chunk);
                        if body.len() > MAX_BODY {
                            return Err(Lost::Garbled("a body over 4 MiB".into()));
                        }
                    }
                }
                None => Vec::new(),
            };
            Ok(Reply { status, body })
        };
        tokio::time::timeout(ANSWER_WAIT, reply)
            .await
            .map_err(|_| Lost::Timeout)?
    }

    /// The status and headers of the next response, within
    /// [`ANSWER_WAIT`]; for a stream, the body follows in [`Http::event`]s.
    pub(crate) async fn head(&mut self) -> Result<(u16, Vec<(String, String)>), Lost> {
        let head = async {
            let line = self.line().await?;
            let status = line.split(' ').nth(1).and_then(|s| s.parse().ok());
            let status = status.ok_or_else(|| Lost::Garbled(format!("a status line {line:?}")))?;
            let mut headers = Vec::new();
            loop {
                let line = self.line().await?;
                let line = line.trim_end();
                if line.is_empty() {
                    return Ok((status, headers));
                }
                let (name, value) = line
                    .split_once(':')
                    .ok_or_else(|| Lost::Garbled(line.into()))?;
                headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
                if headers.len() > MAX_HEADERS {
                    return Err(Lost::Garbled("too many headers".into()));
                }
            }
        };
        tokio::time::timeout(ANSWER_WAIT, head)
            .await
            .map_err(|_| Lost::Timeout)?
    }

    /// The stream's next event, `data: <answer>`, within [`ANSWER_WAIT`];
    /// `None` at the end of the stream.
    pub(crate) async fn event(&mut self) -> Result<Option<Value>, Lost> {
        let event = async {
            loop {
                if let Some(end) = self.events.windows(2).position(|w| w == b"\n\n") {
                    let event: Vec<u8> = self.events.drain(..end + 2).collect();
                    let data = event.strip_prefix(b"data: ").unwrap_or_default();
                    return serde_json::from_slice(data)
                        .map(Some)
                        .map_err(|_| Lost::Garbled(String::from_utf8_lossy(&event).into_owned()));
                }
                let chunk = self.chunk().await?;
                if chunk.is_empty() {
                    return match self.events.is_empty() {
                        true => Ok(None),
                        false => Err(Lost::Garbled("a stream ended inside an event".into())),
                    };
                }
                self.events.extend(chunk);
                if self.events.len() > MAX_BODY {
                    return Err(Lost::Garbled("an event over 4 MiB".into()));
                }
            }
        };
        tokio::time::timeout(ANSWER_WAIT, event)
            .await
            .map_err(|_| Lost::Timeout)?
    }

    /// The next chunk of a chunked body; empty at its end.
    async fn chunk(&mut self) -> Result<Vec<u8>, Lost> {
        let size = self.line().await?;
        let size =
            usize::from_str_radix(size.trim(), 16).map_err(|_| Lost::Garbled(size.clone()))?;
        if size > MAX_BODY {
            return Err(Lost::Garbled(format!("a chunk of {size} bytes")));
        }
        let mut chunk = vec![0; size + 2];
        self.reader.read_exact(&mut chunk).await?;
        chunk.truncate(size);
        Ok(chunk)
    }

    /// One line, at most [`MAX_LINE`] long.
    async fn line(&mut self) -> Result<String, Lost> {
        let mut line = String::new();
        let read = (&mut self.reader)
            .take(MAX_LINE)
            .read_line(&mut line)
            .await?;
        match read {
            0 => Err(Lost::Closed),
            _ if !line.ends_with('\n') => Err(Lost::Garbled(format!("a line of {read} bytes"))),
            _ => Ok(line),
        }
    }
}

/// A WebSocket connection to the server.
pub(crate) type Socket = WebSocketStream<TcpStream>;

/// Why a WebSocket upgrade did not happen.
#[derive(Debug)]
pub(crate) enum NoSocket {
    /// The server answered the upgrade with this status.
    Status(u16),
    /// The server closed the connection first.
    Closed,
    /// No answer within [`ANSWER_WAIT`].
    Timeout,
}

/// Upgrades a new connection to a WebSocket, with the token and `extra`
/// headers (which replace those of the same name); `small` as in
/// [`connect`].
pub(crate) async fn websocket(
    ctx: &Ctx,
    extra: &[(&'static str, &str)],
    small: bool,
) -> Result<Socket, NoSocket> {
    let stream = connect(ctx, small).await.map_err(|_| NoSocket::Closed)?;
    let mut request = format!("ws://{}/", ctx.address)
        .into_client_request()
        .map_err(|_| NoSocket::Closed)?;
    let headers = request.headers_mut();
    let bearer = format!("Bearer {TOKEN}");
    for (name, value) in
        std::iter::once(("authorization", bearer.as_str())).chain(extra.iter().copied())
    {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    let config = WebSocketConfig::default().max_message_size(Some(MAX_BODY));
    let handshake = tokio_tungstenite::client_async_with_config(request, stream, Some(config));
    match tokio::time::timeout(ANSWER_WAIT, handshake).await {
        Err(_) => Err(NoSocket::Timeout),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) => {
            Err(NoSocket::Status(response.status().as_u16()))
        }
        Ok(Err(_)) => Err(NoSocket::Closed),
    }
}

/// How a WebSocket ended.
pub(crate) enum Ended {
    /// The server sent a close frame, with this code.
    Closed(Option<u16>),
    /// The connection ended without a close frame.
    Dropped(String),
    /// Nothing came within [`ANSWER_WAIT`].
    Timeout,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed(code) => write!(f, "closed by the server (code {code:?})"),
            Self::Dropped(why) => write!(f, "dropped by the server ({why})"),
            Self::Timeout => write!(f, "nothing within {ANSWER_WAIT:?}"),
        }
    }
}

/// The next message of `socket`, within [`ANSWER_WAIT`].
pub(crate) async fn message(socket: &mut Socket) -> Result<Message, Ended> {
    use futures_util::StreamExt;
    match tokio::time::timeout(ANSWER_WAIT, socket.next()).await {
        Ok(Some(Ok(Message::Close(frame)))) => Err(Ended::Closed(frame.map(|f| u16::from(f.code)))),
        Ok(Some(Ok(message))) => Ok(message),
        Ok(Some(Err(error))) => Err(Ended::Dropped(error.to_string())),
        Ok(None) => Err(Ended::Dropped("the end of the stream".into())),
        Err(_) => Err(Ended::Timeout),
    }
}

/// The head of a masked client frame (RFC 6455, section 5.2) of `length`
/// bytes with `opcode`, with the all-zero mask key, so that its payload
/// goes as it is: for messages the soak sends byte by byte, or never
/// finishes.
pub(crate) fn frame_head(opcode: u8, length: u64) -> Vec<u8> {
    let mut head = vec![0x80 | opcode];
    match length {
        0..=125 => head.push(0x80 | length as u8),
        126..=0xFFFF => {
            head.push(0x80 | 126);
            head.extend((length as u16).to_be_bytes());
        }
        _ => {
            head.push(0x80 | 127);
            head.extend(length.to_be_bytes());
        }
    }
    head.extend([0; 4]);
    head
}
