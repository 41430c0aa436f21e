//! The smallest HTTP server that Prometheus can scrape: `GET /metrics`
//! answers the text exposition, anything else 404, one request per
//! connection. A whole HTTP stack (hyper, axum) would bring more code than
//! this one endpoint needs.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::NodeMetrics;

/// The content type of the exposition that `prometheus-client` writes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds `addr` and serves `metrics` there until the task is dropped;
/// `refresh` runs before each answer (it brings the transport's counters
/// up to date).
///
/// # Errors
/// The address cannot be bound.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<NodeMetrics>,
    refresh: Arc<dyn Fn() + Send + Sync>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(addr).await?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of descriptors and the like: wait, do not spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let metrics = Arc::clone(&metrics);
            let refresh = Arc::clone(&refresh);
            tokio::spawn(async move {
                let _ = answer(stream, &metrics, refresh.as_ref()).await;
            });
        }
    }))
}

async fn answer(
    mut stream: TcpStream,
    metrics: &NodeMetrics,
    refresh: &(dyn Fn() + Send + Sync),
) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    let head = tokio::time::timeout(READ_TIMEOUT, async {
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    if !matches!(head, Ok(Ok(()))) {
        return Ok(());
    }
    let line = request.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut words = line.split(|&b| b == b' ');
    let (method, path) = (words.next(), words.next());
    let response = match (method, path) {
        (Some(b"GET"), Some(b"/metrics")) => {
            refresh();
            let body = metrics.encode();
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {CONTENT_TYPE}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        _ => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
    };
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
