//! file formats: what a file is ([`sniff`]), GGUF ([`gguf`]), hugging face safetensors
//! ([`safetensors`]) and vocabulary files ([`tokenizer`]). parsers read only ranges of a
//! [`ByteSource`](super::source::ByteSource) and check every count, length and offset first.

use serde::Serialize;

use super::error::{Error, Result};

pub mod gguf;
pub mod safetensors;
pub mod tokenizer;

/// the container formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    #[serde(rename = "gguf")]
    Gguf,
    #[serde(rename = "safetensors")]
    Safetensors,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Gguf => "gguf",
            Format::Safetensors => "safetensors",
        }
    }
}

/// which format the first bytes announce.
pub fn sniff(first: &[u8]) -> Result<Format> {
    if first.starts_with(gguf::MAGIC) {
        return Ok(Format::Gguf);
    }
    if first.is_empty() {
        return Err(Error::Format("the file is empty".into()));
    }
    if first.len() < 4 && gguf::MAGIC.starts_with(first) {
        return Err(Error::Truncated {
            what: "GGUF magic".into(),
            need: 4,
            have: first.len() as u64,
        });
    }
    // ggml's formats before GGUF write the magic as a little-endian u32: "lmgg", "tjgg" …
    if [
        b"lmgg", b"fmgg", b"tjgg", b"algg", b"GGML", b"GGJT", b"GGMF", b"GGLA",
    ]
    .iter()
    .any(|m| first.starts_with(*m))
    {
        return Err(Error::Unsupported(
            "a GGML/GGJT file (llama.cpp's format before GGUF); convert it to GGUF first".into(),
        ));
    }
    let text = first.trim_ascii_start();
    if text.starts_with(b"<") {
        return Err(Error::Format(
            "an HTML or XML page, not a model (a download that saved an error page?)".into(),
        ));
    }
    if text.starts_with(b"{") || text.starts_with(b"[") {
        return Err(Error::Format(
            "a JSON file, not a model (a tokenizer goes beside the model file, not instead of it)"
                .into(),
        ));
    }
    if first.starts_with(b"PK\x03\x04") {
        return Err(Error::Unsupported(
            "a zip archive (a PyTorch .bin or .pt checkpoint?); convert it to safetensors or GGUF"
                .into(),
        ));
    }
    if first.len() < 9 {
        return Err(Error::Format(format!(
            "only {} bytes: too short for a GGUF or safetensors header",
            first.len()
        )));
    }
    // safetensors: a u64 header length, then the JSON header. a length that fits the limit and
    // a printable first header byte are taken as safetensors, so that a broken header is
    // reported by the JSON parser with its position.
    let n = u64::from_le_bytes(first[..8].try_into().expect("8 bytes"));
    if first[8] == b'{' || (n > 0 && n <= safetensors::MAX_HEADER && first[8].is_ascii_graphic()) {
        return Ok(Format::Safetensors);
    }
    Err(Error::Format(format!(
        "neither a GGUF file (magic \"GGUF\") nor a safetensors file (length + JSON header); \
         it starts with {}",
        first[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_names_what_a_file_is() {
        let msg = |b: &[u8]| sniff(b).unwrap_err().to_string();
        assert_eq!(sniff(b"GGUF\x03\0\0\0").unwrap(), Format::Gguf);
        assert_eq!(sniff(b"\x10\0\0\0\0\0\0\0{").unwrap(), Format::Safetensors);
        assert_eq!(sniff(b"\x10\0\0\0\0\0\0\0<").unwrap(), Format::Safetensors);
        assert!(msg(b"").contains("empty"));
        assert!(msg(b"GG").contains("GGUF magic needs 4 bytes"));
        assert!(msg(b"lmgg\x01\0\0\0\0").contains("before GGUF"));
        assert!(msg(b"<!DOCTYPE html>").contains("HTML"));
        assert!(msg(b"  {\"a\": 1}").contains("JSON file"));
        assert!(msg(b"PK\x03\x04\0\0\0\0\0").contains("zip"));
        assert!(msg(b"\x10\0\0").contains("only 3 bytes"));
        assert!(msg(b"\xff\xff\xff\xff\xff\xff\xff\xff\x00").contains("starts with ff ff"));
    }
}
