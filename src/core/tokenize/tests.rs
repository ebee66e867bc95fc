//! the tokenizer end to end on the small vocabulary of `fixtures::tiny_bpe_metadata`, and its
//! errors. agreement with llama.cpp on the real SmolLM2 vocabulary is `tests/tokenizer/check.py`.

use super::*;
use crate::core::files::gguf::Value;
use crate::core::fixtures::{tiny_bpe_metadata, tiny_spm_metadata, TINY_BPE_SPECIALS};
use crate::core::rng::Rng;

fn tiny() -> Tokenizer {
    Tokenizer::from_metadata(&Metadata(tiny_bpe_metadata())).unwrap()
}

fn with(key: &str, v: Option<Value>) -> Metadata {
    let mut m = tiny_bpe_metadata();
    m.retain(|(k, _)| k != key);
    if let Some(v) = v {
        m.push((key.to_string(), v));
    }
    Metadata(m)
}

fn texts(t: &Tokenizer, ids: &[u32]) -> Vec<String> {
    ids.iter()
        .map(|&i| t.token_text(i).unwrap().to_string())
        .collect()
}

#[test]
fn words_merge_and_decode_back() {
    let t = tiny();
    let ids = t.encode("the world in a", false, false).unwrap();
    assert_eq!(texts(&t, &ids), ["t", "he", "Ġworld", "Ġ", "in", "Ġa"]);
    assert_eq!(t.decode(&ids).unwrap(), "the world in a");
    let ids = t.encode("  \n\n the 42é", false, false).unwrap();
    assert_eq!(texts(&t, &ids), ["ĠĠ", "ĊĊ", "Ġthe", "Ġ", "4", "2", "Ã©"]);
}

#[test]
fn special_tokens_follow_parse_special() {
    let t = tiny();
    let s = "<|im_start|>user<tool><|im_end|>";
    let on = t.encode(s, false, true).unwrap();
    assert_eq!(on[0], 1);
    assert_eq!(on[on.len() - 2..], [3, 2]);
    // off: the CONTROL texts are BPE'd ("<|" is a token), the USER_DEFINED one still cut out
    let off = t.encode(s, false, false).unwrap();
    assert_eq!(texts(&t, &off)[..2], ["<|", "i"]);
    assert!(off.contains(&3) && !off.contains(&1) && !off.contains(&2));
    for ids in [&on, &off] {
        assert_eq!(t.decode(ids).unwrap(), s);
    }
    assert_eq!(t.piece(2), Some("<|im_end|>".as_bytes()));
}

#[test]
fn bos_only_when_the_vocabulary_says_so() {
    let t = tiny();
    assert!(!t.adds_bos());
    assert_eq!(t.encode("", true, true).unwrap(), Vec::<u32>::new());
    assert_eq!(
        t.encode("a", true, true).unwrap(),
        t.encode("a", false, true).unwrap()
    );
    let b = Tokenizer::from_metadata(&with(
        "tokenizer.ggml.add_bos_token",
        Some(Value::Bool(true)),
    ))
    .unwrap();
    assert_eq!(b.encode("", true, false).unwrap(), [1]);
    assert_eq!(b.encode("", false, false).unwrap(), Vec::<u32>::new());
    assert_eq!(b.encode("a", true, false).unwrap()[0], 1);
    let e = Tokenizer::from_metadata(&with(
        "tokenizer.ggml.add_eos_token",
        Some(Value::Bool(true)),
    ))
    .unwrap();
    assert_eq!(e.encode("a", true, false).unwrap().last(), Some(&2));
}

#[test]
fn end_of_generation_and_special_ids() {
    let t = tiny();
    assert_eq!((t.bos(), t.eos()), (Some(1), Some(2)));
    // EOS, and <|endoftext|> / <|im_end|> by their text
    assert_eq!(t.eog(), [0, 2]);
    assert!(t.is_eog(2) && !t.is_eog(1));
    assert_eq!(t.special_ids().eot, Some(0));
    // without the metadata ids, llama.cpp's BPE default (11) is used when in range
    let m = with("tokenizer.ggml.bos_token_id", None);
    let m = Metadata(
        m.0.into_iter()
            .filter(|(k, _)| k != "tokenizer.ggml.eos_token_id")
            .collect(),
    );
    let d = Tokenizer::from_metadata(&m).unwrap();
    assert_eq!((d.bos(), d.eos()), (Some(11), Some(11)));
}

#[test]
fn invalid_metadata_is_a_clear_error() {
    let err = |m: Metadata| Tokenizer::from_metadata(&m).unwrap_err().to_string();
    let e = err(with(
        "tokenizer.ggml.pre",
        Some(Value::Str("llama-bpe".into())),
    ));
    assert!(e.contains("\"llama-bpe\"") && e.contains("smollm"), "{e}");
    let e = err(with("tokenizer.ggml.pre", None));
    assert!(e.contains("tokenizer.ggml.pre is missing"), "{e}");
    let e = err(with("tokenizer.ggml.pre", Some(Value::U32(2))));
    assert!(e.contains("tokenizer.ggml.pre should be a string"), "{e}");
    let e = err(with("tokenizer.ggml.merges", None));
    assert!(e.contains("tokenizer.ggml.merges"), "{e}");
    let e = err(with("tokenizer.ggml.merges", Some(Value::Array(4, vec![]))));
    assert!(e.contains("array of strings"), "{e}");
    let e = err(with("tokenizer.ggml.tokens", Some(Value::U32(3))));
    assert!(
        e.contains("tokenizer.ggml.tokens should be an array of strings"),
        "{e}"
    );
    let e = err(with("tokenizer.ggml.tokens", None));
    assert!(e.contains("tokenizer.ggml.tokens"), "{e}");
    let e = err(with(
        "tokenizer.ggml.model",
        Some(Value::Str("bert".into())),
    ));
    assert!(e.contains("\"bert\"") && e.contains("gpt2"), "{e}");
    let e = err(with("tokenizer.ggml.model", Some(Value::U8(1))));
    assert!(e.contains("should be a string"), "{e}");
    let e = err(with("tokenizer.ggml.model", None));
    assert!(e.contains("tokenizer.ggml.model"), "{e}");
    let e = err(with(
        "tokenizer.ggml.token_type",
        Some(Value::Array(5, vec![Value::I32(1)])),
    ));
    assert!(e.contains("token_type has 1 entries"), "{e}");
}

#[test]
fn decode_is_lossy_for_split_characters_and_checks_ids() {
    let t = tiny();
    let ids = t.encode("é", false, false).unwrap();
    assert_eq!(ids.len(), 1);
    // the two byte tokens of "€" (E2 82 AC) cut after the first two
    let euro = t.encode("€", false, false).unwrap();
    assert_eq!(euro.len(), 3);
    assert_eq!(t.decode(&euro[..2]).unwrap(), "\u{FFFD}");
    assert_eq!(t.decode(&euro).unwrap(), "€");
    let e = t.decode(&[0, 100_000]).unwrap_err().to_string();
    assert!(e.contains("100000"), "{e}");
    assert_eq!(t.piece(100_000), None);
}

/// a seeded mix of the characters that matter: ASCII, Vietnamese, digits, white space,
/// emoji, combining marks, controls, bidi, and pieces of special-token text.
fn random_text(rng: &mut Rng, n: usize) -> String {
    const POOL: &[&str] = &[
        "a",
        "b",
        "the",
        " ",
        "  ",
        "\n",
        "\t",
        "\r\n",
        "'s",
        "'",
        "é",
        "ệ",
        "Đ",
        "e\u{301}",
        "1",
        "٣",
        "½",
        "😀",
        "👨\u{200d}👩",
        "\u{200B}",
        "\u{202E}",
        "\u{0}",
        "中",
        "<|",
        "|>",
        "<",
        "!",
        ".",
        "\u{A0}",
        "\u{3000}",
        "\u{10FFFF}",
        "\u{FFFD}",
        "<tool",
    ];
    (0..n)
        .map(|_| POOL[(rng.next_u64() % POOL.len() as u64) as usize])
        .collect()
}

#[test]
fn random_text_round_trips() {
    let t = tiny();
    let mut rng = Rng::new(42);
    for _ in 0..300 {
        let n = (rng.next_u64() % 60) as usize;
        let s = random_text(&mut rng, n);
        for parse in [false, true] {
            let ids = t.encode(&s, false, parse).unwrap();
            assert!(ids.iter().all(|&i| (i as usize) < t.n_vocab()));
            assert_eq!(t.decode(&ids).unwrap(), s, "{s:?}");
        }
    }
    // typed special text round-trips too: the specials render as their text
    let all: String = TINY_BPE_SPECIALS.iter().map(|s| s.0).collect();
    assert_eq!(
        t.decode(&t.encode(&all, false, true).unwrap()).unwrap(),
        all
    );
}

#[test]
fn long_text_is_linear() {
    // 200,000 characters, including one 20,000-letter word: well under a second in release
    let t = tiny();
    let mut rng = Rng::new(7);
    let mut s = random_text(&mut rng, 60_000);
    s.push_str(&"ab".repeat(10_000));
    s.push_str(&" ".repeat(20_000));
    s.push_str(&"9".repeat(20_000));
    let start = std::time::Instant::now();
    let ids = t.encode(&s, false, true).unwrap();
    let took = start.elapsed();
    assert_eq!(t.decode(&ids).unwrap(), s);
    assert!(took.as_secs_f64() < 5.0, "{took:?}");
}

// SentencePiece (`llama`), on the Gemma-shaped vocabulary of `fixtures::tiny_spm_metadata`.

fn spm_with(changes: &[(&str, Option<Value>)]) -> Metadata {
    let mut m = tiny_spm_metadata();
    for (key, v) in changes {
        m.retain(|(k, _)| k != key);
        if let Some(v) = v {
            m.push((key.to_string(), v.clone()));
        }
    }
    Metadata(m)
}

fn spm() -> Tokenizer {
    Tokenizer::from_metadata(&spm_with(&[])).unwrap()
}

#[test]
fn spm_merges_best_score_first() {
    let t = spm();
    assert!(t.adds_bos());
    assert_eq!((t.bos(), t.eos()), (Some(2), Some(1)));
    // BOS first; spaces become ▁; "▁the" is reached through "th" → "the" → "▁the".
    let ids = t.encode("the the", true, false).unwrap();
    assert_eq!(ids[0], 2);
    assert_eq!(texts(&t, &ids[1..]), ["the", "▁the"]);
    assert_eq!(t.decode(&ids[1..]).unwrap(), "the the");
    // "abc": "bc" (−14) beats "ab" (−20) although "ab" is further left.
    assert_eq!(
        texts(&t, &t.encode("abc", false, false).unwrap()),
        ["a", "bc"]
    );
    // equal scores: the leftmost pair merges first ("aa" + "a", not "a" + "aa").
    assert_eq!(
        texts(&t, &t.encode("aaa", false, false).unwrap()),
        ["aa", "a"]
    );
    // Vietnamese: pieces where they exist, the bytes of the rest.
    let ids = t.encode("Hà Nội", false, false).unwrap();
    assert_eq!(texts(&t, &ids), ["Hà", "▁N", "ội"]);
    let ids = t.encode("ő€", false, false).unwrap();
    assert_eq!(
        texts(&t, &ids),
        ["<0xC5>", "<0x91>", "<0xE2>", "<0x82>", "<0xAC>"]
    );
    assert_eq!(t.decode(&ids).unwrap(), "ő€");
    // −0 and the byte tokens' +0 are one score: "é" is a token, not two bytes.
    assert_eq!(texts(&t, &t.encode("é", false, false).unwrap()), ["é"]);
}

#[test]
fn spm_specials_and_the_space_prefix() {
    let t = spm();
    let s = "<start_of_turn>user\n\nthe</s><b>a<end_of_turn>";
    let on = t.encode(s, true, true).unwrap();
    assert_eq!(
        texts(&t, &on),
        [
            "<bos>",
            "<start_of_turn>",
            "<0x75>",
            "<0x73>",
            "e",
            "<0x72>",
            "\n\n",
            "the",
            "</s>",
            "<b>",
            "a",
            "<end_of_turn>"
        ]
    );
    // without parse_special the CONTROL texts are text; "</s>" is CONTROL for llama.cpp (an
    // end-of-generation text), so it stays text too, while "<b>" and "\n\n" are cut out.
    let off = t.encode(s, false, false).unwrap();
    assert!(!off.contains(&4) && !off.contains(&6) && off.contains(&7) && off.contains(&8));
    assert!(t.is_eog(6) && t.is_eog(1) && t.is_eog(5));
    for ids in [&on[1..], &off[..]] {
        assert_eq!(t.decode(ids).unwrap(), s);
    }
    // add_space_prefix (the SentencePiece default when the key is absent): a space before the
    // first fragment and after each special token, none after text.
    let p =
        Tokenizer::from_metadata(&spm_with(&[("tokenizer.ggml.add_space_prefix", None)])).unwrap();
    assert_eq!(
        texts(&p, &p.encode("a<b>a", false, false).unwrap()),
        ["▁a", "<b>", "▁a"]
    );
    assert_eq!(
        texts(&t, &t.encode("a<b>a", false, false).unwrap()),
        ["a", "<b>", "a"]
    );
    // an empty text: BOS alone, or nothing.
    assert_eq!(t.encode("", true, true).unwrap(), [2]);
    assert!(t.encode("", false, true).unwrap().is_empty());
}

#[test]
fn spm_defaults_errors_and_missing_bytes() {
    // llama.cpp's SPM defaults when the metadata names nothing: bos 1, eos 2, BOS added.
    let m = spm_with(&[
        ("tokenizer.ggml.bos_token_id", None),
        ("tokenizer.ggml.eos_token_id", None),
        ("tokenizer.ggml.add_bos_token", None),
    ]);
    let t = Tokenizer::from_metadata(&m).unwrap();
    assert_eq!((t.bos(), t.eos(), t.adds_bos()), (Some(1), Some(2), true));
    let err = |m: Metadata| Tokenizer::from_metadata(&m).unwrap_err().to_string();
    let e = err(spm_with(&[("tokenizer.ggml.scores", Some(Value::U32(1)))]));
    assert!(
        e.contains("tokenizer.ggml.scores should be an array"),
        "{e}"
    );
    let e = err(spm_with(&[(
        "tokenizer.ggml.scores",
        Some(Value::Array(6, vec![Value::F32(0.0)])),
    )]));
    assert!(e.contains("scores has 1 entries"), "{e}");
    let e = err(spm_with(&[(
        "tokenizer.ggml.add_space_prefix",
        Some(Value::U8(0)),
    )]));
    assert!(e.contains("add_space_prefix should be a bool"), "{e}");
    let mut m = tiny_spm_metadata();
    if let Some((_, Value::Array(_, s))) = m.iter_mut().find(|(k, _)| k == "tokenizer.ggml.scores")
    {
        s[280] = Value::F32(f32::NAN);
    }
    let e = err(Metadata(m));
    assert!(e.contains("scores[280]"), "{e}");
    // without byte tokens: the one-character token, else an error naming the byte.
    let mut m = tiny_spm_metadata();
    if let Some((_, Value::Array(_, toks))) =
        m.iter_mut().find(|(k, _)| k == "tokenizer.ggml.tokens")
    {
        for (i, tok) in toks.iter_mut().enumerate().skip(9).take(256) {
            *tok = Value::Str(format!("[byte {i}]"));
        }
    }
    let t = Tokenizer::from_metadata(&Metadata(m)).unwrap();
    assert_eq!(texts(&t, &t.encode("ab", false, false).unwrap()), ["ab"]);
    assert_eq!(
        texts(&t, &t.encode("t\n", false, false).unwrap()),
        ["t", "\n"]
    );
    let e = t.encode("xő", false, false).unwrap_err().to_string();
    assert!(e.contains("byte 0x78"), "{e}");
}

#[test]
fn spm_random_text_round_trips_and_long_text_is_fast() {
    let t = spm();
    let mut rng = Rng::new(43);
    for _ in 0..300 {
        let n = (rng.next_u64() % 60) as usize;
        let s = random_text(&mut rng, n);
        for parse in [false, true] {
            let ids = t.encode(&s, false, parse).unwrap();
            assert!(ids.iter().all(|&i| (i as usize) < t.n_vocab()));
            assert_eq!(t.decode(&ids).unwrap(), s, "{s:?}");
        }
    }
    let mut s = random_text(&mut rng, 60_000);
    s.push_str(&"a".repeat(20_000));
    s.push_str(&" the".repeat(5_000));
    let start = std::time::Instant::now();
    let ids = t.encode(&s, false, true).unwrap();
    let took = start.elapsed();
    assert_eq!(t.decode(&ids).unwrap(), s);
    assert!(took.as_secs_f64() < 5.0, "{took:?}");
}
