//! vocabulary readers for hugging face files: `tokenizer.json` and gpt-2 style `vocab.json`.
//!
//! only the id -> token table and the spelling kind are read; merges and normalizers are skipped.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::core::error::{bail_format, Error, Result};
use crate::core::vocab::VocabKind;

/// largest token id we accept.
pub const MAX_ID: u64 = 10_000_000;

/// tokenizer.json (hf tokenizers): `model.vocab` (object token -> id for BPE/WordPiece/WordLevel,
/// or array of `[token, score]` for Unigram) plus `added_tokens` (`[{id, content}]`, which win
/// over the vocab for the same id). returns tokens indexed by id, gaps filled with
/// `<unused{id}>`, and the kind: ByteLevel when pre_tokenizer or decoder has a ByteLevel step
/// (also nested in a Sequence), SentencePiece when the model is Unigram, a Metaspace step is
/// used, or the vocab has `▁`-prefixed tokens and `<0x0A>`-style byte tokens, else Plain.
pub fn parse_tokenizer_json(bytes: &[u8]) -> Result<(Vec<String>, VocabKind)> {
    let t: TokJson =
        serde_json::from_slice(bytes).map_err(|e| Error::Format(format!("tokenizer.json: {e}")))?;
    let Some(vocab) = t.model.vocab else {
        bail_format!("tokenizer.json: model has no vocab");
    };
    let unigram = t.model.kind.as_deref() == Some("Unigram") || matches!(vocab, Vocab::List(_));
    let base = vocab.into_entries();
    let added = t
        .added_tokens
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.content, a.id))
        .collect();
    let tokens = assemble(base, added, bytes.len())?;

    let kind = if has_step(&t.pre_tokenizer, "ByteLevel") || has_step(&t.decoder, "ByteLevel") {
        VocabKind::ByteLevel
    } else if unigram
        || has_step(&t.decoder, "Metaspace")
        || has_step(&t.pre_tokenizer, "Metaspace")
        || (tokens.iter().any(|s| s.starts_with('▁')) && tokens.iter().any(|s| is_byte_token(s)))
    {
        VocabKind::SentencePiece
    } else {
        VocabKind::Plain
    };
    Ok((tokens, kind))
}

/// vocab.json (gpt-2 encoder.json style object token -> id): always ByteLevel.
pub fn parse_vocab_json(bytes: &[u8]) -> Result<(Vec<String>, VocabKind)> {
    let v: Vocab =
        serde_json::from_slice(bytes).map_err(|e| Error::Format(format!("vocab.json: {e}")))?;
    let Vocab::Map(entries) = v else {
        bail_format!("vocab.json: expected an object of token -> id, got an array");
    };
    Ok((
        assemble(entries, Vec::new(), bytes.len())?,
        VocabKind::ByteLevel,
    ))
}

/// either kind of vocabulary file, told apart by content: a tokenizer.json is an object with a
/// `model` key; anything else that is a JSON object is read as a vocab.json.
pub fn parse_any(bytes: &[u8]) -> Result<(Vec<String>, VocabKind)> {
    // "model" can be a token of a vocab.json too (GPT-2 has it, id 19849): only an object counts.
    struct IsObject(bool);
    impl<'de> Deserialize<'de> for IsObject {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = IsObject;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("any json value")
                }
                fn visit_map<A: MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> std::result::Result<IsObject, A::Error> {
                    while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(IsObject(true))
                }
                fn visit_seq<A: SeqAccess<'de>>(
                    self,
                    mut s: A,
                ) -> std::result::Result<IsObject, A::Error> {
                    while s.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(IsObject(false))
                }
                fn visit_bool<E>(self, _: bool) -> std::result::Result<IsObject, E> {
                    Ok(IsObject(false))
                }
                fn visit_i64<E>(self, _: i64) -> std::result::Result<IsObject, E> {
                    Ok(IsObject(false))
                }
                fn visit_u64<E>(self, _: u64) -> std::result::Result<IsObject, E> {
                    Ok(IsObject(false))
                }
                fn visit_f64<E>(self, _: f64) -> std::result::Result<IsObject, E> {
                    Ok(IsObject(false))
                }
                fn visit_str<E>(self, _: &str) -> std::result::Result<IsObject, E> {
                    Ok(IsObject(false))
                }
                fn visit_unit<E>(self) -> std::result::Result<IsObject, E> {
                    Ok(IsObject(false))
                }
            }
            d.deserialize_any(V)
        }
    }
    #[derive(Deserialize)]
    struct Probe {
        model: Option<IsObject>,
    }
    match serde_json::from_slice::<Probe>(bytes) {
        Ok(Probe {
            model: Some(IsObject(true)),
        }) => parse_tokenizer_json(bytes),
        Ok(_) => parse_vocab_json(bytes),
        Err(e) => bail_format!("the tokenizer file is not a JSON object: {e}"),
    }
}

/// `<0xHH>`: a SentencePiece byte-fallback token.
fn is_byte_token(s: &str) -> bool {
    matches!(s.as_bytes(), [b'<', b'0', b'x', h, l, b'>'] if h.is_ascii_hexdigit() && l.is_ascii_hexdigit())
}

/// whether a pre-tokenizer/decoder tree has a step of this `type` at any depth (Sequence …).
/// depth is bounded by serde_json's recursion limit.
fn has_step(v: &Value, ty: &str) -> bool {
    match v {
        Value::Object(m) => {
            m.get("type").and_then(Value::as_str) == Some(ty) || m.values().any(|x| has_step(x, ty))
        }
        Value::Array(a) => a.iter().any(|x| has_step(x, ty)),
        _ => false,
    }
}

/// the id -> token table. base ids must be distinct; added tokens override base tokens but not
/// each other (unless equal). the table length is bounded by [`MAX_ID`] and by `budget` (the
/// file length: every id costs at least a few json bytes, so gaps cannot blow up memory).
fn assemble(
    base: Vec<(String, u64)>,
    added: Vec<(String, u64)>,
    budget: usize,
) -> Result<Vec<String>> {
    let Some(max) = base.iter().chain(&added).map(|e| e.1).max() else {
        bail_format!("empty vocabulary");
    };
    if let Some((tok, id)) = base.iter().chain(&added).find(|e| e.1 > MAX_ID) {
        bail_format!("token {tok:?} has id {id}, above the limit of {MAX_ID}");
    }
    let len = max as usize + 1; // max <= MAX_ID, fits in usize.
    if len > budget {
        bail_format!(
            "ids go up to {max} but there are only {} tokens in {budget} bytes",
            base.len() + added.len()
        );
    }
    let mut slots: Vec<Option<String>> = vec![None; len];
    for (tok, id) in base {
        let Some(slot) = slots.get_mut(id as usize) else {
            bail_format!("token id {id} out of range");
        };
        if let Some(prev) = slot {
            bail_format!("tokens {prev:?} and {tok:?} share id {id}");
        }
        *slot = Some(tok);
    }
    let mut seen: Vec<(u64, &str)> = added.iter().map(|(t, i)| (*i, t.as_str())).collect();
    seen.sort_unstable();
    for w in seen.windows(2) {
        if let [(i, a), (j, b)] = w {
            if i == j && a != b {
                bail_format!("added tokens {a:?} and {b:?} share id {i}");
            }
        }
    }
    for (tok, id) in added {
        if let Some(slot) = slots.get_mut(id as usize) {
            *slot = Some(tok);
        }
    }
    Ok(slots
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.unwrap_or_else(|| format!("<unused{i}>")))
        .collect())
}

// ---- json ----

#[derive(Deserialize)]
struct TokJson {
    model: RawModel,
    #[serde(default)]
    added_tokens: Option<Vec<AddedToken>>,
    #[serde(default)]
    pre_tokenizer: Value,
    #[serde(default)]
    decoder: Value,
}

#[derive(Deserialize)]
struct RawModel {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    vocab: Option<Vocab>,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u64,
    content: String,
}

/// `{token: id}` in json order (duplicates kept so they can be reported), or Unigram's
/// `[[token, score], …]` where the id is the position.
enum Vocab {
    Map(Vec<(String, u64)>),
    List(Vec<String>),
}

impl Vocab {
    fn into_entries(self) -> Vec<(String, u64)> {
        match self {
            Vocab::Map(v) => v,
            Vocab::List(v) => v.into_iter().zip(0u64..).collect(),
        }
    }
}

impl<'de> Deserialize<'de> for Vocab {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(VocabVisitor)
    }
}

struct VocabVisitor;

impl<'de> Visitor<'de> for VocabVisitor {
    type Value = Vocab;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of token -> id or an array of [token, score]")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Vocab, A::Error> {
        let mut v = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let id = map
                .next_value::<u64>()
                .map_err(|e| de::Error::custom(format!("token {key:?}: {e}")))?;
            v.push((key, id));
        }
        Ok(Vocab::Map(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Vocab, A::Error> {
        let mut v = Vec::new();
        while let Some((tok, _score)) = seq.next_element::<(String, IgnoredAny)>()? {
            v.push(tok);
        }
        Ok(Vocab::List(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_any_tells_the_kinds_apart_by_content() {
        // GPT-2's vocab.json has a token "model"; only an object under "model" is a tokenizer.json.
        let (t, k) = parse_any(br#"{"model": 1, "a": 0}"#).unwrap();
        assert_eq!(
            (t, k),
            (
                vec!["a".to_string(), "model".to_string()],
                VocabKind::ByteLevel
            )
        );
        let tj = br#"{"model": {"type": "BPE", "vocab": {"x": 0, "y": 1}}}"#;
        assert_eq!(parse_any(tj).unwrap().0, vec!["x", "y"]);
        // each kind reports its own error, and broken json says so.
        let e = parse_any(br#"{"model": {"type": "BPE"}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tokenizer.json: model has no vocab"), "{e}");
        let e = parse_any(br#"{"a": 0, "b": 0}"#).unwrap_err().to_string();
        assert!(e.contains(r#"tokens "a" and "b" share id 0"#), "{e}");
        let e = parse_any(b"{\"a\": 1,").unwrap_err().to_string();
        assert!(e.contains("not a JSON object: EOF"), "{e}");
    }

    fn gpt2_encoder() -> Vec<u8> {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/gpt2-encoder.json");
        std::fs::read(p).expect("tests/data/gpt2-encoder.json")
    }

    fn tok_json(model: &str, rest: &str) -> Vec<u8> {
        format!(r#"{{"version":"1.0","model":{model}{rest}}}"#).into_bytes()
    }

    #[test]
    fn gpt2_vocab_json() {
        let (t, k) = parse_vocab_json(&gpt2_encoder()).unwrap();
        assert_eq!(k, VocabKind::ByteLevel);
        assert_eq!(t.len(), 50257);
        assert_eq!(t[0], "!");
        assert_eq!(t[198], "Ċ");
        assert_eq!(t[262], "Ġthe");
        assert_eq!(t[6342], "ĠParis");
        assert_eq!(t[50256], "<|endoftext|>");
        assert!(!t.iter().any(|s| s.starts_with("<unused")));
    }

    #[test]
    fn gpt2_as_tokenizer_json() {
        let enc = String::from_utf8(gpt2_encoder()).unwrap();
        let model =
            format!(r#"{{"type":"BPE","dropout":null,"vocab":{enc},"merges":["Ġ t","a b"]}}"#);
        let rest = r#","added_tokens":[{"id":50256,"content":"<|endoftext|>","special":true}],
            "normalizer":null,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false},
            "decoder":{"type":"ByteLevel"}"#;
        let (t, k) = parse_tokenizer_json(&tok_json(&model, rest)).unwrap();
        assert_eq!((t.len(), k), (50257, VocabKind::ByteLevel));
        assert_eq!(t[6342], "ĠParis");
    }

    #[test]
    fn kinds() {
        // byte-level nested in a Sequence.
        let m = r#"{"type":"BPE","vocab":{"a":0,"Ġb":1},"merges":[]}"#;
        let r = r#","pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split"},{"type":"ByteLevel"}]}"#;
        assert_eq!(
            parse_tokenizer_json(&tok_json(m, r)).unwrap().1,
            VocabKind::ByteLevel
        );
        // unigram array: id = position.
        let m = r#"{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["▁the",-3.5],["s",-4]]}"#;
        let (t, k) = parse_tokenizer_json(&tok_json(m, "")).unwrap();
        assert_eq!(
            (t, k),
            (
                vec!["<unk>".into(), "▁the".into(), "s".into()],
                VocabKind::SentencePiece
            )
        );
        // llama-style bpe: ▁ tokens and byte fallback, decoder without Metaspace.
        let m = r#"{"type":"BPE","byte_fallback":true,"vocab":{"<unk>":0,"<0x0A>":1,"▁the":2},"merges":[]}"#;
        let r = r#","decoder":{"type":"Sequence","decoders":[{"type":"Replace"},{"type":"ByteFallback"}]}"#;
        assert_eq!(
            parse_tokenizer_json(&tok_json(m, r)).unwrap().1,
            VocabKind::SentencePiece
        );
        // Metaspace decoder.
        let m = r#"{"type":"BPE","vocab":{"a":0},"merges":[]}"#;
        let r = r#","decoder":{"type":"Metaspace","replacement":"▁"}"#;
        assert_eq!(
            parse_tokenizer_json(&tok_json(m, r)).unwrap().1,
            VocabKind::SentencePiece
        );
        // ▁ without byte tokens, and wordpiece: plain.
        let m = r###"{"type":"BPE","vocab":{"▁a":0,"<0x0G>":1},"merges":[]}"###;
        assert_eq!(
            parse_tokenizer_json(&tok_json(m, "")).unwrap().1,
            VocabKind::Plain
        );
        let m =
            r###"{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[PAD]":0,"the":1,"##s":2}}"###;
        let r = r###","decoder":{"type":"WordPiece","prefix":"##"},"pre_tokenizer":{"type":"BertPreTokenizer"}"###;
        let (t, k) = parse_tokenizer_json(&tok_json(m, r)).unwrap();
        assert_eq!((t[2].as_str(), k), ("##s", VocabKind::Plain));
    }

    #[test]
    fn added_tokens_and_gaps() {
        let m = r#"{"type":"BPE","vocab":{"a":0,"b":1,"<s>":3},"merges":[]}"#;
        let r = r#","added_tokens":[{"id":3,"content":"<s>"},{"id":6,"content":"<|im_end|>"},{"id":1,"content":"B"}]"#;
        let (t, _) = parse_tokenizer_json(&tok_json(m, r)).unwrap();
        assert_eq!(
            t,
            [
                "a",
                "B",
                "<unused2>",
                "<s>",
                "<unused4>",
                "<unused5>",
                "<|im_end|>"
            ]
        );
        let r = r#","added_tokens":[{"id":6,"content":"x"},{"id":6,"content":"y"}]"#;
        assert!(matches!(
            parse_tokenizer_json(&tok_json(m, r)),
            Err(Error::Format(_))
        ));
        let r = r#","added_tokens":null"#;
        assert_eq!(parse_tokenizer_json(&tok_json(m, r)).unwrap().0.len(), 4);
        // only added tokens.
        let m = r#"{"type":"BPE","vocab":{},"merges":[]}"#;
        let r = r#","added_tokens":[{"id":0,"content":"x"}]"#;
        assert_eq!(parse_tokenizer_json(&tok_json(m, r)).unwrap().0, ["x"]);
    }

    #[test]
    fn rejections() {
        let e = |b: &[u8]| matches!(parse_tokenizer_json(b), Err(Error::Format(_)));
        let v = |b: &[u8]| matches!(parse_vocab_json(b), Err(Error::Format(_)));
        assert!(v(br#"{"a":0,"b":0}"#));
        assert!(v(br#"{"a":0,"a":0}"#));
        assert!(v(br#"{"a":10000001}"#));
        assert!(v(br#"{"a":-1}"#));
        assert!(v(br#"{"a":1.5}"#));
        assert!(v(br#"{"a":"0"}"#));
        assert!(v(br#"{"a":18446744073709551615}"#));
        assert!(v(br#"{"a":18446744073709551616}"#));
        assert!(v(br#"{"a":0,"b":5000}"#)); // sparser than the file justifies
        assert!(v(br#"{}"#));
        assert!(v(br#"[["a",0]]"#));
        assert!(v(b"[]"));
        assert!(v(b"null"));
        assert!(v(b"7"));
        assert!(v(b""));
        assert!(v(b"\xff\xfe"));
        assert!(v(br#"{"\ud800":0}"#));
        assert_eq!(parse_vocab_json(br#"{"a":0,"b":5}"#).unwrap().0[5], "b");

        assert!(e(b"{}"));
        assert!(e(br#"{"a":0}"#));
        assert!(e(br#"{"model":{"type":"BPE"}}"#));
        assert!(e(br#"{"model":{"vocab":{"a":0,"b":0}}}"#));
        assert!(e(br#"{"model":{"vocab":[["a"]]}}"#));
        assert!(e(br#"{"model":{"vocab":[["a",0,1]]}}"#));
        assert!(e(br#"{"model":{"vocab":"a"}}"#));
        assert!(e(
            br#"{"model":{"vocab":{"a":0}},"added_tokens":[{"id":20000000,"content":"x"}]}"#
        ));
        assert!(e(
            br#"{"model":{"vocab":{"a":0}},"added_tokens":[{"content":"x"}]}"#
        ));
        assert!(e(
            br#"{"model":{"vocab":{"a":0}},"model":{"vocab":{"a":0}}}"#
        ));
        let deep = format!(
            "{{\"model\":{{\"vocab\":{{\"a\":0}}}},\"decoder\":{}1{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(e(deep.as_bytes()));
    }

    #[test]
    fn prefixes_never_panic() {
        let m = r#"{"type":"Unigram","vocab":[["<unk>",0.0],["▁x",-1.5]]}"#;
        let r = r#","added_tokens":[{"id":2,"content":"<0x0A>"}],"decoder":{"type":"Sequence","decoders":[{"type":"Metaspace"}]}"#;
        let f = tok_json(m, r);
        assert_eq!(parse_tokenizer_json(&f).unwrap().0.len(), 3);
        for k in 0..f.len() {
            assert!(parse_tokenizer_json(&f[..k]).is_err(), "{k}");
            let _ = parse_vocab_json(&f[..k]);
        }
        let g = br#"{"!":0,"\u0120the":1,"a":2}"#;
        assert_eq!(parse_vocab_json(g).unwrap().0[1], "Ġthe");
        for k in 0..g.len() {
            assert!(parse_vocab_json(&g[..k]).is_err(), "{k}");
        }
    }
}
