//! the pre-tokenizer: text → words, each then merged by BPE on its own. which one a model uses
//! is `tokenizer.ggml.pre`; llama.cpp maps the name to a list of regexes (`llm_tokenizer_bpe`'s
//! constructor in `src/llama-vocab.cpp`) and applies them with `unicode_regex_split`
//! (`src/unicode.cpp`): each regex refines the segments the previous one left, a match never
//! crosses a segment, and the gaps between matches are segments too.
//!
//! two lists are implemented, exactly as llama.cpp applies them:
//!
//! - [`PreTokenizer::Smollm`] (`smollm`, `starcoder`, `refact`, `command-r`, `codeshell`,
//!   `exaone`, `minerva-7b`, `mellum2`): `\p{N}`, then the GPT-2 regex. llama.cpp runs `\p{N}`
//!   through `std::regex` on a "collapsed" copy of the text (one byte per code point: ASCII kept,
//!   other white space → 0x0B, other numbers → 0xD1 …) with the class `[\xD1\x30-\x39]`, so its
//!   effect is: every ASCII digit and every non-ASCII code point of category N is a segment of
//!   its own (digits are split one by one), and the runs between them are segments.
//! - [`PreTokenizer::Gpt2`] (`gpt-2`, `phi-2`, `mpt`, `olmo`, `jais`): the GPT-2 regex alone.
//!
//! the GPT-2 regex `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)` is
//! not run as a regex by llama.cpp but by a hand-written splitter,
//! `unicode_regex_split_custom_gpt2`, which `gpt2` below follows step by step. it differs from
//! a regex engine at segment ends: a code point past the segment has no flags, so
//! `\s+(?!\S)` takes the whole trailing run of white space, and a space before a segment
//! boundary is not joined to what follows.
//!
//! llama.cpp's `default` list (used when `tokenizer.ggml.pre` is missing or `default`) is four
//! regexes, not GPT-2's alone; it and every other list are refused with an error that names
//! the supported ones.

use super::unicode::{self, Class, Flags};
use crate::core::error::{Error, Result};

/// a pre-tokenizer llama.cpp has and we follow exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreTokenizer {
    /// digits one by one (`\p{N}`), then the GPT-2 regex.
    Smollm,
    /// the GPT-2 regex alone.
    Gpt2,
}

/// the `tokenizer.ggml.pre` values we accept, and the list llama.cpp gives each (only names
/// for which llama.cpp sets nothing else that changes encoding: no `ignore_merges`, no forced
/// BOS, no per-model token attributes).
pub const SUPPORTED: &[(&str, PreTokenizer)] = &[
    ("smollm", PreTokenizer::Smollm),
    ("starcoder", PreTokenizer::Smollm),
    ("refact", PreTokenizer::Smollm),
    ("command-r", PreTokenizer::Smollm),
    ("codeshell", PreTokenizer::Smollm),
    ("exaone", PreTokenizer::Smollm),
    ("minerva-7b", PreTokenizer::Smollm),
    ("mellum2", PreTokenizer::Smollm),
    ("gpt-2", PreTokenizer::Gpt2),
    ("phi-2", PreTokenizer::Gpt2),
    ("mpt", PreTokenizer::Gpt2),
    ("olmo", PreTokenizer::Gpt2),
    ("jais", PreTokenizer::Gpt2),
];

impl PreTokenizer {
    /// the pre-tokenizer named by `tokenizer.ggml.pre` (`None`: the key is missing).
    pub fn from_name(name: Option<&str>) -> Result<Self> {
        let names = || {
            SUPPORTED
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(name) = name else {
            return Err(Error::Unsupported(format!(
                "tokenizer.ggml.pre is missing: llama.cpp would use its \"default\" pre-tokenizer, \
                 which unembed does not implement; supported: {}",
                names()
            )));
        };
        SUPPORTED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "tokenizer.ggml.pre = {name:?} is not a pre-tokenizer unembed implements; \
                     supported: {}",
                    names()
                ))
            })
    }

    /// the words of `text`, as byte ranges that tile it in order.
    pub fn split(self, text: &str) -> Vec<(usize, usize)> {
        let cps: Vec<(usize, char)> = text.char_indices().collect();
        let flags: Vec<Flags> = cps.iter().map(|&(_, c)| unicode::flags(c)).collect();
        let mut words = Vec::new();
        let mut run = |ini: usize, end: usize| gpt2(&cps, &flags, ini, end, &mut words);
        match self {
            PreTokenizer::Gpt2 => run(0, cps.len()),
            PreTokenizer::Smollm => {
                let mut start = 0;
                for (i, &(_, c)) in cps.iter().enumerate() {
                    if is_collapsed_digit(c) {
                        if start < i {
                            run(start, i);
                        }
                        run(i, i + 1);
                        start = i + 1;
                    }
                }
                if start < cps.len() {
                    run(start, cps.len());
                }
            }
        }
        let byte = |i: usize| cps.get(i).map_or(text.len(), |&(b, _)| b);
        words.into_iter().map(|(s, e)| (byte(s), byte(e))).collect()
    }
}

/// what `[\xD1\x30-\x39]` matches in llama.cpp's collapsed text: ASCII digits, and non-ASCII
/// code points that are numbers (white space is collapsed first, but no number is white space).
fn is_collapsed_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        !unicode::is_whitespace(c) && unicode::class(c) == Class::Number
    }
}

/// llama.cpp's `unicode_regex_split_custom_gpt2` on the segment `ini..end` of `cps` (code point
/// indices); pushes the words as code point ranges.
fn gpt2(
    cps: &[(usize, char)],
    flags: &[Flags],
    ini: usize,
    end: usize,
    out: &mut Vec<(usize, usize)>,
) {
    // a position outside the segment has no flags at all (`_get_flags` gives 0).
    let get = |pos: usize| -> Option<Flags> {
        if (ini..end).contains(&pos) {
            Some(flags[pos])
        } else {
            None
        }
    };
    let cpt = |pos: usize| -> Option<char> {
        if (ini..end).contains(&pos) {
            Some(cps[pos].1)
        } else {
            None
        }
    };
    let letter = |f: Option<Flags>| f.is_some_and(|f| f.letter);
    let number = |f: Option<Flags>| f.is_some_and(|f| f.number);
    let space = |f: Option<Flags>| f.is_some_and(|f| f.whitespace);
    // `[^\s\p{L}\p{N}]`: none of the three, and some flag set (i.e. inside the segment).
    let other = |f: Option<Flags>| f.is_some_and(|f| !(f.whitespace || f.letter || f.number));

    let mut pos = ini;
    let mut prev_end = ini;
    let mut add = |to: usize, out: &mut Vec<(usize, usize)>| {
        if to > prev_end {
            out.push((prev_end, to));
        }
        prev_end = to;
    };
    while pos < end {
        let c = cps[pos].1;
        // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive)
        if c == '\'' && pos + 1 < end {
            if let Some('s' | 't' | 'm' | 'd') = cpt(pos + 1) {
                pos += 2;
                add(pos, out);
                continue;
            }
            if pos + 2 < end {
                if let (Some(a), Some(b)) = (cpt(pos + 1), cpt(pos + 2)) {
                    if matches!((a, b), ('r', 'e') | ('v', 'e') | ('l', 'l')) {
                        pos += 3;
                        add(pos, out);
                        continue;
                    }
                }
            }
        }
        let lead = usize::from(c == ' ');
        let f2 = if c == ' ' { get(pos + 1) } else { get(pos) };
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
        let class: Option<&dyn Fn(Option<Flags>) -> bool> = if letter(f2) {
            Some(&letter)
        } else if number(f2) {
            Some(&number)
        } else if other(f2) {
            Some(&other)
        } else {
            None
        };
        if let Some(is) = class {
            pos += lead;
            while is(get(pos)) {
                pos += 1;
            }
            add(pos, out);
            continue;
        }
        let mut n_ws = 0;
        while space(get(pos + n_ws)) {
            n_ws += 1;
        }
        // `\s+(?!\S)`: all but the last white space when something follows in the segment
        if n_ws > 1 && pos + n_ws < end {
            pos += n_ws - 1;
            add(pos, out);
            continue;
        }
        if n_ws > 0 {
            pos += n_ws;
            add(pos, out);
            continue;
        }
        // no match (not reachable: every code point in a segment has some flag)
        pos += 1;
        add(pos, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(p: PreTokenizer, text: &str) -> Vec<&str> {
        p.split(text)
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect()
    }

    fn smollm(text: &str) -> Vec<&str> {
        words(PreTokenizer::Smollm, text)
    }

    #[test]
    fn contractions_are_case_sensitive() {
        assert_eq!(smollm("'s'S 's"), ["'s", "'", "S", " '", "s"]);
        assert_eq!(
            smollm("don't we'll I'M"),
            ["don", "'t", " we", "'ll", " I", "'", "M"]
        );
        assert_eq!(smollm("y'all'd've"), ["y", "'", "all", "'d", "'ve"]);
        assert_eq!(smollm("'"), ["'"]);
        assert_eq!(smollm("''"), ["''"]);
    }

    #[test]
    fn whitespace_runs_leave_one_space_for_the_next_word() {
        assert_eq!(smollm("  \n\n x"), ["  \n\n", " x"]);
        assert_eq!(smollm("a  b"), ["a", " ", " b"]);
        assert_eq!(smollm("a   "), ["a", "   "]);
        assert_eq!(smollm("   "), ["   "]);
        assert_eq!(smollm("x\ny"), ["x", "\n", "y"]);
        assert_eq!(smollm("\t x"), ["\t", " x"]);
        // a no-break space is white space but not the optional leading space of a word
        assert_eq!(smollm("a\u{A0}b"), ["a", "\u{A0}", "b"]);
    }

    #[test]
    fn digits_are_split_one_by_one() {
        assert_eq!(smollm("12345"), ["1", "2", "3", "4", "5"]);
        assert_eq!(smollm("x 42"), ["x", " ", "4", "2"]);
        assert_eq!(smollm("v1.2"), ["v", "1", ".", "2"]);
        assert_eq!(smollm("٣٤"), ["٣", "٤"]);
        assert_eq!(smollm("½Ⅻ"), ["½", "Ⅻ"]);
        // the GPT-2 list alone keeps the run, with its space
        assert_eq!(words(PreTokenizer::Gpt2, "x 42"), ["x", " 42"]);
    }

    #[test]
    fn punctuation_runs_and_mixed_scripts() {
        assert_eq!(smollm("Hello, world!"), ["Hello", ",", " world", "!"]);
        assert_eq!(smollm("a->b"), ["a", "->", "b"]);
        assert_eq!(smollm(" 😀😀 ok"), [" 😀😀", " ok"]);
        assert_eq!(smollm("Hà Nội"), ["Hà", " Nội"]);
        // a combining mark is not a letter: NFD Vietnamese breaks inside words, as in llama.cpp
        assert_eq!(smollm("Ha\u{300}"), ["Ha", "\u{300}"]);
        assert_eq!(smollm("zero\u{200B}width"), ["zero", "\u{200B}", "width"]);
        assert_eq!(smollm("שלום עולם"), ["שלום", " עולם"]);
    }

    #[test]
    fn words_tile_the_text() {
        for text in [
            "",
            "a",
            " ",
            "  x  y  ",
            "1 2  3\n\n4",
            "é\u{301}'ll",
            "\u{0}\u{7F}x",
        ] {
            for p in [PreTokenizer::Smollm, PreTokenizer::Gpt2] {
                let w = p.split(text);
                let mut at = 0;
                for &(s, e) in &w {
                    assert!(s == at && e > s, "{text:?}: {w:?}");
                    at = e;
                }
                assert_eq!(at, text.len(), "{text:?}");
            }
        }
    }

    #[test]
    fn names() {
        assert_eq!(
            PreTokenizer::from_name(Some("smollm")).unwrap(),
            PreTokenizer::Smollm
        );
        assert_eq!(
            PreTokenizer::from_name(Some("gpt-2")).unwrap(),
            PreTokenizer::Gpt2
        );
        let e = PreTokenizer::from_name(Some("llama-bpe")).unwrap_err();
        assert!(e.to_string().contains("\"llama-bpe\"") && e.to_string().contains("smollm"));
        let e = PreTokenizer::from_name(None).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }
}
