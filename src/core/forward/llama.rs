//! the llama architecture (SmolLM2, Llama 2/3 style), as llama.cpp builds its graph
//! (src/models/llama.cpp, `llama_model_llama::graph`):
//!
//!   x⁰ = E[token]                                    (get_rows: the row dequantized exactly)
//!   for each layer ℓ:
//!     h  = RMSNorm(x)·attn_norm
//!     q, k, v = W_q·h, W_k·h, W_v·h ;  q, k rotated by RoPE (NORM pairing)
//!     a  = attention(q, k, v) over the cache, scale 1/√head_dim, query head i reads KV head
//!          i / (n_head / n_head_kv) (grouped-query attention)
//!     y  = x + W_o·a                                 (the "mid" residual)
//!     x' = y + W_down·(silu(W_gate·g) ⊙ W_up·g),  g = RMSNorm(y)·ffn_norm
//!   h = RMSNorm(x^L)·output_norm
//!
//! sizes from the metadata keys `llama.block_count`, `embedding_length`, `feed_forward_length`,
//! `attention.head_count`, `attention.head_count_kv`, `attention.key_length` (default d /
//! n_head), `rope.dimension_count` (default the head size; llama.cpp requires them equal),
//! `rope.freq_base` (default 10000), `rope.scaling.factor` (default 1),
//! `attention.layer_norm_rms_epsilon` (required), `context_length`.

use super::linear::{vector, Input, Linear};
use super::ops::{attend, rms_norm, rope_cache, rope_norm, swiglu, to_f16};
use super::{meta_f32, meta_usize, Architecture, Config, Heads, State};
use crate::core::error::{Error, Result};
use crate::core::files::gguf::Metadata;
use crate::core::index::TensorIndex;
use crate::core::names::{self, blk};

struct Layer {
    attn_norm: Vec<f32>,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    ffn_norm: Vec<f32>,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// a llama model's weights (views into the file) and sizes.
pub struct Llama {
    config: Config,
    embd: Linear,
    /// output.weight, or the embedding when tied (llama.cpp's `TENSOR_DUPLICATED` fallback).
    head: Linear,
    layers: Vec<Layer>,
    output_norm: Vec<f32>,
}

impl Llama {
    pub fn new(m: &Metadata, index: &TensorIndex, file: &[u8]) -> Result<Self> {
        let a = "llama";
        let Heads {
            d,
            n_head,
            n_head_kv,
            head_dim,
            rope_dims,
            rope_scale,
        } = Heads::read(m, a)?;
        let eps = meta_f32(m, a, "attention.layer_norm_rms_epsilon")?.ok_or_else(|| {
            Error::NotFound(
                "the model's metadata has no llama.attention.layer_norm_rms_epsilon".into(),
            )
        })?;
        let n_vocab = index
            .matrix(names::TOKEN_EMBD)?
            .map(|t| t.rows as usize)
            .unwrap_or(0);
        let config = Config {
            arch: a.into(),
            n_layer: meta_usize(m, a, "block_count")?,
            d,
            n_ff: meta_usize(m, a, "feed_forward_length")?,
            n_head,
            n_head_kv,
            head_dim,
            rope_dims,
            rope_base: meta_f32(m, a, "rope.freq_base")?.unwrap_or(10000.0),
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
        let mut layers = Vec::with_capacity(c.n_layer);
        for l in 0..c.n_layer {
            let lin = |what: &str, k: usize, rows: usize| {
                Linear::from_index(index, &blk(l, what), k, rows)
            };
            let layer = Layer {
                attn_norm: vector(index, file, &blk(l, "attn_norm"), d)?,
                wq: lin("attn_q", d, c.q_dim())?,
                wk: lin("attn_k", d, c.kv_dim())?,
                wv: lin("attn_v", d, c.kv_dim())?,
                wo: lin("attn_output", c.q_dim(), d)?,
                ffn_norm: vector(index, file, &blk(l, "ffn_norm"), d)?,
                gate: lin("ffn_gate", d, c.n_ff)?,
                up: lin("ffn_up", d, c.n_ff)?,
                down: lin("ffn_down", c.n_ff, d)?,
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
        Ok(Llama {
            output_norm: vector(index, file, names::OUTPUT_NORM, d)?,
            config,
            embd,
            head,
            layers,
        })
    }
}

impl Architecture for Llama {
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
        self.embd.ty.dequantize_row(self.embd.row(file, t), x)
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
        let scale = 1.0 / (hd as f32).sqrt();
        let cap = st.capacity;
        for t in 0..n {
            let pos = st.pos + t;
            rope_cache(pos, c.rope_dims, c.rope_base, c.rope_scale, &mut b.rope);
            for q in b.q[t * qd..(t + 1) * qd].chunks_exact_mut(hd) {
                rope_norm(&mut q[..c.rope_dims], &b.rope);
            }
            for (kvh, k) in b.kk[t * kvd..(t + 1) * kvd]
                .chunks_exact_mut(hd)
                .enumerate()
            {
                rope_norm(&mut k[..c.rope_dims], &b.rope);
                let at = (kvh * cap + pos) * hd;
                to_f16(k, &mut st.k[l][at..at + hd]);
                to_f16(
                    &b.vv[t * kvd + kvh * hd..t * kvd + (kvh + 1) * hd],
                    &mut st.v[l][at..at + hd],
                );
            }
        }
        // attention: query head i of position t over the cached positions 0..=t of KV head
        // i / group (grouped-query attention; the cache keeps each KV head's rows together).
        for t in 0..n {
            let upto = st.pos + t + 1;
            for i in 0..c.n_head {
                let kvh = i / group;
                let base = kvh * cap * hd;
                let q = &b.q[t * qd + i * hd..t * qd + (i + 1) * hd];
                let out = &mut b.att[t * qd + i * hd..t * qd + (i + 1) * hd];
                attend(
                    q,
                    &st.k[l][base..base + upto * hd],
                    &st.v[l][base..base + upto * hd],
                    upto,
                    scale,
                    &mut b.scores,
                    out,
                );
            }
        }
        let mut input = Input::new(&b.att[..n * qd], n, prec, &mut st.acts);
        ly.wo.apply(file, &mut input, &mut b.o[..n * d])?;
        for (x, &o) in x.iter_mut().zip(&b.o[..n * d]) {
            *x += o;
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
        swiglu(&mut b.g[..n * f], &b.u[..n * f]);
        let mut input = Input::new(&b.g[..n * f], n, prec, &mut st.acts);
        ly.down.apply(file, &mut input, &mut b.o[..n * d])?;
        for (x, &o) in x.iter_mut().zip(&b.o[..n * d]) {
            *x += o;
        }
        Ok(())
    }

    fn final_norm(&self, x: &[f32], h: &mut [f32]) {
        rms_norm(x, &self.output_norm, self.config.eps, h);
    }

    fn head(&self) -> &Linear {
        &self.head
    }
}
