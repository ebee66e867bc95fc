//! a small static file server for the page: GET/HEAD, byte ranges (the page reads model files
//! by range), correct types for .wasm/.mjs/.gguf, and no path outside the served folder.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

use crate::core::error::{Error, Result};

pub fn serve(root: &Path, host: &str, port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind((host, port))?;
    let addr = listener.local_addr()?;
    println!(
        "serving {} at http://{}:{}/",
        root.display(),
        host,
        addr.port()
    );
    let _ = std::io::stdout().flush();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let root = root.to_path_buf();
        std::thread::spawn(move || {
            let _ = handle(stream, &root);
        });
    }
    Ok(())
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn handle(stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        let mut range: Option<String> = None;
        let mut keep_alive = true;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
                break;
            }
            let lower = h.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("range:") {
                range = Some(v.trim().to_string());
            }
            if lower.starts_with("connection:") && lower.contains("close") {
                keep_alive = false;
            }
        }
        if method != "GET" && method != "HEAD" {
            respond(&mut out, 405, "text/plain", b"method not allowed", method)?;
            continue;
        }
        let path = match resolve(root, target) {
            Some(p) => p,
            None => {
                respond(&mut out, 404, "text/plain", b"not found", method)?;
                continue;
            }
        };
        let mut file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(_) => {
                respond(&mut out, 404, "text/plain", b"not found", method)?;
                continue;
            }
        };
        let len = file.metadata()?.len();
        let (start, end, status) = match range.as_deref().and_then(|r| parse_range(r, len)) {
            Some((s, e)) => (s, e, 206),
            None if range.is_some() => {
                let head = format!(
                    "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\n\r\n"
                );
                out.write_all(head.as_bytes())?;
                continue;
            }
            None => (0, len, 200),
        };
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nCache-Control: no-cache\r\n",
            if status == 206 { "Partial Content" } else { "OK" },
            content_type(&path),
            end - start
        );
        if status == 206 {
            head += &format!("Content-Range: bytes {start}-{}/{len}\r\n", end - 1);
        }
        head += "\r\n";
        out.write_all(head.as_bytes())?;
        if method == "GET" {
            file.seek(SeekFrom::Start(start))?;
            std::io::copy(&mut (&mut file).take(end - start), &mut out)?;
        }
        out.flush()?;
        if !keep_alive {
            return Ok(());
        }
    }
}

fn respond(
    out: &mut TcpStream,
    status: u16,
    ty: &str,
    body: &[u8],
    method: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} E\r\nContent-Type: {ty}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    out.write_all(head.as_bytes())?;
    if method != "HEAD" {
        out.write_all(body)?;
    }
    Ok(())
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → [start, end).
fn parse_range(r: &str, len: u64) -> Option<(u64, u64)> {
    let spec = r.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (len.saturating_sub(n), len)
    } else {
        let s: u64 = a.parse().ok()?;
        let e = if b.is_empty() {
            len
        } else {
            b.parse::<u64>().ok()?.saturating_add(1).min(len)
        };
        (s, e)
    };
    (start < end).then_some((start, end))
}

fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    let decoded = percent_decode(path)?;
    let mut p = root.to_path_buf();
    for c in Path::new(decoded.trim_start_matches('/')).components() {
        match c {
            Component::Normal(s) => p.push(s),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if p.is_dir() {
        p.push("index.html");
    }
    p.is_file().then_some(p)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let h = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `unembed serve [DIR] [--port 8000] [--host 127.0.0.1]`.
pub fn run(a: &mut super::Args) -> Result<()> {
    let port: u16 = a.parse("--port")?.unwrap_or(8000);
    let host = a.opt("--host")?.unwrap_or_else(|| "127.0.0.1".into());
    let dir = a
        .positionals()?
        .first()
        .cloned()
        .unwrap_or_else(|| "www".into());
    let root = PathBuf::from(&dir);
    if !root.is_dir() {
        return Err(Error::Io(format!("{dir} is not a folder")));
    }
    serve(&root, &host, port).map_err(|e| Error::Io(format!("cannot serve on {host}:{port}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 10)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 100)));
        assert_eq!(parse_range("bytes=-5", 100), Some((95, 100)));
        assert_eq!(parse_range("bytes=200-", 100), None);
        assert_eq!(parse_range("bytes=0-1000", 100), Some((0, 100)));
    }

    #[test]
    fn no_escape_from_root() {
        let root = std::env::temp_dir();
        assert!(resolve(&root, "/../etc/passwd").is_none());
        assert!(resolve(&root, "/%2e%2e/etc/passwd").is_none());
    }
}
