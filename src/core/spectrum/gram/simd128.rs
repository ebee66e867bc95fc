//! wasm simd128 panel kernel: an 8×8 tile in two halves of 4×8 (eight f32x4 accumulators each,
//! what the 16 vector registers of x86-64 and the 32 of arm64 hold without spilling). built with
//! `-C target-feature=+relaxed-simd` the multiply-add is `f32x4.relaxed_madd`, fused where the
//! CPU has FMA; the page's build (scripts/build-wasm.sh) is plain simd128.

use core::arch::wasm32::*;

use super::{tile_index, TILE};

#[inline(always)]
fn madd(acc: v128, a: v128, b: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        f32x4_relaxed_madd(a, b, acc)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        f32x4_add(acc, f32x4_mul(a, b))
    }
}

/// [`super::scalar::panel`] with simd128.
pub fn panel(strips: &[f32], p: usize, nt: usize, tiles: &mut [f64]) {
    let stride = p * TILE;
    assert!(strips.len() >= nt * stride);
    assert!(tiles.len() >= nt * (nt + 1) / 2 * TILE * TILE);
    let base = strips.as_ptr();
    for j in 0..nt {
        for k in j..nt {
            let t = tile_index(nt, j, k) * TILE * TILE;
            for half in 0..2 {
                // SAFETY: strips j and k hold p rows of 8 (asserted), and the half's 4 columns
                // are within the row.
                let acc = unsafe {
                    let sj = base.add(j * stride + half * 4);
                    let sk = base.add(k * stride);
                    let mut acc = [f32x4_splat(0.0); 8];
                    for r in 0..p {
                        let y0 = v128_load(sk.add(r * TILE) as *const v128);
                        let y1 = v128_load(sk.add(r * TILE + 4) as *const v128);
                        let x = sj.add(r * TILE);
                        for a in 0..4 {
                            let b = v128_load32_splat(x.add(a) as *const u32);
                            acc[2 * a] = madd(acc[2 * a], b, y0);
                            acc[2 * a + 1] = madd(acc[2 * a + 1], b, y1);
                        }
                    }
                    acc
                };
                let rows = &mut tiles[t + half * 4 * TILE..t + (half + 1) * 4 * TILE];
                for (a, row) in rows.chunks_exact_mut(TILE).enumerate() {
                    for (c, v) in [acc[2 * a], acc[2 * a + 1]].into_iter().enumerate() {
                        let lo = f64x2_promote_low_f32x4(v);
                        let hi = f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 0, 1>(v, v));
                        row[c * 4] += f64x2_extract_lane::<0>(lo);
                        row[c * 4 + 1] += f64x2_extract_lane::<1>(lo);
                        row[c * 4 + 2] += f64x2_extract_lane::<0>(hi);
                        row[c * 4 + 3] += f64x2_extract_lane::<1>(hi);
                    }
                }
            }
        }
    }
}
