//! the gemma3 architecture (Gemma 3: 270M, 1B, 4B, …), as llama.cpp builds its graph
//! (src/models/gemma3.cpp, `llama_model_gemma3::graph<iswa>`; hyper-parameters from its
//! `load_arch_hparams`):
//!
//!   x⁰ = E[token]·√d                                 (get_rows, then ggml_scale by sqrtf(d) in f32)
//!   for each layer ℓ:
//!     h  = RMSNorm(x)·attn_norm
//!     q, k, v = W_q·h, W_k·h, W_v·h
//!     q_i = RMSNorm(q_i)·attn_q_norm, k_j = RMSNorm(k_j)·attn_k_norm   (per head, over head_dim)
//!     q, k rotated by RoPE (NEOX pairing: (k, k + dims/2)) with the layer's base
//!     q ← q·attention_scale                           (ggml_scale before attention; kq_scale 1)
//!     a  = attention(q, k, v): query head i reads KV head i / (n_head / n_head_kv); on a local
//!          (sliding-window) layer the query at p sees keys p − window + 1 ..= p, on a global
//!          layer 0 ..= p
//!     y  = x + RMSNorm(W_o·a)·post_attention_norm      (the "mid" residual)
//!     x' = y + RMSNorm(W_down·(gelu(W_gate·g) ⊙ W_up·g))·post_ffw_norm,  g = RMSNorm(y)·ffn_norm
//!   h = RMSNorm(x^L)·output_norm ;  z = E·h (tied, or output.weight), then c·tanh(z/c) when
//!   the file has a final logit soft-cap c
//!
//! every norm weight is used as stored: the converter (`Gemma3Model.modify_tensors`) already
//! added Gemma's +1 to each `*norm.weight`. gelu is the tanh approximation looked up as llama.cpp's
//! CPU does it ([`GeluTable`]).
//!
//! hyper-parameters, all from the metadata (`gemma3.*`): `block_count`, `embedding_length`,
//! `feed_forward_length`, `attention.head_count`, `attention.head_count_kv` (default the heads),
//! `attention.key_length` / `value_length` (default d / n_head; they must agree),
//! `rope.dimension_count` (default the head size), `attention.layer_norm_rms_epsilon`
//! (required), `context_length`, `rope.freq_base` (global layers, default 10000) and
//! `rope.scaling.factor` (global layers, default 1), `rope.freq_base_swa` (local layers,
//! default 10000, llama.cpp's `rope_freq_base_train_swa`; local layers never scale), and
//! `attention.sliding_window` (absent or 0: no local layers, as llama.cpp's `LLAMA_SWA_TYPE_NONE`)
//! with `attention.sliding_window_pattern`: an array of one bool per layer (true = local) or a
//! number n (default 6): layer ℓ is local when ℓ mod n < n − 1 (`set_swa_pattern`, dense_first =
//! false; n = 0 makes every layer local), so Gemma 3 270M's layers 5, 11 and 17 are global.
//! `final_logit_softcapping` when present. the attention scale is 1/√head_dim, or 1/√(d/n_head)
//! for the 62-layer 27B as llama.cpp decides by the layer count; for the 270M 1/√256 = 1/16.
//!
//! the soft-cap, when a file has one, is applied to the head's logits ([`Transformer::
//! head_logits`](super::Transformer::head_logits)); the explorer's readout (the lens) reads
//! z = E·h without it (Gemma 3 has none).

use super::linear::{vector, Input, Linear};
use super::ops::{attend, rms_norm, rms_norm_in_place, rope_cache, rope_neox, to_f16, GeluTable};
use super::{meta_f32, meta_usize, Architecture, Config, Heads, State};
use crate::core::error::{Error, Result};
use crate::core::files::gguf::{Metadata, Value};
use crate::core::index::TensorIndex;
use crate::core::names::{self, blk};

struct Layer {
    attn_norm: Vec<f32>,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    q_norm: Vec<f32>,
    k_norm: Vec<f32>,
    wo: Linear,
    post_attn_norm: Vec<f32>,
    ffn_norm: Vec<f32>,
    gate: Linear,
    up: Linear,
    down: Linear,
    post_ffn_norm: Vec<f32>,
    /// a sliding-window (local) layer.
    local: bool,
    /// its RoPE base and frequency scale.
    rope_base: f32,
    rope_scale: f32,
}

/// a gemma3 model's weights (views into the file) and sizes.
pub struct Gemma3 {
    config: Config,
    embd: Linear,
    /// output.weight, or the embedding when tied (Gemma 3 is).
    head: Linear,
    layers: Vec<Layer>,
    output_norm: Vec<f32>,
    /// √d in f32, the embedding's scale.
    embd_scale: f32,
    /// what q is multiplied by before attention.
    attn_scale: f32,
    /// the sliding window of local layers (positions a query sees, itself included).
    window: usize,
    softcap: Option<f32>,
    gelu: GeluTable,
}

/// which layers are local, from `gemma3.attention.sliding_window_pattern`.
fn swa_pattern(m: &Metadata, n_layer: usize) -> Result<Vec<bool>> {
    let key = "gemma3.attention.sliding_window_pattern";
    let n = match m.get(key) {
        None => 6,
        Some(Value::Array(7, items)) => {
            if items.len() != n_layer {
                return Err(Error::Shape(format!(
                    "{key} has {} entries for {n_layer} layers",
                    items.len()
                )));
            }
            return Ok(items
                .iter()
                .map(|v| matches!(v, Value::Bool(true)))
                .collect());
        }
        Some(v) => v.as_u64().ok_or_else(|| {
            Error::Format(format!(
                "{key} is {}: an array of one bool per layer or a number",
                v.summary()
            ))
        })?,
    };
    Ok((0..n_layer as u64)
        .map(|l| n == 0 || l % n < n - 1)
        .collect())
}

impl Gemma3 {
    pub fn new(m: &Metadata, index: &TensorIndex, file: &[u8]) -> Result<Self> {
        let a = "gemma3";
        let Heads {
            d,
            n_head,
            n_head_kv,
            head_dim,
            rope_dims,
            rope_scale,
        } = Heads::read(m, a)?;
        let n_layer = meta_usize(m, a, "block_count")?;
        let positive = |key: &str, default: f32| -> Result<f32> {
            match meta_f32(m, a, key)? {
                None => Ok(default),
                Some(b) if b > 0.0 => Ok(b),
                Some(b) => Err(Error::Invalid(format!("gemma3.{key} is {b}"))),
            }
        };
        let base_global = positive("rope.freq_base", 10000.0)?;
        let base_local = positive("rope.freq_base_swa", 10000.0)?;
        let eps = meta_f32(m, a, "attention.layer_norm_rms_epsilon")?.ok_or_else(|| {
            Error::NotFound(
                "the model's metadata has no gemma3.attention.layer_norm_rms_epsilon".into(),
            )
        })?;
        if eps < 0.0 {
            return Err(Error::Invalid(format!(
                "gemma3.attention.layer_norm_rms_epsilon is {eps}"
            )));
        }
        let window = match m.get("gemma3.attention.sliding_window") {
            None => 0,
            Some(_) => meta_usize(m, a, "attention.sliding_window")?,
        };
        let local: Vec<bool> = if window > 0 {
            swa_pattern(m, n_layer)?
        } else {
            vec![false; n_layer]
        };
        // absent or 0: none (llama.cpp tests the value for non-zero).
        let softcap = match meta_f32(m, a, "final_logit_softcapping")? {
            Some(c) if c < 0.0 => {
                return Err(Error::Invalid(format!(
                    "gemma3.final_logit_softcapping is {c}"
                )))
            }
            Some(c) if c > 0.0 => Some(c),
            _ => None,
        };
        let n_vocab = index
            .matrix(names::TOKEN_EMBD)?
            .map(|t| t.rows as usize)
            .unwrap_or(0);
        let config = Config {
            arch: a.into(),
            n_layer,
            d,
            n_ff: meta_usize(m, a, "feed_forward_length")?,
            n_head,
            n_head_kv,
            head_dim,
            rope_dims,
            rope_base: base_global,
            rope_scale,
            eps,
            n_ctx: meta_usize(m, a, "context_length")?,
            n_vocab,
        };
        if config.n_layer == 0 || config.n_ff == 0 || d == 0 {
            return Err(Error::Shape(format!(
                "{} layers of width {d} with an MLP of {}",
                config.n_layer, config.n_ff
            )));
        }
        let c = &config;
        let embd = Linear::from_index(index, names::TOKEN_EMBD, d, n_vocab)?;
        let head = match index.get(names::OUTPUT) {
            Some(_) => {
                let rows = index.matrix(names::OUTPUT)?.map_or(0, |m| m.rows as usize);
                Linear::from_index(index, names::OUTPUT, d, rows)?
            }
            None => embd.clone(),
        };
        let mut scratch = Vec::new();
        let mut layers = Vec::with_capacity(n_layer);
        for (l, &local) in local.iter().enumerate() {
            let lin = |what: &str, k: usize, rows: usize| {
                Linear::from_index(index, &blk(l, what), k, rows)
            };
            let norm = |what: &str, n: usize| vector(index, file, &blk(l, what), n);
            let layer = Layer {
                attn_norm: norm("attn_norm", d)?,
                wq: lin("attn_q", d, c.q_dim())?,
                wk: lin("attn_k", d, c.kv_dim())?,
                wv: lin("attn_v", d, c.kv_dim())?,
                q_norm: norm("attn_q_norm", head_dim)?,
                k_norm: norm("attn_k_norm", head_dim)?,
                wo: lin("attn_output", c.q_dim(), d)?,
                post_attn_norm: norm("post_attention_norm", d)?,
                ffn_norm: norm("ffn_norm", d)?,
                gate: lin("ffn_gate", d, c.n_ff)?,
                up: lin("ffn_up", d, c.n_ff)?,
                down: lin("ffn_down", c.n_ff, d)?,
                post_ffn_norm: norm("post_ffw_norm", d)?,
                local,
                rope_base: if local { base_local } else { base_global },
                rope_scale: if local { 1.0 } else { rope_scale },
            };
            for w in [
                &layer.wq,
                &layer.wk,
                &layer.wv,
                &layer.wo,
                &layer.gate,
                &layer.up,
                &layer.down,
            ] {
                w.check_finite(file, &mut scratch)?;
            }
            layers.push(layer);
        }
        // llama.cpp (`load_arch_hparams`): the 27B (62 layers) scales by 1/√(d/n_head), the
        // others by 1/√head_dim; sqrt in f32.
        let attn_scale = if n_layer == 62 {
            1.0 / ((d / n_head) as f32).sqrt()
        } else {
            1.0 / (head_dim as f32).sqrt()
        };
        Ok(Gemma3 {
            output_norm: vector(index, file, names::OUTPUT_NORM, d)?,
            embd_scale: (d as f32).sqrt(),
            attn_scale,
            window,
            softcap,
            gelu: GeluTable::new(),
            config,
            embd,
            head,
            layers,
        })
    }

    /// whether layer ℓ attends over the sliding window only.
    pub fn is_local(&self, l: usize) -> bool {
        self.layers.get(l).is_some_and(|ly| ly.local)
    }
}

impl Architecture for Gemma3 {
    fn config(&self) -> &Config {
        &self.config
    }

    fn embed(&self, file: &[u8], token: u32, x: &mut [f32]) -> Result<()> {
        let t = token as usize;
        if t >= self.embd.rows {
            return Err(Error::NotFound(format!(
                "token {t} is outside the vocabulary of {}",
                self.embd.rows
            )));
        }
        self.embd.ty.dequantize_row(self.embd.row(file, t), x)?;
        for v in x.iter_mut() {
            *v *= self.embd_scale;
        }
        Ok(())
    }

    fn layer(&self, l: usize, file: &[u8], st: &mut State, n: usize, x: &mut [f32]) -> Result<()> {
        let c = &self.config;
        let (d, qd, kvd, hd) = (c.d, c.q_dim(), c.kv_dim(), c.head_dim);
        let ly = &self.layers[l];
        let prec = st.precision;
        let b = &mut st.buf;
        for t in 0..n {
            rms_norm(
                &x[t * d..(t + 1) * d],
                &ly.attn_norm,
                c.eps,
                &mut b.h[t * d..(t + 1) * d],
            );
        }
        let mut input = Input::new(&b.h[..n * d], n, prec, &mut st.acts);
        ly.wq.apply(file, &mut input, &mut b.q[..n * qd])?;
        ly.wk.apply(file, &mut input, &mut b.kk[..n * kvd])?;
        ly.wv.apply(file, &mut input, &mut b.vv[..n * kvd])?;
        let group = c.n_head / c.n_head_kv;
        let cap = st.capacity;
        for t in 0..n {
            let pos = st.pos + t;
            rope_cache(pos, c.rope_dims, ly.rope_base, ly.rope_scale, &mut b.rope);
            for q in b.q[t * qd..(t + 1) * qd].chunks_exact_mut(hd) {
                rms_norm_in_place(q, &ly.q_norm, c.eps);
                rope_neox(&mut q[..c.rope_dims], &b.rope);
                for v in q.iter_mut() {
                    *v *= self.attn_scale;
                }
            }
            for (kvh, k) in b.kk[t * kvd..(t + 1) * kvd]
                .chunks_exact_mut(hd)
                .enumerate()
            {
                rms_norm_in_place(k, &ly.k_norm, c.eps);
                rope_neox(&mut k[..c.rope_dims], &b.rope);
                let at = (kvh * cap + pos) * hd;
                to_f16(k, &mut st.k[l][at..at + hd]);
                to_f16(
                    &b.vv[t * kvd + kvh * hd..t * kvd + (kvh + 1) * hd],
                    &mut st.v[l][at..at + hd],
                );
            }
        }
        // attention: query head i of position p over KV head i / group's cached positions
        // lo..=p, lo = p − window + 1 on a local layer (llama.cpp's `is_masked_swa`, STANDARD:
        // a key p0 is masked when p − p0 ≥ window), 0 on a global one. masked keys add exactly
        // nothing in llama.cpp (−∞ scores), so leaving them out is the same attention.
        for t in 0..n {
            let pos = st.pos + t;
            let lo = if ly.local {
                (pos + 1).saturating_sub(self.window)
            } else {
                0
            };
            for i in 0..c.n_head {
                let base = (i / group) * cap * hd;
                let q = &b.q[t * qd + i * hd..t * qd + (i + 1) * hd];
                let out = &mut b.att[t * qd + i * hd..t * qd + (i + 1) * hd];
                attend(
                    q,
                    &st.k[l][base + lo * hd..base + (pos + 1) * hd],
                    &st.v[l][base + lo * hd..base + (pos + 1) * hd],
                    pos + 1 - lo,
                    1.0,
                    &mut b.scores,
                    out,
                );
            }
        }
        let mut input = Input::new(&b.att[..n * qd], n, prec, &mut st.acts);
        ly.wo.apply(file, &mut input, &mut b.o[..n * d])?;
        for t in 0..n {
            let r = t * d..(t + 1) * d;
            rms_norm(
                &b.o[r.clone()],
                &ly.post_attn_norm,
                c.eps,
                &mut b.h[r.clone()],
            );
            for (x, &a) in x[r.clone()].iter_mut().zip(&b.h[r]) {
                *x += a;
            }
        }
        st.mid[..n * d].copy_from_slice(&x[..n * d]);
        for t in 0..n {
            rms_norm(
                &x[t * d..(t + 1) * d],
                &ly.ffn_norm,
                c.eps,
                &mut b.h[t * d..(t + 1) * d],
            );
        }
        let f = c.n_ff;
        let mut input = Input::new(&b.h[..n * d], n, prec, &mut st.acts);
        ly.gate.apply(file, &mut input, &mut b.g[..n * f])?;
        ly.up.apply(file, &mut input, &mut b.u[..n * f])?;
        self.gelu.geglu(&mut b.g[..n * f], &b.u[..n * f]);
        let mut input = Input::new(&b.g[..n * f], n, prec, &mut st.acts);
        ly.down.apply(file, &mut input, &mut b.o[..n * d])?;
        for t in 0..n {
            let r = t * d..(t + 1) * d;
            rms_norm(
                &b.o[r.clone()],
                &ly.post_ffn_norm,
                c.eps,
                &mut b.h[r.clone()],
            );
            for (x, &a) in x[r.clone()].iter_mut().zip(&b.h[r]) {
                *x += a;
            }
        }
        Ok(())
    }

    fn final_norm(&self, x: &[f32], h: &mut [f32]) {
        rms_norm(x, &self.output_norm, self.config.eps, h);
    }

    fn head(&self) -> &Linear {
        &self.head
    }

    fn softcap(&self) -> Option<f32> {
        self.softcap
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Precision, Trace, Transformer};
    use super::*;
    use crate::core::fixtures::{tiny_gemma3_builder, tiny_gemma3_bytes, TINY_GEMMA3};
    use crate::core::plan::read_header;
    use crate::core::source::SliceSource;

    fn load(bytes: Vec<u8>) -> Result<Transformer> {
        let f = read_header(&SliceSource::whole(&bytes))?;
        Transformer::new(&f.metadata, &f.index, bytes)
    }

    /// the tiny model with metadata keys replaced (None removes one).
    fn with(changes: &[(&str, Option<Value>)]) -> Result<Transformer> {
        let bytes = tiny_gemma3_bytes(5);
        let f = read_header(&SliceSource::whole(&bytes))?;
        let mut m = f.metadata.clone();
        for (key, v) in changes {
            m.0.retain(|(k, _)| k != key);
            if let Some(v) = v {
                m.0.push((key.to_string(), v.clone()));
            }
        }
        Transformer::new(&m, &f.index, bytes)
    }

    fn local_layers(changes: &[(&str, Option<Value>)]) -> Vec<bool> {
        let bytes = tiny_gemma3_bytes(5);
        let f = read_header(&SliceSource::whole(&bytes)).unwrap();
        let mut m = f.metadata.clone();
        for (key, v) in changes {
            m.0.retain(|(k, _)| k != key);
            if let Some(v) = v {
                m.0.push((key.to_string(), v.clone()));
            }
        }
        let g = Gemma3::new(&m, &f.index, &bytes).unwrap();
        (0..g.config.n_layer).map(|l| g.is_local(l)).collect()
    }

    const TOKS: [u32; 9] = [2, 270, 280, 9, 100, 271, 5, 288, 271];

    #[test]
    fn batch_or_token_by_token_give_the_same_state() {
        for p in [Precision::Exact, Precision::Quantized] {
            let t = load(tiny_gemma3_bytes(3)).unwrap();
            let mut a = t.state(16, p);
            let mut ta = Trace::new(t.config());
            let ha = t.forward(&mut a, &TOKS, Some(&mut ta)).unwrap();
            let mut b = t.state(16, p);
            let mut tb = Trace::new(t.config());
            let mut hb = Vec::new();
            for &tok in &TOKS {
                hb = t.forward(&mut b, &[tok], Some(&mut tb)).unwrap();
            }
            assert_eq!(ha, hb, "{p:?}");
            for l in 0..=t.config().n_layer {
                for pos in 0..TOKS.len() {
                    assert_eq!(
                        ta.resid(l, pos),
                        tb.resid(l, pos),
                        "{p:?} layer {l} position {pos}"
                    );
                }
            }
            assert!(ha.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn quantized_activations_stay_near_the_exact_pass() {
        let t = load(tiny_gemma3_bytes(3)).unwrap();
        let mut e = t.state(16, Precision::Exact);
        let he = t.forward(&mut e, &TOKS, None).unwrap();
        let mut q = t.state(16, Precision::Quantized);
        let hq = t.forward(&mut q, &TOKS, None).unwrap();
        let diff = he
            .iter()
            .zip(&hq)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        let scale = he.iter().map(|a| a.abs()).fold(0f32, f32::max);
        assert!(diff > 0.0 && diff < 0.1 * scale, "{diff} of {scale}");
    }

    /// the architecture written out plainly in f64 from the dequantized tensors: no f16 KV
    /// cache, no f16 query or weights, gelu from the formula, RoPE angles p·base^(−2k/dims).
    fn reference(bytes: &[u8], toks: &[u32]) -> Vec<f64> {
        let f = read_header(&SliceSource::whole(bytes)).unwrap();
        let (n_layer, d, n_head, n_kv, hd, n_ff) = TINY_GEMMA3;
        let mat = |name: &str| -> (Vec<f64>, usize, usize) {
            let m = f.index.matrix(name).unwrap().unwrap();
            let (rows, cols) = (m.rows as usize, m.cols as usize);
            let raw = &bytes[m.offset as usize..(m.offset + m.nbytes) as usize];
            let rb = raw.len() / rows;
            let mut out = vec![0f32; rows * cols];
            for r in 0..rows {
                m.ty.dequantize_row(
                    &raw[r * rb..(r + 1) * rb],
                    &mut out[r * cols..(r + 1) * cols],
                )
                .unwrap();
            }
            (out.into_iter().map(f64::from).collect(), rows, cols)
        };
        let mv = |w: &(Vec<f64>, usize, usize), x: &[f64]| -> Vec<f64> {
            (0..w.1)
                .map(|r| (0..w.2).map(|c| w.0[r * w.2 + c] * x[c]).sum())
                .collect()
        };
        let norm = |x: &[f64], w: &[f64]| -> Vec<f64> {
            let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
            let s = 1.0 / (ms + 1e-6f32 as f64).sqrt();
            x.iter().zip(w).map(|(a, b)| a * s * b).collect()
        };
        let rope = |x: &mut [f64], p: usize, base: f64| {
            let half = x.len() / 2;
            for k in 0..half {
                let th = p as f64 * base.powf(-2.0 * k as f64 / x.len() as f64);
                let (a, b) = (x[k], x[k + half]);
                x[k] = a * th.cos() - b * th.sin();
                x[k + half] = a * th.sin() + b * th.cos();
            }
        };
        let gelu = |x: f64| {
            0.5 * x
                * (1.0
                    + ((2.0 / std::f64::consts::PI).sqrt() * x * (1.0 + 0.044715 * x * x)).tanh())
        };
        let e = mat(names::TOKEN_EMBD);
        let mut xs: Vec<Vec<f64>> = toks
            .iter()
            .map(|&t| {
                e.0[t as usize * d..(t as usize + 1) * d]
                    .iter()
                    .map(|v| v * (d as f64).sqrt())
                    .collect()
            })
            .collect();
        let n = toks.len();
        for l in 0..n_layer {
            let w = |what: &str| mat(&blk(l, what));
            let v1 = |what: &str| w(what).0;
            let local = l % 2 == 0;
            let base = if local { 1e4 } else { 1e6 };
            let (wq, wk, wv, wo) = (w("attn_q"), w("attn_k"), w("attn_v"), w("attn_output"));
            let (qn, kn) = (v1("attn_q_norm"), v1("attn_k_norm"));
            let mut qs = Vec::new();
            let mut ks = Vec::new();
            let mut vs = Vec::new();
            for (p, x) in xs.iter().enumerate() {
                let h = norm(x, &v1("attn_norm"));
                let mut q = mv(&wq, &h);
                let mut k = mv(&wk, &h);
                for head in q.chunks_mut(hd) {
                    let r = norm(head, &qn);
                    head.copy_from_slice(&r);
                    rope(head, p, base);
                    head.iter_mut().for_each(|v| *v /= (hd as f64).sqrt());
                }
                for head in k.chunks_mut(hd) {
                    let r = norm(head, &kn);
                    head.copy_from_slice(&r);
                    rope(head, p, base);
                }
                qs.push(q);
                ks.push(k);
                vs.push(mv(&wv, &h));
            }
            let mut next = Vec::new();
            for p in 0..n {
                let lo = if local { (p + 1).saturating_sub(3) } else { 0 };
                let mut a = vec![0f64; n_head * hd];
                for i in 0..n_head {
                    let kv = i / (n_head / n_kv);
                    let q = &qs[p][i * hd..(i + 1) * hd];
                    let s: Vec<f64> = (lo..=p)
                        .map(|j| {
                            q.iter()
                                .zip(&ks[j][kv * hd..(kv + 1) * hd])
                                .map(|(a, b)| a * b)
                                .sum()
                        })
                        .collect();
                    let m = s.iter().cloned().fold(f64::MIN, f64::max);
                    let z: f64 = s.iter().map(|v| (v - m).exp()).sum();
                    for (jj, j) in (lo..=p).enumerate() {
                        let pr = (s[jj] - m).exp() / z;
                        for c in 0..hd {
                            a[i * hd + c] += pr * vs[j][kv * hd + c];
                        }
                    }
                }
                let o = norm(&mv(&wo, &a), &v1("post_attention_norm"));
                let y: Vec<f64> = xs[p].iter().zip(&o).map(|(a, b)| a + b).collect();
                let g = norm(&y, &v1("ffn_norm"));
                let gate = mv(&w("ffn_gate"), &g);
                let up = mv(&w("ffn_up"), &g);
                let act: Vec<f64> = gate.iter().zip(&up).map(|(a, b)| gelu(*a) * b).collect();
                assert_eq!(act.len(), n_ff);
                let f = norm(&mv(&w("ffn_down"), &act), &v1("post_ffw_norm"));
                next.push(y.iter().zip(&f).map(|(a, b)| a + b).collect());
            }
            xs = next;
        }
        norm(&xs[n - 1], &mat(names::OUTPUT_NORM).0)
    }

    #[test]
    fn the_pass_is_the_architecture() {
        // the exact pass against the plain f64 formulas: they differ only by the f16 roundings
        // llama.cpp makes (K, V, the query and the attention weights in the cache's dot
        // products; gelu's input and output) and f32 arithmetic, far below what a wrong norm,
        // scale, pairing, window or base would do (each moves h by O(1)).
        let bytes = tiny_gemma3_bytes(11);
        let want = reference(&bytes, &TOKS);
        let t = load(bytes).unwrap();
        let mut st = t.state(16, Precision::Exact);
        let got = t.forward(&mut st, &TOKS, None).unwrap();
        let scale = want.iter().map(|v| v.abs()).fold(0f64, f64::max);
        let diff = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (*a as f64 - b).abs())
            .fold(0f64, f64::max);
        assert!(diff < 2e-3 * scale, "max |Δh| {diff} of {scale}");
        eprintln!("exact pass vs the f64 formulas: max |Δh| {diff:.3e} of max |h| {scale:.3}");
    }

    #[test]
    fn local_layers_see_only_the_window() {
        // every layer local (pattern 0) with a window of 2: after 4 layers position p has read
        // positions p − 4 ..= p and nothing before.
        let changes = [
            ("gemma3.attention.sliding_window", Some(Value::U32(2))),
            (
                "gemma3.attention.sliding_window_pattern",
                Some(Value::U32(0)),
            ),
        ];
        let t = with(&changes).unwrap();
        let run = |toks: &[u32]| {
            let mut st = t.state(16, Precision::Quantized);
            t.forward(&mut st, toks, None).unwrap()
        };
        let a = run(&TOKS);
        let mut other = TOKS;
        other[3] = 17; // position 3 = 8 − 5: out of reach of position 8
        assert_eq!(a, run(&other));
        other[4] = 17; // position 4 is within reach
        assert_ne!(a, run(&other));
        // with a window of 512 (no position is ever out of it) the same tokens read differently.
        let wide = with(&[("gemma3.attention.sliding_window", Some(Value::U32(512)))]).unwrap();
        let mut st = wide.state(16, Precision::Quantized);
        let mut stn = t.state(16, Precision::Quantized);
        assert_ne!(
            wide.forward(&mut st, &TOKS, None).unwrap(),
            t.forward(&mut stn, &TOKS, None).unwrap()
        );
    }

    #[test]
    fn the_layer_pattern_comes_from_the_metadata() {
        let p = "gemma3.attention.sliding_window_pattern";
        assert_eq!(local_layers(&[]), [true, false, true, false]);
        // llama.cpp's default pattern of 6: the sixth layer of each six is global.
        assert_eq!(local_layers(&[(p, None)]), [true; 4]);
        assert_eq!(
            local_layers(&[(p, Some(Value::U32(3)))]),
            [true, true, false, true]
        );
        assert_eq!(local_layers(&[(p, Some(Value::U32(1)))]), [false; 4]);
        let arr = Value::Array(7, [false, true, true, false].map(Value::Bool).to_vec());
        assert_eq!(local_layers(&[(p, Some(arr))]), [false, true, true, false]);
        // no window (absent or 0): every layer global, whatever the pattern says.
        for w in [None, Some(Value::U32(0))] {
            assert_eq!(
                local_layers(&[("gemma3.attention.sliding_window", w)]),
                [false; 4]
            );
        }
    }

    #[test]
    fn a_soft_cap_bounds_the_head() {
        let plain = with(&[]).unwrap();
        let capped = with(&[("gemma3.final_logit_softcapping", Some(Value::F32(2.0)))]).unwrap();
        let mut st = plain.state(16, Precision::Quantized);
        let h = plain.forward(&mut st, &TOKS, None).unwrap();
        let z = plain.head_logits(&h, Precision::Quantized).unwrap();
        let zc = capped.head_logits(&h, Precision::Quantized).unwrap();
        for (a, b) in z.iter().zip(&zc) {
            assert!(
                b.abs() <= 2.0 && (2.0 * (a / 2.0).tanh() - b).abs() < 1e-5,
                "{a} {b}"
            );
        }
    }

    #[test]
    fn bad_models_are_named() {
        let err = |c: &[(&str, Option<Value>)]| with(c).err().unwrap().to_string();
        let p = "gemma3.attention.sliding_window_pattern";
        let e = err(&[(p, Some(Value::Array(7, vec![Value::Bool(true)])))]);
        assert!(e.contains("1 entries for 4 layers"), "{e}");
        let e = err(&[(p, Some(Value::Str("6".into())))]);
        assert!(
            e.contains("sliding_window_pattern") && e.contains("bool per layer"),
            "{e}"
        );
        let e = err(&[("gemma3.attention.sliding_window", Some(Value::F32(2.5)))]);
        assert!(e.contains("sliding_window"), "{e}");
        let e = err(&[("gemma3.attention.layer_norm_rms_epsilon", None)]);
        assert!(e.contains("layer_norm_rms_epsilon"), "{e}");
        let e = err(&[
            ("gemma3.attention.key_length", Some(Value::U32(32))),
            ("gemma3.attention.value_length", Some(Value::U32(32))),
        ]);
        assert!(
            e.contains("blk.0.attn_q.weight") && e.contains("256 × 64"),
            "{e}"
        );
        let e = err(&[("gemma3.attention.value_length", Some(Value::U32(32)))]);
        assert!(e.contains("value heads"), "{e}");
        let e = err(&[("gemma3.rope.freq_base_swa", Some(Value::F32(-1.0)))]);
        assert!(e.contains("freq_base_swa"), "{e}");
        let e = err(&[("gemma3.final_logit_softcapping", Some(Value::F32(-3.0)))]);
        assert!(e.contains("final_logit_softcapping"), "{e}");
        let e = err(&[("gemma3.block_count", Some(Value::U32(5)))]);
        assert!(e.contains("blk.4.attn_norm.weight"), "{e}");
        let e = err(&[("gemma3.attention.head_count_kv", Some(Value::U32(3)))]);
        assert!(e.contains("cannot share"), "{e}");
        let e = err(&[("gemma3.embedding_length", None)]);
        assert!(e.contains("gemma3.embedding_length"), "{e}");
        // a missing per-head norm, by name.
        let bytes = tiny_gemma3_builder(5)
            .without("blk.2.attn_k_norm.weight")
            .build();
        let e = load(bytes).err().unwrap().to_string();
        assert!(e.contains("blk.2.attn_k_norm.weight"), "{e}");
    }
}
