//! x86-64 AVX2 + FMA panel kernel: an 8×8 tile is eight 8-lane accumulators, one fused
//! multiply-add per row of the tile and panel row.

use std::arch::x86_64::*;

use super::{tile_index, TILE};

/// [`super::scalar::panel`] with AVX2 and FMA.
///
/// # Safety
/// the caller must have checked that the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn panel(strips: &[f32], p: usize, nt: usize, tiles: &mut [f64]) {
    let stride = p * TILE;
    assert!(strips.len() >= nt * stride);
    assert!(tiles.len() >= nt * (nt + 1) / 2 * TILE * TILE);
    let base = strips.as_ptr();
    for j in 0..nt {
        let sj = base.add(j * stride);
        for k in j..nt {
            let sk = base.add(k * stride);
            let mut acc = [_mm256_setzero_ps(); TILE];
            for r in 0..p {
                let y = _mm256_loadu_ps(sk.add(r * TILE));
                let x = sj.add(r * TILE);
                for (a, c) in acc.iter_mut().enumerate() {
                    *c = _mm256_fmadd_ps(_mm256_broadcast_ss(&*x.add(a)), y, *c);
                }
            }
            let t = tiles.as_mut_ptr().add(tile_index(nt, j, k) * TILE * TILE);
            for (a, c) in acc.iter().enumerate() {
                let row = t.add(a * TILE);
                let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(*c));
                let hi = _mm256_cvtps_pd(_mm256_extractf128_ps(*c, 1));
                _mm256_storeu_pd(row, _mm256_add_pd(_mm256_loadu_pd(row), lo));
                _mm256_storeu_pd(row.add(4), _mm256_add_pd(_mm256_loadu_pd(row.add(4)), hi));
            }
        }
    }
}
