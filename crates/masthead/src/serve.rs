//! The server's accept loop: HTTP/1.1 through hyper, with the bounds a
//! public server needs and `axum::serve` does not set.
//!
//! - Headers must arrive within `header_timeout` of when the connection
//!   starts waiting for a request (hyper's header timer, which also closes
//!   a keep-alive connection idle that long).
//! - A request body must arrive within `body_timeout` however it trickles,
//!   and never stall for `idle_timeout`.
//! - A response the client stops reading for `idle_timeout` ends the
//!   connection. (Reads are not timed at the socket: hyper polls the socket
//!   for a hang-up while a handler runs, which must not end a slow handler.)
//! - At most `max_connections` connections are open, and at most
//!   `max_per_client` from one address (except trusted proxies, which carry
//!   everyone's); past either, a new connection is closed at once, so the
//!   descriptors of the process are never all held by one client.
//!
//! Shutdown stops accepting, lets requests in flight finish and waits for
//! every connection to close.

use axum::Router;
use bytes::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// The bounds above, with their defaults (`[server]` in masthead.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub max_per_client: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(300),
            max_connections: 4096,
            max_per_client: 64,
        }
    }
}

/// Serves `router` on `listener` until `stop` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    trusted_proxies: Vec<IpAddr>,
    limits: Limits,
    stop: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let open = Arc::new(Semaphore::new(max));
    let per_client: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    let (closing, closed) = tokio::sync::watch::channel(false);
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, say: wait a little, never spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "connection refused: {max} connections open");
            continue;
        };
        let Some(slot) = ClientSlot::take(
            &per_client,
            peer.ip(),
            &trusted_proxies,
            limits.max_per_client,
        ) else {
            tracing::warn!(%peer, "connection refused: {} open from this address", limits.max_per_client);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut closed = closed.clone();
        tokio::spawn(async move {
            let _held = (permit, slot);
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    // A request without a body needs no timers.
                    let req = req.map(|body| {
                        if http_body::Body::is_end_stream(&body) {
                            axum::body::Body::new(body)
                        } else {
                            axum::body::Body::new(Deadline::new(body, limits))
                        }
                    });
                    router.clone().oneshot(req)
                },
            );
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(
                    TokioIo::new(Idle::new(stream, limits.idle_timeout)),
                    service,
                )
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => log_end(r),
                _ = until_set(&mut closed) => {
                    conn.as_mut().graceful_shutdown();
                    log_end(conn.await);
                }
            }
        });
    }
    let _ = closing.send(true);
    drop(listener);
    // Every connection holds a permit until it ends.
    let _all = open
        .acquire_many(u32::try_from(max).unwrap_or(u32::MAX))
        .await;
    Ok(())
}

/// Resolves once the flag is set (or its sender is gone).
async fn until_set(flag: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        if *flag.borrow_and_update() {
            return;
        }
        if flag.changed().await.is_err() {
            return;
        }
    }
}

fn log_end(r: Result<(), hyper::Error>) {
    if let Err(e) = r {
        if !e.is_incomplete_message() {
            tracing::debug!(error = %e, "connection ended");
        }
    }
}

/// One open connection counted against its client address.
struct ClientSlot {
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: Option<IpAddr>,
}

impl ClientSlot {
    fn take(
        map: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        ip: IpAddr,
        trusted: &[IpAddr],
        max: usize,
    ) -> Option<ClientSlot> {
        if trusted.contains(&ip) {
            return Some(ClientSlot {
                map: map.clone(),
                ip: None,
            });
        }
        let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            map: map.clone(),
            ip: Some(ip),
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        if let Some(ip) = self.ip {
            let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = m.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&ip);
                }
            }
        }
    }
}

/// A stream whose writes fail once one has waited `limit` for the client
/// to read.
struct Idle {
    inner: TcpStream,
    limit: Duration,
    waiting: Option<Pin<Box<Sleep>>>,
}

impl Idle {
    fn new(inner: TcpStream, limit: Duration) -> Idle {
        Idle {
            inner,
            limit,
            waiting: None,
        }
    }

    /// After a write: progress clears the wait; `Pending` starts (or goes
    /// on with) it, and fails once it has lasted `limit`.
    fn after<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.waiting = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let limit = self.limit;
                let timer = self
                    .waiting
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if timer.as_mut().poll(cx).is_ready() {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    )))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl AsyncRead for Idle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Idle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.after(cx, r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.after(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.after(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A request body that fails once `limit` has passed since the request
/// arrived, however slowly its bytes trickle in, or once no bytes came
/// for `idle_timeout`.
struct Deadline {
    inner: hyper::body::Incoming,
    deadline: Pin<Box<Sleep>>,
    stall: Pin<Box<Sleep>>,
    idle: Duration,
}

impl Deadline {
    fn new(inner: hyper::body::Incoming, limits: Limits) -> Deadline {
        Deadline {
            inner,
            deadline: Box::pin(tokio::time::sleep(limits.body_timeout)),
            stall: Box::pin(tokio::time::sleep(limits.idle_timeout)),
            idle: limits.idle_timeout,
        }
    }
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let next = Instant::now() + self.idle;
                self.stall.as_mut().reset(next);
                if self.deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(TOO_SLOW.into())));
                }
                Poll::Ready(frame.map(|r| r.map_err(Into::into)))
            }
            Poll::Pending => {
                if self.deadline.as_mut().poll(cx).is_ready()
                    || self.stall.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Some(Err(TOO_SLOW.into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

const TOO_SLOW: &str = "the request body took too long to arrive";
