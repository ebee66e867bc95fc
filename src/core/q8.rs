//! the Q8_0 matrix: rows of blocks of 32 int8 with one scale each, and its products.
//!
//! storage is split (scales apart from quants) so the kernels stream contiguous int8.
//! a row's value j is `scales[row·nb + j/32] · quants[row·d + j]`, exactly as ggml dequantizes.

use half::{bf16, f16};

use super::error::{Error, Result};
use super::kernels::{self, Precision, QuantH};
use super::tensor::DType;

pub const QK: usize = 32;
/// bytes in one ggml Q8_0 block: f16 scale + 32 int8.
pub const BLOCK_BYTES: usize = 34;

#[derive(Debug, Clone, PartialEq)]
pub struct Q8Matrix {
    rows: usize,
    cols: usize,
    scales: Vec<f32>,
    quants: Vec<i8>,
}

impl Q8Matrix {
    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// blocks per row.
    pub fn nb(&self) -> usize {
        self.cols / QK
    }
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }
    pub fn quants(&self) -> &[i8] {
        &self.quants
    }

    /// reads ggml Q8_0 blocks (a copy of `raw`; see [`from_ggml_vec`](Self::from_ggml_vec)).
    pub fn from_ggml_bytes(raw: &[u8], rows: usize, cols: usize) -> Result<Self> {
        Self::from_ggml_vec(raw.to_vec(), rows, cols)
    }

    /// ggml Q8_0 bytes of this matrix (f16 scales; exact for scales read from Q8_0).
    pub fn to_ggml_bytes(&self) -> Vec<u8> {
        let nb = self.nb();
        let mut out = Vec::with_capacity(self.rows * nb * BLOCK_BYTES);
        for (k, &d) in self.scales.iter().enumerate() {
            out.extend_from_slice(&f16::from_f32(d).to_bits().to_le_bytes());
            out.extend(self.quants[k * QK..(k + 1) * QK].iter().map(|&q| q as u8));
        }
        out
    }

    /// quantizes f32 rows the way ggml's reference `quantize_row_q8_0` does:
    /// d = max|x|/127 stored as f16, q = round(x/d) with ties away from zero.
    pub fn quantize(data: &[f32], rows: usize, cols: usize) -> Result<Self> {
        if cols == 0 || cols % QK != 0 {
            return Err(Error::Shape(format!(
                "Q8_0 needs a row length that is a multiple of 32, got {cols}"
            )));
        }
        if Some(data.len()) != rows.checked_mul(cols) {
            return Err(Error::Shape(format!(
                "{} values cannot be a {rows} × {cols} matrix",
                data.len()
            )));
        }
        let mut scales = Vec::with_capacity(data.len() / QK);
        let mut quants = Vec::with_capacity(data.len());
        for (k, blk) in data.chunks_exact(QK).enumerate() {
            let row = k / (cols / QK);
            if let Some(x) = blk.iter().find(|x| !x.is_finite()) {
                return Err(Error::Invalid(format!(
                    "row {row} has a NaN or infinite value ({x})"
                )));
            }
            let amax = blk.iter().fold(0f32, |m, x| m.max(x.abs()));
            let d = amax / 127.0;
            if !f16::from_f32(d).is_finite() {
                return Err(Error::Invalid(format!(
                    "row {row} has a value of magnitude {amax:e}; Q8_0 (an f16 scale × 127) holds \
                     at most {:e}",
                    65504.0 * 127.0
                )));
            }
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            scales.push(f16::from_f32(d).to_f32());
            quants.extend(blk.iter().map(|&x| (x * id).round() as i8));
        }
        Ok(Q8Matrix {
            rows,
            cols,
            scales,
            quants,
        })
    }

    /// reads ggml Q8_0 blocks, taking the buffer: the quants are compacted inside `raw`'s own
    /// allocation, so loading a model needs no second matrix-sized buffer (which keeps the
    /// browser's linear memory, that never shrinks, from growing with each model opened).
    /// scales that are NaN or infinite are rejected, since every logit of that row would be
    /// undefined.
    pub fn from_ggml_vec(mut raw: Vec<u8>, rows: usize, cols: usize) -> Result<Self> {
        if cols == 0 || cols % QK != 0 {
            return Err(Error::Shape(format!(
                "Q8_0 needs a row length that is a multiple of 32, got {cols}"
            )));
        }
        let nb = cols / QK;
        let need = rows
            .checked_mul(nb)
            .and_then(|n| n.checked_mul(BLOCK_BYTES))
            .ok_or_else(|| Error::Shape(format!("{rows} × {cols} overflows")))?;
        if raw.len() != need {
            return Err(Error::Shape(format!(
                "Q8_0 {rows} × {cols} needs {need} bytes, got {}",
                raw.len()
            )));
        }
        let mut scales = Vec::with_capacity(rows * nb);
        for k in 0..rows * nb {
            let at = k * BLOCK_BYTES;
            let d = f16::from_bits(u16::from_le_bytes([raw[at], raw[at + 1]])).to_f32();
            if !d.is_finite() {
                return Err(Error::Invalid(format!(
                    "row {} block {} has a non-finite scale ({d})",
                    k / nb,
                    k % nb
                )));
            }
            scales.push(d);
            // block k's 32 quants move to k·32, never past where they are (k·34 + 2).
            raw.copy_within(at + 2..at + BLOCK_BYTES, k * QK);
        }
        // the allocation keeps its size (the whole file, for a model loaded from memory): given
        // back whole when the model is dropped, it fits the next file of that size, where a
        // shrunk one would leave a hole too small and grow the page's memory with every switch.
        raw.truncate(rows * cols);
        // u8 → i8 of the same size and alignment: collected in place, no new allocation.
        let quants: Vec<i8> = raw.into_iter().map(|b| b as i8).collect();
        Ok(Q8Matrix {
            rows,
            cols,
            scales,
            quants,
        })
    }

    /// reads a matrix stored as `dtype`, taking the buffer (Q8_0 converted in place; float
    /// types quantized to Q8_0).
    pub fn from_raw(raw: Vec<u8>, dtype: DType, rows: usize, cols: usize) -> Result<Self> {
        if dtype == DType::Q8_0 {
            return Self::from_ggml_vec(raw, rows, cols);
        }
        let f = to_f32(&raw, dtype)?;
        drop(raw);
        Self::quantize(&f, rows, cols)
    }

    /// row `i` as f32 (exact: an f16 scale times an int8 fits f32).
    pub fn row(&self, i: usize) -> Vec<f32> {
        let nb = self.nb();
        let q = &self.quants[i * self.cols..(i + 1) * self.cols];
        let s = &self.scales[i * nb..(i + 1) * nb];
        q.iter()
            .enumerate()
            .map(|(j, &x)| s[j / QK] * x as f32)
            .collect()
    }

    /// ‖v_i‖ for every row, summed in f64.
    pub fn row_norms(&self) -> Vec<f32> {
        let nb = self.nb();
        (0..self.rows)
            .map(|i| {
                let mut acc = 0f64;
                for b in 0..nb {
                    let d = self.scales[i * nb + b] as f64;
                    let q = &self.quants[i * self.cols + b * QK..i * self.cols + (b + 1) * QK];
                    let s: i32 = q.iter().map(|&x| x as i32 * x as i32).sum();
                    acc += d * d * s as f64;
                }
                acc.sqrt() as f32
            })
            .collect()
    }

    /// z = E·h over all rows with the fastest kernel this machine has, f64-grade.
    pub fn matvec(&self, h: &[f32]) -> Result<Vec<f64>> {
        self.matvec_precision(h, Precision::Exact)
    }

    /// z = E·h at the given precision with the fastest kernel.
    pub fn matvec_precision(&self, h: &[f32], precision: Precision) -> Result<Vec<f64>> {
        self.check_h(h)?;
        let qh = QuantH::new(h);
        let mut out = vec![0f64; self.rows];
        kernels::best(self, &qh, &mut out, precision);
        Ok(out)
    }

    /// z = E·h with a chosen kernel (for tests and benchmarks).
    pub fn matvec_with(
        &self,
        h: &[f32],
        kernel: kernels::Kernel,
        precision: Precision,
    ) -> Result<Vec<f64>> {
        self.check_h(h)?;
        let qh = QuantH::new(h);
        let mut out = vec![0f64; self.rows];
        kernels::run(kernel, self, &qh, &mut out, precision)?;
        Ok(out)
    }

    /// reads every quant once and sums them: the memory floor any product must pay
    /// (benchmarks print it beside the kernels).
    pub fn stream_checksum(&self) -> u64 {
        // SAFETY: i8 and u8 have the same size, alignment and validity.
        let bytes: &[u8] = unsafe {
            std::slice::from_raw_parts(self.quants.as_ptr() as *const u8, self.quants.len())
        };
        let mut acc = [0u64; 4];
        for c in bytes.chunks_exact(32) {
            for (k, a) in acc.iter_mut().enumerate() {
                let mut w = [0u8; 8];
                w.copy_from_slice(&c[k * 8..k * 8 + 8]);
                *a ^= u64::from_le_bytes(w);
            }
        }
        acc.iter().fold(0, |x, y| x ^ y)
    }

    /// ‖v_i‖₁ for every row (the scale of the fast kernel's error bound).
    pub fn row_l1(&self) -> Vec<f32> {
        let nb = self.nb();
        (0..self.rows)
            .map(|i| {
                let mut acc = 0f64;
                for b in 0..nb {
                    let q = &self.quants[i * self.cols + b * QK..i * self.cols + (b + 1) * QK];
                    let s: i32 = q.iter().map(|&x| (x as i32).abs()).sum();
                    acc += (self.scales[i * nb + b] as f64).abs() * s as f64;
                }
                acc as f32
            })
            .collect()
    }

    /// Eᵀ·p: Σ_i p_i v_i, accumulated in f64. rows with p_i = 0 are skipped (exactly).
    pub fn t_matvec(&self, p: &[f64]) -> Result<Vec<f64>> {
        if p.len() != self.rows {
            return Err(Error::Shape(format!(
                "weights have length {}, matrix has {} rows",
                p.len(),
                self.rows
            )));
        }
        let nb = self.nb();
        let mut acc = vec![0f64; self.cols];
        for (i, &pi) in p.iter().enumerate() {
            if pi == 0.0 {
                continue;
            }
            for b in 0..nb {
                let w = pi * self.scales[i * nb + b] as f64;
                let q = &self.quants[i * self.cols + b * QK..i * self.cols + (b + 1) * QK];
                let a = &mut acc[b * QK..(b + 1) * QK];
                for (a, &x) in a.iter_mut().zip(q) {
                    *a += w * x as f64;
                }
            }
        }
        Ok(acc)
    }

    fn check_h(&self, h: &[f32]) -> Result<()> {
        if h.len() != self.cols {
            return Err(Error::Shape(format!(
                "h has {} components, the model has d = {}",
                h.len(),
                self.cols
            )));
        }
        if let Some(j) = h.iter().position(|x| !x.is_finite()) {
            return Err(Error::Invalid(format!("h[{j}] is {}", h[j])));
        }
        Ok(())
    }
}

/// little-endian F32/F16/BF16 bytes to f32.
pub fn to_f32(raw: &[u8], dtype: DType) -> Result<Vec<f32>> {
    Ok(match dtype {
        DType::F32 => raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        DType::F16 => raw
            .chunks_exact(2)
            .map(|b| f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32())
            .collect(),
        DType::BF16 => raw
            .chunks_exact(2)
            .map(|b| bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32())
            .collect(),
        DType::Q8_0 => {
            return Err(Error::Unsupported(
                "Q8_0 is not a plain float type".to_string(),
            ))
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn in_place_conversion_reads_every_block() {
        let m = random_matrix(37, 96, 5);
        let mut raw = m.to_ggml_bytes();
        // scales of -0 and a subnormal survive bit-exactly.
        raw[0..2].copy_from_slice(&0x8000u16.to_le_bytes());
        raw[34..36].copy_from_slice(&0x0001u16.to_le_bytes());
        let b = Q8Matrix::from_ggml_vec(raw.clone(), 37, 96).unwrap();
        // block by block from the bytes: the scale's f16 bits and the 32 quants after it.
        for (k, blk) in raw.chunks_exact(BLOCK_BYTES).enumerate() {
            let bits = u16::from_le_bytes([blk[0], blk[1]]);
            assert_eq!(f16::from_f32(b.scales[k]).to_bits(), bits, "block {k}");
            let q: Vec<i8> = blk[2..].iter().map(|&x| x as i8).collect();
            assert_eq!(&b.quants[k * QK..(k + 1) * QK], &q[..], "block {k}");
        }
        assert_eq!(b.to_ggml_bytes(), raw);
        raw[34 * 5..34 * 5 + 2].copy_from_slice(&0x7e00u16.to_le_bytes());
        let e = Q8Matrix::from_ggml_vec(raw, 37, 96)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 1 block 2 has a non-finite scale (NaN)"),
            "{e}"
        );
    }

    use crate::core::rng::Rng;

    /// a random quantized matrix with row scales spread over two orders of magnitude.
    pub fn random_matrix(rows: usize, cols: usize, seed: u64) -> Q8Matrix {
        let mut rng = Rng::new(seed);
        let data: Vec<f32> = (0..rows * cols)
            .map(|k| {
                let row_scale = 0.05 + 2.0 * ((k / cols) % 7) as f32 / 7.0;
                rng.gauss() as f32 * row_scale
            })
            .collect();
        Q8Matrix::quantize(&data, rows, cols).unwrap()
    }

    #[test]
    fn ggml_round_trip_is_bit_exact() {
        let m = random_matrix(13, 64, 1);
        let bytes = m.to_ggml_bytes();
        let m2 = Q8Matrix::from_ggml_bytes(&bytes, 13, 64).unwrap();
        assert_eq!(bytes, m2.to_ggml_bytes());
        assert_eq!(m.quants, m2.quants);
    }

    #[test]
    fn quantize_error_is_within_half_a_step() {
        let mut rng = Rng::new(7);
        let data: Vec<f32> = (0..4 * 96).map(|_| rng.gauss() as f32).collect();
        let m = Q8Matrix::quantize(&data, 4, 96).unwrap();
        for i in 0..4 {
            let r = m.row(i);
            for (j, &x) in r.iter().enumerate() {
                let d = m.scales[i * 3 + j / 32];
                // half a step of the f32 scale, plus the f16 rounding of the scale itself.
                let tol = 0.5 * d * (1.0 + 1e-3) + 127.0 * d * 1e-3;
                assert!((x - data[i * 96 + j]).abs() <= tol, "{i} {j}");
            }
        }
    }

    #[test]
    fn quantize_rejects_nan_inf_and_overflow() {
        for bad in [f32::NAN, f32::INFINITY, 1e30] {
            let mut data = vec![0.5f32; 64];
            data[40] = bad;
            assert!(matches!(
                Q8Matrix::quantize(&data, 2, 32),
                Err(Error::Invalid(_))
            ));
        }
    }

    #[test]
    fn rejects_bad_shapes_and_scales() {
        assert!(Q8Matrix::from_ggml_bytes(&[0; 33], 1, 32).is_err());
        assert!(Q8Matrix::from_ggml_bytes(&[0; 34], 1, 31).is_err());
        let mut b = vec![0u8; 34];
        b[0..2].copy_from_slice(&f16::NAN.to_bits().to_le_bytes());
        assert!(matches!(
            Q8Matrix::from_ggml_bytes(&b, 1, 32),
            Err(Error::Invalid(_))
        ));
        let m = random_matrix(2, 32, 3);
        assert!(m.matvec(&[0.0; 31]).is_err());
        let mut h = vec![0.0; 32];
        h[3] = f32::NAN;
        assert!(m.matvec(&h).is_err());
    }

    #[test]
    fn transposed_product_matches_rows() {
        let m = random_matrix(5, 64, 11);
        let p = [0.1, 0.0, 0.5, 0.25, 0.15];
        let g = m.t_matvec(&p).unwrap();
        for j in 0..64 {
            let want: f64 = (0..5).map(|i| p[i] * m.row(i)[j] as f64).sum();
            assert!((g[j] - want).abs() < 1e-12);
        }
    }
}
