//! `unembed serve`: the static file server for the page.
//!
//! hyper 1.x speaks HTTP/1.1: it frames requests (a body is never read as the next request),
//! honours `Connection: close` and HTTP/1.0, limits the request head (`max_header_size` → 431)
//! and times out a head that is not sent (`header_read_timeout`, which also runs while a
//! kept-alive connection is idle). tower-http's `ServeFile` answers for one file: `ETag`
//! (size + mtime) and `Last-Modified`, `If-Match`, `If-Unmodified-Since`, `If-None-Match`,
//! `If-Modified-Since` in RFC 9110 §13.2.2's order, one byte range, HEAD.
//!
//! what those leave to the caller is here: `files` decides which file a URL path names (never
//! one outside the folder, symlinks included), fixes the `Range` forms ServeFile gets wrong per
//! RFC 9110 §14 (another unit, a malformed or overflowing number, several ranges, a suffix
//! longer than the file, a range on HEAD), evaluates `If-Range` (which ServeFile ignores), and
//! sets the content types the page relies on and the security headers; `conn` bounds the
//! connections (an idle one gives way to a new one) and times out stalled writes.

mod conn;
mod files;

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::header::{self, HeaderName, HeaderValue};
use tokio::net::TcpListener;

/// every response body: a file from ServeFile or a short text.
type Body = UnsyncBoxBody<Bytes, io::Error>;

/// the page's policy: its own ES modules and wasm (`'wasm-unsafe-eval'` lets it compile),
/// module Workers from its own folder, fetches of its own models, its own stylesheet, `data:`
/// images (the favicon); nothing from another host, no inline script, no `<style>` element, no
/// plugins, no `<base>`, no forms. `style-src-attr 'unsafe-inline'` is there for one thing:
/// plotters measures chart text in wasm with a `<span style="font-…">` (style attributes run no
/// script; styles set from JS through `element.style` need nothing). PNG and CSV exports are
/// `data:` links with `download`: navigations, which CSP leaves alone. no `frame-ancestors`:
/// course pages on other hosts embed `embed.html` in an iframe.
pub const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
worker-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; \
style-src-attr 'unsafe-inline'; font-src 'self'; manifest-src 'self'; frame-src 'self'; \
base-uri 'none'; form-action 'none'";

/// how much a client may hold, and for how long.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// to send a request's line and headers, counted from when the connection opens or its
    /// previous response ends: so also how long a kept-alive connection may stay idle.
    pub header_timeout: Duration,
    /// a response write that makes no progress for this long ends the connection (a client
    /// that stops reading cannot keep its connection and open file).
    pub write_timeout: Duration,
    /// connections open at once; past it the longest-idle one is closed for a new one, and when
    /// every one is busy new connections wait in the listen queue.
    pub max_connections: usize,
    /// request line + headers; more is answered 431 and the connection closed.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_connections: 512,
            max_header_bytes: 16 * 1024,
        }
    }
}

impl Limits {
    /// the defaults, changed by `UNEMBED_SERVE_HEADER_TIMEOUT_MS`, `UNEMBED_SERVE_WRITE_TIMEOUT_MS`
    /// and `UNEMBED_SERVE_MAX_CONNECTIONS` (for tests that cannot wait 10 s).
    pub fn from_env() -> Result<Self, String> {
        let mut l = Limits::default();
        let var = |name: &str| -> Result<Option<u64>, String> {
            match std::env::var(name) {
                Err(_) => Ok(None),
                Ok(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n > 0 => Ok(Some(n)),
                    _ => Err(format!("{name}: expected a positive integer, got {v:?}")),
                },
            }
        };
        if let Some(ms) = var("UNEMBED_SERVE_HEADER_TIMEOUT_MS")? {
            l.header_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = var("UNEMBED_SERVE_WRITE_TIMEOUT_MS")? {
            l.write_timeout = Duration::from_millis(ms);
        }
        if let Some(n) = var("UNEMBED_SERVE_MAX_CONNECTIONS")? {
            l.max_connections = usize::try_from(n).unwrap_or(usize::MAX);
        }
        Ok(l)
    }
}

/// what `unembed serve` was asked for.
#[derive(Clone, Debug)]
pub struct Config {
    pub root: PathBuf,
    pub host: String,
    pub port: u16,
    /// add COOP/COEP/CORP so the page is cross-origin isolated (threads, SharedArrayBuffer).
    pub isolate: bool,
    /// the Content-Security-Policy value; None sends none.
    pub csp: Option<String>,
    pub limits: Limits,
}

/// serves `cfg.root` until the process ends; prints `serving DIR at http://HOST:PORT/` once
/// listening (the tests read the port from it).
pub fn serve(cfg: Config) -> io::Result<()> {
    let root = cfg.root.canonicalize()?;
    let mut limits = cfg.limits;
    limits.max_connections = limits
        .max_connections
        .min(conn::fd_budget(limits.max_connections));
    let headers = response_headers(&cfg)?;
    // one thread for the sockets; file reads go to a small blocking pool.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(16)
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind((cfg.host.as_str(), cfg.port)).await?;
        let port = listener.local_addr()?.port();
        let host = if cfg.host.contains(':') {
            format!("[{}]", cfg.host)
        } else {
            cfg.host.clone()
        };
        println!("serving {} at http://{host}:{port}/", cfg.root.display());
        let _ = io::stdout().flush();
        let site = Arc::new(Site { root, headers });
        conn::accept_loop(listener, site, limits).await;
        Ok(())
    })
}

/// the headers every response carries.
fn response_headers(cfg: &Config) -> io::Result<Vec<(HeaderName, HeaderValue)>> {
    let bad = |e| io::Error::new(io::ErrorKind::InvalidInput, format!("--csp: {e}"));
    let mut h = vec![(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    )];
    if let Some(csp) = &cfg.csp {
        h.push((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(csp).map_err(bad)?,
        ));
    }
    if cfg.isolate {
        for (k, v) in [
            ("cross-origin-opener-policy", "same-origin"),
            ("cross-origin-embedder-policy", "require-corp"),
            ("cross-origin-resource-policy", "same-origin"),
        ] {
            h.push((HeaderName::from_static(k), HeaderValue::from_static(v)));
        }
    }
    Ok(h)
}

struct Site {
    /// canonical: every served file's canonical path starts with it.
    root: PathBuf,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// `unembed serve [DIR] [--port 8000] [--host 127.0.0.1] [--isolate] [--csp POLICY|off]`.
pub fn run(a: &mut super::Args) -> crate::core::error::Result<()> {
    use crate::core::error::Error;
    let port: u16 = a.parse("--port")?.unwrap_or(8000);
    let host = a.opt("--host")?.unwrap_or_else(|| "127.0.0.1".into());
    let isolate = a.flag("--isolate");
    let csp = match a.opt("--csp")? {
        None => Some(CSP.to_string()),
        Some(p) if p == "off" => None,
        Some(p) if p.chars().any(char::is_control) => {
            return Err(Error::Invalid(
                "--csp: a header value cannot hold control characters".into(),
            ))
        }
        Some(p) => Some(p),
    };
    let dir = a
        .positionals()?
        .first()
        .cloned()
        .unwrap_or_else(|| "www".into());
    let root = std::path::PathBuf::from(&dir);
    if !root.is_dir() {
        return Err(Error::Io(format!("{dir} is not a folder")));
    }
    let limits = Limits::from_env().map_err(Error::Invalid)?;
    let cfg = Config {
        root,
        host: host.clone(),
        port,
        isolate,
        csp,
        limits,
    };
    serve(cfg).map_err(|e| Error::Io(format!("cannot serve on {host}:{port}: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_states_the_policy_sent() {
        assert!(include_str!("../../../README.md").contains(super::CSP));
    }
}
