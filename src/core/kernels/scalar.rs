//! portable kernel: the same integer algorithm as the SIMD kernels, one lane at a time.

use super::{QuantH, LO_SCALE};
use crate::core::q8::{Q8Matrix, QK};

pub fn matvec(m: &Q8Matrix, h: &QuantH, out: &mut [f32]) {
    let (d, nb) = (m.cols(), m.nb());
    let (scales, quants) = (m.scales(), m.quants());
    for (i, z) in out.iter_mut().enumerate() {
        let mut acc = 0f32;
        for b in 0..nb {
            let q = &quants[i * d + b * QK..i * d + (b + 1) * QK];
            let hi = &h.hi[b * QK..(b + 1) * QK];
            let lo = &h.lo[b * QK..(b + 1) * QK];
            let (mut sh, mut sl) = (0i32, 0i32);
            for j in 0..QK {
                sh += q[j] as i32 * hi[j] as i32;
                sl += q[j] as i32 * lo[j] as i32;
            }
            let w = scales[i * nb + b] * h.scale[b];
            acc += w * (sh as f32 + sl as f32 / LO_SCALE);
        }
        *z = acc;
    }
}
