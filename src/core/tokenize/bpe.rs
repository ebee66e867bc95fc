//! byte-level BPE (`tokenizer.ggml.model = gpt2`): each pre-tokenized word's bytes are mapped
//! through GPT-2's byte → char table and merged pair by pair, lowest merge rank first, as
//! `llm_tokenizer_bpe_session::tokenize` (`src/llama-vocab.cpp`) merges them.
//!
//! merge ranks come from `tokenizer.ggml.merges` (`load`: each string is split at its first
//! space at byte index ≥ 1, the rank is its index, and a repeated pair keeps its first rank).
//! the merge loop holds the word's symbols in a linked list and the candidate pairs in a
//! binary heap that pops the lowest rank, and of equal ranks the leftmost pair (llama.cpp's
//! comparator `l.rank > r.rank || (l.rank == r.rank && l.left > r.left)`); a popped pair whose
//! sides have changed since it was pushed is skipped. llama.cpp compares the sides' texts; a
//! symbol only ever grows by taking in its right neighbour, so comparing their lengths is the
//! same test. strings are interned once at load, so the loop never hashes a string: each
//! symbol is an id (a token id when the string is a token), and each merge maps a pair of ids
//! to its rank and the id of the joined string.
//!
//! a final symbol that is not a token (only possible with a vocabulary missing merge results)
//! falls back, as in llama.cpp, to the one-byte tokens of its byte-encoded text: printable
//! ASCII bytes are looked up, every other byte is dropped (its encoded char is two bytes long
//! and no token is a lone non-ASCII byte).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::pretokenize::PreTokenizer;
use super::unicode::ByteMap;
use super::vocab::Vocabulary;
use crate::core::error::{Error, Result};
use crate::core::files::gguf::{Metadata, Value};

const NONE: u32 = u32::MAX;

/// the merge table and the byte map of a byte-level BPE vocabulary.
#[derive(Debug, Clone)]
pub struct Bpe {
    pub pre: PreTokenizer,
    /// symbol of each byte's GPT-2 char.
    byte_sym: [u32; 256],
    /// (left, right) symbol → (rank, joined symbol).
    merges: HashMap<(u32, u32), (u32, u32)>,
    /// symbols below this are token ids; the others are strings that only merges name.
    n_vocab: u32,
    /// the token of each printable ASCII byte, for the fallback.
    ascii: [Option<u32>; 128],
}

/// a symbol of the word being merged: `len` bytes of the word from `start`.
#[derive(Debug, Clone, Copy)]
struct Sym {
    id: u32,
    start: u32,
    len: u32,
    prev: u32,
    next: u32,
}

/// a candidate merge as the heap orders it (rank, then left position): rank, left, right, the
/// sides' lengths when pushed, the joined symbol.
type Candidate = Reverse<(u32, u32, u32, u32, u32, u32)>;

/// reusable buffers for the merge loop.
#[derive(Default)]
pub struct Scratch {
    syms: Vec<Sym>,
    heap: BinaryHeap<Candidate>,
}

impl Bpe {
    /// the merges of `meta` over `vocab`, with pre-tokenizer `pre`.
    pub fn new(meta: &Metadata, vocab: &Vocabulary, pre: PreTokenizer) -> Result<Self> {
        let merges =
            match meta.get("tokenizer.ggml.merges") {
                None => return Err(Error::NotFound(
                    "tokenizer.ggml.merges: a BPE vocabulary (tokenizer.ggml.model = gpt2) needs \
                     its merge list"
                        .into(),
                )),
                Some(Value::Array(8, items)) => items,
                Some(other) => {
                    return Err(Error::Format(format!(
                        "tokenizer.ggml.merges should be an array of strings, found {}",
                        other.summary()
                    )))
                }
            };
        let n_vocab = vocab.len() as u32;
        let mut extra: HashMap<String, u32> = HashMap::new();
        let mut intern = |s: &str| -> u32 {
            if let Some(id) = vocab.id(s) {
                return id;
            }
            let next = n_vocab.saturating_add(extra.len() as u32);
            *extra.entry(s.to_string()).or_insert(next)
        };
        let bytes = ByteMap::new();
        let mut byte_sym = [0u32; 256];
        for (b, slot) in byte_sym.iter_mut().enumerate() {
            *slot = intern(bytes.char_of(b as u8).encode_utf8(&mut [0; 4]));
        }
        let mut table = HashMap::with_capacity(merges.len());
        let mut joined = String::new();
        for (rank, m) in merges.iter().enumerate() {
            let Some(m) = m.as_str() else {
                return Err(Error::Format(format!(
                    "tokenizer.ggml.merges[{rank}] is not a string"
                )));
            };
            // llama.cpp: `word.find(' ', 1)`; without one it stores the pair ("", ""), which
            // never matches a symbol.
            let Some(p) = m.as_bytes().iter().skip(1).position(|&b| b == b' ') else {
                continue;
            };
            let (left, right) = (&m[..p + 1], &m[p + 2..]);
            if right.is_empty() {
                continue;
            }
            joined.clear();
            joined.push_str(left);
            joined.push_str(right);
            let key = (intern(left), intern(right));
            let value = (rank as u32, intern(&joined));
            table.entry(key).or_insert(value);
        }
        let mut ascii = [None; 128];
        for (b, slot) in ascii.iter_mut().enumerate().skip(0x21).take(0x7F - 0x21) {
            *slot = vocab.id(&(b as u8 as char).to_string());
        }
        Ok(Bpe {
            pre,
            byte_sym,
            merges: table,
            n_vocab,
            ascii,
        })
    }

    /// the tokens of a raw (non-special) fragment, appended to `out`.
    pub fn encode_fragment(&self, text: &str, out: &mut Vec<u32>, scratch: &mut Scratch) {
        for (s, e) in self.pre.split(text) {
            self.encode_word(&text.as_bytes()[s..e], out, scratch);
        }
    }

    /// one word's tokens (`llm_tokenizer_bpe_session::tokenize`, one iteration of its loop).
    fn encode_word(&self, word: &[u8], out: &mut Vec<u32>, scratch: &mut Scratch) {
        let Scratch { syms, heap } = scratch;
        syms.clear();
        heap.clear();
        let n = word.len() as u32;
        for (i, &b) in word.iter().enumerate() {
            let i = i as u32;
            syms.push(Sym {
                id: self.byte_sym[b as usize],
                start: i,
                len: 1,
                prev: if i == 0 { NONE } else { i - 1 },
                next: if i + 1 == n { NONE } else { i + 1 },
            });
        }
        for i in 1..n {
            self.push_pair(syms, heap, i - 1, i);
        }
        while let Some(Reverse((_, left, right, llen, rlen, joined))) = heap.pop() {
            let (l, r) = (syms[left as usize], syms[right as usize]);
            if l.len == 0 || r.len == 0 || l.len != llen || r.len != rlen {
                continue; // a side changed since this pair was pushed
            }
            let next = r.next;
            let s = &mut syms[left as usize];
            s.len += r.len;
            s.id = joined;
            s.next = next;
            syms[right as usize].len = 0;
            if next != NONE {
                syms[next as usize].prev = left;
            }
            let prev = syms[left as usize].prev;
            if prev != NONE {
                self.push_pair(syms, heap, prev, left);
            }
            if next != NONE {
                self.push_pair(syms, heap, left, next);
            }
        }
        for s in syms.iter().filter(|s| s.len > 0) {
            if s.id < self.n_vocab {
                out.push(s.id);
            } else {
                let bytes = &word[s.start as usize..(s.start + s.len) as usize];
                out.extend(bytes.iter().filter_map(|&b| {
                    self.ascii
                        .get(b as usize)
                        .copied()
                        .flatten()
                        .filter(|_| (0x21..0x7F).contains(&b))
                }));
            }
        }
    }

    fn push_pair(&self, syms: &[Sym], heap: &mut BinaryHeap<Candidate>, left: u32, right: u32) {
        let (l, r) = (syms[left as usize], syms[right as usize]);
        if let Some(&(rank, joined)) = self.merges.get(&(l.id, r.id)) {
            heap.push(Reverse((rank, left, right, l.len, r.len, joined)));
        }
    }

    /// the bytes a NORMAL token stands for: each char through the inverse byte map; a char
    /// outside the map gives llama.cpp's `[UNK_BYTE_0x…` + the token's text + `]`
    /// (`llama_decode_text`).
    pub fn decode_text(bytes: &ByteMap, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            match bytes.byte_of(c) {
                Some(b) => out.push(b),
                None => {
                    out.extend_from_slice(b"[UNK_BYTE_0x");
                    for b in c.encode_utf8(&mut [0; 4]).bytes() {
                        out.extend_from_slice(format!("{b:02x}").as_bytes());
                    }
                    out.extend_from_slice(text.as_bytes());
                    out.push(b']');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::tokenize::vocab::Defaults;

    fn tokenizer(tokens: &[&str], merges: &[&str]) -> (Vocabulary, Bpe) {
        let m = Metadata(vec![
            (
                "tokenizer.ggml.tokens".into(),
                Value::Array(
                    8,
                    tokens.iter().map(|t| Value::Str(t.to_string())).collect(),
                ),
            ),
            (
                "tokenizer.ggml.merges".into(),
                Value::Array(
                    8,
                    merges.iter().map(|t| Value::Str(t.to_string())).collect(),
                ),
            ),
        ]);
        let d = Defaults {
            bos: None,
            eos: None,
            unk: None,
            add_bos: false,
            add_eos: false,
        };
        let v = Vocabulary::from_metadata(&m, d).unwrap();
        let b = Bpe::new(&m, &v, PreTokenizer::Gpt2).unwrap();
        (v, b)
    }

    fn word(b: &Bpe, w: &str) -> Vec<u32> {
        let mut out = Vec::new();
        b.encode_word(w.as_bytes(), &mut out, &mut Scratch::default());
        out
    }

    #[test]
    fn lowest_rank_first_then_leftmost() {
        // "aaa": the pair (a, a) occurs at 0 and 1 with one rank: the leftmost merges first,
        // giving [aa, a], not [a, aa].
        let (_, b) = tokenizer(&["a", "aa", "aaa"], &["a a"]);
        assert_eq!(word(&b, "aaa"), [1, 0]);
        assert_eq!(word(&b, "aaaa"), [1, 1]);
        // a lower rank wins wherever it is: "abc" with (b c) before (a b) → [a, bc]
        let (_, b) = tokenizer(&["a", "b", "c", "ab", "bc", "abc"], &["b c", "a b"]);
        assert_eq!(word(&b, "abc"), [0, 4]);
        // and with (a b) first → [ab, c] → (ab c) when listed
        let (_, b) = tokenizer(&["a", "b", "c", "ab", "bc", "abc"], &["a b", "b c", "ab c"]);
        assert_eq!(word(&b, "abc"), [5]);
    }

    #[test]
    fn stale_pairs_are_skipped() {
        // after (b c) merges, the queued (a b) no longer has "b" on its right.
        let (_, b) = tokenizer(&["a", "b", "c", "ab", "bc", "abc"], &["b c", "a b", "a bc"]);
        assert_eq!(word(&b, "abc"), [5]);
    }

    #[test]
    fn byte_level_symbols_and_fallback() {
        // " a" is bytes [0x20, 0x61] → symbols "Ġ", "a"; merged "Ġa"
        let (_, b) = tokenizer(&["Ġ", "a", "Ġa"], &["Ġ a"]);
        assert_eq!(word(&b, " a"), [2]);
        // a merge result that is not a token falls back to its printable ASCII bytes: "xy" is
        // not in the vocabulary, so "x" and "y" are looked up one by one; "é" (two bytes, both
        // non-ASCII) has no token and is dropped, as in llama.cpp.
        let (_, b) = tokenizer(&["x", "y"], &["x y"]);
        assert_eq!(word(&b, "xy"), [0, 1]);
        assert_eq!(word(&b, "é"), Vec::<u32>::new());
    }

    #[test]
    fn merges_split_at_the_first_space_after_the_first_byte() {
        // "Ġ Ġ" style entries and one whose left side is a space itself
        let (_, b) = tokenizer(&["Ġ", "ĠĠ", "  x"], &["Ġ Ġ", "  x", "nospace"]);
        assert_eq!(word(&b, "  "), [1]);
        assert_eq!(b.merges.len(), 2);
    }

    #[test]
    fn decode_text_maps_bytes_back() {
        let m = ByteMap::new();
        assert_eq!(Bpe::decode_text(&m, "ĠParis"), b" Paris");
        assert_eq!(Bpe::decode_text(&m, "Ċ"), b"\n");
        assert_eq!(Bpe::decode_text(&m, "Ã©"), "é".as_bytes());
        assert_eq!(
            Bpe::decode_text(&m, "a€"),
            b"a[UNK_BYTE_0xe282aca\xe2\x82\xac]".to_vec()
        );
    }

    #[test]
    fn missing_or_bad_merges() {
        let m = Metadata(vec![(
            "tokenizer.ggml.tokens".into(),
            Value::Array(8, vec![Value::Str("a".into())]),
        )]);
        let d = Defaults {
            bos: None,
            eos: None,
            unk: None,
            add_bos: false,
            add_eos: false,
        };
        let v = Vocabulary::from_metadata(&m, d).unwrap();
        let e = Bpe::new(&m, &v, PreTokenizer::Gpt2).unwrap_err();
        assert!(e.to_string().contains("tokenizer.ggml.merges"), "{e}");
        let mut m2 = m.clone();
        m2.0.push(("tokenizer.ggml.merges".into(), Value::U32(3)));
        let e = Bpe::new(&m2, &v, PreTokenizer::Gpt2).unwrap_err();
        assert!(e.to_string().contains("array of strings"), "{e}");
    }
}
