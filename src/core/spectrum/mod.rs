//! the singular spectrum of E: all singular values and the right singular vectors V.
//!
//! G = EᵀE is accumulated in f64 from f32 panels of exactly dequantized rows ([`gram`]: a
//! Q8_0 value is an f16 scale times an int8, exact in f32), then G = V Λ Vᵀ by the blocked
//! Householder tridiagonalisation + implicit QL of [`eigen`], σ_k = √λ_k. an eigenvalue's
//! absolute error is about ε_f64·‖G‖ plus the panels' f32 rounding, so σ_k carries an absolute
//! error ≈ (ε + δ)·σ_max²/(2σ_k); `tests/oracle` holds all of them within 1e-4 of numpy.
//!
//! G is a sum over rows, so it splits: natively [`gram_tiles`] sums parts made on threads;
//! the page gives each Worker a range of rows and sums the parts they hand back in wasm.

use ndarray::{Array1, Array2};

use super::error::{Error, Result};
use super::quant::matrix::Q8Matrix;

pub mod eigen;
pub mod gram;

pub use gram::Gram;

/// σ (descending) and V (columns are the right singular vectors, sign fixed so that the
/// largest-magnitude entry of each column is positive).
#[derive(Debug, Clone)]
pub struct Spectrum {
    pub sigma: Array1<f64>,
    pub v: Array2<f64>,
}

/// natively, rows per part of the Gram matrix's split, and at most how many parts (each holds
/// its own d×d/2 f64, at most [`PART_BYTES`] in all). the split depends only on the matrix's
/// shape, so the result does not depend on the machine.
const PART_ROWS: usize = 8192;
const MAX_PARTS: usize = 4;
const PART_BYTES: usize = 512 << 20;

/// how many parts the native Gram matrix of `m` is split into.
pub fn native_parts(m: &Q8Matrix) -> usize {
    let bytes = Gram::len_for(m.cols()).unwrap_or(0) * 8;
    let by_memory = PART_BYTES / bytes.max(1);
    m.rows()
        .div_ceil(PART_ROWS)
        .min(MAX_PARTS)
        .min(by_memory)
        .max(1)
}

/// EᵀE in f64 as tiles. `progress(fraction)` as the rows are read; false cancels. natively
/// the rows are split into [`native_parts`] parts, all but the first on their own threads.
pub fn gram_tiles(m: &Q8Matrix, progress: &mut dyn FnMut(f64) -> bool) -> Result<Gram> {
    let d = m.cols();
    let n = m.rows();
    #[cfg(not(target_arch = "wasm32"))]
    {
        let parts = native_parts(m);
        if parts > 1 {
            return gram_threads(m, parts, progress);
        }
    }
    let mut g = Gram::new(d)?;
    g.accumulate(m, 0..n, progress)?;
    Ok(g)
}

/// at least this many rows per part of a split among Workers (fewer would cost more in
/// start-up and in summing the parts than they save).
pub const MIN_SPLIT_ROWS: usize = 4096;
/// the Workers' parts together hold at most this many bytes of f64 tiles.
pub const SPLIT_BYTES: usize = 1 << 30;

/// row boundaries `[0, b₁, …, rows]` splitting an n × d matrix's Gram matrix among at most
/// `workers` parts: at least [`MIN_SPLIT_ROWS`] rows each, their tiles within [`SPLIT_BYTES`].
pub fn split_rows(rows: usize, d: usize, workers: usize) -> Vec<usize> {
    let bytes = Gram::len_for(d).unwrap_or(0) * 8;
    let by_memory = SPLIT_BYTES / bytes.max(1);
    let parts = workers
        .min(rows.div_ceil(MIN_SPLIT_ROWS))
        .min(by_memory)
        .max(1);
    (0..=parts).map(|p| p * rows / parts).collect()
}

/// the part of G = EᵀE that the rows of `m` (a slice of E's rows, see
/// [`Q8Matrix::row_parts`]) contribute, as tiles; `progress` as in [`Gram::accumulate`].
pub fn gram_part(m: &Q8Matrix, progress: &mut dyn FnMut(f64) -> bool) -> Result<Gram> {
    let mut g = Gram::new(m.cols())?;
    g.accumulate(m, 0..m.rows(), progress)?;
    Ok(g)
}

#[cfg(not(target_arch = "wasm32"))]
fn gram_threads(m: &Q8Matrix, parts: usize, progress: &mut dyn FnMut(f64) -> bool) -> Result<Gram> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let (d, n) = (m.cols(), m.rows());
    let bounds: Vec<std::ops::Range<usize>> = (0..parts)
        .map(|p| p * n / parts..(p + 1) * n / parts)
        .collect();
    let done = AtomicUsize::new(0);
    let cancel = AtomicBool::new(false);
    let run = |r: std::ops::Range<usize>, report: &mut dyn FnMut(usize) -> bool| {
        let mut g = Gram::new(d)?;
        let len = r.len();
        let mut last = 0;
        g.accumulate(m, r, &mut |f| {
            let rows = (f * len as f64) as usize;
            done.fetch_add(rows - last, Ordering::Relaxed);
            last = rows;
            report(done.load(Ordering::Relaxed)) && !cancel.load(Ordering::Relaxed)
        })?;
        Ok::<Gram, Error>(g)
    };
    std::thread::scope(|s| {
        let others: Vec<_> = bounds[1..]
            .iter()
            .map(|r| {
                let r = r.clone();
                s.spawn(move || run(r, &mut |_| true))
            })
            .collect();
        let first = run(bounds[0].clone(), &mut |rows| {
            progress(rows as f64 / n as f64)
        });
        if first.is_err() {
            cancel.store(true, Ordering::Relaxed);
        }
        let mut sum = first;
        for h in others {
            let part = h
                .join()
                .unwrap_or_else(|_| Err(Error::Invalid("a Gram thread panicked".into())));
            sum = match (sum, part) {
                (Ok(mut g), Ok(p)) => g.add(p.tiles()).map(|_| g),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
        }
        let g = sum?;
        if !progress(1.0) {
            return Err(Error::Cancelled);
        }
        Ok(g)
    })
}

/// EᵀE in f64, the whole symmetric matrix.
pub fn gram(m: &Q8Matrix, progress: &mut dyn FnMut(f64) -> bool) -> Result<Array2<f64>> {
    Ok(gram_tiles(m, progress)?.to_matrix())
}

impl Spectrum {
    /// all singular values and V of `m`. progress goes 0 → 0.9 over the Gram matrix, then to 1
    /// over the eigen-decomposition.
    pub fn compute(m: &Q8Matrix, progress: &mut dyn FnMut(f64) -> bool) -> Result<Self> {
        let g = gram_tiles(m, &mut |f| progress(0.9 * f))?;
        Self::from_gram(&g, &mut |f| progress(0.9 + 0.1 * f))
    }

    /// σ and V from the parts of G = EᵀE made apart (each the tiles of [`gram_part`] on a
    /// range of rows, the ranges covering E once), summed here. progress 0 → 1; false cancels.
    pub fn from_gram_parts(
        d: usize,
        parts: impl IntoIterator<Item = Vec<f64>>,
        progress: &mut dyn FnMut(f64) -> bool,
    ) -> Result<Self> {
        let mut parts = parts.into_iter();
        let first = parts
            .next()
            .ok_or_else(|| Error::Invalid("no part of the Gram matrix".into()))?;
        let mut g = Gram::from_tiles(d, first)?;
        for p in parts {
            g.add(&p)?;
        }
        Self::from_gram(&g, progress)
    }

    /// σ and V from G = EᵀE. progress 0 → 1; false cancels.
    pub fn from_gram(g: &Gram, progress: &mut dyn FnMut(f64) -> bool) -> Result<Self> {
        let (lambda, v) = sym_eigen_with(g.to_matrix(), progress)?;
        let sigma = lambda.mapv(|l| l.max(0.0).sqrt());
        Ok(Spectrum { sigma, v })
    }

    /// c = Vᵀh: h in the singular basis.
    pub fn coords(&self, h: &[f32]) -> Result<Vec<f64>> {
        let d = self.v.nrows();
        if h.len() != d {
            return Err(Error::Shape(format!(
                "h has {} components, V is {d} × {d}",
                h.len()
            )));
        }
        Ok((0..d)
            .map(|k| (0..d).map(|j| self.v[[j, k]] * h[j] as f64).sum())
            .collect())
    }

    /// h = V c.
    pub fn from_coords(&self, c: &[f64]) -> Result<Vec<f32>> {
        let d = self.v.nrows();
        if c.len() != d {
            return Err(Error::Shape(format!(
                "c has {} components, V is {d} × {d}",
                c.len()
            )));
        }
        Ok((0..d)
            .map(|j| (0..d).map(|k| self.v[[j, k]] * c[k]).sum::<f64>() as f32)
            .collect())
    }

    /// σ_k·c_k: how much each singular direction adds to the logit vector z = U Σ c.
    pub fn contributions(&self, c: &[f64]) -> Vec<f64> {
        self.sigma.iter().zip(c).map(|(s, c)| s * c).collect()
    }

    /// the fraction of ‖E‖_F² carried by the first k singular values, for k = 1..d.
    pub fn cumulative_energy(&self) -> Vec<f64> {
        let total: f64 = self.sigma.iter().map(|s| s * s).sum();
        let mut acc = 0.0;
        self.sigma
            .iter()
            .map(|s| {
                acc += s * s;
                if total > 0.0 {
                    acc / total
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// eigen-decomposition of a symmetric matrix: eigenvalues descending, eigenvectors as columns
/// (each signed so that its largest-magnitude entry is positive).
pub fn sym_eigen(a: Array2<f64>) -> Result<(Array1<f64>, Array2<f64>)> {
    sym_eigen_with(a, &mut |_| true)
}

/// [`sym_eigen`] with progress (0 → 1; false cancels).
pub fn sym_eigen_with(
    a: Array2<f64>,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<(Array1<f64>, Array2<f64>)> {
    let n = a.nrows();
    if n == 0 || a.ncols() != n {
        return Err(Error::Shape(format!("{:?} is not square", a.shape())));
    }
    if a.iter().any(|x| !x.is_finite()) {
        return Err(Error::Invalid("matrix has NaN or infinite entries".into()));
    }
    // row-major symmetric = its own column-major copy.
    let mut w: Vec<f64> = a.iter().copied().collect();
    drop(a);
    let d = eigen::eigen_colmajor(&mut w, n, progress)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| d[y].total_cmp(&d[x]));
    let vals = Array1::from_iter(order.iter().map(|&k| d[k]));
    let mut vecs = Array2::<f64>::zeros((n, n));
    for (col, &k) in order.iter().enumerate() {
        let column = &w[k * n..(k + 1) * n];
        let arg = (0..n).fold(0, |b, j| {
            if column[j].abs() > column[b].abs() {
                j
            } else {
                b
            }
        });
        let sign = if column[arg] < 0.0 { -1.0 } else { 1.0 };
        for j in 0..n {
            vecs[[j, col]] = sign * column[j];
        }
    }
    Ok((vals, vecs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fixtures::random_q8 as random_matrix;
    use crate::core::rng::Rng;

    /// A = V Λ Vᵀ and VᵀV = I within ε·n·‖A‖, eigenvalues descending.
    fn check_eigen(a: &Array2<f64>) {
        let n = a.nrows();
        let (vals, vecs) = sym_eigen(a.clone()).unwrap();
        let norm = a.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-300);
        let recon = vecs.dot(&Array2::from_diag(&vals)).dot(&vecs.t());
        let eye = vecs.t().dot(&vecs);
        let tol = 1e-13 * n as f64;
        for ((x, y), z) in recon.iter().zip(a.iter()).zip(eye.iter()) {
            assert!((x - y).abs() <= tol * norm, "n {n}: {x} vs {y}");
            let _ = z;
        }
        for i in 0..n {
            for j in 0..n {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!(
                    (eye[[i, j]] - want).abs() < tol + 1e-14,
                    "n {n} VᵀV[{i}][{j}]"
                );
            }
        }
        for k in 1..n {
            assert!(vals[k - 1] >= vals[k]);
        }
    }

    #[test]
    fn eigen_decomposition_reconstructs() {
        let mut rng = Rng::new(9);
        // below, at and past the blocked steps' thresholds (NX = 128, panels of NB = 32).
        for n in [1usize, 2, 3, 17, 64, 129, 161, 200, 300] {
            let b = Array2::from_shape_fn((n + 5, n), |_| rng.gauss());
            check_eigen(&b.t().dot(&b));
            // rank-deficient (a Gram matrix of fewer rows than columns).
            let c = Array2::from_shape_fn((n / 2 + 1, n), |_| rng.gauss());
            check_eigen(&c.t().dot(&c));
        }
    }

    #[test]
    fn parts_made_apart_give_the_whole_spectrum() {
        let m = random_matrix(9000, 64, 21);
        let whole = Spectrum::compute(&m, &mut |_| true).unwrap();
        for workers in [1, 2, 3, 16] {
            let b = split_rows(m.rows(), m.cols(), workers);
            assert_eq!((b[0], *b.last().unwrap()), (0, 9000));
            assert_eq!(b.len() - 1, workers.min(3), "{b:?}");
            let parts = b.windows(2).map(|w| {
                let (s, q) = m.row_parts(w[0]..w[1]).unwrap();
                let part = Q8Matrix::from_parts(w[1] - w[0], 64, s.to_vec(), q.to_vec()).unwrap();
                gram_part(&part, &mut |_| true).unwrap().into_tiles()
            });
            let s = Spectrum::from_gram_parts(64, parts, &mut |_| true).unwrap();
            for (x, y) in s.sigma.iter().zip(whole.sigma.iter()) {
                assert!(
                    (x - y).abs() <= 1e-6 * whole.sigma[0],
                    "{workers}: {x} vs {y}"
                );
            }
        }
        assert_eq!(split_rows(10, 64, 8), vec![0, 10]);
        assert!(Spectrum::from_gram_parts(64, Vec::<Vec<f64>>::new(), &mut |_| true).is_err());
        assert!(Spectrum::from_gram_parts(64, [vec![0.0; 7]], &mut |_| true).is_err());
        assert!(Q8Matrix::from_parts(2, 64, vec![1.0; 3], vec![0; 128]).is_err());
        assert!(Q8Matrix::from_parts(2, 64, vec![f32::NAN; 4], vec![0; 128]).is_err());
        assert!(m.row_parts(10..9001).is_err());
    }

    #[test]
    fn eigen_handles_structured_matrices() {
        for n in [5usize, 150] {
            // zero, diagonal (every reflector is the identity), a repeated eigenvalue.
            check_eigen(&Array2::zeros((n, n)));
            check_eigen(&Array2::from_diag(&Array1::from_iter(
                (0..n).map(|i| (i % 7) as f64),
            )));
            let mut a = Array2::<f64>::eye(n) * 3.0;
            a[[0, n - 1]] = 1.0;
            a[[n - 1, 0]] = 1.0;
            check_eigen(&a);
            // tridiagonal already, huge and tiny scales.
            let t = Array2::from_shape_fn((n, n), |(i, j)| match i.abs_diff(j) {
                0 => 2.0,
                1 => -1.0,
                _ => 0.0,
            });
            check_eigen(&(&t * 1e150));
            check_eigen(&(&t * 1e-150));
        }
        let (vals, _) = sym_eigen(Array2::from_diag(&Array1::from(vec![1.0, 5.0, 3.0]))).unwrap();
        assert_eq!(vals.to_vec(), vec![5.0, 3.0, 1.0]);
        assert!(sym_eigen(Array2::zeros((2, 3))).is_err());
        let mut bad = Array2::<f64>::eye(4);
        bad[[1, 2]] = f64::NAN;
        assert!(sym_eigen(bad).is_err());
        let mut calls = 0;
        let r = sym_eigen_with(Array2::eye(200), &mut |_| {
            calls += 1;
            calls < 2
        });
        assert!(matches!(r, Err(Error::Cancelled)));
    }

    #[test]
    fn gram_matches_direct_product_and_spectrum_reconstructs_norms() {
        let m = random_matrix(150, 64, 4);
        let e = Array2::from_shape_fn((150, 64), |(i, j)| m.row(i)[j] as f64);
        let direct = e.t().dot(&e);
        let g = gram(&m, &mut |_| true).unwrap();
        // f32 panels: within their rounding (gram::tests holds each entry to its bound).
        let scale = direct.iter().fold(0f64, |a, x| a.max(x.abs()));
        for (x, y) in g.iter().zip(direct.iter()) {
            assert!((x - y).abs() <= 1e-5 * scale);
        }
        let mut calls = 0;
        let s = Spectrum::compute(&m, &mut |_| {
            calls += 1;
            true
        })
        .unwrap();
        assert!(calls >= 2);
        // Σσ² = ‖E‖_F²
        let fro: f64 = e.iter().map(|x| x * x).sum();
        let sum: f64 = s.sigma.iter().map(|x| x * x).sum();
        assert!((fro - sum).abs() < 1e-6 * fro);
        // ‖E V_k‖ = σ_k, and h → c → h round trip.
        for k in [0, 10, 63] {
            let col = s.v.column(k);
            let ev = e.dot(&col);
            let nrm = ev.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!((nrm - s.sigma[k]).abs() < 1e-6 * s.sigma[0]);
        }
        let h: Vec<f32> = (0..64).map(|j| (j as f32 * 0.37).sin()).collect();
        let back = s.from_coords(&s.coords(&h).unwrap()).unwrap();
        for (a, b) in h.iter().zip(&back) {
            assert!((a - b).abs() < 1e-5);
        }
        assert!(Spectrum::compute(&m, &mut |_| false).is_err());
    }
}
