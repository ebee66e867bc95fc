//! x86-64 AVX2 kernel: int8 → int16 widening, `vpmaddwd` for the two int16 parts of h,
//! f32 combination per block with FMA, one horizontal sum per row.

use std::arch::x86_64::*;

use super::{QuantH, LO_SCALE};
use crate::core::q8::{Q8Matrix, QK};

/// # Safety
/// the caller must have checked that the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn matvec(m: &Q8Matrix, h: &QuantH, out: &mut [f32]) {
    let (d, nb) = (m.cols(), m.nb());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(quants.len() >= out.len() * d && h.hi.len() == d && h.lo.len() == d);
    let inv = _mm256_set1_ps(1.0 / LO_SCALE);
    for (i, z) in out.iter_mut().enumerate() {
        let qrow = quants.as_ptr().add(i * d);
        let srow = &scales[i * nb..(i + 1) * nb];
        let mut acc = _mm256_setzero_ps();
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
            let t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sl), inv, _mm256_cvtepi32_ps(sh));
            let w = _mm256_set1_ps(srow[b] * h.scale[b]);
            acc = _mm256_fmadd_ps(t, w, acc);
        }
        let s4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        let s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
        *z = _mm_cvtss_f32(s1);
    }
}
