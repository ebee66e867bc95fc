//! a loaded model: the vocabulary, the unembedding W_U (E itself when tied) behind
//! [`Unembedding`], which counts every full pass over the vocabulary, the input embedding E
//! when untied, the metadata, and the spectrum.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;

use super::error::{Error, Result};
use super::files::gguf::Metadata;
use super::files::Format;
use super::index::MatrixRef;
use super::plan::{plan, Plan};
use super::quant::kernels::{Kernel, Precision};
use super::quant::matrix::{Q8Matrix, QuantError};
use super::quant::GgmlType;
use super::source::{ByteSource, SliceSource};
use super::spectrum::Spectrum;
use super::vocab::{Vocab, VocabKind};

/// W_U with its row norms. every full pass over the vocabulary — z = W_U·h, Σ_i p_i w_i —
/// goes through here and is counted (see [`passes`](Self::passes)): the session's
/// invariant about slider steps is a count, not a comment.
#[derive(Debug)]
pub struct Unembedding {
    matrix: Q8Matrix,
    norms: Vec<f64>,
    /// the smallest and largest ‖w_i‖ (the scatter's ‖v‖ axis, every step: kept, not found).
    norm_range: (f64, f64),
    /// max_i ‖w_i‖₁: the scale of the kernels' error bounds.
    max_l1: f64,
    passes: AtomicUsize,
}

impl Clone for Unembedding {
    fn clone(&self) -> Self {
        Unembedding {
            matrix: self.matrix.clone(),
            norms: self.norms.clone(),
            norm_range: self.norm_range,
            max_l1: self.max_l1,
            passes: AtomicUsize::new(self.passes()),
        }
    }
}

impl Unembedding {
    pub fn new(matrix: Q8Matrix) -> Self {
        let norms = matrix.row_norms();
        let norm_range = super::maths::min_max(&norms);
        let max_l1 = matrix.row_l1().iter().fold(0f64, |m, &x| m.max(x as f64));
        Unembedding {
            matrix,
            norms,
            norm_range,
            max_l1,
            passes: AtomicUsize::new(0),
        }
    }
    pub fn matrix(&self) -> &Q8Matrix {
        &self.matrix
    }
    /// ‖w_i‖ of every row (f64).
    pub fn norms(&self) -> &[f64] {
        &self.norms
    }
    /// the largest error any logit of h can have at a precision: the kernels' stated bound
    /// (quant::kernels) over the row with the largest ‖w_i‖₁.
    pub fn max_error(&self, h: &[f32], precision: Precision) -> f64 {
        let hmax = h.iter().fold(0f64, |m, &x| m.max((x as f64).abs()));
        let per = match precision {
            Precision::Exact => {
                super::quant::kernels::H_QUANT_BOUND + super::quant::kernels::F64_BOUND
            }
            Precision::Fast => {
                super::quant::kernels::FAST_BOUND * (1.0 + self.matrix.cols() as f64 / 640.0)
            }
        };
        per * hmax * self.max_l1
    }

    /// full passes over the vocabulary so far.
    pub fn passes(&self) -> usize {
        self.passes.load(Ordering::Relaxed)
    }
    /// counts one full pass computed elsewhere (a product split between threads).
    pub(crate) fn count_pass(&self) {
        self.count();
    }
    fn count(&self) {
        self.passes.fetch_add(1, Ordering::Relaxed);
    }

    /// z = W_U·h over the whole vocabulary, f64-grade (one pass).
    pub fn logits(&self, h: &[f32]) -> Result<Vec<f64>> {
        self.logits_precision(h, Precision::Exact)
    }

    /// z = W_U·h at a precision, with the fastest kernel (one pass).
    pub fn logits_precision(&self, h: &[f32], precision: Precision) -> Result<Vec<f64>> {
        self.count();
        self.matrix.matvec_precision(h, precision)
    }

    /// z = W_U·h with a chosen kernel (benchmarks; one pass).
    pub fn logits_with(&self, h: &[f32], kernel: Kernel, precision: Precision) -> Result<Vec<f64>> {
        self.count();
        self.matrix.matvec_with(h, kernel, precision)
    }

    /// z_c = W_U·h_c for several columns at the fast precision (about 4e-5 relative, the
    /// kernels' stated bound), reading the matrix once for every four columns; counts one pass
    /// per column. `out[c·rows + i]`.
    pub fn logits_many_fast(&self, hs: &[&[f32]]) -> Result<Vec<f64>> {
        let mut q = Vec::with_capacity(hs.len());
        for h in hs {
            self.matrix.check_h(h)?;
            q.push(super::quant::kernels::QuantHUniform::new(h));
        }
        let mut out = vec![0f64; self.matrix.rows() * hs.len()];
        let k = *Kernel::available().last().unwrap_or(&Kernel::Scalar);
        super::quant::kernels::run_many_uniform(k, &self.matrix, &q, &mut out)?;
        self.passes.fetch_add(hs.len(), Ordering::Relaxed);
        Ok(out)
    }

    /// w_i·h in f64 for one row (exact: each product of a Q8_0 value and an f32 is exact in
    /// f64). not a full pass.
    pub fn row_dot(&self, i: usize, h: &[f32]) -> Result<f64> {
        if i >= self.matrix.rows() || h.len() != self.matrix.cols() {
            return Err(Error::Shape(format!(
                "row {i} of {} and h of {}",
                self.matrix.rows(),
                h.len()
            )));
        }
        Ok(self
            .matrix
            .row(i)
            .iter()
            .zip(h)
            .map(|(&w, &x)| w as f64 * x as f64)
            .sum())
    }

    /// Σ_i p_i w_i in f64 (one transposed pass).
    pub fn weighted_sum(&self, p: &[f64]) -> Result<Vec<f64>> {
        self.count();
        self.matrix.t_matvec(p)
    }
}

/// how far a served Q8_0 matrix is from the file's own, when the file stored another type.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Requantized {
    /// the type in the source file.
    pub from: &'static str,
    #[serde(flatten)]
    pub error: QuantError,
}

/// a model ready to query.
#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub format: Format,
    pub vocab: Vocab,
    pub metadata: Metadata,
    unembedding: Unembedding,
    /// E when the model is untied (W_U ≠ E); when tied E is the unembedding's matrix.
    input: Option<Q8Matrix>,
    /// the embedding as the source stored it, and how far the Q8_0 copy is from it.
    pub embed_type: GgmlType,
    pub embed_requant: Option<Requantized>,
    pub output_type: Option<GgmlType>,
    pub output_requant: Option<Requantized>,
    pub spectrum: Option<Spectrum>,
    pub spectrum_from_file: bool,
    /// different for every model loaded in this process (redraw keys use it).
    pub id: u64,
}

impl Model {
    /// builds the model from a plan, reading each matrix through `read`. `tokens` overrides the
    /// vocabulary (safetensors files carry none: it comes from tokenizer.json or vocab.json).
    pub fn load(
        plan: Plan,
        read: &mut dyn FnMut(&MatrixRef) -> Result<Vec<u8>>,
        tokens: Option<(Vec<String>, VocabKind)>,
    ) -> Result<Self> {
        let Plan {
            file,
            embed,
            output,
            sigma,
            vt,
        } = plan;
        let cols = embed.cols as usize;
        let (e, embed_err) = matrix(read(&embed)?, &embed)?;
        let (o, output_err) = match &output {
            None => (None, None),
            Some(t) => {
                let (m, err) = matrix(read(t)?, t)?;
                (Some(m), err)
            }
        };
        let spectrum = match (&sigma, &vt) {
            (Some(s), Some(v)) => Some(read_spectrum(&read(s)?, &read(v)?, cols)?),
            _ => None,
        };
        let name = file
            .metadata
            .get_str("general.name")
            .or(file.metadata.get_str("safetensors.name"))
            .unwrap_or("model")
            .to_string();
        let rows = e.rows();
        let (tok, kind) = match tokens.or(file.tokens) {
            Some(t) => t,
            None => (
                (0..rows).map(|i| format!("<{i}>")).collect(),
                VocabKind::Plain,
            ),
        };
        let unembed_rows = o.as_ref().map_or(rows, |o| o.rows());
        let vocab = fit_vocab(tok, kind, unembed_rows, file.format)?;
        // a served file says what its source stored and how far the served matrix is from it.
        let stored = |key: &str| -> Option<Requantized> {
            let from = file
                .metadata
                .get_str(&format!("unembed.source.{key}_type"))?;
            let ty = GgmlType::from_name(from)?;
            Some(Requantized {
                from: ty.name(),
                error: QuantError {
                    max_rel: file
                        .metadata
                        .get_f64(&format!("unembed.{key}.requant_max_rel"))?,
                    rms_rel: file
                        .metadata
                        .get_f64(&format!("unembed.{key}.requant_rms_rel"))?,
                },
            })
        };
        let requant = |ty: GgmlType, err: Option<QuantError>| {
            err.map(|error| Requantized {
                from: ty.name(),
                error,
            })
        };
        let (input, unembedding) = match o {
            Some(o) => (Some(e), Unembedding::new(o)),
            None => (None, Unembedding::new(e)),
        };
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Ok(Model {
            name,
            format: file.format,
            vocab,
            embed_requant: requant(embed.ty, embed_err).or_else(|| stored("embedding")),
            output_requant: match &output {
                Some(t) => requant(t.ty, output_err).or_else(|| stored("output")),
                None => None,
            },
            embed_type: embed.ty,
            output_type: output.as_ref().map(|t| t.ty),
            unembedding,
            input,
            spectrum_from_file: spectrum.is_some(),
            spectrum,
            metadata: file.metadata,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// reads a whole GGUF or safetensors source.
    pub fn from_source(
        src: &dyn ByteSource,
        tokens: Option<(Vec<String>, VocabKind)>,
    ) -> Result<Self> {
        let p = plan(src)?;
        Model::load(
            p,
            &mut |t| src.read_range(t.offset, t.nbytes, &t.name),
            tokens,
        )
    }

    /// a whole GGUF or safetensors file, taking its buffer: the embedding is cut out of it and
    /// converted in place (the other tensors are copied first), so a file in memory costs no
    /// second copy of its largest tensor. this is how the page loads a downloaded model.
    pub fn from_bytes(bytes: Vec<u8>, tokens: Option<(Vec<String>, VocabKind)>) -> Result<Self> {
        let p = plan(&SliceSource::whole(&bytes))?;
        let embed = (p.embed.offset, p.embed.nbytes);
        let mut copies: Vec<((u64, u64), Vec<u8>)> = Vec::new();
        for t in p.ranges() {
            if (t.offset, t.nbytes) != embed {
                let b = SliceSource::whole(&bytes).read_range(t.offset, t.nbytes, &t.name)?;
                copies.push(((t.offset, t.nbytes), b));
            }
        }
        let mut whole = Some(bytes);
        Model::load(
            p,
            &mut |t| {
                let key = (t.offset, t.nbytes);
                if let Some(i) = copies.iter().position(|(k, _)| *k == key) {
                    return Ok(copies.swap_remove(i).1);
                }
                let Some(mut b) = whole.take() else {
                    return Err(Error::Format(format!("tensor {} read twice", t.name)));
                };
                // plan checked the range against the file length.
                b.truncate((t.offset + t.nbytes) as usize);
                b.drain(..t.offset as usize);
                Ok(b)
            },
            tokens,
        )
    }

    /// W_U (E when tied), through which every full pass goes.
    pub fn unembedding(&self) -> &Unembedding {
        &self.unembedding
    }
    /// the input embedding E.
    pub fn embedding(&self) -> &Q8Matrix {
        self.input.as_ref().unwrap_or(&self.unembedding.matrix)
    }
    /// W_U when the model has its own (untied).
    pub fn output(&self) -> Option<&Q8Matrix> {
        self.input.as_ref().map(|_| &self.unembedding.matrix)
    }
    pub fn tied(&self) -> bool {
        self.input.is_none()
    }
    pub fn d(&self) -> usize {
        self.unembedding.matrix.cols()
    }
    pub fn n_vocab(&self) -> usize {
        self.unembedding.matrix.rows()
    }
    /// ‖w_i‖ of every unembedding row (f64).
    pub fn norms(&self) -> &[f64] {
        &self.unembedding.norms
    }
    /// the smallest and largest ‖w_i‖ ((+∞, −∞) for no rows).
    pub fn norm_range(&self) -> (f64, f64) {
        self.unembedding.norm_range
    }
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        self.metadata.get_str(key)
    }

    /// the embedding row v_i (the input embedding, even when W_U is separate).
    pub fn token_vector(&self, id: u32) -> Result<Vec<f32>> {
        let id = self.vocab.check_id(id)? as usize;
        let e = self.embedding();
        if id >= e.rows() {
            return Err(Error::NotFound(format!(
                "token {id} has no embedding row (E has {} rows)",
                e.rows()
            )));
        }
        Ok(e.row(id))
    }

    /// computes the spectrum of the unembedding matrix if the file did not carry it.
    pub fn ensure_spectrum(&mut self, progress: &mut dyn FnMut(f64) -> bool) -> Result<&Spectrum> {
        if self.spectrum.is_none() {
            self.spectrum = Some(Spectrum::compute(&self.unembedding.matrix, progress)?);
        }
        self.spectrum
            .as_ref()
            .ok_or_else(|| Error::Invalid("no spectrum".into()))
    }
}

/// a matrix read as the file stores it, in Q8_0, and how far that is from the file's values.
fn matrix(raw: Vec<u8>, t: &MatrixRef) -> Result<(Q8Matrix, Option<QuantError>)> {
    let (rows, cols) = (t.rows as usize, t.cols as usize);
    Q8Matrix::from_any(raw, t.ty, rows, cols).map_err(|e| context(e, &t.name))
}

fn context(e: Error, tensor: &str) -> Error {
    match e {
        Error::Invalid(m) => Error::Invalid(format!("{tensor}: {m}")),
        Error::Shape(m) => Error::Shape(format!("{tensor}: {m}")),
        other => other,
    }
}

fn fit_vocab(mut tok: Vec<String>, kind: VocabKind, rows: usize, format: Format) -> Result<Vocab> {
    if tok.len() == rows {
        return Ok(Vocab::new(tok, kind));
    }
    // HF checkpoints often pad the embedding past the tokenizer (to a multiple of 64 or 128).
    if format == Format::Safetensors && tok.len() < rows {
        let n = tok.len();
        tok.extend((n..rows).map(|i| format!("<pad {i}>")));
        return Ok(Vocab::new(tok, kind));
    }
    Err(Error::Shape(format!(
        "the vocabulary has {} tokens but the matrix has {rows} rows",
        tok.len()
    )))
}

fn read_spectrum(sigma: &[u8], vt: &[u8], d: usize) -> Result<Spectrum> {
    let f32s = |raw: &[u8]| -> Vec<f32> {
        raw.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    let (s, v) = (f32s(sigma), f32s(vt));
    if s.len() != d || v.len() != d * d || s.iter().chain(&v).any(|x| !x.is_finite()) {
        return Err(Error::Invalid("the stored spectrum is malformed".into()));
    }
    let v = ndarray::Array2::from_shape_fn((d, d), |(j, k)| v[k * d + j] as f64);
    Ok(Spectrum {
        sigma: s.iter().map(|&x| x as f64).collect(),
        v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fixtures::{random_q8, tiny_model, GgufBuilder};
    use crate::core::quant::GgmlType;

    #[test]
    fn from_bytes_equals_from_source() {
        for untied in [false, true] {
            let mut b = GgufBuilder::new()
                .tokens(VocabKind::Plain, (0..50).map(|i| format!("t{i}")).collect())
                .matrix(crate::core::names::TOKEN_EMBD, &random_q8(50, 64, 3));
            if untied {
                b = b.matrix(crate::core::names::OUTPUT, &random_q8(50, 64, 4));
            }
            let bytes = b.build();
            let a = Model::from_source(&SliceSource::whole(&bytes), None).unwrap();
            let b = Model::from_bytes(bytes, None).unwrap();
            assert_eq!(a.embedding(), b.embedding());
            assert_eq!(a.output(), b.output());
            assert_eq!(a.tied(), !untied);
            assert_eq!(a.norms(), b.norms());
        }
    }

    /// rows of random Q4_K blocks with small positive f16 scales.
    fn q4k_rows(rows: usize, cols: usize, seed: u64) -> Vec<u8> {
        let mut rng = crate::core::rng::Rng::new(seed);
        let mut out = Vec::new();
        for _ in 0..rows * cols / 256 {
            let d = half::f16::from_f32(0.002 + 0.01 * rng.uniform() as f32);
            let dmin = half::f16::from_f32(0.001 + 0.005 * rng.uniform() as f32);
            out.extend(d.to_bits().to_le_bytes());
            out.extend(dmin.to_bits().to_le_bytes());
            out.extend((0..140).map(|_| (rng.next_u64() >> 56) as u8));
        }
        out
    }

    #[test]
    fn a_q4_k_embedding_is_requantized_and_says_how_far() {
        let (rows, d) = (40, 256);
        let raw = q4k_rows(rows, d, 9);
        let bytes = GgufBuilder::new()
            .tokens(
                VocabKind::Plain,
                (0..rows).map(|i| format!("t{i}")).collect(),
            )
            .tensor(
                crate::core::names::TOKEN_EMBD,
                vec![d as u64, rows as u64],
                GgmlType::Q4_K,
                raw.clone(),
            )
            .build();
        let m = Model::from_source(&SliceSource::whole(&bytes), None).unwrap();
        assert_eq!(m.embed_type, GgmlType::Q4_K);
        let r = m.embed_requant.unwrap();
        assert_eq!(r.from, "Q4_K");
        // the distance, measured again from the dequantized source rows.
        let (mut worst, mut d2, mut n2) = (0f64, 0f64, 0f64);
        let row_bytes = GgmlType::Q4_K.row_bytes(d as u64).unwrap() as usize;
        for i in 0..rows {
            let mut src = vec![0f32; d];
            GgmlType::Q4_K
                .dequantize_row(&raw[i * row_bytes..(i + 1) * row_bytes], &mut src)
                .unwrap();
            let served = m.embedding().row(i);
            let norm: f64 = src.iter().map(|&x| (x as f64).powi(2)).sum::<f64>();
            let mut dmax = 0f64;
            for (a, b) in served.iter().zip(&src) {
                let diff = (*a as f64 - *b as f64).abs();
                dmax = dmax.max(diff);
                d2 += diff * diff;
            }
            n2 += norm;
            worst = worst.max(dmax / norm.sqrt());
        }
        assert!(
            (r.error.max_rel - worst).abs() <= 1e-12 * worst,
            "{r:?} vs {worst}"
        );
        assert!((r.error.rms_rel - (d2 / n2).sqrt()).abs() <= 1e-12);
        assert!(r.error.max_rel > 0.0 && r.error.max_rel < 0.05);
        // a served file carries where it came from and how far it is.
        let info = crate::core::convert::SourceInfo {
            file_name: "q4k.gguf".into(),
            sha256: "00".repeat(32),
            name: None,
            license: None,
            license_link: None,
        };
        let served = crate::core::convert::served_gguf(&m, &info);
        let back = Model::from_source(&SliceSource::whole(&served), None).unwrap();
        assert_eq!(back.embed_type, GgmlType::Q8_0);
        assert_eq!(back.embed_requant, m.embed_requant);
        assert_eq!(back.embedding(), m.embedding());
    }

    #[test]
    fn passes_are_counted() {
        let m = tiny_model(40, 64);
        let u = m.unembedding();
        let n0 = u.passes();
        let h = m.token_vector(3).unwrap();
        u.logits(&h).unwrap();
        u.weighted_sum(&vec![1.0 / 40.0; 40]).unwrap();
        assert_eq!(u.passes(), n0 + 2);
    }
}
