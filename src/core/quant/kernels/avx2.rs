//! x86-64 AVX2 kernels: int8 → int16 widening, `vpmaddwd` against the int16 parts of h.
//! exact: the block's two integer sums packed side by side and combined in f64;
//! fast: the high part only, eight i32 lanes to f32 (exact) and one FMA a block.

use std::arch::x86_64::*;

use super::{QuantH, QuantHUniform, LO_SCALE};
use crate::core::quant::matrix::{Q8Matrix, QK};

/// # Safety
/// the caller must have checked that the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn matvec(m: &Q8Matrix, h: &QuantH, out: &mut [f64]) {
    let (d, nb) = (m.cols(), m.nb());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(quants.len() >= out.len() * d && scales.len() >= out.len() * nb);
    assert!(h.hi.len() == d && h.lo.len() == d && h.scale.len() == nb);
    // weights of the packed lanes [hi, hi, lo, lo].
    let unit = _mm256_set_pd(1.0 / LO_SCALE, 1.0 / LO_SCALE, 1.0, 1.0);
    let hs: Vec<f64> = h.scale.iter().map(|&s| s as f64).collect();
    for (i, z) in out.iter_mut().enumerate() {
        let qrow = quants.as_ptr().add(i * d);
        let srow = &scales[i * nb..(i + 1) * nb];
        let mut acc = _mm256_setzero_pd();
        for b in 0..nb {
            let qp = qrow.add(b * QK) as *const __m128i;
            let q0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(qp));
            let q1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(qp.add(1)));
            let hp = h.hi.as_ptr().add(b * QK) as *const __m256i;
            let lp = h.lo.as_ptr().add(b * QK) as *const __m256i;
            let sh = _mm256_add_epi32(
                _mm256_madd_epi16(q0, _mm256_loadu_si256(hp)),
                _mm256_madd_epi16(q1, _mm256_loadu_si256(hp.add(1))),
            );
            let sl = _mm256_add_epi32(
                _mm256_madd_epi16(q0, _mm256_loadu_si256(lp)),
                _mm256_madd_epi16(q1, _mm256_loadu_si256(lp.add(1))),
            );
            // [sh01, sh23, sl01, sl23 | sh45, sh67, sl45, sl67] → four exact partial sums.
            let p = _mm256_hadd_epi32(sh, sl);
            let p4 = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
            let w = _mm256_mul_pd(_mm256_set1_pd(srow[b] as f64 * hs[b]), unit);
            acc = _mm256_fmadd_pd(_mm256_cvtepi32_pd(p4), w, acc);
        }
        let s2 = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
        *z = _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
    }
}

/// # Safety
/// the caller must have checked that the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn matvec_fast(m: &Q8Matrix, h: &QuantH, out: &mut [f64]) {
    let (d, nb) = (m.cols(), m.nb());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(quants.len() >= out.len() * d && scales.len() >= out.len() * nb);
    assert!(h.hi.len() == d && h.scale.len() == nb);
    for (i, z) in out.iter_mut().enumerate() {
        let qrow = quants.as_ptr().add(i * d);
        let srow = &scales[i * nb..(i + 1) * nb];
        let mut acc = [_mm256_setzero_ps(); 2];
        for b in 0..nb {
            let qp = qrow.add(b * QK) as *const __m128i;
            let q0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(qp));
            let q1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(qp.add(1)));
            let hp = h.hi.as_ptr().add(b * QK) as *const __m256i;
            // 8 lanes of 4 products each, then pairs of lanes: 8 products a lane, as in simd128.
            let sh = _mm256_add_epi32(
                _mm256_madd_epi16(q0, _mm256_loadu_si256(hp)),
                _mm256_madd_epi16(q1, _mm256_loadu_si256(hp.add(1))),
            );
            let w = _mm256_set1_ps(srow[b] * h.scale[b]);
            acc[b & 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sh), w, acc[b & 1]);
        }
        let a = _mm256_add_ps(acc[0], acc[1]);
        let s4 = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        *z = _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1))) as f64;
    }
}

/// [`matvec_fast`] for several columns at once, bit for bit the same per column: each row's
/// blocks are widened once and dotted with up to four columns, so the matrix is read once for
/// every four columns (`out[c·rows + i]`).
///
/// # Safety
/// the caller must have checked that the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn matmul_fast(m: &Q8Matrix, hs: &[QuantH], out: &mut [f64]) {
    let (d, nb, rows) = (m.cols(), m.nb(), m.rows());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(out.len() == rows * hs.len());
    assert!(quants.len() >= rows * d && scales.len() >= rows * nb);
    assert!(hs.iter().all(|h| h.hi.len() == d && h.scale.len() == nb));
    for (t, tile) in hs.chunks(4).enumerate() {
        let n = tile.len();
        for i in 0..rows {
            let qrow = quants.as_ptr().add(i * d);
            let srow = &scales[i * nb..(i + 1) * nb];
            let mut acc = [[_mm256_setzero_ps(); 2]; 4];
            for b in 0..nb {
                let qp = qrow.add(b * QK) as *const __m128i;
                let q0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(qp));
                let q1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(qp.add(1)));
                for c in 0..n {
                    let hp = tile[c].hi.as_ptr().add(b * QK) as *const __m256i;
                    let sh = _mm256_add_epi32(
                        _mm256_madd_epi16(q0, _mm256_loadu_si256(hp)),
                        _mm256_madd_epi16(q1, _mm256_loadu_si256(hp.add(1))),
                    );
                    let w = _mm256_set1_ps(srow[b] * tile[c].scale[b]);
                    acc[c][b & 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sh), w, acc[c][b & 1]);
                }
            }
            for c in 0..n {
                let a = _mm256_add_ps(acc[c][0], acc[c][1]);
                let s4 = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
                let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
                out[(t * 4 + c) * rows + i] =
                    _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1))) as f64;
            }
        }
    }
}

/// columns with one scale each, four at a time: a block's weights are widened once and its
/// scale broadcast once for the four columns (`out[c·rows + i]`).
///
/// # Safety
/// the caller must have checked that the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn matmul_uniform(m: &Q8Matrix, hs: &[QuantHUniform], out: &mut [f64]) {
    let (d, nb, rows) = (m.cols(), m.nb(), m.rows());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(out.len() == rows * hs.len());
    assert!(quants.len() >= rows * d && scales.len() >= rows * nb);
    assert!(hs.iter().all(|h| h.hi.len() == d));
    for (t, tile) in hs.chunks(4).enumerate() {
        let n = tile.len();
        let hp: [*const i16; 4] = std::array::from_fn(|c| tile[c.min(n - 1)].hi.as_ptr());
        for i in 0..rows {
            let qrow = quants.as_ptr().add(i * d);
            let srow = scales.as_ptr().add(i * nb);
            let mut acc = [_mm256_setzero_ps(); 4];
            for b in 0..nb {
                let qp = qrow.add(b * QK) as *const __m128i;
                let q0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(qp));
                let q1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(qp.add(1)));
                let w = _mm256_set1_ps(*srow.add(b));
                for c in 0..4 {
                    let x = hp[c].add(b * QK) as *const __m256i;
                    let sh = _mm256_add_epi32(
                        _mm256_madd_epi16(q0, _mm256_loadu_si256(x)),
                        _mm256_madd_epi16(q1, _mm256_loadu_si256(x.add(1))),
                    );
                    acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sh), w, acc[c]);
                }
            }
            for c in 0..n {
                let a = acc[c];
                let s4 = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
                let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
                let z = _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
                out[(t * 4 + c) * rows + i] = (z * tile[c].scale) as f64;
            }
        }
    }
}
