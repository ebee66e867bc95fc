//! the Q8_0 matrix: rows of blocks of 32 int8 with one scale each, and its products.
//!
//! storage is split (scales apart from quants) so the kernels stream contiguous int8.
//! a row's value j is `scales[row·nb + j/32] · quants[row·d + j]`, exactly as ggml dequantizes.

use half::f16;
use serde::Serialize;

use super::kernels::{self, Precision, QuantH};
use super::GgmlType;
use crate::core::error::{Error, Result};

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

    /// a matrix from its scales (one per block of 32, row-major) and quants, checked: what a
    /// Worker gets when it is handed a range of another matrix's rows ([`Self::row_parts`]).
    pub fn from_parts(rows: usize, cols: usize, scales: Vec<f32>, quants: Vec<i8>) -> Result<Self> {
        if cols == 0 || cols % QK != 0 {
            return Err(Error::Shape(format!(
                "Q8_0 needs a row length that is a multiple of 32, got {cols}"
            )));
        }
        if rows.checked_mul(cols) != Some(quants.len()) || scales.len() * QK != quants.len() {
            return Err(Error::Shape(format!(
                "{} scales and {} quants are not a Q8_0 {rows} × {cols}",
                scales.len(),
                quants.len()
            )));
        }
        if let Some(k) = scales.iter().position(|d| !d.is_finite()) {
            return Err(Error::Invalid(format!(
                "row {} block {} has a non-finite scale",
                k / (cols / QK),
                k % (cols / QK)
            )));
        }
        Ok(Q8Matrix {
            rows,
            cols,
            scales,
            quants,
        })
    }

    /// the scales and quants of rows `rows` (see [`Self::from_parts`]).
    pub fn row_parts(&self, rows: std::ops::Range<usize>) -> Result<(&[f32], &[i8])> {
        if rows.start > rows.end || rows.end > self.rows {
            return Err(Error::Shape(format!(
                "rows {}..{} of a matrix of {}",
                rows.start, rows.end, self.rows
            )));
        }
        let nb = self.nb();
        Ok((
            &self.scales[rows.start * nb..rows.end * nb],
            &self.quants[rows.start * self.cols..rows.end * self.cols],
        ))
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

    /// quantizes f32 rows the way ggml's reference `quantize_row_q8_0` does (see
    /// [`quantize_row`]).
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
        for (i, row) in data.chunks_exact(cols).enumerate() {
            quantize_row(row, i, &mut scales, &mut quants)?;
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

    /// reads a matrix stored as `ty`, taking the buffer: Q8_0 is converted in place (exactly,
    /// no error reported); any other readable type is dequantized row by row and quantized to
    /// Q8_0 as ggml does, and the distance to the source values is returned.
    pub fn from_any(
        raw: Vec<u8>,
        ty: GgmlType,
        rows: usize,
        cols: usize,
    ) -> Result<(Self, Option<QuantError>)> {
        if ty == GgmlType::Q8_0 {
            return Ok((Self::from_ggml_vec(raw, rows, cols)?, None));
        }
        if cols == 0 || cols % QK != 0 {
            return Err(Error::Shape(format!(
                "Q8_0 needs a row length that is a multiple of 32, got {cols}"
            )));
        }
        let row_bytes = ty.row_bytes(cols as u64)? as usize;
        if Some(raw.len()) != rows.checked_mul(row_bytes) {
            return Err(Error::Shape(format!(
                "{} {rows} × {cols} needs {} bytes, got {}",
                ty.name(),
                rows.saturating_mul(row_bytes),
                raw.len()
            )));
        }
        let mut scales = Vec::with_capacity(rows * (cols / QK));
        let mut quants = Vec::with_capacity(rows * cols);
        let mut src = vec![0f32; cols];
        let mut acc = ErrorAcc::default();
        for (i, r) in raw.chunks_exact(row_bytes.max(1)).take(rows).enumerate() {
            ty.dequantize_row(r, &mut src)?;
            let at = quants.len();
            quantize_row(&src, i, &mut scales, &mut quants)?;
            acc.row(&src, &scales[scales.len() - cols / QK..], &quants[at..]);
        }
        drop(raw);
        let m = Q8Matrix {
            rows,
            cols,
            scales,
            quants,
        };
        Ok((m, Some(acc.finish())))
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

    /// ‖v_i‖ for every row, summed in f64 (exact products: an f16 scale times an int8).
    pub fn row_norms(&self) -> Vec<f64> {
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
                acc.sqrt()
            })
            .collect()
    }

    /// z = E·h at the given precision with the fastest kernel.
    pub(crate) fn matvec_precision(&self, h: &[f32], precision: Precision) -> Result<Vec<f64>> {
        self.check_h(h)?;
        let qh = QuantH::new(h);
        let mut out = vec![0f64; self.rows];
        kernels::best(self, &qh, &mut out, precision);
        Ok(out)
    }

    /// z_i = E_i·h for the first `rows` rows only: the same bits as those rows of
    /// [`matvec_precision`](Self::matvec_precision), since every kernel takes the rows one at a
    /// time with the same quantized h. the page's thread computes a head while a Worker that
    /// holds the other rows (a [`from_parts`](Self::from_parts) of them) computes the rest.
    pub fn matvec_head(&self, h: &[f32], rows: usize, precision: Precision) -> Result<Vec<f64>> {
        self.check_h(h)?;
        if rows > self.rows {
            return Err(Error::Shape(format!(
                "{rows} rows asked of a matrix of {}",
                self.rows
            )));
        }
        let qh = QuantH::new(h);
        let mut out = vec![0f64; rows];
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

    /// Eᵀ·p = Σ_i p_i v_i with the fastest kernel, f64-grade ([`kernels::t_run`]).
    pub(crate) fn t_matvec(&self, p: &[f64]) -> Result<Vec<f64>> {
        let mut out = vec![0f64; self.cols];
        let k = *kernels::Kernel::available()
            .last()
            .unwrap_or(&kernels::Kernel::Scalar);
        kernels::t_run(k, self, p, &mut out)?;
        Ok(out)
    }

    pub(crate) fn check_h(&self, h: &[f32]) -> Result<()> {
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

/// appends row `row` (`x`, a multiple of 32 long) in Q8_0 as ggml's reference
/// `quantize_row_q8_0_ref` (ggml-quants.c) makes it: per block d = max|x|/127 stored as f16,
/// q = round(x/d) with ties away from zero. a NaN, an infinity, or a value whose scale
/// overflows f16 is an error naming the row.
pub fn quantize_row(
    x: &[f32],
    row: usize,
    scales: &mut Vec<f32>,
    quants: &mut Vec<i8>,
) -> Result<()> {
    for blk in x.chunks_exact(QK) {
        if let Some(v) = blk.iter().find(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!(
                "row {row} has a NaN or infinite value ({v})"
            )));
        }
        let amax = blk.iter().fold(0f32, |m, v| m.max(v.abs()));
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
        quants.extend(blk.iter().map(|&v| (v * id).round() as i8));
    }
    Ok(())
}

/// how far a Q8_0 copy is from the values it was made from, relative to the rows' norms:
/// `max_rel` = max over rows of max_j |q_ij − x_ij| / ‖x_i‖, `rms_rel` = √(Σ‖q_i − x_i‖² / Σ‖x_i‖²).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuantError {
    pub max_rel: f64,
    pub rms_rel: f64,
}

#[derive(Default)]
struct ErrorAcc {
    max_rel: f64,
    diff2: f64,
    norm2: f64,
}

impl ErrorAcc {
    fn row(&mut self, x: &[f32], scales: &[f32], q: &[i8]) {
        let (mut d2, mut n2, mut dmax) = (0f64, 0f64, 0f64);
        for (j, &v) in x.iter().enumerate() {
            let served = scales[j / QK] as f64 * q[j] as f64;
            let diff = served - v as f64;
            d2 += diff * diff;
            n2 += v as f64 * v as f64;
            dmax = dmax.max(diff.abs());
        }
        if n2 > 0.0 {
            self.max_rel = self.max_rel.max(dmax / n2.sqrt());
        }
        self.diff2 += d2;
        self.norm2 += n2;
    }
    fn finish(&self) -> QuantError {
        QuantError {
            max_rel: self.max_rel,
            rms_rel: if self.norm2 > 0.0 {
                (self.diff2 / self.norm2).sqrt()
            } else {
                0.0
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::fixtures::random_q8 as random_matrix;
    use crate::core::rng::Rng;

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
        assert!(m.matvec_precision(&[0.0; 31], Precision::Exact).is_err());
        let mut h = vec![0.0; 32];
        h[3] = f32::NAN;
        assert!(m.matvec_precision(&h, Precision::Exact).is_err());
    }

    #[test]
    fn transposed_product_matches_rows() {
        let m = random_matrix(5, 64, 11);
        let p = [0.1, 0.0, 0.5, 0.25, 0.15];
        let g = m.t_matvec(&p).unwrap();
        let bound = kernels::t_error_bound(&m, &p);
        for j in 0..64 {
            let want: f64 = (0..5).map(|i| p[i] * m.row(i)[j] as f64).sum();
            let scale: f64 = (0..5).map(|i| (p[i] * m.row(i)[j] as f64).abs()).sum();
            assert!(
                (g[j] - want).abs() <= bound[j],
                "column {j}: {} vs {want}",
                g[j]
            );
            // the bound is f64-grade: within 1e-8 of the terms' magnitude (1/16383 of one block).
            assert!(bound[j] <= 1e-8 * scale.max(1e-300) * 16.0, "column {j}");
        }
    }
}
