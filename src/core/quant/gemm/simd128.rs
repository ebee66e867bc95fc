//! wasm simd128 kernels: weights widened to i16 once per block, multiplied into [`T`]
//! columns of activations already widened to i16 (`QActs::quants16`) with
//! `i32x4.dot_i16x8_s`. four i32 lanes a block, lane l = elements {2l, 2l+1} of each eight;
//! f32 lanes += f32(I_l)·(d_w·d_x), unfused (simd128 has no fused multiply-add); at the end
//! (l0 + l1) + (l2 + l3). K-quants fold each sub-block's scale into the widened weight
//! (sc·q fits i16), so a super-block is one set of lanes and one multiply by d_w·d_x.
//! the float order differs from ggml's (see the module docs of `gemm`); the error bound
//! covers it.

use core::arch::wasm32::*;

use super::super::acts::QActs;
use super::super::q4_k;
use super::{f16_bits_to_f32, GgmlType};

/// columns per pass (accumulators live in registers).
const T: usize = 4;

/// rows in panels of about [`PANEL_BYTES`] of weights; within a panel, columns in tiles of
/// T (then one tile of the 1..T−1 left), and each tile runs over the panel's rows. a weight
/// row is read from memory once and stays in L1 while every tile uses it; a tile's
/// activations (T·k i16) stay in L1 across the panel instead of streaming from L2 for every
/// row (with 32 columns of k = 576, 36 KB of i16 activations do not fit a 32 KB L1).
macro_rules! drive {
    ($tile:ident, $w:expr, $rows:expr, $bb:expr, $x:expr, $out:expr) => {{
        let (nb, n, rows) = ($x.blocks(), $x.n(), $rows);
        assert!($w.len() >= rows * nb * $bb && $out.len() >= rows * n);
        assert!($x.quants16().len() >= n * nb * $x.format().block_size());
        let panel = (PANEL_BYTES / (nb * $bb).max(1)).max(1);
        let w = $w.as_ptr();
        for r0 in (0..rows).step_by(panel) {
            let r1 = (r0 + panel).min(rows);
            // SAFETY: rows r0..r1 hold nb blocks each and every column holds k quants
            // (asserted above and by gemm::check); the tiles read nothing else.
            unsafe {
                let mut c = 0;
                while c + T <= n {
                    for r in r0..r1 {
                        let v = $tile::<T>(w.add(r * nb * $bb), nb, $x, c);
                        for (t, &v) in v.iter().enumerate() {
                            $out[(c + t) * rows + r] = v;
                        }
                    }
                    c += T;
                }
                for r in r0..r1 {
                    let row = w.add(r * nb * $bb);
                    let left: &[f32] = match n - c {
                        3 => &$tile::<3>(row, nb, $x, c),
                        2 => &$tile::<2>(row, nb, $x, c),
                        1 => &$tile::<1>(row, nb, $x, c),
                        _ => &[],
                    };
                    for (t, &v) in left.iter().enumerate() {
                        $out[(c + t) * rows + r] = v;
                    }
                }
            }
        }
    }};
}

/// weights per panel of rows (see `drive!`): with a tile's activations (4 × 1536 i16 = 12 KB
/// at most for SmolLM2) well inside a 32 KB L1.
const PANEL_BYTES: usize = 16 << 10;

/// the shapes were checked by `gemm::check`.
pub fn matmul(ty: GgmlType, w: &[u8], rows: usize, x: &QActs, out: &mut [f32]) {
    match ty {
        GgmlType::Q4_1 => drive!(q4_1_tile, w, rows, 20, x, out),
        GgmlType::Q8_0 => drive!(q8_0_tile, w, rows, 34, x, out),
        GgmlType::Q5_0 => drive!(q5_0_tile, w, rows, 22, x, out),
        GgmlType::Q4_K => drive!(q4_k_tile, w, rows, 144, x, out),
        GgmlType::Q6_K => drive!(q6_k_tile, w, rows, 210, x, out),
        _ => unreachable!("gemm::supports"),
    }
}

#[inline(always)]
unsafe fn f16_at(p: *const u8) -> f32 {
    f16_bits_to_f32(std::ptr::read_unaligned(p as *const u16))
}

#[inline(always)]
fn hsum4(v: v128) -> f32 {
    (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
        + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
}

/// Σ over 32 values of w·a in four i32 lanes; `a` points at 32 i16.
#[inline(always)]
unsafe fn dot32(w: &[v128; 4], a: *const i16) -> v128 {
    let a = a as *const v128;
    i32x4_add(
        i32x4_add(
            i32x4_dot_i16x8(w[0], v128_load(a)),
            i32x4_dot_i16x8(w[1], v128_load(a.add(1))),
        ),
        i32x4_add(
            i32x4_dot_i16x8(w[2], v128_load(a.add(2))),
            i32x4_dot_i16x8(w[3], v128_load(a.add(3))),
        ),
    )
}

/// 32 signed bytes as four i16x8.
#[inline(always)]
fn widen_i8(v0: v128, v1: v128) -> [v128; 4] {
    [
        i16x8_extend_low_i8x16(v0),
        i16x8_extend_high_i8x16(v0),
        i16x8_extend_low_i8x16(v1),
        i16x8_extend_high_i8x16(v1),
    ]
}

/// the f32 of the f16 in the low 16 bits of each u32 lane, exactly (`f16_bits_to_f32`,
/// four at a time).
#[inline(always)]
fn f16x4_to_f32(h: v128) -> v128 {
    let mag = i32x4_shl(v128_and(h, u32x4_splat(0x7fff)), 13);
    let finite = f32x4_mul(mag, f32x4_splat(f32::from_bits(0x7780_0000)));
    let exp31 = u32x4_splat(0x7c00);
    let special = i32x4_eq(v128_and(h, exp31), exp31);
    let v = v128_bitselect(v128_or(mag, u32x4_splat(0x7f80_0000)), finite, special);
    v128_or(v, i32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16))
}

/// for the wasm tier's test of `f16x4_to_f32` against `half`.
pub fn f16x4_bits_to_f32(h: [u16; 4]) -> [f32; 4] {
    let v = f16x4_to_f32(u32x4(h[0] as u32, h[1] as u32, h[2] as u32, h[3] as u32));
    [
        f32x4_extract_lane::<0>(v),
        f32x4_extract_lane::<1>(v),
        f32x4_extract_lane::<2>(v),
        f32x4_extract_lane::<3>(v),
    ]
}

/// the u32 at `p(i)` for i < g in lane i, zeros past g.
#[inline(always)]
unsafe fn gather4(p: impl Fn(usize) -> *const u8, g: usize) -> v128 {
    let mut v = v128_load32_zero(p(0) as *const u32);
    if g > 1 {
        v = v128_load32_lane::<1>(v, p(1) as *const u32);
    }
    if g > 2 {
        v = v128_load32_lane::<2>(v, p(2) as *const u32);
    }
    if g > 3 {
        v = v128_load32_lane::<3>(v, p(3) as *const u32);
    }
    v
}

/// g ≤ 4 consecutive f32 at `p`, zeros past g (never reading past them).
#[inline(always)]
unsafe fn load4(p: *const f32, g: usize) -> v128 {
    if g == 4 {
        v128_load(p as *const v128)
    } else {
        gather4(|i| p.add(i) as *const u8, g)
    }
}

/// lane i of v in every lane.
#[inline(always)]
fn lane(v: v128, i: usize) -> v128 {
    match i {
        0 => i32x4_shuffle::<0, 0, 0, 0>(v, v),
        1 => i32x4_shuffle::<1, 1, 1, 1>(v, v),
        2 => i32x4_shuffle::<2, 2, 2, 2>(v, v),
        _ => i32x4_shuffle::<3, 3, 3, 3>(v, v),
    }
}

/// 32-value blocks of `bb` bytes starting with their f16 d (Q4_1: then its f16 m, `MIN`),
/// values widened by `wv`, against Q8_0/Q8_1 activations. blocks go four at a time: their
/// scales are converted together and multiplied by the columns' d_x in one f32x4 (the
/// products are those of one block at a time), Q4_1's m·s (exact) summed in four lanes.
#[inline(always)]
unsafe fn block32_tile<const N: usize, const MIN: bool>(
    row: *const u8,
    nb: usize,
    bb: usize,
    x: &QActs,
    c0: usize,
    wv: impl Fn(*const u8) -> [v128; 4],
) -> [f32; N] {
    let k = nb * 32;
    let (q16, dx, sx) = (
        x.quants16().as_ptr(),
        x.scales().as_ptr(),
        x.sums().as_ptr(),
    );
    let mut acc = [f32x4_splat(0.0); N];
    let mut accm = [f32x4_splat(0.0); N];
    let mut b0 = 0;
    while b0 < nb {
        let g = (nb - b0).min(4);
        // each block's first u32: d in the low half, Q4_1's m in the high half.
        let h = gather4(|i| row.add(bb * (b0 + i)), g);
        let dw = f16x4_to_f32(v128_and(h, u32x4_splat(0xffff)));
        let mut dd = [f32x4_splat(0.0); N];
        for t in 0..N {
            let i0 = (c0 + t) * nb + b0;
            if N <= 2 {
                dd[t] = f32x4_mul(dw, load4(dx.add(i0), g));
            }
            if MIN {
                let mw = f16x4_to_f32(u32x4_shr(h, 16));
                accm[t] = f32x4_add(accm[t], f32x4_mul(mw, load4(sx.add(i0), g)));
            }
        }
        for i in 0..g {
            let w = wv(row.add(bb * (b0 + i)));
            // the same f32 d_w·d_x either way: from the group's products (few columns), or
            // one scalar product a column (more columns: fewer registers held).
            let dwi = f32x4_extract_lane::<0>(lane(dw, i));
            for t in 0..N {
                let s = dot32(&w, q16.add((c0 + t) * k + 32 * (b0 + i)));
                let d = if N <= 2 {
                    lane(dd[t], i)
                } else {
                    f32x4_splat(dwi * *dx.add((c0 + t) * nb + b0 + i))
                };
                acc[t] = f32x4_add(acc[t], f32x4_mul(f32x4_convert_i32x4(s), d));
            }
        }
        b0 += 4;
    }
    std::array::from_fn(|t| hsum4(acc[t]) + hsum4(accm[t]))
}

#[inline(always)]
unsafe fn q4_1_tile<const N: usize>(row: *const u8, nb: usize, x: &QActs, c0: usize) -> [f32; N] {
    let m15 = u16x8_splat(15);
    block32_tile::<N, true>(row, nb, 20, x, c0, |blk| {
        let qs = v128_load(blk.add(4) as *const v128);
        let (e0, e1) = (u16x8_extend_low_u8x16(qs), u16x8_extend_high_u8x16(qs));
        [
            v128_and(e0, m15),
            v128_and(e1, m15),
            u16x8_shr(e0, 4),
            u16x8_shr(e1, 4),
        ]
    })
}

#[inline(always)]
unsafe fn q8_0_tile<const N: usize>(row: *const u8, nb: usize, x: &QActs, c0: usize) -> [f32; N] {
    block32_tile::<N, false>(row, nb, 34, x, c0, |blk| {
        let q = blk.add(2) as *const v128;
        widen_i8(v128_load(q), v128_load(q.add(1)))
    })
}

#[inline(always)]
unsafe fn q5_0_tile<const N: usize>(row: *const u8, nb: usize, x: &QActs, c0: usize) -> [f32; N] {
    block32_tile::<N, false>(row, nb, 22, x, c0, |blk| {
        let qs = v128_load(blk.add(6) as *const v128);
        let lo = v128_and(qs, u8x16_splat(0x0F));
        let hi = v128_and(u16x8_shr(qs, 4), u8x16_splat(0x0F));
        // byte j = bit j of qh: spread the four bytes of qh eight times each, test one bit.
        let qh = u32x4_splat(std::ptr::read_unaligned(blk.add(2) as *const u32));
        let bit = u8x16(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
        let set = |v: v128| i8x16_eq(v128_and(v, bit), bit);
        let b0 = set(i8x16_swizzle(
            qh,
            u8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
        ));
        let b1 = set(i8x16_swizzle(
            qh,
            u8x16(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3),
        ));
        // nibble | 0xF0 where the fifth bit is clear: the value − 16 as an int8.
        let f0 = u8x16_splat(0xF0);
        widen_i8(
            v128_or(lo, v128_andnot(f0, b0)),
            v128_or(hi, v128_andnot(f0, b1)),
        )
    })
}

#[inline(always)]
unsafe fn q4_k_tile<const N: usize>(row: *const u8, nb: usize, x: &QActs, c0: usize) -> [f32; N] {
    let k = nb * 256;
    let (q16, dx, bsums) = (
        x.quants16().as_ptr(),
        x.scales().as_ptr(),
        x.bsums().as_ptr(),
    );
    let m15 = u16x8_splat(15);
    let mut acc = [f32x4_splat(0.0); N];
    let mut accm = [0f32; N];
    for b in 0..nb {
        let blk = row.add(144 * b);
        let (d, dmin) = (f16_at(blk), f16_at(blk.add(2)));
        let scales = std::slice::from_raw_parts(blk.add(4), 12);
        let mut sumi = [i32x4_splat(0); N];
        let mut mn = [0i32; 8];
        for s in 0..8 {
            let (sc, m) = q4_k::scale_min(scales, s);
            mn[s] = m as i32;
            // sub-block s: the low (s even) or high nibbles of bytes 32·(s/2)..+32, times sc.
            let q = blk.add(16 + 32 * (s / 2)) as *const v128;
            let (v0, v1) = (v128_load(q), v128_load(q.add(1)));
            let e = [
                u16x8_extend_low_u8x16(v0),
                u16x8_extend_high_u8x16(v0),
                u16x8_extend_low_u8x16(v1),
                u16x8_extend_high_u8x16(v1),
            ];
            let scv = i16x8_splat(sc as i16);
            let w = e.map(|e| {
                let nib = if s % 2 == 0 {
                    v128_and(e, m15)
                } else {
                    u16x8_shr(e, 4)
                };
                i16x8_mul(nib, scv)
            });
            for t in 0..N {
                let a = q16.add((c0 + t) * k + 256 * b + 32 * s);
                sumi[t] = i32x4_add(sumi[t], dot32(&w, a));
            }
        }
        for t in 0..N {
            let c = c0 + t;
            let bs = bsums.add(c * k / 16 + 16 * b);
            let mut m = 0i32;
            for s in 0..8 {
                m += mn[s] * (*bs.add(2 * s) as i32 + *bs.add(2 * s + 1) as i32);
            }
            let d8 = *dx.add(c * nb + b);
            let dd = f32x4_splat(d * d8);
            acc[t] = f32x4_add(acc[t], f32x4_mul(f32x4_convert_i32x4(sumi[t]), dd));
            accm[t] += m as f32 * (dmin * d8);
        }
    }
    std::array::from_fn(|t| hsum4(acc[t]) - accm[t])
}

#[inline(always)]
unsafe fn q6_k_tile<const N: usize>(row: *const u8, nb: usize, x: &QActs, c0: usize) -> [f32; N] {
    let k = nb * 256;
    let (q16, dx) = (x.quants16().as_ptr(), x.scales().as_ptr());
    let (m3, m15, b32) = (u8x16_splat(3), u8x16_splat(15), i8x16_splat(32));
    let mut acc = [f32x4_splat(0.0); N];
    for b in 0..nb {
        let blk = row.add(210 * b);
        let d = f16_at(blk.add(208));
        let mut sumi = [i32x4_splat(0); N];
        // chunk (n, g): values 128n + 32g + l, l < 32: the low nibbles (g < 2) or high
        // nibbles of ql[64n + 32(g % 2) + l], the bits 2g, 2g+1 of qh[32n + l].
        for ch in 0..8 {
            let (n, g) = (ch / 4, ch % 4);
            let ql = blk.add(64 * n + 32 * (g % 2)) as *const v128;
            let qh = blk.add(128 + 32 * n) as *const v128;
            let half = |i: usize| {
                let l = v128_load(ql.add(i));
                let lo = if g < 2 {
                    v128_and(l, m15)
                } else {
                    v128_and(u16x8_shr(l, 4), m15)
                };
                let h = v128_and(u16x8_shr(v128_load(qh.add(i)), 2 * g as u32), m3);
                i8x16_sub(v128_or(lo, i16x8_shl(h, 4)), b32)
            };
            let (v0, v1) = (half(0), half(1));
            let (s0, s1) = (
                i16x8_splat(*blk.add(192 + 2 * ch) as i8 as i16),
                i16x8_splat(*blk.add(193 + 2 * ch) as i8 as i16),
            );
            let wv = widen_i8(v0, v1);
            let w = [
                i16x8_mul(wv[0], s0),
                i16x8_mul(wv[1], s0),
                i16x8_mul(wv[2], s1),
                i16x8_mul(wv[3], s1),
            ];
            for t in 0..N {
                let a = q16.add((c0 + t) * k + 256 * b + 32 * ch);
                sumi[t] = i32x4_add(sumi[t], dot32(&w, a));
            }
        }
        for t in 0..N {
            let dd = f32x4_splat(*dx.add((c0 + t) * nb + b) * d);
            acc[t] = f32x4_add(acc[t], f32x4_mul(f32x4_convert_i32x4(sumi[t]), dd));
        }
    }
    std::array::from_fn(|t| hsum4(acc[t]))
}
