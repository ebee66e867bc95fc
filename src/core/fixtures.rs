//! small GGUF files for tests, fuzz targets and examples: one builder ([`GgufBuilder`]),
//! seeded random matrices, and the tiny byte-level model most unit tests use.

use super::files::gguf::{self, TensorOut, Value};
use super::model::Model;
use super::names;
use super::quant::matrix::Q8Matrix;
use super::quant::GgmlType;
use super::rng::Rng;
use super::source::SliceSource;
use super::vocab::VocabKind;

/// a GGUF file put together from metadata and tensors.
#[derive(Default)]
pub struct GgufBuilder {
    metadata: Vec<(String, Value)>,
    tensors: Vec<TensorOut>,
}

impl GgufBuilder {
    pub fn new() -> Self {
        GgufBuilder::default()
    }

    /// sets a metadata key (replacing an earlier value).
    pub fn meta(mut self, key: &str, v: Value) -> Self {
        self.metadata.retain(|(k, _)| k != key);
        self.metadata.push((key.to_string(), v));
        self
    }

    /// the vocabulary: `tokenizer.ggml.tokens` and the `tokenizer.ggml.model` of its kind.
    pub fn tokens(self, kind: VocabKind, tokens: Vec<String>) -> Self {
        let model = match kind {
            VocabKind::ByteLevel => "gpt2",
            VocabKind::SentencePiece => "llama",
            VocabKind::Plain => "none",
        };
        let toks = tokens.into_iter().map(Value::Str).collect();
        self.meta("tokenizer.ggml.model", Value::Str(model.into()))
            .meta("tokenizer.ggml.tokens", Value::Array(8, toks))
    }

    /// a tensor of raw bytes (dims in ggml order, the row length first).
    pub fn tensor(mut self, name: &str, dims: Vec<u64>, ty: GgmlType, data: Vec<u8>) -> Self {
        self.tensors.push(TensorOut {
            name: name.to_string(),
            dims,
            ggml_type: ty,
            data,
        });
        self
    }

    /// a Q8_0 matrix (rows × cols, stored as ggml dims [cols, rows]).
    pub fn matrix(self, name: &str, m: &Q8Matrix) -> Self {
        let dims = vec![m.cols() as u64, m.rows() as u64];
        self.tensor(name, dims, GgmlType::Q8_0, m.to_ggml_bytes())
    }

    /// f32 values as an F32 tensor.
    pub fn f32s(self, name: &str, dims: Vec<u64>, values: &[f32]) -> Self {
        let data = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.tensor(name, dims, GgmlType::F32, data)
    }

    /// drops the tensor `name` (for tests of what a missing tensor says).
    pub fn without(mut self, name: &str) -> Self {
        self.tensors.retain(|t| t.name != name);
        self
    }

    pub fn build(&self) -> Vec<u8> {
        gguf::write(&self.metadata, &self.tensors)
    }
}

/// a random Q8_0 matrix with row scales spread over two orders of magnitude (row i has scale
/// 0.05 + 2·(i mod 7)/7), from `seed`.
pub fn random_q8(rows: usize, cols: usize, seed: u64) -> Q8Matrix {
    let mut rng = Rng::new(seed);
    let data: Vec<f32> = (0..rows * cols)
        .map(|k| {
            let row_scale = 0.05 + 2.0 * ((k / cols) % 7) as f32 / 7.0;
            rng.gauss() as f32 * row_scale
        })
        .collect();
    Q8Matrix::quantize(&data, rows, cols).expect("finite values in range")
}

/// `rows` rows of k values of the block type `ty` (k a multiple of its block size): random
/// quants and finite f16 scales, d spread over 1e-3..1, minimums as a quantizer makes them
/// (Q4_1/Q5_1's m negative, up to 15·d; the K-quants' dmin up to d), from `seed`.
pub fn random_blocks(ty: GgmlType, rows: usize, k: usize, seed: u64) -> Vec<u8> {
    use GgmlType::*;
    let mut rng = Rng::new(seed);
    let mut raw: Vec<u8> = (0..rows * (k / ty.block_size()) * ty.block_bytes())
        .map(|_| rng.next_u64() as u8)
        .collect();
    // (offset of d, offset of the minimum's scale and how it relates to d)
    let (d_at, min_at): (usize, Option<(usize, f64)>) = match ty {
        Q4_0 | Q5_0 | Q8_0 => (0, None),
        Q4_1 | Q5_1 => (0, Some((2, -15.0))),
        Q4_K | Q5_K => (0, Some((2, 1.0))),
        Q2_K => (80, Some((82, 1.0))),
        Q3_K => (108, None),
        Q6_K => (208, None),
        _ => panic!("random_blocks: {ty} is not a block format with scales"),
    };
    for blk in raw.chunks_exact_mut(ty.block_bytes()) {
        let d = 10f64.powf(-3.0 * rng.uniform());
        blk[d_at..d_at + 2].copy_from_slice(&half::f16::from_f64(d).to_le_bytes());
        if let Some((at, factor)) = min_at {
            let m = d * factor * rng.uniform();
            blk[at..at + 2].copy_from_slice(&half::f16::from_f64(m).to_le_bytes());
        }
    }
    raw
}

/// the tokens of the tiny model: ` king`, ` man`, ` woman`, `king`, then ` t4`, ` t5`, ….
pub fn tiny_tokens(rows: usize) -> Vec<String> {
    let mut toks: Vec<String> = (0..rows).map(|i| format!("Ġt{i}")).collect();
    for (i, t) in ["Ġking", "Ġman", "Ġwoman", "king"].iter().enumerate() {
        if i < rows {
            toks[i] = t.to_string();
        }
    }
    toks
}

/// a small tied byte-level GGUF model: `rows` tokens ([`tiny_tokens`]), d = `d`, seed 77.
pub fn tiny_model_bytes(rows: usize, d: usize) -> Vec<u8> {
    GgufBuilder::new()
        .meta("general.name", Value::Str("tiny".into()))
        .tokens(VocabKind::ByteLevel, tiny_tokens(rows))
        .matrix(names::TOKEN_EMBD, &random_q8(rows, d, 77))
        .build()
}

/// [`tiny_model_bytes`], loaded.
pub fn tiny_model(rows: usize, d: usize) -> Model {
    Model::from_source(&SliceSource::whole(&tiny_model_bytes(rows, d)), None)
        .expect("the tiny model loads")
}

/// rows of `k` values in random Q4_1 blocks (f16 d and m of moderate size, random nibbles).
pub fn random_q4_1(rows: usize, k: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(rows * k / 32 * 20);
    for _ in 0..rows * k / 32 {
        let d = half::f16::from_f32((0.01 + 0.02 * rng.uniform()) as f32);
        let m = half::f16::from_f32((-0.15 - 0.1 * rng.uniform()) as f32);
        out.extend(d.to_bits().to_le_bytes());
        out.extend(m.to_bits().to_le_bytes());
        out.extend((0..16).map(|_| (rng.next_u64() >> 56) as u8));
    }
    out
}

/// the sizes of [`tiny_llama_bytes`]: 2 layers, d = 64, 4 query heads sharing 2 KV heads of
/// 16, an MLP of 96, 40 tokens.
pub const TINY_LLAMA: (usize, usize, usize, usize, usize, usize) = (2, 64, 4, 2, 96, 40);

/// a small llama model with random weights (Q4_1 blocks, F32 norms, a Q8_0 embedding tied to
/// the output), for tests of the forward pass and the lens.
pub fn tiny_llama_bytes(seed: u64) -> Vec<u8> {
    let (n_layer, d, n_head, n_kv, n_ff, vocab) = TINY_LLAMA;
    let hd = d / n_head;
    let mut b = GgufBuilder::new()
        .meta("general.architecture", Value::Str("llama".into()))
        .meta("general.name", Value::Str("tiny llama".into()))
        .meta("llama.block_count", Value::U32(n_layer as u32))
        .meta("llama.context_length", Value::U32(64))
        .meta("llama.embedding_length", Value::U32(d as u32))
        .meta("llama.feed_forward_length", Value::U32(n_ff as u32))
        .meta("llama.attention.head_count", Value::U32(n_head as u32))
        .meta("llama.attention.head_count_kv", Value::U32(n_kv as u32))
        .meta("llama.rope.freq_base", Value::F32(10000.0))
        .meta("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5))
        .tokens(VocabKind::ByteLevel, tiny_tokens(vocab))
        .matrix(names::TOKEN_EMBD, &random_q8(vocab, d, seed));
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut norm =
        |n: usize| -> Vec<f32> { (0..n).map(|_| (0.8 + 0.4 * rng.uniform()) as f32).collect() };
    let mut s = seed;
    let mut q41 = |rows: usize, k: usize| {
        s += 1;
        random_q4_1(rows, k, s)
    };
    for l in 0..n_layer {
        let w = |what: &str| names::blk(l, what);
        b = b
            .f32s(&w("attn_norm"), vec![d as u64], &norm(d))
            .tensor(
                &w("attn_q"),
                vec![d as u64, (n_head * hd) as u64],
                GgmlType::Q4_1,
                q41(n_head * hd, d),
            )
            .tensor(
                &w("attn_k"),
                vec![d as u64, (n_kv * hd) as u64],
                GgmlType::Q4_1,
                q41(n_kv * hd, d),
            )
            .tensor(
                &w("attn_v"),
                vec![d as u64, (n_kv * hd) as u64],
                GgmlType::Q4_1,
                q41(n_kv * hd, d),
            )
            .tensor(
                &w("attn_output"),
                vec![(n_head * hd) as u64, d as u64],
                GgmlType::Q4_1,
                q41(d, n_head * hd),
            )
            .f32s(&w("ffn_norm"), vec![d as u64], &norm(d))
            .tensor(
                &w("ffn_gate"),
                vec![d as u64, n_ff as u64],
                GgmlType::Q4_1,
                q41(n_ff, d),
            )
            .tensor(
                &w("ffn_up"),
                vec![d as u64, n_ff as u64],
                GgmlType::Q4_1,
                q41(n_ff, d),
            )
            .tensor(
                &w("ffn_down"),
                vec![n_ff as u64, d as u64],
                GgmlType::Q4_1,
                q41(d, n_ff),
            );
    }
    b.f32s(names::OUTPUT_NORM, vec![d as u64], &norm(d)).build()
}

/// the special tokens of [`tiny_bpe_metadata`] (ids 0..4) and their token types: three CONTROL
/// tokens as SmolLM2 spells them and one USER_DEFINED.
pub const TINY_BPE_SPECIALS: [(&str, i32); 4] = [
    ("<|endoftext|>", 3),
    ("<|im_start|>", 3),
    ("<|im_end|>", 3),
    ("<tool>", 4),
];

/// the merges of [`tiny_bpe_metadata`], in rank order.
pub const TINY_BPE_MERGES: [&str; 16] = [
    "Ġ t",
    "h e",
    "Ġt he",
    "i n",
    "Ġ a",
    "Ġ Ġ",
    "e r",
    "Ġ w",
    "o r",
    "Ġw or",
    "l d",
    "Ġwor ld",
    "ĠĠ ĠĠ",
    "Ċ Ċ",
    "< |",
    "Ã ©",
];

/// the `tokenizer.ggml.*` metadata of a small complete byte-level BPE vocabulary shaped like
/// SmolLM2's (`gpt2`, pre-tokenizer `smollm`, BOS 1, EOS 2, no BOS added): the specials of
/// [`TINY_BPE_SPECIALS`], the 256 byte chars, then each merge's result of [`TINY_BPE_MERGES`].
pub fn tiny_bpe_metadata() -> Vec<(String, Value)> {
    use super::tokenize::unicode::byte_to_char;
    let mut tokens: Vec<String> = TINY_BPE_SPECIALS.iter().map(|s| s.0.to_string()).collect();
    let mut types: Vec<i32> = TINY_BPE_SPECIALS.iter().map(|s| s.1).collect();
    for b in 0..=255u8 {
        tokens.push(byte_to_char(b).to_string());
        types.push(1);
    }
    for m in TINY_BPE_MERGES {
        let joined = m.replacen(' ', "", 1);
        if !tokens.contains(&joined) {
            tokens.push(joined);
            types.push(1);
        }
    }
    let strs = |v: Vec<String>| Value::Array(8, v.into_iter().map(Value::Str).collect());
    vec![
        ("tokenizer.ggml.model".into(), Value::Str("gpt2".into())),
        ("tokenizer.ggml.pre".into(), Value::Str("smollm".into())),
        ("tokenizer.ggml.tokens".into(), strs(tokens)),
        (
            "tokenizer.ggml.token_type".into(),
            Value::Array(5, types.into_iter().map(Value::I32).collect()),
        ),
        (
            "tokenizer.ggml.merges".into(),
            strs(TINY_BPE_MERGES.iter().map(|m| m.to_string()).collect()),
        ),
        ("tokenizer.ggml.bos_token_id".into(), Value::U32(1)),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(2)),
        ("tokenizer.ggml.add_bos_token".into(), Value::Bool(false)),
    ]
}

/// a tied GGUF model (d = 32) with the [`tiny_bpe_metadata`] vocabulary.
pub fn tiny_bpe_model_bytes() -> Vec<u8> {
    let meta = tiny_bpe_metadata();
    let rows = match &meta[2].1 {
        Value::Array(_, t) => t.len(),
        _ => 0,
    };
    let mut b = GgufBuilder::new().meta("general.name", Value::Str("tiny-bpe".into()));
    for (k, v) in meta {
        b = b.meta(&k, v);
    }
    b.matrix(names::TOKEN_EMBD, &random_q8(rows, 32, 5)).build()
}

/// the specials of [`tiny_spm_metadata`] (ids 0..9, as Gemma 3 spells and types them): pad,
/// eos, bos, unk, the turn markers (CONTROL), `</s>` (USER_DEFINED, which llama.cpp's
/// end-of-generation list makes CONTROL too), an HTML tag and a newline run (USER_DEFINED).
pub const TINY_SPM_SPECIALS: [(&str, i32); 9] = [
    ("<pad>", 3),
    ("<eos>", 3),
    ("<bos>", 3),
    ("<unk>", 2),
    ("<start_of_turn>", 3),
    ("<end_of_turn>", 3),
    ("</s>", 4),
    ("<b>", 4),
    ("\n\n", 4),
];

/// the scored pieces of [`tiny_spm_metadata`] after the specials and the 256 byte tokens.
pub const TINY_SPM_PIECES: [(&str, f32); 24] = [
    ("▁", -1.0),
    ("t", -2.0),
    ("h", -3.0),
    ("e", -4.0),
    ("a", -5.0),
    ("b", -6.0),
    ("c", -7.0),
    ("th", -8.0),
    ("he", -9.0),
    ("the", -10.0),
    ("▁the", -11.0),
    ("▁t", -12.0),
    ("aa", -13.0),
    ("ab", -20.0),
    ("bc", -14.0),
    ("▁a", -15.0),
    ("H", -16.0),
    ("à", -17.0),
    ("Hà", -18.0),
    ("N", -19.0),
    ("▁N", -21.0),
    ("ội", -22.0),
    ("\n", -23.0),
    ("é", -0.0),
];

/// the `tokenizer.ggml.*` metadata of a small SentencePiece vocabulary shaped like Gemma 3's
/// (`llama`, BOS 2 added, EOS 1, unk 3, no space prefix): [`TINY_SPM_SPECIALS`], the byte
/// tokens `<0x00>` … `<0xFF>`, then [`TINY_SPM_PIECES`] with their scores.
pub fn tiny_spm_metadata() -> Vec<(String, Value)> {
    let mut tokens: Vec<String> = TINY_SPM_SPECIALS.iter().map(|s| s.0.to_string()).collect();
    let mut types: Vec<i32> = TINY_SPM_SPECIALS.iter().map(|s| s.1).collect();
    let mut scores: Vec<f32> = vec![-1000.0; tokens.len()];
    for b in 0..=255u8 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(6);
        scores.push(0.0);
    }
    for (t, s) in TINY_SPM_PIECES {
        tokens.push(t.to_string());
        types.push(1);
        scores.push(s);
    }
    let strs = |v: Vec<String>| Value::Array(8, v.into_iter().map(Value::Str).collect());
    vec![
        ("tokenizer.ggml.model".into(), Value::Str("llama".into())),
        ("tokenizer.ggml.pre".into(), Value::Str("default".into())),
        ("tokenizer.ggml.tokens".into(), strs(tokens)),
        (
            "tokenizer.ggml.scores".into(),
            Value::Array(6, scores.into_iter().map(Value::F32).collect()),
        ),
        (
            "tokenizer.ggml.token_type".into(),
            Value::Array(5, types.into_iter().map(Value::I32).collect()),
        ),
        ("tokenizer.ggml.bos_token_id".into(), Value::U32(2)),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(1)),
        ("tokenizer.ggml.unknown_token_id".into(), Value::U32(3)),
        ("tokenizer.ggml.padding_token_id".into(), Value::U32(0)),
        ("tokenizer.ggml.add_bos_token".into(), Value::Bool(true)),
        ("tokenizer.ggml.add_eos_token".into(), Value::Bool(false)),
        ("tokenizer.ggml.add_space_prefix".into(), Value::Bool(false)),
    ]
}

/// the sizes of [`tiny_gemma3_bytes`]: 4 layers, d = 64, 4 query heads of 64 sharing 2 KV
/// heads (so q is 256 wide, wider than d, as in Gemma 3), an MLP of 256, a sliding window of 3
/// on layers 0 and 2 (pattern 2), and the [`tiny_spm_metadata`] vocabulary.
pub const TINY_GEMMA3: (usize, usize, usize, usize, usize, usize) = (4, 64, 4, 2, 64, 256);

/// a small gemma3 model with random weights in the block types Gemma 3 270M mixes (Q5_0 for
/// q, k, gate and up; Q8_0 or Q5_0 for v; Q4_K for the attention output; Q6_K or Q4_K for down),
/// F32 norms around 1 (the converter's +1 already in them), a Q8_0 embedding tied to the
/// output, and Gemma's SentencePiece vocabulary shape, for tests of the pass and the lens.
pub fn tiny_gemma3_bytes(seed: u64) -> Vec<u8> {
    tiny_gemma3_builder(seed).build()
}

/// [`tiny_gemma3_bytes`] before it is written.
pub fn tiny_gemma3_builder(seed: u64) -> GgufBuilder {
    let (n_layer, d, n_head, n_kv, hd, n_ff) = TINY_GEMMA3;
    let meta = tiny_spm_metadata();
    let vocab = match &meta[2].1 {
        Value::Array(_, t) => t.len(),
        _ => 0,
    };
    let a = |k: &str| format!("gemma3.{k}");
    let mut b = GgufBuilder::new()
        .meta("general.architecture", Value::Str("gemma3".into()))
        .meta("general.name", Value::Str("tiny gemma3".into()))
        .meta(&a("block_count"), Value::U32(n_layer as u32))
        .meta(&a("context_length"), Value::U32(64))
        .meta(&a("embedding_length"), Value::U32(d as u32))
        .meta(&a("feed_forward_length"), Value::U32(n_ff as u32))
        .meta(&a("attention.head_count"), Value::U32(n_head as u32))
        .meta(&a("attention.head_count_kv"), Value::U32(n_kv as u32))
        .meta(&a("attention.key_length"), Value::U32(hd as u32))
        .meta(&a("attention.value_length"), Value::U32(hd as u32))
        .meta(&a("attention.layer_norm_rms_epsilon"), Value::F32(1e-6))
        .meta(&a("attention.sliding_window"), Value::U32(3))
        .meta(&a("attention.sliding_window_pattern"), Value::U32(2))
        .meta(&a("rope.freq_base"), Value::F32(1e6))
        .meta(&a("rope.freq_base_swa"), Value::F32(1e4));
    for (k, v) in meta {
        b = b.meta(&k, v);
    }
    b = b.matrix(names::TOKEN_EMBD, &random_q8(vocab, d, seed));
    let mut rng = Rng::new(seed ^ 0x9e33);
    let mut norm =
        |n: usize| -> Vec<f32> { (0..n).map(|_| (0.8 + 0.4 * rng.uniform()) as f32).collect() };
    let mut s = seed;
    let mut w = |ty: GgmlType, k: usize, rows: usize| {
        s += 1;
        (
            vec![k as u64, rows as u64],
            ty,
            random_blocks(ty, rows, k, s),
        )
    };
    use GgmlType::*;
    for l in 0..n_layer {
        let name = |what: &str| names::blk(l, what);
        let v_type = if l == 0 { Q8_0 } else { Q5_0 };
        let down_type = if l % 2 == 0 { Q6_K } else { Q4_K };
        let mats = [
            ("attn_q", w(Q5_0, d, n_head * hd)),
            ("attn_k", w(Q5_0, d, n_kv * hd)),
            ("attn_v", w(v_type, d, n_kv * hd)),
            ("attn_output", w(Q4_K, n_head * hd, d)),
            ("ffn_gate", w(Q5_0, d, n_ff)),
            ("ffn_up", w(Q5_0, d, n_ff)),
            ("ffn_down", w(down_type, n_ff, d)),
        ];
        for (what, (dims, ty, data)) in mats {
            b = b.tensor(&name(what), dims, ty, data);
        }
        for (what, n) in [
            ("attn_norm", d),
            ("attn_q_norm", hd),
            ("attn_k_norm", hd),
            ("post_attention_norm", d),
            ("ffn_norm", d),
            ("post_ffw_norm", d),
        ] {
            b = b.f32s(&name(what), vec![n as u64], &norm(n));
        }
    }
    b.f32s(names::OUTPUT_NORM, vec![d as u64], &norm(d))
}
