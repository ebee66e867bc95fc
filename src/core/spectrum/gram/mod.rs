//! G = EᵀE (or the part of it from a range of rows) in f64, from f32 panels.
//!
//! a panel of [`PANEL`] rows is dequantized exactly into f32 (an f16 scale times an int8 fits
//! f32) and stored as strips of 8 columns; every 8×8 tile of G's upper triangle is then
//! accumulated over the panel in f32 (multiply-add, fused where the instruction set has it) and
//! added to its f64 tile. each f32 sum has at most PANEL terms, so an entry's error is at most
//! about PANEL·2⁻²⁴·Σ_i |e_ij e_ik| and in practice (random signs) far less: on SmolLM2's
//! 49152 × 576 embedding the singular values move by at most 1.2e-6 relative (`tests/oracle`
//! holds every one within 1e-4 of numpy in f64).
//!
//! G's upper triangle is kept as 8×8 tiles (tile (J, K), K ≥ J, row-major inside): the format
//! of a partial Gram that a Worker hands back, so the parts of a split are summed elementwise.

use std::ops::Range;

use ndarray::Array2;

use crate::core::error::{Error, Result};
use crate::core::quant::kernels::Kernel;
use crate::core::quant::matrix::{Q8Matrix, QK};

pub mod scalar;

#[cfg(target_arch = "x86_64")]
pub mod avx2;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;

/// rows per f32 panel: each f32 partial sum has at most this many terms.
pub const PANEL: usize = 64;
/// G's tiles are TILE × TILE.
pub const TILE: usize = 8;

/// the upper triangle of a symmetric d×d matrix in f64, as 8×8 tiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Gram {
    d: usize,
    tiles: Vec<f64>,
}

/// tiles per side.
fn sides(d: usize) -> usize {
    d / TILE
}

/// the index of tile (J, K), K ≥ J, among nt tiles per side.
#[inline(always)]
pub fn tile_index(nt: usize, j: usize, k: usize) -> usize {
    j * nt - j * j.saturating_sub(1) / 2 + (k - j)
}

impl Gram {
    /// a zero Gram matrix of side d (a positive multiple of 8).
    pub fn new(d: usize) -> Result<Gram> {
        Ok(Gram {
            d,
            tiles: vec![0f64; Self::len_for(d)?],
        })
    }

    /// how many f64 the tiles of side d take.
    pub fn len_for(d: usize) -> Result<usize> {
        if d == 0 || d % TILE != 0 {
            return Err(Error::Shape(format!(
                "d = {d} is not a positive multiple of 8"
            )));
        }
        let nt = sides(d);
        Ok(nt * (nt + 1) / 2 * TILE * TILE)
    }

    /// a Gram matrix from tiles made elsewhere (another Worker), checked.
    pub fn from_tiles(d: usize, tiles: Vec<f64>) -> Result<Gram> {
        let want = Self::len_for(d)?;
        if tiles.len() != want {
            return Err(Error::Shape(format!(
                "{} values are not the Gram tiles of d = {d} ({want})",
                tiles.len()
            )));
        }
        if tiles.iter().any(|x| !x.is_finite()) {
            return Err(Error::Invalid(
                "the Gram matrix has NaN or infinite entries".into(),
            ));
        }
        Ok(Gram { d, tiles })
    }

    pub fn d(&self) -> usize {
        self.d
    }

    pub fn tiles(&self) -> &[f64] {
        &self.tiles
    }

    pub fn into_tiles(self) -> Vec<f64> {
        self.tiles
    }

    /// adds another part (same d), elementwise.
    pub fn add(&mut self, other: &[f64]) -> Result<()> {
        if other.len() != self.tiles.len() {
            return Err(Error::Shape(format!(
                "a Gram part of {} values added to one of {}",
                other.len(),
                self.tiles.len()
            )));
        }
        if other.iter().any(|x| !x.is_finite()) {
            return Err(Error::Invalid(
                "the Gram matrix has NaN or infinite entries".into(),
            ));
        }
        for (a, b) in self.tiles.iter_mut().zip(other) {
            *a += b;
        }
        Ok(())
    }

    /// G += Σ_{i ∈ rows} e_i e_iᵀ with the fastest kernel. `progress(fraction of these rows)`
    /// is called every 1024 rows and at the end; false cancels.
    pub fn accumulate(
        &mut self,
        m: &Q8Matrix,
        rows: Range<usize>,
        progress: &mut dyn FnMut(f64) -> bool,
    ) -> Result<()> {
        let k = *Kernel::available().last().unwrap_or(&Kernel::Scalar);
        self.accumulate_with(k, m, rows, progress)
    }

    /// [`accumulate`](Self::accumulate) with a chosen kernel (tests, benchmarks).
    pub fn accumulate_with(
        &mut self,
        kernel: Kernel,
        m: &Q8Matrix,
        rows: Range<usize>,
        progress: &mut dyn FnMut(f64) -> bool,
    ) -> Result<()> {
        if !kernel.is_available() {
            return Err(Error::Unsupported(format!(
                "kernel {} is not available on this machine",
                kernel.name()
            )));
        }
        let d = self.d;
        if m.cols() != d {
            return Err(Error::Shape(format!(
                "a matrix of {} columns added to a Gram matrix of side {d}",
                m.cols()
            )));
        }
        if rows.start > rows.end || rows.end > m.rows() {
            return Err(Error::Shape(format!(
                "rows {}..{} of a matrix of {}",
                rows.start,
                rows.end,
                m.rows()
            )));
        }
        let nt = sides(d);
        let mut strips = vec![0f32; PANEL * d];
        let total = rows.len();
        let (mut start, mut last_report) = (rows.start, rows.start);
        while start < rows.end {
            let p = PANEL.min(rows.end - start);
            fill_strips(m, start, p, &mut strips);
            let s = &strips[..p * d];
            match kernel {
                Kernel::Scalar => scalar::panel(s, p, nt, &mut self.tiles),
                // SAFETY: avx2 and fma were checked by is_available() above.
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx2 => unsafe { avx2::panel(s, p, nt, &mut self.tiles) },
                #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                Kernel::Simd128 => simd128::panel(s, p, nt, &mut self.tiles),
                #[allow(unreachable_patterns)]
                _ => unreachable!("checked by is_available()"),
            }
            start += p;
            if start - last_report >= 1024 || start == rows.end {
                last_report = start;
                if !progress((start - rows.start) as f64 / total as f64) {
                    return Err(Error::Cancelled);
                }
            }
        }
        Ok(())
    }

    /// the whole symmetric matrix, row-major.
    pub fn to_matrix(&self) -> Array2<f64> {
        let (d, nt) = (self.d, sides(self.d));
        let mut g = Array2::<f64>::zeros((d, d));
        for j in 0..nt {
            for k in j..nt {
                let t = &self.tiles[tile_index(nt, j, k) * TILE * TILE..][..TILE * TILE];
                for x in 0..TILE {
                    for y in 0..TILE {
                        let (r, c) = (j * TILE + x, k * TILE + y);
                        if c >= r {
                            g[[r, c]] = t[x * TILE + y];
                            g[[c, r]] = t[x * TILE + y];
                        }
                    }
                }
            }
        }
        g
    }
}

/// rows start..start+p of `m`, dequantized, as d/8 strips of p rows × 8 columns.
fn fill_strips(m: &Q8Matrix, start: usize, p: usize, strips: &mut [f32]) {
    let (d, nb) = (m.cols(), m.nb());
    let (scales, quants) = (m.scales(), m.quants());
    for r in 0..p {
        let i = start + r;
        for b in 0..nb {
            let s = scales[i * nb + b];
            let q = &quants[i * d + b * QK..i * d + (b + 1) * QK];
            for t in 0..QK / TILE {
                let strip = b * (QK / TILE) + t;
                let dst = &mut strips[strip * p * TILE + r * TILE..][..TILE];
                for (x, &v) in dst.iter_mut().zip(&q[t * TILE..(t + 1) * TILE]) {
                    *x = s * v as f32;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fixtures::random_q8 as random_matrix;

    /// the exact Gram matrix of rows `rows` in f64, and Σ_i |e_ij e_ik| (the error scale).
    fn exact(m: &Q8Matrix, rows: Range<usize>) -> (Array2<f64>, Array2<f64>) {
        let d = m.cols();
        let mut g = Array2::<f64>::zeros((d, d));
        let mut a = Array2::<f64>::zeros((d, d));
        for i in rows {
            let r: Vec<f64> = m.row(i).iter().map(|&x| x as f64).collect();
            for j in 0..d {
                for k in 0..d {
                    g[[j, k]] += r[j] * r[k];
                    a[[j, k]] += (r[j] * r[k]).abs();
                }
            }
        }
        (g, a)
    }

    #[test]
    fn tile_indices_are_dense() {
        for nt in [1, 2, 5, 72] {
            let mut seen = vec![false; nt * (nt + 1) / 2];
            for j in 0..nt {
                for k in j..nt {
                    let t = tile_index(nt, j, k);
                    assert!(!seen[t], "nt {nt} ({j}, {k})");
                    seen[t] = true;
                }
            }
            assert!(seen.iter().all(|&s| s));
        }
    }

    #[test]
    fn every_kernel_is_within_the_panel_bound() {
        // rows not a multiple of the panel, d from one tile to several blocks.
        for (rows, d) in [(1, 32), (70, 64), (200, 96), (130, 256)] {
            let m = random_matrix(rows, d, rows as u64 + d as u64);
            for range in [0..rows, rows / 3..rows] {
                let (want, scale) = exact(&m, range.clone());
                for k in Kernel::available() {
                    let mut g = Gram::new(d).unwrap();
                    g.accumulate_with(k, &m, range.clone(), &mut |_| true)
                        .unwrap();
                    let got = g.to_matrix();
                    let gamma = (PANEL as f64 + 2.0) * f32::EPSILON as f64 / 2.0;
                    for j in 0..d {
                        for c in 0..d {
                            let err = (got[[j, c]] - want[[j, c]]).abs();
                            assert!(
                                err <= gamma * scale[[j, c]] + 1e-300,
                                "{} {rows}×{d} ({j}, {c}): {err:e} > {:e}",
                                k.name(),
                                gamma * scale[[j, c]]
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn parts_sum_to_the_whole() {
        let m = random_matrix(300, 64, 8);
        let mut whole = Gram::new(64).unwrap();
        whole.accumulate(&m, 0..300, &mut |_| true).unwrap();
        let mut sum = Gram::new(64).unwrap();
        for r in [0..128, 128..129, 129..300] {
            let mut part = Gram::new(64).unwrap();
            part.accumulate(&m, r, &mut |_| true).unwrap();
            sum.add(part.tiles()).unwrap();
        }
        // panels split differently: the same matrix to f32 rounding.
        let (a, b) = (whole.to_matrix(), sum.to_matrix());
        let (_, scale) = exact(&m, 0..300);
        for ((x, y), s) in a.iter().zip(b.iter()).zip(scale.iter()) {
            assert!((x - y).abs() <= 2.0 * PANEL as f64 * 6e-8 * s);
        }
        assert!(sum.add(&[0.0; 3]).is_err());
        let mut bad = whole.tiles().to_vec();
        bad[5] = f64::NAN;
        assert!(Gram::from_tiles(64, bad).is_err());
        assert!(Gram::from_tiles(64, vec![0.0; 10]).is_err());
        assert!(Gram::new(12).is_err());
        let mut g = Gram::new(64).unwrap();
        assert!(g.accumulate(&m, 10..400, &mut |_| true).is_err());
        assert!(matches!(
            g.accumulate(&m, 0..300, &mut |_| false),
            Err(Error::Cancelled)
        ));
    }
}
