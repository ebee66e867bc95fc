//! wasm simd128 kernel: int8 → int16 widening, `i32x4.dot_i16x8_s` for the two int16 parts of
//! h, f32 combination per block, one horizontal sum per row.

use core::arch::wasm32::*;

use super::{QuantH, LO_SCALE};
use crate::core::q8::{Q8Matrix, QK};

pub fn matvec(m: &Q8Matrix, h: &QuantH, out: &mut [f32]) {
    let (d, nb) = (m.cols(), m.nb());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(quants.len() >= out.len() * d && h.hi.len() == d && h.lo.len() == d);
    let inv = f32x4_splat(1.0 / LO_SCALE);
    for (i, z) in out.iter_mut().enumerate() {
        let srow = &scales[i * nb..(i + 1) * nb];
        let mut acc = f32x4_splat(0.0);
        for b in 0..nb {
            let base = i * d + b * QK;
            // SAFETY: base + 32 ≤ quants.len() and b·32 + 32 ≤ d by the assert above;
            // v128 loads have no alignment requirement.
            let (q0, q1, hh, ll) = unsafe {
                let qp = quants.as_ptr().add(base) as *const v128;
                let hp = h.hi.as_ptr().add(b * QK) as *const v128;
                let lp = h.lo.as_ptr().add(b * QK) as *const v128;
                (
                    v128_load(qp),
                    v128_load(qp.add(1)),
                    [
                        v128_load(hp),
                        v128_load(hp.add(1)),
                        v128_load(hp.add(2)),
                        v128_load(hp.add(3)),
                    ],
                    [
                        v128_load(lp),
                        v128_load(lp.add(1)),
                        v128_load(lp.add(2)),
                        v128_load(lp.add(3)),
                    ],
                )
            };
            let w = [
                i16x8_extend_low_i8x16(q0),
                i16x8_extend_high_i8x16(q0),
                i16x8_extend_low_i8x16(q1),
                i16x8_extend_high_i8x16(q1),
            ];
            let sh = i32x4_add(
                i32x4_add(i32x4_dot_i16x8(w[0], hh[0]), i32x4_dot_i16x8(w[1], hh[1])),
                i32x4_add(i32x4_dot_i16x8(w[2], hh[2]), i32x4_dot_i16x8(w[3], hh[3])),
            );
            let sl = i32x4_add(
                i32x4_add(i32x4_dot_i16x8(w[0], ll[0]), i32x4_dot_i16x8(w[1], ll[1])),
                i32x4_add(i32x4_dot_i16x8(w[2], ll[2]), i32x4_dot_i16x8(w[3], ll[3])),
            );
            let t = f32x4_add(
                f32x4_convert_i32x4(sh),
                f32x4_mul(f32x4_convert_i32x4(sl), inv),
            );
            acc = f32x4_add(acc, f32x4_mul(t, f32x4_splat(srow[b] * h.scale[b])));
        }
        *z = f32x4_extract_lane::<0>(acc)
            + f32x4_extract_lane::<1>(acc)
            + f32x4_extract_lane::<2>(acc)
            + f32x4_extract_lane::<3>(acc);
    }
}
