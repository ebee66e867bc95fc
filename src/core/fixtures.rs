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
