//! the vocabulary: raw token strings, their display text, and look-ups both ways.

use std::collections::HashMap;

use super::error::{Error, Result};

/// how token strings are spelled, which decides how they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VocabKind {
    /// GPT-2 style byte-level BPE: every byte is mapped to a printable char (`Ġ` = space).
    ByteLevel,
    /// SentencePiece: `▁` = space, bytes as `<0x0A>`.
    SentencePiece,
    /// shown as they are.
    Plain,
}

/// whether a character would be invisible or act on its neighbours when shown: controls,
/// zero-width characters and bidirectional overrides.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{061C}' | '\u{180E}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if invisible(c) => out.push_str(&format!("\\u{{{:04X}}}", c as u32)),
        c => out.push(c),
    }
}

/// a token's text with every invisible or reordering character written as an escape
/// (`\n`, `\u{202E}`): what exports carry.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    text.chars().for_each(|c| push_escaped(&mut out, c));
    out
}

/// a token's text as a chart label: escaped, spaces shown as `␣`, cut to `max_chars`.
pub fn visible(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n >= max_chars {
            out.push('…');
            break;
        }
        match c {
            ' ' => out.push('␣'),
            c => push_escaped(&mut out, c),
        }
    }
    out
}

/// a token's text as tables and sentences show it: in double quotes, escaped (quotes and
/// backslashes too, so the quoting is unambiguous), cut to `max_chars`.
pub fn quoted(text: &str, max_chars: usize) -> String {
    let mut out = String::from("\"");
    for (n, c) in text.chars().enumerate() {
        if n >= max_chars {
            out.push('…');
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => push_escaped(&mut out, c),
        }
    }
    out.push('"');
    out
}

/// the token strings of a model and how to show them.
#[derive(Debug, Clone)]
pub struct Vocab {
    pub kind: VocabKind,
    raw: Vec<String>,
    text: Vec<String>,
    by_text: HashMap<String, u32>,
    by_raw: HashMap<String, u32>,
}

impl Vocab {
    pub fn new(raw: Vec<String>, kind: VocabKind) -> Self {
        let text: Vec<String> = raw.iter().map(|t| decode_token(t, kind)).collect();
        let mut by_text = HashMap::with_capacity(raw.len());
        let mut by_raw = HashMap::with_capacity(raw.len());
        // the lowest id wins when two tokens decode to the same text.
        for (i, (r, t)) in raw.iter().zip(&text).enumerate().rev() {
            by_text.insert(t.clone(), i as u32);
            by_raw.insert(r.clone(), i as u32);
        }
        Vocab {
            kind,
            raw,
            text,
            by_text,
            by_raw,
        }
    }

    /// a vocabulary of `<n>` placeholders, for matrices that come without one.
    pub fn placeholder(n: usize) -> Self {
        Vocab::new((0..n).map(|i| format!("<{i}>")).collect(), VocabKind::Plain)
    }

    pub fn len(&self) -> usize {
        self.raw.len()
    }
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
    /// the raw vocabulary string of token `id` (`ĠParis`).
    pub fn raw(&self, id: u32) -> &str {
        self.raw.get(id as usize).map(String::as_str).unwrap_or("")
    }
    /// the decoded text of token `id` (` Paris`).
    pub fn text(&self, id: u32) -> &str {
        self.text.get(id as usize).map(String::as_str).unwrap_or("")
    }
    pub fn raw_tokens(&self) -> &[String] {
        &self.raw
    }

    /// the token whose decoded text is exactly `s` (the lowest id when several decode alike):
    /// how two models' vocabularies are matched.
    pub fn by_text(&self, s: &str) -> Option<u32> {
        self.by_text.get(s).copied()
    }

    /// finds a token by decoded text first, then by raw string, then `#123` or a bare id.
    pub fn find(&self, s: &str) -> Result<u32> {
        if let Some(&i) = self.by_text.get(s) {
            return Ok(i);
        }
        if let Some(&i) = self.by_raw.get(s) {
            return Ok(i);
        }
        if let Some(n) = s.strip_prefix('#') {
            if let Ok(i) = n.parse::<u32>() {
                return self.check_id(i);
            }
        }
        Err(self.unknown(s))
    }

    pub fn check_id(&self, id: u32) -> Result<u32> {
        if (id as usize) < self.len() {
            Ok(id)
        } else {
            Err(Error::NotFound(format!(
                "token id {id} is outside the vocabulary (0..{})",
                self.len()
            )))
        }
    }

    fn unknown(&self, s: &str) -> Error {
        let want = s.trim().to_lowercase();
        let mut near: Vec<(u32, &str)> = self
            .text
            .iter()
            .enumerate()
            .filter(|(_, t)| t.trim().to_lowercase() == want)
            .map(|(i, t)| (i as u32, t.as_str()))
            .take(5)
            .collect();
        near.sort();
        Error::UnknownToken {
            text: s.to_string(),
            suggestions: near.iter().map(|(i, t)| format!("{t:?} (#{i})")).collect(),
        }
    }

    /// up to `limit` tokens whose text starts with `prefix` (exact-case first), for autocomplete.
    pub fn complete(&self, prefix: &str, limit: usize) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        if let Some(&i) = self.by_text.get(prefix) {
            out.push(i);
        }
        for (i, t) in self.text.iter().enumerate() {
            if out.len() >= limit {
                break;
            }
            if t.starts_with(prefix) && !out.contains(&(i as u32)) {
                out.push(i as u32);
            }
        }
        out
    }
}

/// the GPT-2 byte ↔ unicode table: printable bytes stand for themselves, the others are
/// shifted to U+0100 and up (so space is `Ġ` U+0120 and newline `Ċ` U+010A).
fn byte_level_table() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..256u32 {
        let printable =
            (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
        table[b as usize] = if printable {
            char::from_u32(b).unwrap_or('?')
        } else {
            n += 1;
            char::from_u32(255 + n).unwrap_or('?')
        };
    }
    table
}

fn byte_level_inverse() -> HashMap<char, u8> {
    byte_level_table()
        .iter()
        .enumerate()
        .map(|(b, &c)| (c, b as u8))
        .collect()
}

thread_local! {
    static BYTE_LEVEL: HashMap<char, u8> = byte_level_inverse();
}

/// decoded display text of one token. bytes that do not form complete UTF-8 (a token that holds
/// half a character) are shown as `\xNN`.
pub fn decode_token(raw: &str, kind: VocabKind) -> String {
    match kind {
        VocabKind::Plain => raw.to_string(),
        VocabKind::ByteLevel => BYTE_LEVEL.with(|m| {
            let mut bytes = Vec::with_capacity(raw.len());
            for c in raw.chars() {
                match m.get(&c) {
                    Some(&b) => bytes.push(b),
                    // not in the table (added special tokens): keep the character itself.
                    None => bytes.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes()),
                }
            }
            utf8_or_hex(&bytes)
        }),
        VocabKind::SentencePiece => {
            if let Some(b) = sp_byte(raw) {
                return utf8_or_hex(&[b]);
            }
            raw.replace('\u{2581}', " ")
        }
    }
}

/// `<0x0A>` → 0x0A.
fn sp_byte(raw: &str) -> Option<u8> {
    let hex = raw.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// valid UTF-8 runs as text, every invalid byte as `\xNN`.
pub fn utf8_or_hex(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len()).max(1);
                for b in &rest[..bad] {
                    out.push_str(&format!("\\x{b:02X}"));
                }
                bytes = &rest[bad..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level() {
        assert_eq!(decode_token("ĠParis", VocabKind::ByteLevel), " Paris");
        assert_eq!(decode_token("Ċ", VocabKind::ByteLevel), "\n");
        assert_eq!(decode_token("ĠĠ", VocabKind::ByteLevel), "  ");
        // "é" is C3 A9; a token holding only C3 shows it escaped.
        assert_eq!(decode_token("Ã", VocabKind::ByteLevel), "\\xC3");
        assert_eq!(decode_token("Ã©", VocabKind::ByteLevel), "é");
        assert_eq!(
            decode_token("<|endoftext|>", VocabKind::ByteLevel),
            "<|endoftext|>"
        );
    }

    #[test]
    fn sentencepiece() {
        assert_eq!(decode_token("▁Paris", VocabKind::SentencePiece), " Paris");
        assert_eq!(decode_token("<0x0A>", VocabKind::SentencePiece), "\n");
        assert_eq!(decode_token("<0xE2>", VocabKind::SentencePiece), "\\xE2");
    }

    #[test]
    fn lookup_text_then_raw() {
        let v = Vocab::new(
            vec!["Paris".into(), "ĠParis".into(), "Ċ".into()],
            VocabKind::ByteLevel,
        );
        assert_eq!(v.find(" Paris").unwrap(), 1);
        assert_eq!(v.find("ĠParis").unwrap(), 1);
        assert_eq!(v.find("\n").unwrap(), 2);
        assert_eq!(v.find("#2").unwrap(), 2);
        let e = v.find("paris").unwrap_err().to_string();
        assert!(e.contains("did you mean"), "{e}");
    }
}
