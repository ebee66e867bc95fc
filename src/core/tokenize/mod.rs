//! text → token ids exactly as llama.cpp makes them, from a GGUF file's `tokenizer.ggml.*`
//! metadata; and ids → text.
//!
//! the reference is llama.cpp as vendored by llama-cpp-python 0.3.36 (llama.cpp 0c1e57098),
//! `src/llama-vocab.cpp` and `src/unicode.cpp`; each part names the function it follows:
//!
//! - [`vocab`]: the tokens, their attributes, special ids, `add_bos`/`add_eos`, the tokens
//!   recognised by their text, end of generation (`llama_vocab::impl::load`); each token's
//!   bytes (`token_to_piece`).
//! - [`special`]: special tokens typed in the text (`tokenizer_st_partition`).
//! - [`pretokenize`]: text → words (`llm_tokenizer_bpe`'s regex lists, `unicode_regex_split`,
//!   `unicode_regex_split_custom_gpt2`), on [`unicode`]'s tables.
//! - [`bpe`]: the merge loop (`llm_tokenizer_bpe_session::tokenize`).
//! - [`spm`]: SentencePiece's score-ordered merges and byte fallback
//!   (`llm_tokenizer_spm_session::tokenize`).
//! - here: [`Tokenizer::encode`] (`llama_vocab::impl::tokenize`: BOS, the partition, each
//!   fragment, EOS) and [`Tokenizer::decode`] (`llama_detokenize` with special tokens rendered
//!   and no clean-up).
//!
//! supported: `tokenizer.ggml.model = gpt2` (byte-level BPE) with the pre-tokenizers listed in
//! [`pretokenize::SUPPORTED`] (SmolLM2's `smollm` among them), and `llama` (SentencePiece;
//! Gemma 3). any other model or pre-tokenizer is an error naming what is supported. each kind is
//! a variant of [`Tokenizer`] with its own file: it brings its defaults, its fragment encoder
//! and its pieces; the vocabulary, the partition and BOS/EOS are shared.
//!
//! inputs at the edges:
//!
//! - the empty string gives no tokens, or `[BOS]` when `add_special` and the vocabulary says so
//!   (SmolLM2 does not: `tokenizer.ggml.add_bos_token = false`).
//! - long text: the work is linear in the text except the merge loop, which is O(w log w) per
//!   word of w bytes (a 10,000-character paragraph takes about a millisecond); memory is a few
//!   words per byte. text longer than the model's context tokenizes like any other: whether to
//!   cut it is the caller's decision.
//! - invalid UTF-8 and lone surrogates cannot be in a `&str`. the wasm façade receives JS
//!   strings through wasm-bindgen's TextEncoder, which turns a lone surrogate into U+FFFD, and
//!   the CLI refuses arguments that are not UTF-8; llama.cpp turns each bad byte into U+FFFD too.
//! - right-to-left text, bidi controls, zero-width characters, combining marks, NUL: ordinary
//!   code points; each is pre-tokenized by its class (letters, numbers, white space, other) and
//!   byte-encoded like any other. nothing is normalised (NFC and NFD text give different ids,
//!   as in llama.cpp).
//! - special-token text typed by hand (`<|im_start|>`): with `parse_special` it becomes the
//!   special token; without, CONTROL tokens stay text (and are BPE'd as such) while
//!   USER_DEFINED ones are cut out in both modes.
//! - code points assigned after our tables' Unicode version ([`unicode::UNICODE_VERSION`]) are
//!   "undefined" here and may be letters or numbers in llama.cpp's tables (Unicode 15.1): text
//!   with them can pre-tokenize differently (a CJK extension H ideograph before `'ll` is one
//!   word with the apostrophe here, a word of its own there). `scripts/gen-unicode-tables.py
//!   --unicodedata2` with PyPI's unicodedata2 15.1.0 makes the tables agree with llama.cpp's.
//!
//! nothing here panics on any input; errors are [`Error`]s naming the metadata key at fault.

pub mod bpe;
pub mod pretokenize;
pub mod special;
pub mod spm;
pub mod unicode;
mod unicode_tables;
pub mod vocab;

use crate::core::error::{Error, Result};
use crate::core::files::gguf::Metadata;
use bpe::Bpe;
use pretokenize::PreTokenizer;
use special::{Fragment, SpecialTokens};
use spm::Spm;
use unicode::ByteMap;
use vocab::{Defaults, Vocabulary};

pub use vocab::{Attr, SpecialIds};

/// a model's tokenizer; one variant per `tokenizer.ggml.model` we implement.
#[derive(Debug, Clone)]
pub enum Tokenizer {
    /// `gpt2`: byte-level BPE.
    Bpe(Box<BpeTokenizer>),
    /// `llama`: SentencePiece.
    Spm(Box<SpmTokenizer>),
}

/// the parts of a byte-level BPE tokenizer.
#[derive(Debug, Clone)]
pub struct BpeTokenizer {
    pub vocab: Vocabulary,
    pub specials: SpecialTokens,
    pub bpe: Bpe,
}

/// the parts of a SentencePiece tokenizer.
#[derive(Debug, Clone)]
pub struct SpmTokenizer {
    pub vocab: Vocabulary,
    pub specials: SpecialTokens,
    pub spm: Spm,
}

/// the `tokenizer.ggml.model` values we implement.
pub const SUPPORTED_MODELS: &[&str] = &["gpt2", "llama"];

impl Tokenizer {
    /// the tokenizer a GGUF file's metadata describes.
    pub fn from_metadata(meta: &Metadata) -> Result<Self> {
        let model = match meta.get("tokenizer.ggml.model") {
            None => {
                return Err(Error::NotFound(
                    "tokenizer.ggml.model: the file does not say which tokenizer it uses".into(),
                ))
            }
            Some(v) => v.as_str().ok_or_else(|| {
                Error::Format(format!(
                    "tokenizer.ggml.model should be a string, found {}",
                    v.summary()
                ))
            })?,
        };
        match model {
            "gpt2" => {
                // llama.cpp's BPE defaults (`load`): bos = eos = 11, no unk, no BOS added
                // unless the metadata (or a pre-tokenizer we do not support) says so.
                let pre = match meta.get("tokenizer.ggml.pre") {
                    None => None,
                    Some(v) => Some(v.as_str().ok_or_else(|| {
                        Error::Format(format!(
                            "tokenizer.ggml.pre should be a string, found {}",
                            v.summary()
                        ))
                    })?),
                };
                let pre = PreTokenizer::from_name(pre)?;
                let defaults = Defaults {
                    bos: Some(11),
                    eos: Some(11),
                    unk: None,
                    add_bos: false,
                    add_eos: false,
                };
                let mut vocab = Vocabulary::from_metadata(meta, defaults)?;
                let bytes = ByteMap::new();
                vocab.build_pieces(|t| Bpe::decode_text(&bytes, t))?;
                let bpe = Bpe::new(meta, &vocab, pre)?;
                let specials = SpecialTokens::new(&vocab);
                Ok(Tokenizer::Bpe(Box::new(BpeTokenizer {
                    vocab,
                    specials,
                    bpe,
                })))
            }
            "llama" => {
                // llama.cpp's SPM defaults (`load`): bos 1, eos 2, unk 0, BOS added, no EOS,
                // each overridden by the metadata (Gemma: bos 2, eos 1, unk 3).
                let defaults = Defaults {
                    bos: Some(1),
                    eos: Some(2),
                    unk: Some(0),
                    add_bos: true,
                    add_eos: false,
                };
                let mut vocab = Vocabulary::from_metadata(meta, defaults)?;
                vocab.build_pieces(Spm::decode_text)?;
                let spm = Spm::new(meta, &vocab)?;
                let specials = SpecialTokens::new(&vocab);
                Ok(Tokenizer::Spm(Box::new(SpmTokenizer {
                    vocab,
                    specials,
                    spm,
                })))
            }
            other => Err(Error::Unsupported(format!(
                "tokenizer.ggml.model = {:?} is not a tokenizer unembed implements; supported: {}",
                crate::core::vocab::escaped(other),
                SUPPORTED_MODELS.join(", ")
            ))),
        }
    }

    pub fn vocab(&self) -> &Vocabulary {
        match self {
            Tokenizer::Bpe(t) => &t.vocab,
            Tokenizer::Spm(t) => &t.vocab,
        }
    }

    fn specials(&self) -> &SpecialTokens {
        match self {
            Tokenizer::Bpe(t) => &t.specials,
            Tokenizer::Spm(t) => &t.specials,
        }
    }

    /// the ids of `text`, as `llama_tokenize(vocab, text, add_special, parse_special)` gives
    /// them. `add_special` adds BOS (and EOS) only when the vocabulary says so
    /// (`add_bos_token`); `parse_special` turns typed CONTROL-token text into those tokens
    /// (USER_DEFINED ones always are).
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Result<Vec<u32>> {
        let v = self.vocab();
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if add_special && v.add_bos {
            out.extend(v.special.bos);
        }
        let mut scratch = bpe::Scratch::default();
        let mut spm_scratch = spm::Scratch::default();
        // SentencePiece's `is_prev_special`: true at the start (BOS or not) and after a token.
        let mut prev_special = true;
        for f in self.specials().partition(text, parse_special) {
            match (f, self) {
                (Fragment::Token(id), _) => out.push(id),
                (Fragment::Text(t), Tokenizer::Bpe(b)) => {
                    b.bpe.encode_fragment(t, &mut out, &mut scratch)
                }
                (Fragment::Text(t), Tokenizer::Spm(s)) => {
                    s.spm
                        .encode_fragment(&s.vocab, t, prev_special, &mut out, &mut spm_scratch)?
                }
            }
            prev_special = matches!(f, Fragment::Token(_));
        }
        if add_special && v.add_eos {
            out.extend(v.special.eos);
        }
        Ok(out)
    }

    /// token `id`'s bytes (special tokens as their text); `None` past the vocabulary.
    pub fn piece(&self, id: u32) -> Option<&[u8]> {
        self.vocab().piece(id)
    }

    /// the text of `ids`: their pieces joined (special tokens as their text, nothing stripped),
    /// then read as UTF-8 with U+FFFD for bytes that do not form a character (a token that ends
    /// inside one, without the token that completes it).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        let mut bytes = Vec::new();
        for &id in ids {
            let p = self.piece(id).ok_or_else(|| {
                Error::Invalid(format!(
                    "token id {id} is past the vocabulary ({} tokens)",
                    self.n_vocab()
                ))
            })?;
            bytes.extend_from_slice(p);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub fn n_vocab(&self) -> usize {
        self.vocab().len()
    }
    /// token `id`'s text as the vocabulary spells it (`ĠParis`).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab().text(id)
    }
    pub fn bos(&self) -> Option<u32> {
        self.vocab().special.bos
    }
    pub fn eos(&self) -> Option<u32> {
        self.vocab().special.eos
    }
    /// whether `encode(…, add_special = true, …)` starts with BOS.
    pub fn adds_bos(&self) -> bool {
        self.vocab().add_bos
    }
    /// the ids that end generation (llama.cpp's `special_eog_ids`), sorted.
    pub fn eog(&self) -> &[u32] {
        self.vocab().eog()
    }
    pub fn is_eog(&self, id: u32) -> bool {
        self.eog().binary_search(&id).is_ok()
    }
    pub fn special_ids(&self) -> &SpecialIds {
        &self.vocab().special
    }
}

#[cfg(test)]
mod tests;
