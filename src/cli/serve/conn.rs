//! connections: at most `max_connections` open (the idlest gives way to a new one, or new ones
//! wait in the listen queue while all are busy), each served by hyper with the head size limit
//! and header/idle timeout, and cut off when a write stalls.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::{files::respond, Body, Limits, Site};

pub(super) async fn accept_loop(listener: TcpListener, site: Arc<Site>, limits: Limits) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size((4 * limits.max_header_bytes).max(64 * 1024))
        .half_close(true);
    let slots = Slots::new(limits.max_connections);
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            // out of file descriptors, or a connection reset while queued: try again shortly.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        loop {
            let freed = slots.freed.notified();
            if slots.make_room() {
                break;
            }
            freed.await;
        }
        let (site, http, write_timeout) = (site.clone(), http.clone(), limits.write_timeout);
        slots.spawn(move |usage| async move {
            let svc = hyper::service::service_fn(move |req| {
                let (site, usage) = (site.clone(), usage.clone());
                async move {
                    let busy = Busy::start(usage);
                    let res = respond(&site, req).await;
                    // the connection stays busy until hyper has sent (and dropped) the body.
                    Ok::<_, Infallible>(res.map(move |body| Tracked { body, _busy: busy }))
                }
            });
            let io = Stall::new(TokioIo::new(tcp), write_timeout);
            let _ = http.serve_connection(io, svc).await;
        });
    }
}

/// the open connections, at most `max`: each one's task and what it is doing.
struct Slots {
    max: usize,
    start: Instant,
    live: Mutex<Live>,
    freed: tokio::sync::Notify,
}

struct Live {
    next: u64,
    slots: HashMap<u64, Slot>,
    /// the most connections open at once since memory was last released.
    peak: usize,
}

struct Slot {
    task: tokio::task::AbortHandle,
    usage: Arc<Usage>,
}

/// requests in flight on a connection, and when it last became idle (ms since the server
/// started).
struct Usage {
    start: Instant,
    busy: AtomicUsize,
    idle_since: AtomicU64,
}

impl Usage {
    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.idle_since.store(ms, Ordering::Relaxed);
    }
}

/// a request in flight: the connection is not idle until this is dropped.
struct Busy(Arc<Usage>);

impl Busy {
    fn start(usage: Arc<Usage>) -> Self {
        usage.busy.fetch_add(1, Ordering::Relaxed);
        Busy(usage)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// a response body that keeps its connection busy while it exists.
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, io::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// removes a connection's slot when its task ends or is aborted.
struct SlotGuard(Arc<Slots>, u64);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let drained = {
            let mut live = self.0.lock();
            live.slots.remove(&self.1);
            // after a burst (3,000 connections at once), give the freed buffers back to the
            // system: glibc keeps them in its heap otherwise.
            let drained = live.peak >= 64 && live.slots.len() <= 8;
            if drained {
                live.peak = live.slots.len();
            }
            drained
        };
        if drained {
            release_free_memory();
        }
        self.0.freed.notify_one();
    }
}

impl Slots {
    fn new(max: usize) -> Arc<Self> {
        Arc::new(Slots {
            max: max.max(1),
            start: Instant::now(),
            live: Mutex::new(Live {
                next: 0,
                slots: HashMap::new(),
                peak: 0,
            }),
            freed: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// true when a new connection may start: below the cap, or after closing the connection
    /// that has been idle longest. false when every connection is busy.
    fn make_room(&self) -> bool {
        let victim = {
            let mut live = self.lock();
            if live.slots.len() < self.max {
                return true;
            }
            let idlest = live
                .slots
                .iter()
                .filter(|(_, s)| s.usage.busy.load(Ordering::Relaxed) == 0)
                .min_by_key(|(_, s)| s.usage.idle_since.load(Ordering::Relaxed))
                .map(|(&id, _)| id);
            match idlest {
                Some(id) => live.slots.remove(&id),
                None => return false,
            }
        };
        // outside the lock: the task's SlotGuard takes it when the task is dropped.
        if let Some(slot) = victim {
            slot.task.abort();
        }
        true
    }

    /// runs one connection's future as a task with a slot.
    fn spawn<F, Fut>(self: &Arc<Self>, conn: F)
    where
        F: FnOnce(Arc<Usage>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let usage = Arc::new(Usage {
            start: self.start,
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
        });
        usage.touch();
        // the lock is held until the slot is in the map, so the task's guard (which takes it)
        // cannot remove the slot before it is there.
        let mut live = self.lock();
        let id = live.next;
        live.next += 1;
        let guard = SlotGuard(self.clone(), id);
        let fut = conn(usage.clone());
        let task = tokio::spawn(async move {
            let _guard = guard;
            fut.await
        });
        live.slots.insert(
            id,
            Slot {
                task: task.abort_handle(),
                usage,
            },
        );
        live.peak = live.peak.max(live.slots.len());
    }
}

/// an IO whose writes fail once they have made no progress for `limit`.
struct Stall<T> {
    io: T,
    limit: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    armed: bool,
}

impl<T> Stall<T> {
    fn new(io: T, limit: Duration) -> Self {
        Stall {
            io,
            limit,
            timer: Box::pin(tokio::time::sleep(limit)),
            armed: false,
        }
    }

    fn watch<R>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if r.is_ready() {
            self.armed = false;
            return r;
        }
        if !self.armed {
            self.armed = true;
            let deadline = tokio::time::Instant::now() + self.limit;
            self.timer.as_mut().reset(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::ErrorKind::TimedOut.into())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for Stall<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for Stall<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.watch(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.watch(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_shutdown(cx);
        self.watch(cx, r)
    }
}

/// returns the allocator's free pages to the system (glibc only; elsewhere nothing).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// how many connections the process's file-descriptor limit allows (each may also hold an open
/// file), after raising the soft limit toward the hard one where it is lower than needed.
#[cfg(unix)]
pub(super) fn fd_budget(want: usize) -> usize {
    let need = (2 * want + 64) as libc::rlim_t;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return want;
        }
        if lim.rlim_cur < need {
            let raised = libc::rlimit {
                rlim_cur: need.min(lim.rlim_max),
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    usize::try_from(lim.rlim_cur.saturating_sub(64) / 2)
        .unwrap_or(want)
        .max(1)
}

#[cfg(not(unix))]
pub(super) fn fd_budget(want: usize) -> usize {
    want
}
