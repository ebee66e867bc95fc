//! `unembed tokenize`: text → token ids as llama.cpp gives them, with the file's own tokenizer
//! (`core::tokenize`). special-token text is parsed by default (chat prompts need it);
//! `--no-special` leaves CONTROL-token text as text. BOS/EOS are added as the model asks.

use std::path::Path;

use serde_json::json;

use super::{with_file, Args};
use crate::core::error::{Error, Result};
use crate::core::files::Format;
use crate::core::plan::read_header;
use crate::core::source::FileSource;
use crate::core::tokenize::Tokenizer;
use crate::core::vocab::quoted;

pub fn run(a: &mut Args) -> Result<()> {
    let as_json = a.flag("--json");
    let parse_special = !a.flag("--no-special");
    let batch = a.opt("--batch")?;
    let text_flag = a.opt("--text")?;
    let pos = a.positionals()?;
    let (path, text) = match (pos.as_slice(), &text_flag, &batch) {
        ([], ..) => return Err(Error::Invalid("give a model file".into())),
        ([f], Some(t), None) => (f, Some(t.clone())),
        ([f], None, Some(_)) => (f, None),
        ([f, t], None, None) => (f, Some(t.clone())),
        ([_], None, None) => {
            return Err(Error::Invalid(
                "give the text to tokenize (TEXT, --text TEXT or --batch strings.json)".into(),
            ))
        }
        (_, _, Some(_)) if text_flag.is_some() || pos.len() > 1 => {
            return Err(Error::Invalid(
                "--batch takes the strings from its file: give no TEXT with it".into(),
            ))
        }
        _ => {
            return Err(Error::Invalid(format!(
                "expected a model file and one TEXT, got {pos:?} (quote the text, or use --text)"
            )))
        }
    };
    let tok = open(Path::new(path))?;
    let one = |text: &str| -> Result<serde_json::Value> {
        let ids = tok.encode(text, true, parse_special)?;
        let tokens: Vec<&str> = ids
            .iter()
            .map(|&i| tok.token_text(i).unwrap_or_default())
            .collect();
        Ok(json!({"ids": ids, "tokens": tokens}))
    };
    if let Some(b) = batch {
        let bytes = std::fs::read(&b).map_err(|e| Error::Io(format!("cannot read {b}: {e}")))?;
        let strings: Vec<String> = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Format(format!("{b}: expected a JSON array of strings: {e}")))?;
        let out = strings.iter().map(|s| one(s)).collect::<Result<Vec<_>>>()?;
        out!("{}", serde_json::to_string(&out).unwrap_or_default());
        return Ok(());
    }
    let text = text.unwrap_or_default();
    if as_json {
        out!("{}", one(&text)?);
        return Ok(());
    }
    let ids = tok.encode(&text, true, parse_special)?;
    let bos = match (tok.adds_bos(), tok.bos()) {
        (true, Some(b)) => format!("BOS #{b} added"),
        _ => "no BOS (the model does not ask for one)".into(),
    };
    let special = if parse_special {
        "special-token text parsed"
    } else {
        "special-token text kept as text (--no-special)"
    };
    out!("{} tokens; {bos}; {special}", ids.len());
    out!("{:>5}  {:>6}  {:<24} text", "#", "id", "token");
    for (k, &id) in ids.iter().enumerate() {
        let raw = tok.token_text(id).unwrap_or_default();
        out!(
            "{k:>5}  {id:>6}  {:<24} {}{}",
            quoted(raw, 40),
            piece_text(tok.piece(id).unwrap_or_default()),
            if tok.is_eog(id) {
                "  (end of generation)"
            } else {
                ""
            }
        );
    }
    out!("ids: {ids:?}");
    Ok(())
}

/// the tokenizer a GGUF file describes.
fn open(path: &Path) -> Result<Tokenizer> {
    let src = FileSource::open(path)?;
    let file = read_header(&src).map_err(|e| with_file(e, path))?;
    if file.format == Format::Safetensors {
        return Err(Error::Unsupported(format!(
            "{}: tokenize reads the tokenizer from a GGUF file's metadata (tokenizer.ggml.*); \
             a safetensors file has none",
            path.display()
        )));
    }
    Tokenizer::from_metadata(&file.metadata).map_err(|e| match e {
        Error::NotFound(m) => Error::NotFound(format!("{}: {m}", path.display())),
        Error::Unsupported(m) => Error::Unsupported(format!("{}: {m}", path.display())),
        Error::Invalid(m) => Error::Invalid(format!("{}: {m}", path.display())),
        other => with_file(other, path),
    })
}

/// a token's bytes in double quotes, escaped like `quoted`, with the bytes of a character cut
/// between tokens written `\xNN`.
fn piece_text(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        let q = quoted(chunk.valid(), usize::MAX);
        out.push_str(&q[1..q.len() - 1]);
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out.push('"');
    out
}
