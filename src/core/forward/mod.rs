//! the forward pass of a decoder-only transformer as llama.cpp runs it on the CPU, one module
//! per architecture over shared pieces:
//!
//!   token → embedding row x⁰ → for each layer ℓ: x^{ℓ+1} = layer_ℓ(x^ℓ) → final norm → h
//!
//! and h goes to the unembedding (the readout, exact, over the model's W_U). `ops.rs` holds
//! RMSNorm, RoPE, attention over an f16 KV cache, SwiGLU and GeGLU; `linear.rs` a weight read
//! from the file as stored; `llama.rs` the llama architecture (SmolLM2), `gemma3.rs` the gemma3
//! one (Gemma 3 270M). an architecture implements [`Architecture`]; the driver here runs batches of positions through it, keeps the KV cache
//! in a [`State`] (allocated once: a pass allocates nothing per token after warm-up) and, when
//! asked, the residual stream at every layer boundary in a [`Trace`] (what the logit lens reads).

use half::f16;

use super::error::{Error, Result};
use super::files::gguf::Metadata;
use super::index::TensorIndex;

pub mod gemma3;
pub mod linear;
pub mod llama;
pub mod ops;

/// the largest head we run (attention keeps one head's query on the stack).
pub const MAX_HEAD_DIM: usize = 512;
/// positions processed together in prefill (weights are read once per batch).
pub const BATCH: usize = 16;

/// the sizes of a model, from its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub arch: String,
    pub n_layer: usize,
    /// d: the residual stream's width.
    pub d: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    /// dimensions of a head that RoPE rotates, its base and frequency scale.
    pub rope_dims: usize,
    pub rope_base: f32,
    pub rope_scale: f32,
    pub eps: f32,
    /// the context length the model was trained for.
    pub n_ctx: usize,
    pub n_vocab: usize,
}

impl Config {
    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }
    pub fn q_dim(&self) -> usize {
        self.n_head * self.head_dim
    }
}

/// reads `{arch}.{key}` as an integer, or says which key is missing.
pub(crate) fn meta_usize(m: &Metadata, arch: &str, key: &str) -> Result<usize> {
    let full = format!("{arch}.{key}");
    match m.get(&full) {
        None => Err(Error::NotFound(format!(
            "the model's metadata has no {full}"
        ))),
        Some(v) => v
            .as_u64()
            .and_then(|x| usize::try_from(x).ok())
            .ok_or_else(|| Error::Format(format!("{full} is {}, not a count", v.summary()))),
    }
}

/// the attention geometry every architecture reads the same way from `{arch}.*` (as
/// llama.cpp's `llama_model::load_hparams`): width, query and key/value heads (GQA: the
/// query heads must share the KV heads evenly), head size (`key_length`, default d / heads;
/// `value_length` must equal it), RoPE dimensions (default the head) and scaling.
pub(crate) struct Heads {
    pub d: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub rope_dims: usize,
    /// 1 / `rope.scaling.factor` (1 when absent).
    pub rope_scale: f32,
}

impl Heads {
    pub(crate) fn read(m: &Metadata, a: &str) -> Result<Heads> {
        let d = meta_usize(m, a, "embedding_length")?;
        let n_head = meta_usize(m, a, "attention.head_count")?;
        let optional = |key: &str, default: usize| -> Result<usize> {
            match m.get(&format!("{a}.{key}")) {
                None => Ok(default),
                Some(_) => meta_usize(m, a, key),
            }
        };
        let n_head_kv = optional("attention.head_count_kv", n_head)?;
        if n_head == 0 || n_head_kv == 0 || n_head % n_head_kv != 0 {
            return Err(Error::Shape(format!(
                "{n_head} query heads cannot share {n_head_kv} key/value heads"
            )));
        }
        let head_dim = match m.get(&format!("{a}.attention.key_length")) {
            None if d % n_head == 0 => d / n_head,
            None => {
                return Err(Error::Shape(format!(
                    "d = {d} is not a multiple of the {n_head} heads"
                )))
            }
            Some(_) => meta_usize(m, a, "attention.key_length")?,
        };
        if let Some(v) = m.get(&format!("{a}.attention.value_length")) {
            if v.as_u64() != Some(head_dim as u64) {
                return Err(Error::Unsupported(format!(
                    "value heads of {} and key heads of {head_dim}",
                    v.summary()
                )));
            }
        }
        let rope_dims = optional("rope.dimension_count", head_dim)?;
        if rope_dims > head_dim || rope_dims % 2 != 0 || head_dim > MAX_HEAD_DIM || head_dim == 0 {
            return Err(Error::Shape(format!(
                "RoPE over {rope_dims} dimensions of heads of {head_dim} (at most \
                 {MAX_HEAD_DIM}, even, and no more than the head)"
            )));
        }
        let rope_scale = match meta_f32(m, a, "rope.scaling.factor")? {
            Some(f) if f > 0.0 => 1.0 / f,
            Some(f) => return Err(Error::Invalid(format!("{a}.rope.scaling.factor is {f}"))),
            None => 1.0,
        };
        Ok(Heads {
            d,
            n_head,
            n_head_kv,
            head_dim,
            rope_dims,
            rope_scale,
        })
    }
}

/// reads `{arch}.{key}` as a number.
pub(crate) fn meta_f32(m: &Metadata, arch: &str, key: &str) -> Result<Option<f32>> {
    let full = format!("{arch}.{key}");
    match m.get(&full) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() => Ok(Some(x as f32)),
            _ => Err(Error::Format(format!(
                "{full} is {}, not a finite number",
                v.summary()
            ))),
        },
    }
}

/// how the weight products take their activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// f32 activations times the exactly dequantized weights, summed in f64: the pass's
    /// exact reference (slow).
    Exact,
    /// as llama.cpp's CPU path: the activations quantized to 8 bits for each block product
    /// (`quant::acts`, `quant::gemm`). the default.
    Quantized,
}

/// one architecture's layers.
pub trait Architecture: Send + Sync {
    fn config(&self) -> &Config;
    /// x⁰ for a token (its embedding row, scaled where the architecture scales it).
    fn embed(&self, file: &[u8], token: u32, x: &mut [f32]) -> Result<()>;
    /// runs layer ℓ on the batch's residuals `x` (n positions × d) in place; `mid` receives
    /// the residuals after attention, before the MLP. positions start at `state.pos`.
    fn layer(
        &self,
        l: usize,
        file: &[u8],
        state: &mut State,
        n: usize,
        x: &mut [f32],
    ) -> Result<()>;
    /// the final norm: the hidden state h that the unembedding reads, from a residual.
    fn final_norm(&self, x: &[f32], h: &mut [f32]);
    /// the output matrix as the file stores it (the embedding when tied).
    fn head(&self) -> &linear::Linear;
    /// c of a final logit soft-cap z ← c·tanh(z/c), when the model has one.
    fn softcap(&self) -> Option<f32> {
        None
    }
}

/// per-sequence state: the KV cache (f16, as llama.cpp's default cache) and scratch.
pub struct State {
    /// positions already in the cache.
    pub pos: usize,
    /// positions the cache can hold.
    pub capacity: usize,
    pub precision: Precision,
    /// per layer, per KV head: capacity × head_dim keys (after RoPE) and values.
    pub(crate) k: Vec<Vec<f16>>,
    pub(crate) v: Vec<Vec<f16>>,
    /// scratch, sized for a batch.
    pub(crate) buf: Scratch,
    /// residuals after attention of the batch being run (n × d), for the trace.
    pub(crate) mid: Vec<f32>,
    /// quantized activations, reused.
    pub(crate) acts: linear::ActCache,
}

#[derive(Default)]
pub(crate) struct Scratch {
    pub h: Vec<f32>,
    pub q: Vec<f32>,
    pub kk: Vec<f32>,
    pub vv: Vec<f32>,
    pub att: Vec<f32>,
    pub o: Vec<f32>,
    pub g: Vec<f32>,
    pub u: Vec<f32>,
    pub scores: Vec<f32>,
    pub rope: Vec<(f32, f32)>,
}

impl State {
    pub fn new(c: &Config, capacity: usize, precision: Precision) -> Self {
        let b = BATCH;
        State {
            pos: 0,
            capacity,
            precision,
            k: (0..c.n_layer)
                .map(|_| vec![f16::ZERO; capacity * c.kv_dim()])
                .collect(),
            v: (0..c.n_layer)
                .map(|_| vec![f16::ZERO; capacity * c.kv_dim()])
                .collect(),
            buf: Scratch {
                h: vec![0.0; b * c.d],
                q: vec![0.0; b * c.q_dim()],
                kk: vec![0.0; b * c.kv_dim()],
                vv: vec![0.0; b * c.kv_dim()],
                att: vec![0.0; b * c.q_dim()],
                o: vec![0.0; b * c.d],
                g: vec![0.0; b * c.n_ff],
                u: vec![0.0; b * c.n_ff],
                scores: vec![0.0; capacity],
                rope: vec![(0.0, 0.0); c.rope_dims / 2],
            },
            mid: vec![0.0; b * c.d],
            acts: linear::ActCache::default(),
        }
    }

    /// forgets the sequence (the cache is reused).
    pub fn reset(&mut self) {
        self.pos = 0;
    }
}

/// the residual stream of every position the pass ran: `resid(ℓ, t)` is the input of layer ℓ
/// at position t (ℓ = 0: the embedding; ℓ = n_layer: the last layer's output, before the final
/// norm), `mid(ℓ, t)` layer ℓ's residual after attention, before its MLP.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub n_layer: usize,
    pub d: usize,
    /// per position: (n_layer + 1)·d residuals, then n_layer·d mids.
    data: Vec<f32>,
}

impl Trace {
    pub fn new(c: &Config) -> Self {
        Trace {
            n_layer: c.n_layer,
            d: c.d,
            data: Vec::new(),
        }
    }
    fn stride(&self) -> usize {
        (2 * self.n_layer + 1) * self.d
    }
    pub fn positions(&self) -> usize {
        self.data.len() / self.stride().max(1)
    }
    pub fn resid(&self, l: usize, t: usize) -> &[f32] {
        let at = t * self.stride() + l * self.d;
        &self.data[at..at + self.d]
    }
    pub fn mid(&self, l: usize, t: usize) -> &[f32] {
        let at = t * self.stride() + (self.n_layer + 1 + l) * self.d;
        &self.data[at..at + self.d]
    }
    fn grow(&mut self, n: usize) -> usize {
        let first = self.positions();
        self.data.resize((first + n) * self.stride(), 0.0);
        first
    }
    fn set_resid(&mut self, l: usize, t: usize, x: &[f32]) {
        let at = t * self.stride() + l * self.d;
        self.data[at..at + self.d].copy_from_slice(x);
    }
    fn set_mid(&mut self, l: usize, t: usize, x: &[f32]) {
        let at = t * self.stride() + (self.n_layer + 1 + l) * self.d;
        self.data[at..at + self.d].copy_from_slice(x);
    }
    /// drops positions from `t` on.
    pub fn truncate(&mut self, t: usize) {
        let s = self.stride();
        self.data.truncate(t * s);
    }
}

/// a pass under way: the residuals of its positions between two layers.
pub struct Pass {
    x: Vec<f32>,
    pos0: usize,
    n: usize,
    /// the next layer to run.
    layer: usize,
    /// where its positions start in the trace.
    first: Option<usize>,
}

impl Pass {
    /// layers run so far.
    pub fn layers_done(&self) -> usize {
        self.layer
    }
}

/// a model ready to run: its architecture's layers over the file's bytes.
pub struct Transformer {
    arch: Box<dyn Architecture>,
    file: Vec<u8>,
}

impl Transformer {
    /// the pass of the model in `file` (the whole GGUF), whose header is `meta` and `index`.
    /// refuses architectures we do not run, missing tensors, shapes that disagree with the
    /// metadata and non-finite weights, naming what is wrong.
    pub fn new(meta: &Metadata, index: &TensorIndex, file: Vec<u8>) -> Result<Self> {
        let arch = meta.get_str("general.architecture").unwrap_or("");
        let arch: Box<dyn Architecture> = match arch {
            "llama" => Box::new(llama::Llama::new(meta, index, &file)?),
            "gemma3" => Box::new(gemma3::Gemma3::new(meta, index, &file)?),
            "" => {
                return Err(Error::NotFound(
                    "the model's metadata has no general.architecture".into(),
                ))
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "architecture {:?}: the forward pass runs llama and gemma3",
                    crate::core::vocab::escaped(other)
                )))
            }
        };
        Ok(Transformer { arch, file })
    }

    pub fn config(&self) -> &Config {
        self.arch.config()
    }

    /// a state for sequences of up to `capacity` positions.
    pub fn state(&self, capacity: usize, precision: Precision) -> State {
        State::new(self.config(), capacity, precision)
    }

    /// runs `tokens` after the positions already in `state`; keeps every position's
    /// residuals in `trace` when given; returns the final hidden state h (after the final
    /// norm) of the last position. the same as [`begin`](Self::begin), [`step`](Self::step)
    /// until it says done, then [`finish`](Self::finish).
    pub fn forward(
        &self,
        state: &mut State,
        tokens: &[u32],
        mut trace: Option<&mut Trace>,
    ) -> Result<Vec<f32>> {
        let mut pass = self.begin(state, tokens, trace.as_deref_mut())?;
        while self.step(state, &mut pass, trace.as_deref_mut())? {}
        self.finish(state, pass)
    }

    /// starts a pass of `tokens` after the positions in `state`: embeds them (row 0 of the
    /// trace). the pass then runs layer by layer over all its positions ([`step`](Self::step)),
    /// so a caller can show each layer as soon as it exists; the result is the same as running
    /// position by position (causal attention at layer ℓ reads only layer ℓ's keys and values
    /// of earlier positions).
    pub fn begin(
        &self,
        state: &mut State,
        tokens: &[u32],
        trace: Option<&mut Trace>,
    ) -> Result<Pass> {
        let c = self.config();
        let d = c.d;
        if tokens.is_empty() {
            return Err(Error::Invalid("no tokens to run".into()));
        }
        if state.pos + tokens.len() > state.capacity {
            return Err(Error::Invalid(format!(
                "{} positions do not fit the {} the state holds",
                state.pos + tokens.len(),
                state.capacity
            )));
        }
        let mut x = vec![0f32; tokens.len() * d];
        for (t, &tok) in tokens.iter().enumerate() {
            self.arch
                .embed(&self.file, tok, &mut x[t * d..(t + 1) * d])?;
        }
        let first = match trace {
            Some(tr) => {
                if tr.positions() != state.pos || tr.d != d || tr.n_layer != c.n_layer {
                    return Err(Error::Invalid(
                        "the trace does not belong to this state".into(),
                    ));
                }
                let f = tr.grow(tokens.len());
                for t in 0..tokens.len() {
                    tr.set_resid(0, f + t, &x[t * d..(t + 1) * d]);
                }
                Some(f)
            }
            None => None,
        };
        Ok(Pass {
            x,
            pos0: state.pos,
            n: tokens.len(),
            layer: 0,
            first,
        })
    }

    /// runs the pass's next layer over all its positions (in batches of [`BATCH`]); returns
    /// whether layers remain.
    pub fn step(
        &self,
        state: &mut State,
        pass: &mut Pass,
        mut trace: Option<&mut Trace>,
    ) -> Result<bool> {
        let c = self.config();
        let d = c.d;
        let l = pass.layer;
        if l >= c.n_layer {
            return Ok(false);
        }
        for start in (0..pass.n).step_by(BATCH) {
            let n = BATCH.min(pass.n - start);
            state.pos = pass.pos0 + start;
            let x = &mut pass.x[start * d..(start + n) * d];
            let run = self.arch.layer(l, &self.file, state, n, x);
            state.pos = pass.pos0;
            run?;
            if let (Some(tr), Some(f)) = (trace.as_deref_mut(), pass.first) {
                for t in 0..n {
                    tr.set_mid(l, f + start + t, &state.mid[t * d..(t + 1) * d]);
                    tr.set_resid(l + 1, f + start + t, &x[t * d..(t + 1) * d]);
                }
            }
        }
        pass.layer += 1;
        Ok(pass.layer < c.n_layer)
    }

    /// ends a pass whose layers all ran: its positions join the state, and h of the last
    /// position (after the final norm) is returned.
    pub fn finish(&self, state: &mut State, pass: Pass) -> Result<Vec<f32>> {
        let c = self.config();
        if pass.layer < c.n_layer {
            return Err(Error::Invalid(format!(
                "the pass ran {} of {} layers",
                pass.layer, c.n_layer
            )));
        }
        state.pos = pass.pos0 + pass.n;
        let d = c.d;
        let mut h = vec![0f32; d];
        self.arch
            .final_norm(&pass.x[(pass.n - 1) * d..pass.n * d], &mut h);
        Ok(h)
    }

    /// runs layer ℓ alone on residuals `x` (n positions × d) whose positions start at
    /// `state.pos` (tests check the trace with it).
    pub fn layer(&self, l: usize, state: &mut State, n: usize, x: &mut [f32]) -> Result<()> {
        if l >= self.config().n_layer || x.len() != n * self.config().d || n > BATCH {
            return Err(Error::Invalid(format!("layer {l} on {n} positions")));
        }
        self.arch.layer(l, &self.file, state, n, x)
    }

    /// the logits of h as llama.cpp computes them: h quantized to the head's activation format
    /// and the output matrix's block product (the readout instead multiplies h exactly; the
    /// two differ by that quantization, which the comparison with llama.cpp has to allow for).
    pub fn head_logits(&self, h: &[f32], precision: Precision) -> Result<Vec<f32>> {
        let head = self.arch.head();
        let mut cache = linear::ActCache::default();
        let mut input = linear::Input::new(h, 1, precision, &mut cache);
        let mut z = vec![0f32; head.rows];
        head.apply(&self.file, &mut input, &mut z)?;
        if let Some(c) = self.arch.softcap() {
            // llama.cpp: ggml_scale(1/c), ggml_tanh, ggml_scale(c), each in f32.
            let inv = 1.0 / c;
            for v in z.iter_mut() {
                *v = (((*v * inv) as f64).tanh() as f32) * c;
            }
        }
        Ok(z)
    }

    /// the final norm of a residual (the lens reads every layer through it).
    pub fn final_norm(&self, x: &[f32], h: &mut [f32]) {
        self.arch.final_norm(x, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fixtures::tiny_llama_bytes;
    use crate::core::plan::read_header;
    use crate::core::source::SliceSource;

    fn tiny() -> Transformer {
        let bytes = tiny_llama_bytes(3);
        let f = read_header(&SliceSource::whole(&bytes)).unwrap();
        Transformer::new(&f.metadata, &f.index, bytes).unwrap()
    }

    #[test]
    fn quantized_activations_stay_near_the_exact_pass() {
        let t = tiny();
        let toks = [3u32, 17, 5, 5, 39, 0, 12];
        let mut e = t.state(16, Precision::Exact);
        let he = t.forward(&mut e, &toks, None).unwrap();
        let mut q = t.state(16, Precision::Quantized);
        let hq = t.forward(&mut q, &toks, None).unwrap();
        let diff = he
            .iter()
            .zip(&hq)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        let scale = he.iter().map(|a| a.abs()).fold(0f32, f32::max);
        // 8-bit activations: close, not equal.
        assert!(diff > 0.0 && diff < 0.05 * scale, "{diff} of {scale}");
    }

    #[test]
    fn one_batch_or_token_by_token_give_the_same_state() {
        for p in [Precision::Exact, Precision::Quantized] {
            same_state(p);
        }
    }

    fn same_state(precision: Precision) {
        let t = tiny();
        let toks = [3u32, 17, 5, 5, 39, 0, 12];
        let mut a = t.state(16, precision);
        let mut ta = Trace::new(t.config());
        let ha = t.forward(&mut a, &toks, Some(&mut ta)).unwrap();
        let mut b = t.state(16, precision);
        let mut tb = Trace::new(t.config());
        let mut hb = Vec::new();
        for &tok in &toks {
            hb = t.forward(&mut b, &[tok], Some(&mut tb)).unwrap();
        }
        assert_eq!(ha, hb);
        assert_eq!(ta.positions(), 7);
        for l in 0..=t.config().n_layer {
            for p in 0..7 {
                assert_eq!(ta.resid(l, p), tb.resid(l, p), "layer {l} position {p}");
            }
        }
    }

    #[test]
    fn the_trace_holds_each_layers_input() {
        // applying layer ℓ to the trace's row ℓ gives its row ℓ + 1, bit for bit: row ℓ is
        // exactly what fed layer ℓ (and so what the lens reads for layer ℓ − 1's output).
        let t = tiny();
        let toks = [1u32, 2, 3, 9, 27];
        let mut st = t.state(8, Precision::Exact);
        let mut tr = Trace::new(t.config());
        t.forward(&mut st, &toks, Some(&mut tr)).unwrap();
        let d = t.config().d;
        for l in 0..t.config().n_layer {
            let mut x: Vec<f32> = (0..5).flat_map(|p| tr.resid(l, p).to_vec()).collect();
            let mut fresh = t.state(8, Precision::Exact);
            t.layer(l, &mut fresh, 5, &mut x).unwrap();
            for p in 0..5 {
                assert_eq!(
                    &x[p * d..(p + 1) * d],
                    tr.resid(l + 1, p),
                    "layer {l} position {p}"
                );
                assert_eq!(&fresh.mid[p * d..(p + 1) * d], tr.mid(l, p));
            }
        }
        // and the final norm of the last row is the pass's own h.
        let mut h = vec![0f32; d];
        t.final_norm(tr.resid(t.config().n_layer, 4), &mut h);
        let mut again = t.state(8, Precision::Exact);
        assert_eq!(t.forward(&mut again, &toks, None).unwrap(), h);
    }

    #[test]
    fn bad_models_are_named() {
        use crate::core::files::gguf::Value;
        let bytes = tiny_llama_bytes(1);
        let f = read_header(&SliceSource::whole(&bytes)).unwrap();
        let err = |m: &Metadata| {
            Transformer::new(m, &f.index, bytes.clone())
                .err()
                .unwrap()
                .to_string()
        };
        let with = |k: &str, v: Value| {
            let mut m = f.metadata.clone();
            m.0.retain(|(key, _)| key != k);
            m.0.push((k.to_string(), v));
            m
        };
        assert!(
            err(&with("general.architecture", Value::Str("mamba".into()))).contains("\"mamba\"")
        );
        assert!(err(&with("llama.attention.head_count_kv", Value::U32(3))).contains("cannot share"));
        assert!(err(&with("llama.rope.dimension_count", Value::U32(32))).contains("RoPE over 32"));
        assert!(err(&with("llama.block_count", Value::U32(3))).contains("blk.2.attn_norm.weight"));
        assert!(err(&with("llama.embedding_length", Value::U32(96))).contains("shape"));
        let mut m = f.metadata.clone();
        m.0.retain(|(k, _)| k != "llama.attention.layer_norm_rms_epsilon");
        assert!(err(&m).contains("layer_norm_rms_epsilon"));
        // a NaN scale in a weight.
        let idx = f.index.get("blk.1.ffn_up.weight").unwrap().offset as usize;
        let mut bad = bytes.clone();
        bad[idx + 20 * 7..idx + 20 * 7 + 2].copy_from_slice(&0x7e00u16.to_le_bytes());
        let e = Transformer::new(&f.metadata, &f.index, bad)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("blk.1.ffn_up.weight") && e.contains("non-finite"),
            "{e}"
        );
    }
}
