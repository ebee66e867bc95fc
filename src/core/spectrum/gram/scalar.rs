//! the portable panel kernel: the same f32 tiles as the SIMD kernels, in plain loops.

use super::{tile_index, TILE};

/// tiles(J, K) += Σ_r strip_J[r]ᵀ·strip_K[r] for every K ≥ J (`strips`: nt strips of p × 8).
pub fn panel(strips: &[f32], p: usize, nt: usize, tiles: &mut [f64]) {
    let stride = p * TILE;
    for j in 0..nt {
        let sj = &strips[j * stride..(j + 1) * stride];
        for k in j..nt {
            let sk = &strips[k * stride..(k + 1) * stride];
            let mut acc = [[0f32; TILE]; TILE];
            for (x, y) in sj.chunks_exact(TILE).zip(sk.chunks_exact(TILE)) {
                for (a, &xv) in acc.iter_mut().zip(x) {
                    for (s, &yv) in a.iter_mut().zip(y) {
                        *s += xv * yv;
                    }
                }
            }
            let t = &mut tiles[tile_index(nt, j, k) * TILE * TILE..][..TILE * TILE];
            for (row, a) in t.chunks_exact_mut(TILE).zip(&acc) {
                for (g, &v) in row.iter_mut().zip(a) {
                    *g += v as f64;
                }
            }
        }
    }
}
