//! the singular spectrum of E: all singular values and the right singular vectors V.
//!
//! G = EᵀE is accumulated in f64 from exactly dequantized rows (a Q8_0 value is an f16 scale
//! times an int8, exact in f32, and the product of two such values is exact in f64), then
//! G = V Λ Vᵀ by Householder tridiagonalisation + implicit QL (tred2/tql2), σ_k = √λ_k.
//! eigenvalue error ≈ ε_f64·‖G‖, so σ_k carries an absolute error ≈ ε·σ_max²/(2σ_k).

use ndarray::{Array1, Array2};

use super::error::{Error, Result};
use super::quant::matrix::{Q8Matrix, QK};

/// σ (descending) and V (columns are the right singular vectors, sign fixed so that the
/// largest-magnitude entry of each column is positive).
#[derive(Debug, Clone)]
pub struct Spectrum {
    pub sigma: Array1<f64>,
    pub v: Array2<f64>,
}

/// rows per dequantized panel.
const PANEL: usize = 64;

/// EᵀE in f64. `progress(fraction)` is called after every panel; return false to cancel.
pub fn gram(m: &Q8Matrix, progress: &mut dyn FnMut(f64) -> bool) -> Result<Array2<f64>> {
    let d = m.cols();
    if d % 8 != 0 {
        return Err(Error::Shape(format!("d = {d} is not a multiple of 8")));
    }
    let mut g = vec![0f64; d * d];
    let mut panel = vec![0f64; PANEL * d];
    let n = m.rows();
    let nb = m.nb();
    let mut start = 0;
    let mut last_report = 0;
    while start < n {
        let rows = PANEL.min(n - start);
        for r in 0..rows {
            let i = start + r;
            for b in 0..nb {
                let s = m.scales()[i * nb + b] as f64;
                let q = &m.quants()[i * d + b * QK..i * d + (b + 1) * QK];
                for (x, &v) in panel[r * d + b * QK..r * d + (b + 1) * QK]
                    .iter_mut()
                    .zip(q)
                {
                    *x = s * v as f64;
                }
            }
        }
        syrk_panel(&panel[..rows * d], rows, d, &mut g);
        start += rows;
        if start - last_report >= 1024 || start == n {
            last_report = start;
            if !progress(0.9 * start as f64 / n as f64) {
                return Err(Error::Cancelled);
            }
        }
    }
    // mirror the upper triangle.
    for j in 0..d {
        for k in 0..j {
            g[j * d + k] = g[k * d + j];
        }
    }
    Array2::from_shape_vec((d, d), g).map_err(|e| Error::Shape(e.to_string()))
}

/// g[j][k] += Σ_r a[r][j]·a[r][k] for the 4×8 tiles that touch the upper triangle.
fn syrk_panel(a: &[f64], rows: usize, d: usize, g: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the features were detected just above.
        unsafe { syrk_panel_avx2(a, rows, d, g) };
        return;
    }
    syrk_panel_generic(a, rows, d, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn syrk_panel_avx2(a: &[f64], rows: usize, d: usize, g: &mut [f64]) {
    syrk_panel_generic(a, rows, d, g)
}

#[inline(always)]
fn syrk_panel_generic(a: &[f64], rows: usize, d: usize, g: &mut [f64]) {
    for jb in (0..d).step_by(4) {
        for kb in ((jb / 8) * 8..d).step_by(8) {
            let mut acc = [[0f64; 8]; 4];
            for r in 0..rows {
                let row = &a[r * d..(r + 1) * d];
                let x: [f64; 4] = [row[jb], row[jb + 1], row[jb + 2], row[jb + 3]];
                let y = &row[kb..kb + 8];
                for (accx, &xv) in acc.iter_mut().zip(&x) {
                    for (s, &yv) in accx.iter_mut().zip(y) {
                        *s += xv * yv;
                    }
                }
            }
            for (x, accx) in acc.iter().enumerate() {
                let gr = &mut g[(jb + x) * d + kb..(jb + x) * d + kb + 8];
                for (s, &v) in gr.iter_mut().zip(accx) {
                    *s += v;
                }
            }
        }
    }
}

impl Spectrum {
    /// all singular values and V of `m`. progress goes 0 → 0.9 over the Gram, then to 1.
    pub fn compute(m: &Q8Matrix, progress: &mut dyn FnMut(f64) -> bool) -> Result<Self> {
        let g = gram(m, progress)?;
        let (lambda, v) = sym_eigen(g)?;
        if !progress(1.0) {
            return Err(Error::Cancelled);
        }
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

/// eigen-decomposition of a symmetric matrix: eigenvalues descending, eigenvectors as columns.
pub fn sym_eigen(a: Array2<f64>) -> Result<(Array1<f64>, Array2<f64>)> {
    let n = a.nrows();
    if n == 0 || a.ncols() != n {
        return Err(Error::Shape(format!("{:?} is not square", a.shape())));
    }
    if a.iter().any(|x| !x.is_finite()) {
        return Err(Error::Invalid("matrix has NaN or infinite entries".into()));
    }
    let mut v: Vec<f64> = a.iter().copied().collect();
    let mut d = vec![0f64; n];
    let mut e = vec![0f64; n];
    tred2(n, &mut v, &mut d, &mut e);
    // tql2 rotates pairs of columns of V: work on Vᵀ so they are contiguous rows.
    let mut w = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..n {
            w[j * n + i] = v[i * n + j];
        }
    }
    tql2(n, &mut w, &mut d, &mut e)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| d[y].total_cmp(&d[x]));
    let vals = Array1::from_iter(order.iter().map(|&k| d[k]));
    let mut vecs = Array2::<f64>::zeros((n, n));
    for (col, &k) in order.iter().enumerate() {
        let row = &w[k * n..(k + 1) * n];
        let arg = (0..n).fold(0, |b, j| if row[j].abs() > row[b].abs() { j } else { b });
        let sign = if row[arg] < 0.0 { -1.0 } else { 1.0 };
        for j in 0..n {
            vecs[[j, col]] = sign * row[j];
        }
    }
    Ok((vals, vecs))
}

/// Householder reduction of the symmetric `v` (row-major n×n) to tridiagonal form
/// (diagonal d, sub-diagonal e), accumulating the transformation in `v`. after JAMA/EISPACK.
fn tred2(n: usize, v: &mut [f64], d: &mut [f64], e: &mut [f64]) {
    let ix = |r: usize, c: usize| r * n + c;
    for j in 0..n {
        d[j] = v[ix(n - 1, j)];
    }
    for i in (1..n).rev() {
        let mut scale = 0.0;
        let mut h = 0.0;
        for k in 0..i {
            scale += d[k].abs();
        }
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[ix(i - 1, j)];
                v[ix(i, j)] = 0.0;
                v[ix(j, i)] = 0.0;
            }
        } else {
            for k in 0..i {
                d[k] /= scale;
                h += d[k] * d[k];
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for ej in e.iter_mut().take(i) {
                *ej = 0.0;
            }
            for j in 0..i {
                f = d[j];
                v[ix(j, i)] = f;
                g = e[j] + v[ix(j, j)] * f;
                for k in j + 1..i {
                    g += v[ix(k, j)] * d[k];
                    e[k] += v[ix(k, j)] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[ix(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[ix(i - 1, j)];
                v[ix(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    for i in 0..n - 1 {
        v[ix(n - 1, i)] = v[ix(i, i)];
        v[ix(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[ix(k, i + 1)] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[ix(k, i + 1)] * v[ix(k, j)];
                }
                for k in 0..=i {
                    v[ix(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[ix(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[ix(n - 1, j)];
        v[ix(n - 1, j)] = 0.0;
    }
    v[ix(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

/// implicit QL on the tridiagonal (d, e); `w` holds Vᵀ (row k = eigenvector k) on return.
fn tql2(n: usize, w: &mut [f64], d: &mut [f64], e: &mut [f64]) -> Result<()> {
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n {
            if e[m].abs() <= eps * tst1 {
                break;
            }
            m += 1;
        }
        if m == n {
            m = n - 1;
        }
        if m > l {
            let mut iter = 0;
            loop {
                iter += 1;
                if iter > 60 {
                    return Err(Error::Invalid(
                        "eigenvalue iteration did not converge".into(),
                    ));
                }
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in d.iter_mut().skip(l + 2) {
                    *di -= h;
                }
                f += h;
                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    let (lo, hi) = w.split_at_mut((i + 1) * n);
                    let wi = &mut lo[i * n..];
                    let wi1 = &mut hi[..n];
                    for (a, b) in wi.iter_mut().zip(wi1.iter_mut()) {
                        let t = *b;
                        *b = s * *a + c * t;
                        *a = c * *a - s * t;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fixtures::random_q8 as random_matrix;
    use crate::core::rng::Rng;

    #[test]
    fn eigen_decomposition_reconstructs() {
        let mut rng = Rng::new(9);
        for n in [1usize, 2, 3, 17, 64] {
            let b = Array2::from_shape_fn((n + 5, n), |_| rng.gauss());
            let a = b.t().dot(&b);
            let (vals, vecs) = sym_eigen(a.clone()).unwrap();
            let eye = vecs.t().dot(&vecs);
            let recon = vecs.dot(&Array2::from_diag(&vals)).dot(&vecs.t());
            let tol = 1e-12 * n as f64 * vals[0].abs().max(1.0);
            for ((x, y), z) in recon.iter().zip(a.iter()).zip(eye.iter()) {
                assert!((x - y).abs() <= tol * 10.0);
                let _ = z;
            }
            for i in 0..n {
                for j in 0..n {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((eye[[i, j]] - want).abs() < 1e-12 * n as f64 + 1e-13);
                }
            }
            for k in 1..n {
                assert!(vals[k - 1] >= vals[k]);
            }
        }
    }

    #[test]
    fn gram_matches_direct_product_and_spectrum_reconstructs_norms() {
        let m = random_matrix(150, 64, 4);
        let e = Array2::from_shape_fn((150, 64), |(i, j)| m.row(i)[j] as f64);
        let direct = e.t().dot(&e);
        let g = gram(&m, &mut |_| true).unwrap();
        for (x, y) in g.iter().zip(direct.iter()) {
            assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0));
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
        assert!((fro - sum).abs() < 1e-9 * fro);
        // ‖E V_k‖ = σ_k, and h → c → h round trip.
        for k in [0, 10, 63] {
            let col = s.v.column(k);
            let ev = e.dot(&col);
            let nrm = ev.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!((nrm - s.sigma[k]).abs() < 1e-9 * s.sigma[0]);
        }
        let h: Vec<f32> = (0..64).map(|j| (j as f32 * 0.37).sin()).collect();
        let back = s.from_coords(&s.coords(&h).unwrap()).unwrap();
        for (a, b) in h.iter().zip(&back) {
            assert!((a - b).abs() < 1e-5);
        }
        assert!(Spectrum::compute(&m, &mut |_| false).is_err());
    }
}
