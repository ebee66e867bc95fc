//! the special-token partition: before any pre-tokenizing, the text of special tokens typed in
//! the input is cut out and becomes those tokens (`llama_vocab::impl::tokenizer_st_partition`,
//! `src/llama-vocab.cpp`, over its `cache_special_tokens`).
//!
//! the candidates are the tokens with attribute CONTROL, USER_DEFINED or UNKNOWN, longest text
//! first. with `parse_special = false` the CONTROL and UNKNOWN ones are skipped (so
//! `<|im_start|>` typed by a user stays text), but USER_DEFINED tokens are always cut out. for
//! each candidate in turn, every raw fragment left so far is searched left to right and split
//! into `[text before][token][text after]`; a later (shorter) candidate never looks inside a token
//! already cut. llama.cpp orders equal lengths with `std::sort` (unspecified); we order them by
//! id, which only matters for two equal-length special texts that overlap in the input.
//! LSTRIP/RSTRIP attributes (set by llama.cpp only for a few named models, none we support)
//! are not followed.

use super::vocab::{Attr, Vocabulary};

/// a piece of the input after the partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment<'a> {
    /// text still to be tokenized (never empty).
    Text(&'a str),
    /// a special token cut out of the text.
    Token(u32),
}

/// the partition's candidates in the order they are tried.
#[derive(Debug, Clone, Default)]
pub struct SpecialTokens {
    /// (id, text, skipped when parse_special is false)
    order: Vec<(u32, String, bool)>,
}

impl SpecialTokens {
    pub fn new(vocab: &Vocabulary) -> Self {
        let special = Attr::CONTROL.with(Attr::USER_DEFINED).with(Attr::UNKNOWN);
        let mut order: Vec<(u32, String, bool)> = (0..vocab.len() as u32)
            .filter(|&id| vocab.attr(id).any(special))
            .filter_map(|id| {
                let text = vocab.text(id)?.to_string();
                let control = vocab.attr(id).any(Attr::CONTROL.with(Attr::UNKNOWN));
                Some((id, text, control))
            })
            .collect();
        order.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        SpecialTokens { order }
    }

    /// the ids tried, in order.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.order.iter().map(|(id, _, _)| *id)
    }

    /// `text` cut at the special tokens it contains.
    pub fn partition<'a>(&self, text: &'a str, parse_special: bool) -> Vec<Fragment<'a>> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut frags = vec![Fragment::Text(text)];
        for (id, special, control) in &self.order {
            if (*control && !parse_special) || special.is_empty() {
                continue;
            }
            // most candidates occur nowhere: skip the rebuild then.
            let present = frags
                .iter()
                .any(|f| matches!(f, Fragment::Text(t) if t.contains(special.as_str())));
            if !present {
                continue;
            }
            let mut next = Vec::with_capacity(frags.len() + 2);
            for f in frags {
                let Fragment::Text(t) = f else {
                    next.push(f);
                    continue;
                };
                let mut at = 0;
                for (m, _) in t.match_indices(special.as_str()) {
                    if m > at {
                        next.push(Fragment::Text(&t[at..m]));
                    }
                    next.push(Fragment::Token(*id));
                    at = m + special.len();
                }
                if at < t.len() {
                    next.push(Fragment::Text(&t[at..]));
                }
            }
            frags = next;
        }
        frags
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::files::gguf::{Metadata, Value};
    use crate::core::tokenize::vocab::Defaults;

    fn vocab(tokens: &[(&str, i32)]) -> Vocabulary {
        let m = Metadata(vec![
            (
                "tokenizer.ggml.tokens".into(),
                Value::Array(
                    8,
                    tokens.iter().map(|t| Value::Str(t.0.to_string())).collect(),
                ),
            ),
            (
                "tokenizer.ggml.token_type".into(),
                Value::Array(5, tokens.iter().map(|t| Value::I32(t.1)).collect()),
            ),
        ]);
        let d = Defaults {
            bos: None,
            eos: None,
            unk: None,
            add_bos: false,
            add_eos: false,
        };
        Vocabulary::from_metadata(&m, d).unwrap()
    }

    #[test]
    fn longest_first_and_control_only_when_asked() {
        let v = vocab(&[
            ("<|a|>", 3),
            ("<|a|><|b|>", 3),
            ("<u>", 4),
            ("x", 1),
            ("<|b|>", 3),
        ]);
        let s = SpecialTokens::new(&v);
        assert_eq!(s.ids().collect::<Vec<_>>(), [1, 0, 4, 2]);
        use Fragment::*;
        assert_eq!(
            s.partition("x<|a|><|b|>y<|a|>", true),
            [Text("x"), Token(1), Text("y"), Token(0)]
        );
        assert_eq!(
            s.partition("<|a|>z<u><u>", false),
            [Text("<|a|>z"), Token(2), Token(2)]
        );
        assert_eq!(s.partition("<|a", true), [Text("<|a")]);
        assert!(s.partition("", true).is_empty());
    }

    #[test]
    fn a_token_that_is_a_prefix_of_a_special_token() {
        // "<|" is an ordinary token and a prefix of the special "<|im_end|>": the special text
        // is cut first, the rest stays text.
        let v = vocab(&[("<|", 1), ("<|im_end|>", 3)]);
        let s = SpecialTokens::new(&v);
        use Fragment::*;
        assert_eq!(
            s.partition("<|<|im_end|><|", true),
            [Text("<|"), Token(1), Text("<|")]
        );
        assert_eq!(s.partition("<|<|im_end|>", false), [Text("<|<|im_end|>")]);
    }
}
