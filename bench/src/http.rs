//! HTTP/1.1 keep-alive to one server over hyper's connection API: a stack of idle
//! connections, one taken for each request and put back after its answer, so the bench keeps
//! one connection per request in flight.
//!
//! The bench shares the two CPUs with the server it measures, so what it spends on a request
//! is taken from the server. reqwest spent most of its share on what a load generator talking
//! to one address needs not do: parsing each request's URL (IDNA included) and its pool's
//! bookkeeping (`BENCHMARKS.md`, sixteenth session).

use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

type Sender = SendRequest<Full<Bytes>>;

pub struct Http {
    /// `host:port`: the `Host` header, and where to connect.
    host: HeaderValue,
    /// A request not answered within this fails.
    timeout: Duration,
    idle: Mutex<Vec<Sender>>,
}

/// A request's body and its media type.
pub enum Body {
    Empty,
    Json(Vec<u8>),
    Form(String),
}

impl Http {
    /// `base` is `http://host:port`, without a path.
    pub fn new(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        let authority = base
            .strip_prefix("http://")
            .filter(|a| !a.contains('/'))
            .with_context(|| format!("not an http://host:port base URL: {base}"))?;
        Ok(Self {
            host: HeaderValue::from_str(authority)?,
            timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sends `method path_and_query` with `body` and an optional `Authorization` value; the
    /// answer's status and body, whatever the status.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        authorization: Option<&str>,
        body: Body,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut request = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(HOST, self.host.clone());
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        let (media_type, bytes) = match body {
            Body::Empty => (None, Bytes::new()),
            Body::Json(json) => (Some("application/json"), Bytes::from(json)),
            Body::Form(form) => (Some("application/x-www-form-urlencoded"), Bytes::from(form)),
        };
        if let Some(media_type) = media_type {
            request = request.header(CONTENT_TYPE, media_type);
        }
        let request = request.body(Full::new(bytes))?;
        tokio::time::timeout(self.timeout, self.exchange(request))
            .await
            .map_err(|_| anyhow!("no answer within {:?}", self.timeout))?
    }

    async fn exchange(&self, request: Request<Full<Bytes>>) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut sender = self.ready_sender().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        self.put_back(sender);
        Ok((status, body))
    }

    /// An idle connection ready for a request, or a new one. An idle connection may turn out
    /// closed only when asked (the server closed it meanwhile); then a new one is opened.
    async fn ready_sender(&self) -> anyhow::Result<Sender> {
        if let Some(mut sender) = self.take_idle()
            && sender.ready().await.is_ok()
        {
            return Ok(sender);
        }
        let mut sender = self.connect().await?;
        sender.ready().await?;
        Ok(sender)
    }

    /// An idle connection the server has not closed, if any.
    fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().ok()?;
        std::iter::from_fn(|| idle.pop()).find(|sender| !sender.is_closed())
    }

    fn put_back(&self, sender: Sender) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(sender);
        }
    }

    async fn connect(&self) -> anyhow::Result<Sender> {
        let authority = self.host.to_str()?;
        let stream = TcpStream::connect(authority)
            .await
            .with_context(|| format!("connecting to {authority}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        // The connection's I/O runs as its own task until either side closes it; a closed
        // connection shows in `is_closed` and is then dropped from the pool.
        tokio::spawn(connection);
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A server that answers every request on a connection with its own request head echoed
    /// as the body, closing the connection after each answer when `close` is set; it counts
    /// the connections it accepted.
    async fn echo_server(close: bool) -> anyhow::Result<(String, Arc<AtomicUsize>)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(echo(stream, close));
            }
        });
        Ok((base, accepted))
    }

    async fn echo(mut stream: TcpStream, close: bool) -> std::io::Result<()> {
        let mut buffer = vec![0; 4096];
        loop {
            let n = stream.read(&mut buffer).await?;
            if n == 0 {
                return Ok(());
            }
            let head = String::from_utf8_lossy(&buffer[..n]).into_owned();
            let connection = if close { "close" } else { "keep-alive" };
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: {connection}\r\n\r\n{head}",
                head.len()
            );
            stream.write_all(answer.as_bytes()).await?;
            if close {
                return Ok(());
            }
        }
    }

    #[tokio::test]
    async fn keeps_one_connection_alive_and_sends_the_head_a_server_needs() -> anyhow::Result<()> {
        let (base, accepted) = echo_server(false).await?;
        let authority = base.strip_prefix("http://").context("base")?;
        let http = Http::new(&base, Duration::from_secs(5))?;
        for _ in 0..3 {
            let body = Body::Json(br#"{"a":1}"#.to_vec());
            let (status, head) = http
                .send(Method::POST, "/v1/x?key=k", Some("Bearer t"), body)
                .await?;
            assert_eq!(status, StatusCode::OK);
            let head = String::from_utf8_lossy(&head).to_lowercase();
            assert!(head.starts_with("post /v1/x?key=k http/1.1\r\n"), "{head}");
            for line in [
                format!("host: {authority}"),
                "authorization: bearer t".to_owned(),
                "content-type: application/json".to_owned(),
                "content-length: 7".to_owned(),
            ] {
                assert!(
                    head.contains(&format!("\r\n{line}\r\n")),
                    "{line} in {head}"
                );
            }
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        Ok(())
    }

    #[tokio::test]
    async fn opens_a_new_connection_when_the_server_closed_the_last() -> anyhow::Result<()> {
        let (base, accepted) = echo_server(true).await?;
        let http = Http::new(&base, Duration::from_secs(5))?;
        for _ in 0..3 {
            let (status, _) = http.send(Method::GET, "/readyz", None, Body::Empty).await?;
            assert_eq!(status, StatusCode::OK);
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
        Ok(())
    }
}
