//! one request: which file a URL path names, the Range and If-Range handling that ServeFile
//! lacks, content types and the headers every response carries.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use tower_http::services::ServeFile;

use super::{Body, Site};

pub(super) async fn respond(site: &Site, req: Request<Incoming>) -> Response<Body> {
    let mut res = match *req.method() {
        Method::GET | Method::HEAD => get(site, req).await,
        _ => {
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            r
        }
    };
    let h = res.headers_mut();
    for (k, v) in &site.headers {
        h.insert(k, v.clone());
    }
    res
}

async fn get(site: &Site, req: Request<Incoming>) -> Response<Body> {
    let root = site.root.clone();
    let path = req.uri().path().to_owned();
    let found = tokio::task::spawn_blocking(move || locate(&root, &path)).await;
    match found {
        Ok(Lookup::File(f)) => file(req, f).await,
        Ok(Lookup::Redirect(to)) => {
            let mut r = text(StatusCode::TEMPORARY_REDIRECT, "");
            if let Ok(v) = HeaderValue::from_str(&to) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Ok(Lookup::Bad) => text(StatusCode::BAD_REQUEST, "bad request\n"),
        Ok(Lookup::NotFound) => text(StatusCode::NOT_FOUND, "not found\n"),
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
    }
}

/// one file to serve: its canonical path, and what was known when it was found.
#[derive(Debug)]
struct FileInfo {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
    /// the extension of the name asked for (which decides the type even through a symlink).
    ext: String,
}

#[derive(Debug)]
enum Lookup {
    File(FileInfo),
    /// a folder asked for without its final slash: relative links in its index.html need it.
    Redirect(String),
    NotFound,
    Bad,
}

/// the file a URL path names inside `root` (canonical): each `/`-separated segment is
/// percent-decoded on its own, so `%2F` cannot make a separator; `..`, NUL, `\` and non-UTF-8
/// are refused; the result, symlinks resolved, must be a regular file inside `root` (a
/// folder means its index.html). dotfiles are served, as they always were.
fn locate(root: &Path, raw: &str) -> Lookup {
    let mut path = root.to_path_buf();
    let mut last = "";
    for seg in raw.split('/') {
        let Some(name) = decode_segment(seg) else {
            return Lookup::Bad;
        };
        match name.as_str() {
            "" | "." => {}
            ".." => return Lookup::Bad,
            _ => {
                // exactly one plain component (no drive prefix, no separator of any platform).
                let mut c = Path::new(&name).components();
                if !matches!((c.next(), c.next()), (Some(Component::Normal(_)), None)) {
                    return Lookup::Bad;
                }
                path.push(&name);
            }
        }
        last = seg;
    }
    let Some((real, meta)) = inside(root, &path) else {
        return Lookup::NotFound;
    };
    let (real, meta, ext) = if meta.is_dir() {
        if !raw.ends_with('/') {
            let dir = if last.is_empty() { "." } else { last };
            return Lookup::Redirect(format!("{dir}/"));
        }
        match inside(root, &real.join("index.html")) {
            Some((r, m)) => (r, m, "html".to_string()),
            None => return Lookup::NotFound,
        }
    } else {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        (real, meta, ext.to_ascii_lowercase())
    };
    if !meta.is_file() {
        return Lookup::NotFound;
    }
    Lookup::File(FileInfo {
        path: real,
        len: meta.len(),
        modified: meta.modified().ok(),
        ext,
    })
}

/// `path` with symlinks resolved, and its metadata, if that is inside `root`.
fn inside(root: &Path, path: &Path) -> Option<(PathBuf, std::fs::Metadata)> {
    let real = path.canonicalize().ok()?;
    if !real.starts_with(root) {
        return None;
    }
    let meta = real.metadata().ok()?;
    Some((real, meta))
}

/// one percent-decoded path segment; None for a bad escape, invalid UTF-8, NUL, `/` or `\`.
fn decode_segment(seg: &str) -> Option<String> {
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let s = String::from_utf8(out).ok()?;
    (!s.contains(['\0', '/', '\\'])).then_some(s)
}

/// the types the page needs exactly (a module script must be JavaScript, `instantiateStreaming`
/// needs application/wasm); other extensions keep ServeFile's guess (octet-stream if none).
fn content_type(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "txt" | "md" => "text/plain; charset=utf-8",
        "gguf" | "safetensors" | "bin" => "application/octet-stream",
        _ => return None,
    })
}

async fn file(req: Request<Incoming>, f: FileInfo) -> Response<Body> {
    let (parts, _) = req.into_parts();
    let mut headers = parts.headers;
    let if_range = headers.remove(header::IF_RANGE);
    let range = headers.remove(header::RANGE);
    // RFC 9110 §14.2: only GET has ranges; a HEAD's Range is ignored.
    let range = range
        .filter(|_| parts.method == Method::GET)
        .and_then(|v| byte_range(v.to_str().ok()?, f.len))
        .and_then(|r| HeaderValue::from_str(&r).ok());
    let mut res = match &range {
        Some(r) => {
            let mut h = headers.clone();
            h.insert(header::RANGE, r.clone());
            serve_file(&f.path, &parts.method, &parts.uri, h).await
        }
        None => serve_file(&f.path, &parts.method, &parts.uri, headers.clone()).await,
    };
    let ranged = matches!(
        res.status(),
        StatusCode::PARTIAL_CONTENT | StatusCode::RANGE_NOT_SATISFIABLE
    );
    if ranged {
        if let Some(cond) = if_range {
            let settled = f
                .modified
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .is_some_and(|age| age >= Duration::from_secs(1));
            let h = res.headers();
            if !if_range_holds(
                &cond,
                h.get(header::ETAG),
                h.get(header::LAST_MODIFIED),
                settled,
            ) {
                // RFC 9110 §13.1.5: a validator that does not match means the whole file.
                res = serve_file(&f.path, &parts.method, &parts.uri, headers).await;
            }
        }
    }
    let status = res.status();
    let h = res.headers_mut();
    if matches!(status, StatusCode::OK | StatusCode::PARTIAL_CONTENT) {
        if let Some(ct) = content_type(&f.ext) {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
    }
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        // stored, but checked with the ETag before each use: a model file costs a 304, not a
        // download, and a changed one is seen at once.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    res
}

/// tower-http's ServeFile on one request's method, URI and headers.
async fn serve_file(path: &Path, method: &Method, uri: &Uri, headers: HeaderMap) -> Response<Body> {
    let mut req = Request::new(());
    *req.method_mut() = method.clone();
    *req.uri_mut() = uri.clone();
    *req.headers_mut() = headers;
    match ServeFile::new(path).try_call(req).await {
        Ok(res) => res.map(|b| b.boxed_unsync()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => text(StatusCode::NOT_FOUND, "not found\n"),
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
    }
}

/// what to hand ServeFile for a `Range` value on a file of `len` bytes (RFC 9110 §14.1.2):
/// one satisfiable range as `bytes=first-last` with `last` clipped to the end (a suffix longer
/// than the file is the whole file); an unsatisfiable one as `bytes=len-`, which ServeFile
/// answers 416 with `Content-Range: bytes */len`. None, i.e. the whole file with 200, for
/// another unit (§14.2: MUST ignore), a malformed, reversed or overflowing number, several
/// ranges (no multipart/byteranges), or an empty file (§14.2: MAY ignore).
fn byte_range(value: &str, len: u64) -> Option<String> {
    let (unit, set) = value.split_once('=')?;
    if !unit.eq_ignore_ascii_case("bytes") || len == 0 {
        return None;
    }
    let mut specs = set
        .split(',')
        .map(|s| s.trim_matches([' ', '\t']))
        .filter(|s| !s.is_empty());
    let spec = specs.next()?;
    if specs.next().is_some() {
        return None;
    }
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let unsatisfiable = Some(format!("bytes={len}-"));
    let (first, last) = spec.split_once('-')?;
    let (start, end) = if first.is_empty() {
        match num(last)? {
            0 => return unsatisfiable,
            n => (len.saturating_sub(n), len - 1),
        }
    } else {
        let a = num(first)?;
        let b = if last.is_empty() {
            u64::MAX
        } else {
            num(last)?
        };
        if b < a {
            return None;
        }
        if a >= len {
            return unsatisfiable;
        }
        (a, b.min(len - 1))
    };
    Some(format!("bytes={start}-{end}"))
}

/// RFC 9110 §13.1.5: whether an `If-Range` names the current representation: its ETag, by
/// strong comparison (a weak tag never matches), or its Last-Modified date exactly, when that
/// date is a strong validator (`settled`: the file is at least a second old, so it cannot have
/// changed twice within that date's second).
fn if_range_holds(
    cond: &HeaderValue,
    etag: Option<&HeaderValue>,
    last_modified: Option<&HeaderValue>,
    settled: bool,
) -> bool {
    let Ok(v) = cond.to_str() else { return false };
    let v = v.trim_matches([' ', '\t']);
    if v.starts_with('"') {
        etag.is_some_and(|e| e.as_bytes() == v.as_bytes())
    } else if v.starts_with("W/") {
        false
    } else {
        settled && last_modified.is_some_and(|lm| lm.as_bytes() == v.as_bytes())
    }
}

fn text(status: StatusCode, msg: &'static str) -> Response<Body> {
    let body = Full::new(Bytes::from_static(msg.as_bytes()))
        .map_err(|e| match e {})
        .boxed_unsync();
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_rfc_9110_says() {
        let r = |s: &str| byte_range(s, 1000);
        assert_eq!(r("bytes=0-0").as_deref(), Some("bytes=0-0"));
        assert_eq!(r("bytes=0-499").as_deref(), Some("bytes=0-499"));
        assert_eq!(r("bytes=500-").as_deref(), Some("bytes=500-999"));
        assert_eq!(r("bytes=-500").as_deref(), Some("bytes=500-999"));
        assert_eq!(r("Bytes=0-0").as_deref(), Some("bytes=0-0"));
        assert_eq!(r("bytes=007-8").as_deref(), Some("bytes=7-8"));
        // clipped to the end; a suffix longer than the file is the whole file.
        assert_eq!(r("bytes=990-5000").as_deref(), Some("bytes=990-999"));
        assert_eq!(r("bytes=-5000").as_deref(), Some("bytes=0-999"));
        // unsatisfiable: ServeFile answers 416 to `bytes=len-`.
        assert_eq!(r("bytes=1000-").as_deref(), Some("bytes=1000-"));
        assert_eq!(r("bytes=1000-1001").as_deref(), Some("bytes=1000-"));
        assert_eq!(r("bytes=-0").as_deref(), Some("bytes=1000-"));
        // ignored: the whole file.
        for bad in [
            "items=0-1",
            "bytes 0-1",
            "bytes=",
            "bytes=abc",
            "bytes=5-2",
            "bytes=--1",
            "bytes=+1-2",
            "bytes=0-1-2",
            "bytes=-",
            "bytes=0x10-",
            "bytes=0-99999999999999999999999",
            "bytes=99999999999999999999999-",
            "bytes=0-0,5-9",
            "bytes=0-0, 0-0",
        ] {
            assert_eq!(r(bad), None, "{bad}");
        }
        assert_eq!(byte_range("bytes=0-0", 0), None);
        // OWS and empty list elements around the one range are allowed (RFC 9110 §5.6.1).
        assert_eq!(r("bytes= 1-2 ,").as_deref(), Some("bytes=1-2"));
    }

    #[test]
    fn if_range_compares_strongly() {
        let v = HeaderValue::from_static;
        let (etag, lm) = (v("\"abc\""), v("Tue, 01 Dec 2026 10:00:00 GMT"));
        let holds =
            |c: &'static str, settled| if_range_holds(&v(c), Some(&etag), Some(&lm), settled);
        assert!(holds("\"abc\"", true));
        assert!(!holds("\"abd\"", true));
        assert!(!holds("W/\"abc\"", true));
        assert!(holds("Tue, 01 Dec 2026 10:00:00 GMT", true));
        assert!(!holds("Tue, 01 Dec 2026 10:00:00 GMT", false));
        assert!(!holds("Tue, 01 Dec 2026 10:00:01 GMT", true));
        assert!(!if_range_holds(&v("\"abc\""), None, None, true));
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("unembed-serve-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("site/sub")).unwrap();
        std::fs::write(d.join("site/index.html"), "<p>root").unwrap();
        std::fs::write(d.join("site/sub/index.html"), "<p>sub").unwrap();
        std::fs::write(d.join("site/a.wasm"), "\0asm").unwrap();
        std::fs::write(d.join("secret.txt"), "secret").unwrap();
        d.canonicalize().unwrap()
    }

    fn file_of(f: Lookup) -> Option<(PathBuf, String)> {
        match f {
            Lookup::File(f) => Some((f.path, f.ext)),
            _ => None,
        }
    }

    #[test]
    fn paths_stay_inside_the_folder() {
        let d = scratch("paths");
        let root = d.join("site");
        let ok = |p: &str| file_of(locate(&root, p));
        assert_eq!(ok("/"), Some((root.join("index.html"), "html".into())));
        assert_eq!(
            ok("/sub/"),
            Some((root.join("sub/index.html"), "html".into()))
        );
        assert_eq!(ok("/./a.wasm"), Some((root.join("a.wasm"), "wasm".into())));
        assert_eq!(ok("//a.wasm"), Some((root.join("a.wasm"), "wasm".into())));
        assert!(matches!(locate(&root, "/sub"), Lookup::Redirect(l) if l == "sub/"));
        for bad in [
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E%2Fsecret.txt",
            "/sub/..%2f..%2fsecret.txt",
            "/..%5csecret.txt",
            "/a.wasm%00",
            "/%zz",
            "/%ff",
        ] {
            assert!(matches!(locate(&root, bad), Lookup::Bad), "{bad}");
        }
        assert!(matches!(locate(&root, "/nope"), Lookup::NotFound));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_may_not_leave_the_folder() {
        let d = scratch("links");
        let root = d.join("site");
        std::os::unix::fs::symlink(d.join("secret.txt"), root.join("out.txt")).unwrap();
        std::os::unix::fs::symlink(d.clone(), root.join("up")).unwrap();
        std::os::unix::fs::symlink(root.join("a.wasm"), root.join("in.wasm")).unwrap();
        assert!(matches!(locate(&root, "/out.txt"), Lookup::NotFound));
        assert!(matches!(locate(&root, "/up/secret.txt"), Lookup::NotFound));
        assert_eq!(
            file_of(locate(&root, "/in.wasm")),
            Some((root.join("a.wasm"), "wasm".into()))
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
