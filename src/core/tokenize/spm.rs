//! SentencePiece (`tokenizer.ggml.model = llama`; Gemma, Llama 1/2): each raw fragment has its
//! spaces escaped as ▁ and its characters merged pair by pair, best score first, as
//! `llm_tokenizer_spm_session::tokenize` (`src/llama-vocab.cpp`) merges them.
//!
//! - the fragment: `llama_vocab::impl::tokenize`'s SPM branch prepends a space when the
//!   vocabulary's `add_space_prefix` says so and the fragment is the first or follows a special
//!   token (`is_prev_special`), then `llama_escape_whitespace` turns every ' ' (only U+0020) into
//!   "▁" (U+2581). no pre-tokenizer: the whole fragment is one word.
//! - symbols: its UTF-8 characters, linked left to right.
//! - candidates: every adjacent pair whose joined text is a token, with that token's score
//!   (`tokenizer.ggml.scores`). the queue pops the highest score, and of equal scores the lowest
//!   left index (llama.cpp's comparator `(l.score < r.score) || (l.score == r.score && l.left >
//!   r.left)`; −0 and +0 compare equal there, and here). a popped pair whose sides changed since
//!   it was pushed (`left.n + right.n != size`) is skipped: sides only ever grow, so any change
//!   shows in the lengths. a merge takes the right symbol into the left and adds the pairs it
//!   forms with its neighbours (`try_add_bigram`).
//! - `resegment`: each final symbol is its token if its text is one; else llama.cpp looks its text
//!   up in `rev_merge` (the two symbols a pushed pair of that text joined) and resegments those;
//!   else emits `byte_to_token` of each of its bytes: `<0xXX>` (upper-case hex), or failing that
//!   the one-character token. a merged symbol is always a token (a pair is pushed only when its
//!   text is one, and the size check makes a merge join exactly the pushed text), so only an
//!   unmerged symbol, one character, reaches the fallback; `rev_merge`'s keys are texts of two
//!   or more characters, so for UTF-8 text (all a `&str` can hold) its lookup never matches and
//!   we go straight to the bytes. a byte with neither token makes llama.cpp throw
//!   (`token_to_id.at`); here it is an error naming the byte.
//!
//! detokenizing (the pieces): a NORMAL token's text with ▁ back to ' ', a BYTE token's byte,
//! special and user-defined tokens as their text (`token_to_piece`, SPM branch).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::vocab::Vocabulary;
use crate::core::error::{Error, Result};
use crate::core::files::gguf::{Metadata, Value};

/// what llama.cpp writes for a space (`llama_escape_whitespace`).
pub const SPACE: &str = "\u{2581}";

/// the scores and byte tokens of a SentencePiece vocabulary.
#[derive(Debug, Clone)]
pub struct Spm {
    scores: Vec<f32>,
    /// `byte_to_token`: `<0xXX>`, else the one-character token, else none.
    byte_token: [Option<u32>; 256],
    /// prepend a space to a fragment that starts the text or follows a special token.
    pub add_space_prefix: bool,
}

/// a symbol of the fragment: `len` bytes from `start`, in a list by `prev`/`next`.
#[derive(Debug, Clone, Copy)]
struct Sym {
    start: u32,
    len: u32,
    prev: u32,
    next: u32,
}

const NONE: u32 = u32::MAX;

/// a candidate merge: the pair (left, right) joining `size` bytes into a token of `score`.
#[derive(Debug, Clone, Copy)]
struct Bigram {
    score: f32,
    left: u32,
    right: u32,
    size: u32,
}

impl PartialEq for Bigram {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Bigram {
    /// the max-heap's order: higher score first, then lower left index. scores are finite and
    /// stored with −0 as +0 (checked at load), so `total_cmp` is llama.cpp's `<`.
    fn cmp(&self, o: &Self) -> Ordering {
        self.score
            .total_cmp(&o.score)
            .then_with(|| o.left.cmp(&self.left))
    }
}

/// reusable buffers for the merge loop.
#[derive(Default)]
pub struct Scratch {
    text: String,
    syms: Vec<Sym>,
    heap: BinaryHeap<Bigram>,
}

impl Spm {
    /// the scores of `meta` (f32 or i32, as llama.cpp reads them; absent: all 0) over `vocab`,
    /// and the vocabulary's `add_space_prefix` (`tokenizer.ggml.add_space_prefix`, default true
    /// for SentencePiece as in llama.cpp's `load`).
    pub fn new(meta: &Metadata, vocab: &Vocabulary) -> Result<Self> {
        let n = vocab.len();
        let scores = match meta.get("tokenizer.ggml.scores") {
            None => vec![0.0; n],
            Some(Value::Array(5 | 6, items)) if items.len() >= n => {
                let mut s = Vec::with_capacity(n);
                for (i, v) in items[..n].iter().enumerate() {
                    let x = v.as_f64().unwrap_or(f64::NAN) as f32;
                    if !x.is_finite() {
                        return Err(Error::Format(format!(
                            "tokenizer.ggml.scores[{i}] is {}, not a finite number",
                            v.summary()
                        )));
                    }
                    // −0 as +0: llama.cpp's comparator cannot tell them apart.
                    s.push(if x == 0.0 { 0.0 } else { x });
                }
                s
            }
            Some(Value::Array(5 | 6, items)) => {
                return Err(Error::Shape(format!(
                    "tokenizer.ggml.scores has {} entries for {n} tokens",
                    items.len()
                )))
            }
            Some(other) => {
                return Err(Error::Format(format!(
                    "tokenizer.ggml.scores should be an array of f32 or i32, found {}",
                    other.summary()
                )))
            }
        };
        let mut byte_token = [None; 256];
        for (b, slot) in byte_token.iter_mut().enumerate() {
            *slot = vocab.id(&format!("<0x{b:02X}>")).or_else(|| {
                if b < 0x80 {
                    vocab.id(&char::from(b as u8).to_string())
                } else {
                    None
                }
            });
        }
        let add_space_prefix = match meta.get("tokenizer.ggml.add_space_prefix") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(Error::Format(format!(
                    "tokenizer.ggml.add_space_prefix should be a bool, found {}",
                    other.summary()
                )))
            }
        };
        Ok(Spm {
            scores,
            byte_token,
            add_space_prefix,
        })
    }

    /// a NORMAL token's bytes: its text with ▁ as ' ' (`llama_unescape_whitespace`).
    pub fn decode_text(text: &str) -> Vec<u8> {
        text.replace(SPACE, " ").into_bytes()
    }

    /// appends the ids of one raw fragment (text between special tokens); `prev_special` says
    /// whether it starts the text or follows a special token (for `add_space_prefix`).
    pub fn encode_fragment(
        &self,
        vocab: &Vocabulary,
        fragment: &str,
        prev_special: bool,
        out: &mut Vec<u32>,
        s: &mut Scratch,
    ) -> Result<()> {
        s.text.clear();
        if self.add_space_prefix && prev_special {
            s.text.push(' ');
        }
        s.text.push_str(fragment);
        if s.text.contains(' ') {
            s.text = s.text.replace(' ', SPACE);
        }
        let text = s.text.as_str();
        if u32::try_from(text.len()).is_err() {
            return Err(Error::Invalid(format!(
                "a text of {} bytes is too long to tokenize",
                text.len()
            )));
        }
        s.syms.clear();
        s.heap.clear();
        let n = text.chars().count();
        for (i, (at, c)) in text.char_indices().enumerate() {
            s.syms.push(Sym {
                start: at as u32,
                len: c.len_utf8() as u32,
                prev: if i == 0 { NONE } else { i as u32 - 1 },
                next: if i + 1 == n { NONE } else { i as u32 + 1 },
            });
        }
        for i in 1..s.syms.len() {
            self.try_pair(vocab, text, &s.syms, &mut s.heap, i as u32 - 1, i as u32);
        }
        while let Some(b) = s.heap.pop() {
            let (l, r) = (s.syms[b.left as usize], s.syms[b.right as usize]);
            if l.len == 0 || r.len == 0 || l.len + r.len != b.size {
                continue;
            }
            s.syms[b.left as usize].len += r.len;
            s.syms[b.right as usize].len = 0;
            s.syms[b.left as usize].next = r.next;
            if r.next != NONE {
                s.syms[r.next as usize].prev = b.left;
            }
            self.try_pair(vocab, text, &s.syms, &mut s.heap, l.prev, b.left);
            self.try_pair(vocab, text, &s.syms, &mut s.heap, b.left, r.next);
        }
        let mut i = if s.syms.is_empty() { NONE } else { 0 };
        while i != NONE {
            let sym = s.syms[i as usize];
            let piece = &text[sym.start as usize..(sym.start + sym.len) as usize];
            match vocab.id(piece) {
                Some(id) => out.push(id),
                None => {
                    for &byte in piece.as_bytes() {
                        out.push(self.byte_token[byte as usize].ok_or_else(|| {
                            Error::Invalid(format!(
                                "the vocabulary has no token for byte 0x{byte:02X} (neither \
                                 <0x{byte:02X}> nor the byte itself), which the text needs"
                            ))
                        })?);
                    }
                }
            }
            i = sym.next;
        }
        Ok(())
    }

    /// pushes the pair (left, right) when its joined text is a token (`try_add_bigram`).
    fn try_pair(
        &self,
        vocab: &Vocabulary,
        text: &str,
        syms: &[Sym],
        heap: &mut BinaryHeap<Bigram>,
        left: u32,
        right: u32,
    ) {
        if left == NONE || right == NONE {
            return;
        }
        let (l, r) = (syms[left as usize], syms[right as usize]);
        let size = l.len + r.len;
        let joined = &text[l.start as usize..(l.start + size) as usize];
        if let Some(id) = vocab.id(joined) {
            heap.push(Bigram {
                score: self.scores[id as usize],
                left,
                right,
                size,
            });
        }
    }
}
