//! any bytes through the tokenizer. the first byte is the mode: bit 0 add_special, bit 1
//! parse_special, bit 2 "hostile vocabulary". without bit 2 the rest is text (invalid UTF-8
//! made lossy, as the façade's TextEncoder would) for the small SmolLM2-shaped vocabulary of
//! `fixtures::tiny_bpe_metadata` and, when `UNEMBED_FUZZ_GGUF` names a GGUF file, for that
//! model's tokenizer too: encoding never fails or panics, every id is in the vocabulary, and
//! decoding gives the text back (special tokens decode to their text) whenever the vocabulary
//! has a token for each of the text's bytes: SmolLM2's lacks 0x04, 0x06, 0x13, 0x14, 0x16, 0x1D,
//! 0xC0, 0xC1, 0xF1, 0xF2 and 0xF5..=0xFF, and llama.cpp (so we too) drops those bytes. with bit 2 the rest builds a vocabulary of its own (text, tokens,
//! merges, token types, BOS/EOS, split at 0xFF): building it may fail with an error, and if it
//! does not, encoding and decoding must not panic and every id must be in range. bit 4 makes
//! these vocabularies SentencePiece ones (`llama`, the merges' bytes as scores), whose encoding
//! may also fail with an error (a byte without a token). the Gemma-shaped SentencePiece
//! vocabulary of `fixtures::tiny_spm_metadata` is fuzzed beside the BPE one; it has every byte,
//! so it always round-trips.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use unembed::core::files::gguf::{Metadata, Value};
use unembed::core::fixtures::{tiny_bpe_metadata, tiny_spm_metadata};
use unembed::core::plan::read_header;
use unembed::core::source::FileSource;
use unembed::core::tokenize::unicode::byte_to_char;
use unembed::core::tokenize::Tokenizer;

type Fixed = (Tokenizer, [bool; 256]);

fn tiny() -> &'static Fixed {
    static T: OnceLock<Fixed> = OnceLock::new();
    T.get_or_init(|| {
        let t = Tokenizer::from_metadata(&Metadata(tiny_bpe_metadata())).unwrap();
        let has = byte_tokens(&t);
        assert!(has.iter().all(|&h| h));
        (t, has)
    })
}

fn tiny_spm() -> &'static Fixed {
    static T: OnceLock<Fixed> = OnceLock::new();
    T.get_or_init(|| {
        let t = Tokenizer::from_metadata(&Metadata(tiny_spm_metadata())).unwrap();
        let has = byte_tokens(&t);
        assert!(has.iter().all(|&h| h));
        (t, has)
    })
}

fn real() -> Option<&'static Fixed> {
    static T: OnceLock<Option<Fixed>> = OnceLock::new();
    T.get_or_init(|| {
        let path = std::env::var_os("UNEMBED_FUZZ_GGUF")?;
        let src = FileSource::open(std::path::Path::new(&path)).expect("UNEMBED_FUZZ_GGUF opens");
        let file = read_header(&src).expect("UNEMBED_FUZZ_GGUF is a model");
        let t = Tokenizer::from_metadata(&file.metadata)
            .expect("UNEMBED_FUZZ_GGUF has a tokenizer we implement");
        let has = byte_tokens(&t);
        Some((t, has))
    })
    .as_ref()
}

/// which bytes have a token of their own (their GPT-2 char for BPE; `<0xXX>` or the byte
/// itself for SentencePiece).
fn byte_tokens(tok: &Tokenizer) -> [bool; 256] {
    let mut has = [false; 256];
    for (b, h) in has.iter_mut().enumerate() {
        let v = tok.vocab();
        *h = match tok {
            Tokenizer::Bpe(_) => v.id(&byte_to_char(b as u8).to_string()).is_some(),
            Tokenizer::Spm(_) => {
                v.id(&format!("<0x{b:02X}>")).is_some()
                    || (b < 0x80 && v.id(&char::from(b as u8).to_string()).is_some())
            }
        };
    }
    has
}

fn check(tok: &Tokenizer, text: &str, add_special: bool, parse_special: bool, round_trip: bool) {
    let ids = match tok.encode(text, add_special, parse_special) {
        Ok(ids) => ids,
        // SentencePiece refuses a text with a byte it has no token for; BPE never fails.
        Err(_) if matches!(tok, Tokenizer::Spm(_)) && !round_trip => return,
        Err(e) => panic!("encode failed: {e}"),
    };
    let n = tok.n_vocab();
    assert!(ids.iter().all(|&i| (i as usize) < n), "id out of range");
    let back = tok.decode(&ids).expect("ids from encode decode");
    let added = add_special && (tok.adds_bos() || tok.vocab().add_eos);
    if round_trip && !added {
        assert_eq!(back, text);
    }
}

fn hostile(data: &[u8], add_special: bool, parse_special: bool, gpt2: bool, spm: bool) {
    let mut parts = data.split(|&b| b == 0xFF);
    let text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let list = |p: Option<&[u8]>| -> Vec<Value> {
        p.unwrap_or_default()
            .split(|&b| b == b'\n')
            .take(512)
            .map(|s| Value::Str(String::from_utf8_lossy(s).into_owned()))
            .collect()
    };
    let tokens = list(parts.next());
    let merges_raw = parts.next();
    let merges = list(merges_raw);
    let types: Vec<Value> = parts
        .next()
        .unwrap_or_default()
        .iter()
        .map(|&b| Value::I32(i32::from(b % 8)))
        .collect();
    let ids = parts.next().unwrap_or_default();
    let mut m = vec![
        (
            "tokenizer.ggml.model".to_string(),
            Value::Str("gpt2".into()),
        ),
        (
            "tokenizer.ggml.pre".into(),
            Value::Str(if gpt2 { "gpt-2" } else { "smollm" }.into()),
        ),
        ("tokenizer.ggml.tokens".into(), Value::Array(8, tokens)),
        ("tokenizer.ggml.merges".into(), Value::Array(8, merges)),
    ];
    if !types.is_empty() {
        m.push(("tokenizer.ggml.token_type".into(), Value::Array(5, types)));
    }
    if spm {
        let scores: Vec<Value> = merges_raw
            .unwrap_or_default()
            .iter()
            .map(|&b| Value::F32(-f32::from(b)))
            .collect();
        m[0].1 = Value::Str("llama".into());
        m.push(("tokenizer.ggml.scores".into(), Value::Array(6, scores)));
    }
    if let [bos, eos, flags, ..] = *ids {
        m.push((
            "tokenizer.ggml.bos_token_id".into(),
            Value::U32(u32::from(bos)),
        ));
        m.push((
            "tokenizer.ggml.eos_token_id".into(),
            Value::U32(u32::from(eos)),
        ));
        m.push((
            "tokenizer.ggml.add_bos_token".into(),
            Value::Bool(flags & 1 != 0),
        ));
        m.push((
            "tokenizer.ggml.add_eos_token".into(),
            Value::Bool(flags & 2 != 0),
        ));
    }
    if let Ok(tok) = Tokenizer::from_metadata(&Metadata(m)) {
        check(&tok, &text, add_special, parse_special, false);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let add_special = mode & 1 != 0;
    let parse_special = mode & 2 != 0;
    if mode & 4 != 0 {
        return hostile(
            rest,
            add_special,
            parse_special,
            mode & 8 != 0,
            mode & 16 != 0,
        );
    }
    let text = String::from_utf8_lossy(rest);
    for (tok, has) in [Some(tiny()), Some(tiny_spm()), real()]
        .into_iter()
        .flatten()
    {
        let complete = text.bytes().all(|b| has[b as usize]);
        check(tok, &text, add_special, parse_special, complete);
    }
});
