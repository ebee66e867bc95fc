//! the symmetric eigen-decomposition A = V Λ Vᵀ in f64, as LAPACK's dsyev does it, blocked:
//! 1. Householder tridiagonalisation A = Q T Qᵀ (dsytrd, lower): panels of [`NB`] columns
//!    (dlatrd) whose trailing update is one rank-2·NB product (dsyr2k); the last [`NX`] columns
//!    one at a time (dsytd2).
//! 2. Q formed from its reflectors (dorgtr → dorgqr): blocks of NB reflectors as
//!    I − V T Vᵀ (dlarft) applied at once (dlarfb), the last block one by one (dorg2r).
//! 3. implicit QL with Wilkinson shifts on T (tql2), each sweep's rotations stored and then
//!    applied to Q's columns a chunk of rows at a time (dlasr), so a column is read and written
//!    once per sweep instead of twice per rotation.
//!
//! matrices are column-major (a column is contiguous; a row-major symmetric matrix is its own
//! column-major copy), so every inner loop is a dot product or an axpy over contiguous memory.
//! backward stable: ‖A − VΛVᵀ‖ ≈ ε·n·‖A‖, so an eigenvalue carries an absolute error ≈ ε·‖A‖.

use crate::core::error::{Error, Result};

/// columns per panel of the blocked steps.
pub const NB: usize = 32;
/// below this many remaining columns the unblocked steps finish.
pub const NX: usize = 128;

/// eigenvalues (in no particular order) and eigenvectors as the columns of `a`
/// (column-major n × n, symmetric on entry; overwritten). `progress(fraction of the work)`
/// after each stage and during the QL iteration; false cancels.
pub fn eigen_colmajor(
    a: &mut [f64],
    n: usize,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<Vec<f64>> {
    assert_eq!(a.len(), n * n);
    if n == 1 {
        let l = a[0];
        a[0] = 1.0;
        return Ok(vec![l]);
    }
    // the stages' shares of the work: about 4/3·n³, 4/3·n³ and 4.5·n³ flops.
    let (t1, t2) = (0.18, 0.36);
    let (mut d, mut e, tau) = tridiagonalize(a, n);
    if !progress(t1) {
        return Err(Error::Cancelled);
    }
    form_q(a, n, &tau);
    if !progress(t2) {
        return Err(Error::Cancelled);
    }
    ql(a, n, &mut d, &mut e, &mut |l| {
        // QL on index l rotates columns l..n: the work left is ∝ (n − l)².
        let left = (n - l) as f64 / n as f64;
        progress(t2 + (1.0 - t2) * (1.0 - left * left))
    })?;
    Ok(d)
}

#[inline(always)]
fn dot(x: &[f64], y: &[f64]) -> f64 {
    // four partial sums: independent chains the compiler vectorises.
    let mut s = [0f64; 4];
    let n4 = x.len() / 4 * 4;
    for (a, b) in x[..n4].chunks_exact(4).zip(y[..n4].chunks_exact(4)) {
        for k in 0..4 {
            s[k] += a[k] * b[k];
        }
    }
    let mut t = (s[0] + s[2]) + (s[1] + s[3]);
    for (a, b) in x[n4..].iter().zip(&y[n4..]) {
        t += a * b;
    }
    t
}

/// y += alpha·x.
#[inline(always)]
fn axpy(y: &mut [f64], alpha: f64, x: &[f64]) {
    for (a, b) in y.iter_mut().zip(x) {
        *a += alpha * b;
    }
}

/// ‖x‖₂ without overflow or underflow.
fn norm2(x: &[f64]) -> f64 {
    let m = x.iter().fold(0f64, |m, v| m.max(v.abs()));
    if m == 0.0 || !m.is_finite() {
        return m;
    }
    let s: f64 = x.iter().map(|v| (v / m) * (v / m)).sum();
    m * s.sqrt()
}

/// dlarfg: the reflector H = I − τ·[1; v][1; v]ᵀ with H·[alpha; x] = [β; 0]. x becomes v;
/// returns (β, τ).
fn householder(alpha: f64, x: &mut [f64]) -> (f64, f64) {
    let xnorm = norm2(x);
    if xnorm == 0.0 {
        return (alpha, 0.0);
    }
    let beta = -alpha.hypot(xnorm).copysign(alpha);
    let tau = (beta - alpha) / beta;
    let scale = 1.0 / (alpha - beta);
    for v in x.iter_mut() {
        *v *= scale;
    }
    (beta, tau)
}

/// column j of the column-major n×n `a`, rows from..n.
#[inline(always)]
fn col(a: &[f64], n: usize, j: usize, from: usize) -> &[f64] {
    &a[j * n + from..(j + 1) * n]
}

#[inline(always)]
fn col_mut(a: &mut [f64], n: usize, j: usize, from: usize) -> &mut [f64] {
    &mut a[j * n + from..(j + 1) * n]
}

/// y = A·x for the symmetric trailing block a[off.., off..] (lower triangle read), x and y of
/// length n − off. one pass over the block: each column gives an axpy and a dot product.
fn symv_lower(a: &[f64], n: usize, off: usize, x: &[f64], y: &mut [f64]) {
    let s = n - off;
    y.fill(0.0);
    for j in 0..s {
        let c = col(a, n, off + j, off + j);
        let xj = x[j];
        y[j] += c[0] * xj;
        axpy(&mut y[j + 1..], xj, &c[1..]);
        y[j] += dot(&c[1..], &x[j + 1..]);
    }
}

/// dsytrd (lower): A = Q T Qᵀ. returns the diagonal d, the sub-diagonal e (e[i] = T[i+1][i],
/// e[n−1] = 0) and the reflectors' τ; the reflectors' vectors stay below the sub-diagonal.
fn tridiagonalize(a: &mut [f64], n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut d = vec![0f64; n];
    let mut e = vec![0f64; n];
    let mut tau = vec![0f64; n];
    let mut k = 0;
    if n > NX {
        let mut w = vec![0f64; n * NB];
        while n - k > NX {
            latrd(a, n, k, &mut e, &mut tau, &mut w);
            syr2k_trailing(a, n, k, &w);
            for j in k..k + NB {
                a[j * n + j + 1] = e[j];
                d[j] = a[j * n + j];
            }
            k += NB;
        }
    }
    // dsytd2 on the rest.
    let mut y = vec![0f64; n];
    for i in k..n - 1 {
        let (beta, t) = {
            let c = col_mut(a, n, i, i + 1);
            let (alpha, x) = c.split_first_mut().expect("i + 1 < n");
            householder(*alpha, x)
        };
        e[i] = beta;
        if t != 0.0 {
            a[i * n + i + 1] = 1.0;
            let m = n - i - 1;
            let yv = &mut y[..m];
            symv_lower(a, n, i + 1, col(a, n, i, i + 1), yv);
            for v in yv.iter_mut() {
                *v *= t;
            }
            let v = col(a, n, i, i + 1).to_vec();
            let alpha = -0.5 * t * dot(yv, &v);
            axpy(yv, alpha, &v);
            // dsyr2: A -= v yᵀ + y vᵀ on the lower trailing block.
            for j in 0..m {
                let (vj, yj) = (v[j], yv[j]);
                let c = col_mut(a, n, i + 1 + j, i + 1 + j);
                for ((cc, &vi), &yi) in c.iter_mut().zip(&v[j..]).zip(&yv[j..]) {
                    *cc -= vi * yj + yi * vj;
                }
            }
            a[i * n + i + 1] = beta;
        }
        d[i] = a[i * n + i];
        tau[i] = t;
    }
    d[n - 1] = a[(n - 1) * n + n - 1];
    e[n - 1] = 0.0;
    (d, e, tau)
}

/// dlatrd (lower): reduces columns k..k+NB, leaving in `w` (column-major, leading dimension n,
/// rows k..n used) the W with which the trailing block's update is A −= V Wᵀ + W Vᵀ.
fn latrd(a: &mut [f64], n: usize, k: usize, e: &mut [f64], tau: &mut [f64], w: &mut [f64]) {
    let mut tmp = vec![0f64; NB];
    for i in 0..NB {
        let c = k + i;
        if i > 0 {
            // A(c:n, c) −= V(c:n, 0:i)·W(c, 0:i)ᵀ + W(c:n, 0:i)·V(c, 0:i)ᵀ
            for p in 0..i {
                let (wcp, vcp) = (w[p * n + c], a[(k + p) * n + c]);
                let (lo, hi) = a.split_at_mut(c * n);
                let dst = &mut hi[c..n];
                axpy(dst, -wcp, &lo[(k + p) * n + c..(k + p + 1) * n]);
                axpy(dst, -vcp, &w[p * n + c..(p + 1) * n]);
            }
        }
        // the reflector that zeroes A(c+2:n, c).
        let (beta, t) = {
            let col = col_mut(a, n, c, c + 1);
            let (alpha, x) = col.split_first_mut().expect("c + 1 < n");
            householder(*alpha, x)
        };
        e[c] = beta;
        tau[c] = t;
        a[c * n + c + 1] = 1.0;
        // W(c+1:n, i) = τ·(A22·v − V·(Wᵀv) − W·(Vᵀv)), A22 the trailing block before this panel.
        {
            let (head, tail) = w.split_at_mut(i * n);
            let wi = &mut tail[c + 1..n];
            symv_lower(a, n, c + 1, col(a, n, c, c + 1), wi);
            let v = col(a, n, c, c + 1);
            for p in 0..i {
                tmp[p] = dot(&head[p * n + c + 1..(p + 1) * n], v);
            }
            for p in 0..i {
                axpy(wi, -tmp[p], col(a, n, k + p, c + 1));
            }
            for p in 0..i {
                tmp[p] = dot(col(a, n, k + p, c + 1), v);
            }
            for p in 0..i {
                axpy(wi, -tmp[p], &head[p * n + c + 1..(p + 1) * n]);
            }
            for x in wi.iter_mut() {
                *x *= t;
            }
            let alpha = -0.5 * t * dot(wi, v);
            axpy(wi, alpha, v);
        }
    }
}

/// dsyr2k on the trailing block below panel k: A(j:n, j) −= V(j:n,·)·W(j,·)ᵀ + W(j:n,·)·V(j,·)ᵀ
/// for j ≥ k + NB, V = A(·, k..k+NB) (with its unit entries in place), two columns at a time.
fn syr2k_trailing(a: &mut [f64], n: usize, k: usize, w: &[f64]) {
    let start = k + NB;
    // V copied apart (n × NB, rows start..n meaningful) so A can be written while it is read.
    let mut v = vec![0f64; n * NB];
    for p in 0..NB {
        v[p * n + start..(p + 1) * n].copy_from_slice(&a[(k + p) * n + start..(k + p + 1) * n]);
    }
    let mut cw = [0f64; NB];
    let mut cv = [0f64; NB];
    for j in start..n {
        for p in 0..NB {
            cw[p] = w[p * n + j];
            cv[p] = v[p * n + j];
        }
        let dst = col_mut(a, n, j, j);
        for p in 0..NB {
            let vp = &v[p * n + j..(p + 1) * n];
            let wp = &w[p * n + j..(p + 1) * n];
            let (x, y) = (cw[p], cv[p]);
            for ((c, &a1), &b1) in dst.iter_mut().zip(vp).zip(wp) {
                *c -= a1 * x + b1 * y;
            }
        }
    }
}

/// dorgtr (lower): overwrites `a` (the reflectors of [`tridiagonalize`]) with Q.
fn form_q(a: &mut [f64], n: usize, tau: &[f64]) {
    // shift the reflectors one column right; Q's first row and column are e₀.
    for j in (1..n).rev() {
        a[j * n] = 0.0;
        for i in j + 1..n {
            a[j * n + i] = a[(j - 1) * n + i];
        }
    }
    a[0] = 1.0;
    for i in 1..n {
        a[i] = 0.0;
    }
    // Q(1:n, 1:n) by dorgqr on the (n−1)×(n−1) block at (1, 1).
    orgqr(a, n, 1, &tau[..n - 1]);
}

/// dorgqr on the m×m block of `a` (column-major, leading dimension n) at (off, off), m = n − off,
/// with m reflectors whose vectors are the block's columns below the diagonal.
fn orgqr(a: &mut [f64], n: usize, off: usize, tau: &[f64]) {
    let m = n - off;
    let k = m;
    let at = |i: usize, j: usize| (off + j) * n + off + i;
    let kk = if k > NX {
        let ki = (k - NX - 1) / NB * NB;
        let kk = k.min(ki + NB);
        for j in kk..m {
            for i in 0..kk {
                a[at(i, j)] = 0.0;
            }
        }
        Some((ki, kk))
    } else {
        None
    };
    let first = kk.map_or(0, |(_, kk)| kk);
    org2r(a, n, off + first, m - first, k - first, &tau[first..]);
    let Some((ki, _)) = kk else { return };
    let mut t = vec![0f64; NB * NB];
    let mut i = ki as isize;
    while i >= 0 {
        let iu = i as usize;
        let ib = NB.min(k - iu);
        if iu + ib < m {
            larft(a, n, off + iu, ib, &tau[iu..iu + ib], &mut t);
            larfb(a, n, off + iu, ib, &t, m - iu - ib);
        }
        org2r(a, n, off + iu, ib, ib, &tau[iu..iu + ib]);
        // rows above the block in its columns are zero.
        for j in iu..iu + ib {
            for l in 0..iu {
                a[at(l, j)] = 0.0;
            }
        }
        i -= NB as isize;
    }
}

/// dorg2r on the block of `ncols` columns at (s, s) of `a` (rows s..n): its first `k` columns
/// hold reflectors (unit diagonal implied), whose product is formed in the block's columns.
fn org2r(a: &mut [f64], n: usize, s: usize, ncols: usize, k: usize, tau: &[f64]) {
    // columns k..ncols of the block start as the unit matrix's.
    for j in k..ncols {
        let c = col_mut(a, n, s + j, s);
        c.fill(0.0);
        c[j] = 1.0;
    }
    for i in (0..k).rev() {
        let ci = s + i;
        if i + 1 < ncols {
            a[ci * n + ci] = 1.0;
            // apply H(i) from the left to A(ci:n, ci+1..s+ncols)
            let t = tau[i];
            let (lo, hi) = a.split_at_mut((ci + 1) * n);
            let v = &lo[ci * n + ci..(ci + 1) * n];
            for j in 0..ncols - i - 1 {
                let c = &mut hi[j * n + ci..(j + 1) * n];
                let s = dot(v, c);
                axpy(c, -t * s, v);
            }
        }
        let t = tau[i];
        for x in &mut a[ci * n + ci + 1..(ci + 1) * n] {
            *x *= -t;
        }
        a[ci * n + ci] = 1.0 - t;
        for l in s..ci {
            a[ci * n + l] = 0.0;
        }
    }
}

/// dlarft (forward, columnwise): the upper-triangular T (NB × NB, column-major, ib used) with
/// H(0)···H(ib−1) = I − V T Vᵀ, V the ib reflectors at column s, rows s..n (unit diagonal).
fn larft(a: &[f64], n: usize, s: usize, ib: usize, tau: &[f64], t: &mut [f64]) {
    for i in 0..ib {
        let ci = s + i;
        for x in t[i * NB..i * NB + ib].iter_mut() {
            *x = 0.0;
        }
        if tau[i] == 0.0 {
            continue;
        }
        // T(0:i, i) = −τ_i·V(ci:n, 0:i)ᵀ·v_i, v_i = [1; a(ci+1:n, ci)]
        let vi = &a[ci * n + ci + 1..(ci + 1) * n];
        for p in 0..i {
            let cp = s + p;
            let vp = &a[cp * n + ci..(cp + 1) * n];
            t[i * NB + p] = -tau[i] * (vp[0] + dot(&vp[1..], vi));
        }
        // T(0:i, i) = T(0:i, 0:i)·T(0:i, i) (upper triangular, in place from the top)
        for p in 0..i {
            let mut s2 = 0.0;
            for q in p..i {
                s2 += t[q * NB + p] * t[i * NB + q];
            }
            t[i * NB + p] = s2;
        }
        t[i * NB + i] = tau[i];
    }
}

/// dlarfb (left, no transpose, forward, columnwise): C ← (I − V T Vᵀ)·C for the `nc` columns
/// right of the block reflector at column s (V: ib columns at s, rows s..n, unit diagonal).
fn larfb(a: &mut [f64], n: usize, s: usize, ib: usize, t: &[f64], nc: usize) {
    let (vpart, cpart) = a.split_at_mut((s + ib) * n);
    let mut x = [0f64; NB];
    let mut y = [0f64; NB];
    for j in 0..nc {
        let c = &mut cpart[j * n + s..(j + 1) * n];
        // x = Vᵀ c
        for p in 0..ib {
            let v = &vpart[(s + p) * n + s + p..(s + p + 1) * n];
            x[p] = c[p] + dot(&v[1..], &c[p + 1..]);
        }
        // y = T x
        for p in 0..ib {
            let mut acc = 0.0;
            for q in p..ib {
                acc += t[q * NB + p] * x[q];
            }
            y[p] = acc;
        }
        // c −= V y
        for p in 0..ib {
            let v = &vpart[(s + p) * n + s + p..(s + p + 1) * n];
            c[p] -= y[p];
            axpy(&mut c[p + 1..], -y[p], &v[1..]);
        }
    }
}

/// implicit QL on (d, e) (tql2 of EISPACK/JAMA), rotating the columns of `z` (column-major):
/// on return d holds the eigenvalues and z's columns the eigenvectors.
fn ql(
    z: &mut [f64],
    n: usize,
    d: &mut [f64],
    e: &mut [f64],
    progress: &mut dyn FnMut(usize) -> bool,
) -> Result<()> {
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    let mut cs = vec![0f64; n];
    let mut sn = vec![0f64; n];
    for l in 0..n {
        if l % 32 == 0 && l > 0 && !progress(l) {
            return Err(Error::Cancelled);
        }
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
                    cs[i] = c;
                    sn[i] = s;
                }
                rotate_columns(z, n, l, m, &cs, &sn);
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

/// rows per chunk of [`rotate_columns`].
const CHUNK: usize = 16;

/// dlasr (variable pivot, backward): for i = m−1 down to l, columns (i, i+1) of z become
/// (c_i·z_i − s_i·z_{i+1}, s_i·z_i + c_i·z_{i+1}). a chunk of rows is carried down the sequence
/// in registers: every column is read and written once.
fn rotate_columns(z: &mut [f64], n: usize, l: usize, m: usize, cs: &[f64], sn: &[f64]) {
    let mut r0 = 0;
    while r0 < n {
        let len = CHUNK.min(n - r0);
        let mut carry = [0f64; CHUNK];
        carry[..len].copy_from_slice(&z[m * n + r0..m * n + r0 + len]);
        for i in (l..m).rev() {
            let (c, s) = (cs[i], sn[i]);
            let (lo, hi) = z.split_at_mut((i + 1) * n);
            let zi = &mut lo[i * n + r0..i * n + r0 + len];
            let zi1 = &mut hi[r0..r0 + len];
            for k in 0..len {
                let (a, b) = (zi[k], carry[k]);
                zi1[k] = s * a + c * b;
                carry[k] = c * a - s * b;
            }
        }
        z[l * n + r0..l * n + r0 + len].copy_from_slice(&carry[..len]);
        r0 += len;
    }
}
