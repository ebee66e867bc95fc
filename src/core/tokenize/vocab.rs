//! what every tokenizer kind shares: the token strings and their attributes, the special ids
//! (BOS, EOS, end of generation), whether BOS/EOS are added, and each token's bytes. follows
//! `llama_vocab::impl::load` (`src/llama-vocab.cpp`): token types → attributes, the special ids
//! from metadata over per-kind defaults, `add_bos_token`/`add_eos_token`, the tokens recognised
//! by their text (EOT, EOM, FIM and end-of-generation lists, forced to CONTROL), and
//! `token_to_piece` with `special = true` for the pieces (its `cache_token_to_piece`).

use std::collections::HashMap;

use crate::core::error::{Error, Result};
use crate::core::files::gguf::{Metadata, Value};

/// llama.cpp's `llama_token_attr` bits (include/llama.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attr(pub u16);

impl Attr {
    pub const UNDEFINED: Attr = Attr(0);
    pub const UNKNOWN: Attr = Attr(1 << 0);
    pub const UNUSED: Attr = Attr(1 << 1);
    pub const NORMAL: Attr = Attr(1 << 2);
    pub const CONTROL: Attr = Attr(1 << 3);
    pub const USER_DEFINED: Attr = Attr(1 << 4);
    pub const BYTE: Attr = Attr(1 << 5);

    /// whether any bit of `other` is set.
    pub fn any(self, other: Attr) -> bool {
        self.0 & other.0 != 0
    }
    pub fn with(self, other: Attr) -> Attr {
        Attr(self.0 | other.0)
    }
    /// the attribute of a `tokenizer.ggml.token_type` value (`llama_token_type`): 1 normal,
    /// 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte; anything else undefined.
    pub fn from_type(t: i64) -> Attr {
        match t {
            1 => Attr::NORMAL,
            2 => Attr::UNKNOWN,
            3 => Attr::CONTROL,
            4 => Attr::USER_DEFINED,
            5 => Attr::UNUSED,
            6 => Attr::BYTE,
            _ => Attr::UNDEFINED,
        }
    }
}

/// what a tokenizer kind assumes before the metadata speaks (llama.cpp sets these per
/// `tokenizer.ggml.model`, and some pre-tokenizers change them).
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub unk: Option<u32>,
    pub add_bos: bool,
    pub add_eos: bool,
}

/// the special ids a vocabulary names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecialIds {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub eom: Option<u32>,
    pub unk: Option<u32>,
    pub sep: Option<u32>,
    pub pad: Option<u32>,
    pub mask: Option<u32>,
    pub fim_pre: Option<u32>,
    pub fim_suf: Option<u32>,
    pub fim_mid: Option<u32>,
    pub fim_pad: Option<u32>,
    pub fim_rep: Option<u32>,
    pub fim_sep: Option<u32>,
}

/// the token strings and everything about them that does not depend on the tokenizer kind.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    /// each token's text (an empty one is `[EMPTY_i]`, as llama.cpp renames it).
    texts: Vec<String>,
    attrs: Vec<Attr>,
    ids: HashMap<String, u32>,
    pub special: SpecialIds,
    pub add_bos: bool,
    pub add_eos: bool,
    /// end-of-generation ids, sorted.
    eog: Vec<u32>,
    /// every token's bytes (`token_to_piece` with special = true), concatenated; `piece_ends[i]`
    /// is where token i's end.
    pieces: Vec<u8>,
    piece_ends: Vec<u32>,
}

// the texts by which llama.cpp recognises tokens the metadata does not name (`load`, "auto-detect
// special tokens by text"); it forces each one found to CONTROL.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const EOM_TEXTS: &[&str] = &["<|eom_id|>"];
const FIM_PRE_TEXTS: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_TEXTS: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_TEXTS: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"];
const FIM_REP_TEXTS: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];
/// tokens that end generation whatever the metadata says (`special_eog_ids`).
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
];

impl Vocabulary {
    /// the vocabulary of `meta` (`tokenizer.ggml.tokens`, `token_type`, the special ids and
    /// `add_*_token` flags), with `defaults` for what the metadata does not say.
    pub fn from_metadata(meta: &Metadata, defaults: Defaults) -> Result<Self> {
        let raw = match meta.get("tokenizer.ggml.tokens") {
            None => {
                return Err(Error::NotFound(
                    "tokenizer.ggml.tokens (the vocabulary) is not in the file".into(),
                ))
            }
            Some(Value::Array(8, items)) => items,
            Some(other) => {
                return Err(Error::Format(format!(
                    "tokenizer.ggml.tokens should be an array of strings, found {}",
                    other.summary()
                )))
            }
        };
        if raw.is_empty() {
            return Err(Error::Invalid("tokenizer.ggml.tokens is empty".into()));
        }
        let n = raw.len();
        if u32::try_from(n).is_err() {
            return Err(Error::Invalid(format!("{n} tokens is too many")));
        }
        let mut texts = Vec::with_capacity(n);
        let mut ids = HashMap::with_capacity(n);
        for (i, v) in raw.iter().enumerate() {
            let text = match v.as_str() {
                Some("") => format!("[EMPTY_{i}]"),
                Some(s) => s.to_string(),
                None => {
                    return Err(Error::Format(format!(
                        "tokenizer.ggml.tokens[{i}] is not a string"
                    )))
                }
            };
            // llama.cpp asserts that no two tokens share a text (and aborts).
            if let Some(j) = ids.insert(text.clone(), i as u32) {
                return Err(Error::Invalid(format!(
                    "tokens {j} and {i} are both {:?}: a vocabulary cannot map one text to two ids",
                    crate::core::vocab::escaped(&text)
                )));
            }
            texts.push(text);
        }
        let attrs = match meta.get("tokenizer.ggml.token_type") {
            None => vec![Attr::NORMAL; n],
            Some(Value::Array(5, items)) if items.len() >= n => items[..n]
                .iter()
                .map(|v| Attr::from_type(v.as_f64().unwrap_or(0.0) as i64))
                .collect(),
            Some(Value::Array(5, items)) => {
                return Err(Error::Shape(format!(
                    "tokenizer.ggml.token_type has {} entries for {n} tokens",
                    items.len()
                )))
            }
            Some(other) => {
                return Err(Error::Format(format!(
                    "tokenizer.ggml.token_type should be an array of i32, found {}",
                    other.summary()
                )))
            }
        };
        let mut v = Vocabulary {
            texts,
            attrs,
            ids,
            special: SpecialIds::default(),
            add_bos: defaults.add_bos,
            add_eos: defaults.add_eos,
            eog: Vec::new(),
            pieces: Vec::new(),
            piece_ends: Vec::new(),
        };
        v.read_special_ids(meta, defaults)?;
        v.recognise_by_text();
        Ok(v)
    }

    /// the special ids: each key in range overrides the default (an out-of-range one is ignored,
    /// as llama.cpp ignores it with a warning); then `add_bos_token` / `add_eos_token`.
    fn read_special_ids(&mut self, meta: &Metadata, d: Defaults) -> Result<()> {
        let n = self.texts.len() as u64;
        let in_range = |id: Option<u32>| id.filter(|&i| u64::from(i) < n);
        let read = |key: &str, default: Option<u32>| -> Option<u32> {
            let default = in_range(default);
            match meta.get_u64(&format!("tokenizer.ggml.{key}")) {
                Some(id) if id < n => Some(id as u32),
                _ => default,
            }
        };
        let s = &mut self.special;
        s.bos = read("bos_token_id", d.bos);
        s.eos = read("eos_token_id", d.eos);
        s.eot = read("eot_token_id", None);
        s.eom = read("eom_token_id", None);
        s.unk = read("unknown_token_id", d.unk);
        s.sep = read("seperator_token_id", None); // sic: llama.cpp's key
        s.pad = read("padding_token_id", None);
        s.mask = read("mask_token_id", None);
        s.fim_pre = read("fim_pre_token_id", None);
        s.fim_suf = read("fim_suf_token_id", None);
        s.fim_mid = read("fim_mid_token_id", None);
        s.fim_pad = read("fim_pad_token_id", None);
        s.fim_rep = read("fim_rep_token_id", None);
        s.fim_sep = read("fim_sep_token_id", None);
        // the deprecated names, read after the new ones (so they win, as in llama.cpp)
        s.fim_pre = read("prefix_token_id", s.fim_pre);
        s.fim_suf = read("suffix_token_id", s.fim_suf);
        s.fim_mid = read("middle_token_id", s.fim_mid);
        for (key, slot) in [
            ("tokenizer.ggml.add_bos_token", &mut self.add_bos),
            ("tokenizer.ggml.add_eos_token", &mut self.add_eos),
        ] {
            match meta.get(key) {
                None => {}
                Some(Value::Bool(b)) => *slot = *b,
                Some(other) => {
                    return Err(Error::Format(format!(
                        "{key} should be a bool, found {}",
                        other.summary()
                    )))
                }
            }
        }
        if self.add_bos && self.special.bos.is_none() {
            return Err(Error::Invalid(
                "the vocabulary asks for a BOS token (add_bos_token) but names none in range"
                    .into(),
            ));
        }
        if self.add_eos && self.special.eos.is_none() {
            return Err(Error::Invalid(
                "the vocabulary asks for an EOS token (add_eos_token) but names none in range"
                    .into(),
            ));
        }
        Ok(())
    }

    /// the tokens llama.cpp recognises by their text. it walks an unordered map and takes the
    /// first match of each list; we take the lowest id (the same token whenever a vocabulary
    /// holds one text of a list, as real ones do). each one found becomes CONTROL, and the
    /// end-of-generation set is the EOG texts, the FIM pad/repo/sep tokens, EOS, EOT and EOM.
    fn recognise_by_text(&mut self) {
        let first = |v: &Vocabulary, list: &[&str]| -> Option<u32> {
            list.iter().filter_map(|t| v.ids.get(*t).copied()).min()
        };
        type Slot = fn(&mut SpecialIds) -> &mut Option<u32>;
        let lists: [(Slot, &[&str]); 8] = [
            (|s| &mut s.eot, EOT_TEXTS),
            (|s| &mut s.eom, EOM_TEXTS),
            (|s| &mut s.fim_pre, FIM_PRE_TEXTS),
            (|s| &mut s.fim_suf, FIM_SUF_TEXTS),
            (|s| &mut s.fim_mid, FIM_MID_TEXTS),
            (|s| &mut s.fim_pad, FIM_PAD_TEXTS),
            (|s| &mut s.fim_rep, FIM_REP_TEXTS),
            (|s| &mut s.fim_sep, FIM_SEP_TEXTS),
        ];
        for (slot, list) in lists {
            if slot(&mut self.special).is_none() {
                if let Some(id) = first(self, list) {
                    *slot(&mut self.special) = Some(id);
                    self.force_control(id);
                }
            }
        }
        let s = &self.special;
        let mut eog: Vec<u32> = [s.fim_pad, s.fim_rep, s.fim_sep, s.eos, s.eot, s.eom]
            .into_iter()
            .flatten()
            .collect();
        for t in EOG_TEXTS {
            if let Some(&id) = self.ids.get(*t) {
                eog.push(id);
                self.force_control(id);
            }
        }
        eog.sort_unstable();
        eog.dedup();
        self.eog = eog;
    }

    fn force_control(&mut self, id: u32) {
        let a = &mut self.attrs[id as usize];
        *a = a.with(Attr::CONTROL);
    }

    /// builds every token's piece: the raw text for CONTROL, UNKNOWN and USER_DEFINED tokens,
    /// `normal(text)` for NORMAL ones, the byte of a BYTE token's `<0xXX>`, nothing for the rest
    /// (`token_to_piece` with special = true).
    pub fn build_pieces(&mut self, normal: impl Fn(&str) -> Vec<u8>) -> Result<()> {
        let mut pieces = Vec::new();
        let mut ends = Vec::with_capacity(self.texts.len());
        for (i, (text, &attr)) in self.texts.iter().zip(&self.attrs).enumerate() {
            if attr.any(Attr::CONTROL.with(Attr::UNKNOWN).with(Attr::USER_DEFINED)) {
                pieces.extend_from_slice(text.as_bytes());
            } else if attr.any(Attr::NORMAL) {
                pieces.extend(normal(text));
            } else if attr.any(Attr::BYTE) {
                pieces.push(byte_token_value(text).ok_or_else(|| {
                    Error::Format(format!(
                        "token {i} is of type BYTE but its text {:?} is not <0xXX>",
                        crate::core::vocab::escaped(text)
                    ))
                })?);
            }
            let end = u32::try_from(pieces.len())
                .map_err(|_| Error::Invalid("the tokens' pieces exceed 4 GiB".into()))?;
            ends.push(end);
        }
        self.pieces = pieces;
        self.piece_ends = ends;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
    /// token `id`'s text as the vocabulary spells it (`ĠParis`).
    pub fn text(&self, id: u32) -> Option<&str> {
        self.texts.get(id as usize).map(String::as_str)
    }
    pub fn attr(&self, id: u32) -> Attr {
        self.attrs.get(id as usize).copied().unwrap_or_default()
    }
    /// the token whose text is exactly `text`.
    pub fn id(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }
    pub fn eog(&self) -> &[u32] {
        &self.eog
    }
    /// token `id`'s bytes.
    pub fn piece(&self, id: u32) -> Option<&[u8]> {
        let i = id as usize;
        let end = *self.piece_ends.get(i)? as usize;
        let start = if i == 0 {
            0
        } else {
            self.piece_ends[i - 1] as usize
        };
        self.pieces.get(start..end)
    }
}

/// the byte of a BYTE token: llama.cpp reads `strtol(text.substr(3, 2), 16)` (`token_to_byte`),
/// so `<0x0A>` is 10, an unreadable pair 0; a text shorter than 3 bytes makes it throw.
fn byte_token_value(text: &str) -> Option<u8> {
    let b = text.as_bytes();
    if b.len() < 3 {
        return None;
    }
    let mut v = 0u8;
    for &c in b[3..].iter().take(2) {
        match (c as char).to_digit(16) {
            Some(d) => v = v * 16 + d as u8,
            None => break,
        }
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn meta(tokens: &[&str], types: Option<&[i32]>) -> Metadata {
        let mut m = vec![(
            "tokenizer.ggml.tokens".to_string(),
            Value::Array(
                8,
                tokens.iter().map(|t| Value::Str(t.to_string())).collect(),
            ),
        )];
        if let Some(t) = types {
            m.push((
                "tokenizer.ggml.token_type".into(),
                Value::Array(5, t.iter().map(|&x| Value::I32(x)).collect()),
            ));
        }
        Metadata(m)
    }

    const BPE: Defaults = Defaults {
        bos: Some(11),
        eos: Some(11),
        unk: None,
        add_bos: false,
        add_eos: false,
    };

    #[test]
    fn defaults_out_of_range_are_dropped_and_keys_override() {
        let v = Vocabulary::from_metadata(&meta(&["a", "b"], None), BPE).unwrap();
        assert_eq!((v.special.bos, v.special.eos), (None, None));
        let mut m = meta(&["a", "b", "<|im_end|>"], Some(&[1, 1, 1]));
        m.0.push(("tokenizer.ggml.bos_token_id".into(), Value::U32(0)));
        m.0.push(("tokenizer.ggml.eos_token_id".into(), Value::U32(99)));
        let v = Vocabulary::from_metadata(&m, BPE).unwrap();
        assert_eq!(v.special.bos, Some(0));
        assert_eq!(v.special.eos, None);
        // recognised by its text: EOT, end of generation, and now CONTROL
        assert_eq!(v.special.eot, Some(2));
        assert_eq!(v.eog(), [2]);
        assert!(v.attr(2).any(Attr::CONTROL));
    }

    #[test]
    fn bad_metadata_is_an_error() {
        let m = Metadata(vec![(
            "tokenizer.ggml.tokens".into(),
            Value::Array(4, vec![Value::U32(1)]),
        )]);
        let e = Vocabulary::from_metadata(&m, BPE).unwrap_err();
        assert!(e.to_string().contains("array of strings"), "{e}");
        let e = Vocabulary::from_metadata(&Metadata::default(), BPE).unwrap_err();
        assert!(e.to_string().contains("tokenizer.ggml.tokens"), "{e}");
        let e = Vocabulary::from_metadata(&meta(&["a", "a"], None), BPE).unwrap_err();
        assert!(e.to_string().contains("tokens 0 and 1"), "{e}");
        let e = Vocabulary::from_metadata(&meta(&["a", "b"], Some(&[1])), BPE).unwrap_err();
        assert!(e.to_string().contains("token_type"), "{e}");
        let mut m = meta(&["a"], None);
        m.0.push(("tokenizer.ggml.add_bos_token".into(), Value::U8(1)));
        let e = Vocabulary::from_metadata(&m, BPE).unwrap_err();
        assert!(e.to_string().contains("should be a bool"), "{e}");
        let mut m = meta(&["a"], None);
        m.0.push(("tokenizer.ggml.add_bos_token".into(), Value::Bool(true)));
        let e = Vocabulary::from_metadata(&m, BPE).unwrap_err();
        assert!(e.to_string().contains("BOS"), "{e}");
    }

    #[test]
    fn empty_tokens_are_renamed_and_pieces_follow_attributes() {
        let mut v = Vocabulary::from_metadata(
            &meta(
                &["", "<s>", "ab", "<0x0A>", "x", "<u>"],
                Some(&[1, 3, 1, 6, 5, 4]),
            ),
            BPE,
        )
        .unwrap();
        assert_eq!(v.text(0), Some("[EMPTY_0]"));
        v.build_pieces(|t| t.to_uppercase().into_bytes()).unwrap();
        assert_eq!(v.piece(0), Some(&b"[EMPTY_0]"[..]));
        assert_eq!(v.piece(1), Some(&b"<s>"[..]));
        assert_eq!(v.piece(2), Some(&b"AB"[..]));
        assert_eq!(v.piece(3), Some(&b"\n"[..]));
        assert_eq!(v.piece(4), Some(&b""[..]));
        assert_eq!(v.piece(5), Some(&b"<u>"[..]));
        assert_eq!(v.piece(6), None);
        assert_eq!(byte_token_value("<0xZZ>"), Some(0));
        assert_eq!(byte_token_value("<0"), None);
    }
}
