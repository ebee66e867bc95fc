//! a weight matrix of the pass, read straight from the file's buffer in the type the file
//! stores (no copy, no requantization), and its product with a block of activation columns.

use super::Precision;
use crate::core::error::{Error, Result};
use crate::core::index::{MatrixRef, TensorIndex};
use crate::core::quant::acts::{ActFormat, QActs};
use crate::core::quant::{gemm, GgmlType};

/// where a weight lies in the file: `rows` outputs of `k` inputs each, in `ty` blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    pub name: String,
    pub ty: GgmlType,
    pub rows: usize,
    pub k: usize,
    offset: usize,
    row_bytes: usize,
}

impl Linear {
    /// the tensor `name` of the index, which must be `rows` × `k` (ggml dims [k, rows]).
    pub fn from_index(index: &TensorIndex, name: &str, k: usize, rows: usize) -> Result<Self> {
        let m = index
            .matrix(name)?
            .ok_or_else(|| Error::NotFound(format!("the model has no tensor {name}")))?;
        check_shape(&m, k, rows)?;
        Ok(Linear {
            name: name.to_string(),
            ty: m.ty,
            rows,
            k,
            offset: m.offset as usize,
            row_bytes: m.row_bytes() as usize,
        })
    }

    /// the bytes of row r in `file`.
    pub fn row<'a>(&self, file: &'a [u8], r: usize) -> &'a [u8] {
        let at = self.offset + r * self.row_bytes;
        &file[at..at + self.row_bytes]
    }

    /// all its bytes in `file`.
    pub fn bytes<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        &file[self.offset..self.offset + self.rows * self.row_bytes]
    }

    /// out[c·rows + r] = Σ_j w_rj·x_cj for the `n` columns of x (n·k values), with the weight
    /// dequantized exactly and every product and sum in f64: the pass's exact reference.
    pub fn apply_exact(&self, file: &[u8], x: &[f32], n: usize, out: &mut [f32]) -> Result<()> {
        for r in 0..self.rows {
            let row = self.row(file, r);
            for c in 0..n {
                let z = self.ty.dot_row(row, &x[c * self.k..(c + 1) * self.k])?;
                out[c * self.rows + r] = z as f32;
            }
        }
        Ok(())
    }

    /// checks every scale and value of the weight for NaN and ∞ (a broken file must be refused
    /// before it turns every activation into NaN), naming the tensor and row.
    pub fn check_finite(&self, file: &[u8], scratch: &mut Vec<f32>) -> Result<()> {
        scratch.resize(self.k, 0.0);
        for r in 0..self.rows {
            self.ty.dequantize_row(self.row(file, r), scratch)?;
            if let Some(j) = scratch.iter().position(|x| !x.is_finite()) {
                return Err(Error::Invalid(format!(
                    "{} row {r} has a non-finite value at column {j} ({})",
                    self.name, scratch[j]
                )));
            }
        }
        Ok(())
    }
}

/// activations quantized for ggml's block products, once per format for an input that several
/// weights multiply (q, k and v share one; gate and up another).
#[derive(Default)]
pub struct ActCache {
    bufs: [QActs; 3],
    valid: [bool; 3],
}

fn slot(f: ActFormat) -> usize {
    match f {
        ActFormat::Q8_0 => 0,
        ActFormat::Q8_1 => 1,
        ActFormat::Q8_K => 2,
    }
}

/// one input of the products that follow: n columns of k values.
pub struct Input<'a> {
    pub x: &'a [f32],
    pub n: usize,
    pub precision: Precision,
    cache: &'a mut ActCache,
}

impl<'a> Input<'a> {
    pub fn new(x: &'a [f32], n: usize, precision: Precision, cache: &'a mut ActCache) -> Self {
        cache.valid = [false; 3];
        Input {
            x,
            n,
            precision,
            cache,
        }
    }
}

impl Linear {
    /// out[c·rows + r] = Σ_j w_rj·x_cj as the precision says: exactly, or as llama.cpp's CPU
    /// path computes it (the activations quantized to the weight's `vec_dot_type`, then the
    /// block kernels of `quant::gemm`). float weights are always multiplied exactly.
    pub fn apply(&self, file: &[u8], input: &mut Input, out: &mut [f32]) -> Result<()> {
        let fmt = match (input.precision, self.ty.act_format()) {
            (Precision::Quantized, Some(f)) => f,
            _ => return self.apply_exact(file, input.x, input.n, out),
        };
        let i = slot(fmt);
        if !input.cache.valid[i] {
            input.cache.bufs[i].quantize(fmt, input.x, input.n, self.k)?;
            input.cache.valid[i] = true;
        }
        gemm::matmul(
            self.ty,
            self.bytes(file),
            self.rows,
            self.k,
            &input.cache.bufs[i],
            &mut out[..input.n * self.rows],
        )
    }
}

fn check_shape(m: &MatrixRef, k: usize, rows: usize) -> Result<()> {
    if (m.rows as usize, m.cols as usize) != (rows, k) {
        return Err(Error::Shape(format!(
            "{} is {} × {}, the model's dimensions need {rows} × {k}",
            m.name, m.rows, m.cols
        )));
    }
    Ok(())
}

/// an F32 vector of the file (a norm's weights), length `n`, checked finite.
pub fn vector(index: &TensorIndex, file: &[u8], name: &str, n: usize) -> Result<Vec<f32>> {
    let m = index
        .matrix(name)?
        .ok_or_else(|| Error::NotFound(format!("the model has no tensor {name}")))?;
    if m.rows * m.cols != n as u64 {
        return Err(Error::Shape(format!(
            "{name} has {} values, the model's dimensions need {n}",
            m.rows * m.cols
        )));
    }
    let raw = &file[m.offset as usize..(m.offset + m.nbytes) as usize];
    let mut v = vec![0f32; n];
    m.ty.dequantize_row(raw, &mut v)?;
    if let Some(j) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::Invalid(format!(
            "{name} has a non-finite value at {j} ({})",
            v[j]
        )));
    }
    Ok(v)
}
