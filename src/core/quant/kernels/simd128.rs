//! wasm simd128 kernels: int8 → int16 widening, `i32x4.dot_i16x8_s` against the int16 parts
//! of h. exact: the block's two integer sums packed side by side and combined in f64;
//! fast: the high part only, four i32 lanes to f32 (exact) and a multiply-add a block.

use core::arch::wasm32::*;

use super::{QuantH, QuantHUniform, LO_SCALE, T_GROUP};
use crate::core::quant::matrix::{Q8Matrix, QK};

#[inline(always)]
fn dot4(w: &[v128; 4], x: &[v128; 4]) -> v128 {
    i32x4_add(
        i32x4_add(i32x4_dot_i16x8(w[0], x[0]), i32x4_dot_i16x8(w[1], x[1])),
        i32x4_add(i32x4_dot_i16x8(w[2], x[2]), i32x4_dot_i16x8(w[3], x[3])),
    )
}

pub fn matvec(m: &Q8Matrix, h: &QuantH, out: &mut [f64]) {
    let (d, nb) = (m.cols(), m.nb());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(quants.len() >= out.len() * d && scales.len() >= out.len() * nb);
    assert!(h.hi.len() == d && h.lo.len() == d && h.scale.len() == nb);
    let inv = f64x2_splat(1.0 / LO_SCALE);
    let hs: Vec<f64> = h.scale.iter().map(|&s| s as f64).collect();
    let (qp, hp, lp) = (quants.as_ptr(), h.hi.as_ptr(), h.lo.as_ptr());
    for (i, z) in out.iter_mut().enumerate() {
        let srow = &scales[i * nb..(i + 1) * nb];
        let mut acc_h = f64x2_splat(0.0);
        let mut acc_l = f64x2_splat(0.0);
        for b in 0..nb {
            // SAFETY: (i·d + b·32 + 32) ≤ quants.len() and b·32 + 32 ≤ d by the asserts.
            let (sh, sl) = unsafe {
                let q = qp.add(i * d + b * QK) as *const v128;
                let (q0, q1) = (v128_load(q), v128_load(q.add(1)));
                let w = [
                    i16x8_extend_low_i8x16(q0),
                    i16x8_extend_high_i8x16(q0),
                    i16x8_extend_low_i8x16(q1),
                    i16x8_extend_high_i8x16(q1),
                ];
                let x = hp.add(b * QK) as *const v128;
                let y = lp.add(b * QK) as *const v128;
                (
                    dot4(
                        &w,
                        &[
                            v128_load(x),
                            v128_load(x.add(1)),
                            v128_load(x.add(2)),
                            v128_load(x.add(3)),
                        ],
                    ),
                    dot4(
                        &w,
                        &[
                            v128_load(y),
                            v128_load(y.add(1)),
                            v128_load(y.add(2)),
                            v128_load(y.add(3)),
                        ],
                    ),
                )
            };
            // [sh0+sh2, sh1+sh3, sl0+sl2, sl1+sl3]: exact partial sums, then to f64.
            let p = i32x4_add(
                i32x4_shuffle::<0, 1, 4, 5>(sh, sl),
                i32x4_shuffle::<2, 3, 6, 7>(sh, sl),
            );
            let wb = f64x2_splat(srow[b] as f64 * hs[b]);
            acc_h = f64x2_add(acc_h, f64x2_mul(f64x2_convert_low_i32x4(p), wb));
            let hi_half = i32x4_shuffle::<2, 3, 2, 3>(p, p);
            acc_l = f64x2_add(acc_l, f64x2_mul(f64x2_convert_low_i32x4(hi_half), wb));
        }
        let acc = f64x2_add(acc_h, f64x2_mul(acc_l, inv));
        *z = f64x2_extract_lane::<0>(acc) + f64x2_extract_lane::<1>(acc);
    }
}

pub fn matvec_fast(m: &Q8Matrix, h: &QuantH, out: &mut [f64]) {
    let (d, nb) = (m.cols(), m.nb());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(quants.len() >= out.len() * d && scales.len() >= out.len() * nb);
    assert!(h.hi.len() == d && h.scale.len() == nb);
    let qp = quants.as_ptr();
    let hp = h.hi.as_ptr();
    for (i, z) in out.iter_mut().enumerate() {
        let srow = &scales[i * nb..(i + 1) * nb];
        // two accumulators halve the chain of dependent adds.
        let mut acc = [f32x4_splat(0.0); 2];
        for b in 0..nb {
            // SAFETY: (i·d + b·32 + 32) ≤ quants.len() and b·32 + 32 ≤ d by the asserts.
            let sh = unsafe {
                let q = qp.add(i * d + b * QK) as *const v128;
                let (q0, q1) = (v128_load(q), v128_load(q.add(1)));
                let x = hp.add(b * QK) as *const v128;
                i32x4_add(
                    i32x4_add(
                        i32x4_dot_i16x8(i16x8_extend_low_i8x16(q0), v128_load(x)),
                        i32x4_dot_i16x8(i16x8_extend_high_i8x16(q0), v128_load(x.add(1))),
                    ),
                    i32x4_add(
                        i32x4_dot_i16x8(i16x8_extend_low_i8x16(q1), v128_load(x.add(2))),
                        i32x4_dot_i16x8(i16x8_extend_high_i8x16(q1), v128_load(x.add(3))),
                    ),
                )
            };
            let w = f32x4_splat(srow[b] * h.scale[b]);
            acc[b & 1] = f32x4_add(acc[b & 1], f32x4_mul(f32x4_convert_i32x4(sh), w));
        }
        let a = f32x4_add(acc[0], acc[1]);
        *z = (f32x4_extract_lane::<0>(a) + f32x4_extract_lane::<1>(a)) as f64
            + (f32x4_extract_lane::<2>(a) + f32x4_extract_lane::<3>(a)) as f64;
    }
}

/// [`matvec_fast`] for several columns at once, bit for bit the same per column: each row's
/// blocks are widened once and dotted with up to four columns, so the matrix is read once for
/// every four columns (`out[c·rows + i]`).
pub fn matmul_fast(m: &Q8Matrix, hs: &[QuantH], out: &mut [f64]) {
    let (d, nb, rows) = (m.cols(), m.nb(), m.rows());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(out.len() == rows * hs.len());
    assert!(quants.len() >= rows * d && scales.len() >= rows * nb);
    assert!(hs.iter().all(|h| h.hi.len() == d && h.scale.len() == nb));
    let qp = quants.as_ptr();
    for (t, tile) in hs.chunks(4).enumerate() {
        let n = tile.len();
        let hp: [*const i16; 4] = std::array::from_fn(|c| tile[c.min(n - 1)].hi.as_ptr());
        for i in 0..rows {
            let srow = &scales[i * nb..(i + 1) * nb];
            let mut acc = [[f32x4_splat(0.0); 2]; 4];
            for b in 0..nb {
                // SAFETY: (i·d + b·32 + 32) ≤ quants.len() and b·32 + 32 ≤ d by the asserts.
                let w = unsafe {
                    let q = qp.add(i * d + b * QK) as *const v128;
                    let (q0, q1) = (v128_load(q), v128_load(q.add(1)));
                    [
                        i16x8_extend_low_i8x16(q0),
                        i16x8_extend_high_i8x16(q0),
                        i16x8_extend_low_i8x16(q1),
                        i16x8_extend_high_i8x16(q1),
                    ]
                };
                for c in 0..4 {
                    if c >= n {
                        break;
                    }
                    // SAFETY: b·32 + 32 ≤ d = the column's length.
                    let sh = unsafe {
                        let x = hp[c].add(b * QK) as *const v128;
                        dot4(
                            &w,
                            &[
                                v128_load(x),
                                v128_load(x.add(1)),
                                v128_load(x.add(2)),
                                v128_load(x.add(3)),
                            ],
                        )
                    };
                    let ws = f32x4_splat(srow[b] * tile[c].scale[b]);
                    acc[c][b & 1] =
                        f32x4_add(acc[c][b & 1], f32x4_mul(f32x4_convert_i32x4(sh), ws));
                }
            }
            for c in 0..n {
                let a = f32x4_add(acc[c][0], acc[c][1]);
                out[(t * 4 + c) * rows + i] =
                    (f32x4_extract_lane::<0>(a) + f32x4_extract_lane::<1>(a)) as f64
                        + (f32x4_extract_lane::<2>(a) + f32x4_extract_lane::<3>(a)) as f64;
            }
        }
    }
}

/// columns with one scale each, four at a time: a block's weights are widened once and its
/// scale splatted once for the four columns (`out[c·rows + i]`).
pub fn matmul_uniform(m: &Q8Matrix, hs: &[QuantHUniform], out: &mut [f64]) {
    let (d, nb, rows) = (m.cols(), m.nb(), m.rows());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(out.len() == rows * hs.len());
    assert!(quants.len() >= rows * d && scales.len() >= rows * nb);
    assert!(hs.iter().all(|h| h.hi.len() == d));
    let qp = quants.as_ptr();
    for (t, tile) in hs.chunks(4).enumerate() {
        let n = tile.len();
        let hp: [*const i16; 4] = std::array::from_fn(|c| tile[c.min(n - 1)].hi.as_ptr());
        for i in 0..rows {
            let srow = &scales[i * nb..(i + 1) * nb];
            let mut acc = [f32x4_splat(0.0); 4];
            for (b, &sb) in srow.iter().enumerate() {
                // SAFETY: (i·d + b·32 + 32) ≤ quants.len() and b·32 + 32 ≤ d by the asserts.
                let w = unsafe {
                    let q = qp.add(i * d + b * QK) as *const v128;
                    let (q0, q1) = (v128_load(q), v128_load(q.add(1)));
                    [
                        i16x8_extend_low_i8x16(q0),
                        i16x8_extend_high_i8x16(q0),
                        i16x8_extend_low_i8x16(q1),
                        i16x8_extend_high_i8x16(q1),
                    ]
                };
                let ws = f32x4_splat(sb);
                for c in 0..4 {
                    // SAFETY: b·32 + 32 ≤ d = the column's length.
                    let sh = unsafe {
                        let x = hp[c].add(b * QK) as *const v128;
                        dot4(
                            &w,
                            &[
                                v128_load(x),
                                v128_load(x.add(1)),
                                v128_load(x.add(2)),
                                v128_load(x.add(3)),
                            ],
                        )
                    };
                    acc[c] = f32x4_add(acc[c], f32x4_mul(f32x4_convert_i32x4(sh), ws));
                }
            }
            for c in 0..n {
                let a = acc[c];
                let z = (f32x4_extract_lane::<0>(a) + f32x4_extract_lane::<1>(a))
                    + (f32x4_extract_lane::<2>(a) + f32x4_extract_lane::<3>(a));
                out[(t * 4 + c) * rows + i] = (z * tile[c].scale) as f64;
            }
        }
    }
}

/// Eᵀ·p·f for [`super::t_run`], bit for bit [`super::scalar::t_matvec`]: the same weights as
/// [`super::t_weights`] makes them, with the same operations two rows at a time, and the
/// same integer sums. two rows share a lane pair: their int8 values are interleaved
/// (a₀c₀a₁c₁…), widened to int16 and dotted with (hi_a, hi_c) and (lo_a, lo_c) by
/// `i32x4.dot_i16x8_s`, so one instruction does eight multiply-adds of the transposed product;
/// a group's sums stay in i32 (16 pairs · 2·128·16384 < 2^31) and go to f64 once per group
/// and block.
pub fn t_matvec(m: &Q8Matrix, p: &[f64], f: f64, out: &mut [f64]) {
    let (d, nb, rows) = (m.cols(), m.nb(), m.rows());
    let (scales, quants) = (m.scales(), m.quants());
    assert!(p.len() == rows && out.len() == d);
    assert!(quants.len() >= rows * d && scales.len() >= rows * nb);
    let qp = quants.as_ptr();
    let op = out.as_mut_ptr();
    // u[b·G + r] = (p_r·f)·s_rb for the group's rows, block by block.
    let mut u = vec![0f64; nb * T_GROUP];
    let (magic, lo_scale) = (f64x2_splat(super::ROUND_MAGIC), f64x2_splat(LO_SCALE));
    let mut touch = i32x4_splat(0);
    for g0 in (0..rows).step_by(T_GROUP) {
        let n = (rows - g0).min(T_GROUP);
        let pg = &p[g0..g0 + n];
        if pg.iter().all(|&x| x == 0.0) {
            continue;
        }
        for (r, &pr) in pg.iter().enumerate() {
            let pf = pr * f;
            for (b, &sb) in scales[(g0 + r) * nb..(g0 + r + 1) * nb].iter().enumerate() {
                u[b * T_GROUP + r] = pf * sb as f64;
            }
        }
        if n < T_GROUP {
            for b in 0..nb {
                u[b * T_GROUP + n..(b + 1) * T_GROUP].fill(0.0);
            }
        }
        // a short last group repeats its last row with weight 0.
        let row: [usize; T_GROUP] = std::array::from_fn(|r| (g0 + r.min(n - 1)) * d);
        // the group's rows in order, one load per 64 bytes: the loops below read them 32 rows
        // at a time across, more streams than the hardware prefetches, so without this pass
        // every line waited for memory (the kernel ran at 2.6 GB/s). summed into `touch` so the
        // loads are not dropped.
        // SAFETY: offsets < n·d ≤ quants.len() − g0·d.
        unsafe {
            let base = qp.add(g0 * d) as *const v128;
            for k in (0..n * d / 16).step_by(4) {
                touch = v128_xor(touch, v128_load(base.add(k)));
            }
        }
        for b in 0..nb {
            let ub = &u[b * T_GROUP..(b + 1) * T_GROUP];
            // SAFETY (all loads of ub below): 2k + 2 ≤ T_GROUP = ub.len().
            let up = ub.as_ptr() as *const v128;
            let mut mx = f64x2_splat(0.0);
            for k in 0..T_GROUP / 2 {
                mx = f64x2_pmax(mx, f64x2_abs(unsafe { v128_load(up.add(k)) }));
            }
            let (m0, m1) = (f64x2_extract_lane::<0>(mx), f64x2_extract_lane::<1>(mx));
            let mxs = if m1 > m0 { m1 } else { m0 };
            if mxs < super::T_TINY {
                continue;
            }
            let inv = f64x2_splat(super::HI_MAX as f64 / mxs);
            let s = mxs / super::HI_MAX as f64;
            // the pairs (hi_2k, hi_2k+1) and (lo_2k, lo_2k+1) as int16 in every i32 lane.
            let mut wh = [i32x4_splat(0); T_GROUP / 2];
            let mut wl = [i32x4_splat(0); T_GROUP / 2];
            for k in 0..T_GROUP / 2 {
                let t = f64x2_mul(unsafe { v128_load(up.add(k)) }, inv);
                let h = f64x2_sub(f64x2_add(t, magic), magic);
                let l = f64x2_mul(f64x2_sub(t, h), lo_scale);
                let l = f64x2_sub(f64x2_add(l, magic), magic);
                let hi = i32x4_trunc_sat_f64x2_zero(h);
                let lo = i32x4_trunc_sat_f64x2_zero(l);
                wh[k] = i32x4_shuffle::<0, 0, 0, 0>(i16x8_narrow_i32x4(hi, hi), hi);
                wl[k] = i32x4_shuffle::<0, 0, 0, 0>(i16x8_narrow_i32x4(lo, lo), lo);
            }
            let (sv, s2v) = (f64x2_splat(s), f64x2_splat(s / LO_SCALE));
            for half in 0..2 {
                let col = b * QK + half * 16;
                let mut ah = [i32x4_splat(0); 4];
                let mut al = [i32x4_splat(0); 4];
                for k in 0..T_GROUP / 2 {
                    // SAFETY: every row index is < rows and col + 16 ≤ d, by the asserts.
                    let (a, c) = unsafe {
                        (
                            v128_load(qp.add(row[2 * k] + col) as *const v128),
                            v128_load(qp.add(row[2 * k + 1] + col) as *const v128),
                        )
                    };
                    let x0 = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(
                        a, c,
                    );
                    let x1 = i8x16_shuffle::<
                        8,
                        24,
                        9,
                        25,
                        10,
                        26,
                        11,
                        27,
                        12,
                        28,
                        13,
                        29,
                        14,
                        30,
                        15,
                        31,
                    >(a, c);
                    let x = [
                        i16x8_extend_low_i8x16(x0),
                        i16x8_extend_high_i8x16(x0),
                        i16x8_extend_low_i8x16(x1),
                        i16x8_extend_high_i8x16(x1),
                    ];
                    for t in 0..4 {
                        ah[t] = i32x4_add(ah[t], i32x4_dot_i16x8(x[t], wh[k]));
                        al[t] = i32x4_add(al[t], i32x4_dot_i16x8(x[t], wl[k]));
                    }
                }
                for t in 0..4 {
                    let (h2, l2) = (
                        i32x4_shuffle::<2, 3, 2, 3>(ah[t], ah[t]),
                        i32x4_shuffle::<2, 3, 2, 3>(al[t], al[t]),
                    );
                    for (o, (h, l)) in [(0, (ah[t], al[t])), (2, (h2, l2))] {
                        let v = f64x2_add(
                            f64x2_mul(f64x2_convert_low_i32x4(h), sv),
                            f64x2_mul(f64x2_convert_low_i32x4(l), s2v),
                        );
                        // SAFETY: col + 4t + o + 2 ≤ d = out.len().
                        unsafe {
                            let q = op.add(col + 4 * t + o) as *mut v128;
                            v128_store(q, f64x2_add(v128_load(q), v));
                        }
                    }
                }
            }
        }
    }
    std::hint::black_box(touch);
}
