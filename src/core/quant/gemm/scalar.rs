//! portable kernels in ggml's x86 float order (see the module docs of `gemm`): per block the
//! integer lanes ggml's AVX2 code forms, each lane folded in with a fused multiply-add
//! (`f32::mul_add`, correctly rounded everywhere), the lanes summed as `hsum_float_8`. the
//! AVX2 kernels give the same bits; this is the fallback and the readable statement of the
//! order. also the block decoders the error bound shares.

use super::super::acts::QActs;
use super::super::{f16_at, q4_k};
use super::hsum_float_8;

/// columns per pass over a block: the decoded block is reused for this many columns.
const TILE: usize = 8;

/// one output's running sums: ggml's eight f32 lanes and a second accumulator (Q4_1's
/// Σ m·s, Q4_K's minimum term).
#[derive(Clone, Copy, Default)]
struct Acc {
    lanes: [f32; 8],
    extra: f32,
}

/// rows outside, columns inside in tiles of [`TILE`]: each block of a weight row is decoded
/// once per tile. `step` folds block b of the weight into column c's sums.
fn tiles<B, const BB: usize>(
    w: &[u8],
    rows: usize,
    x: &QActs,
    out: &mut [f32],
    decode: impl Fn(&[u8]) -> B,
    step: impl Fn(&B, usize, usize, &mut Acc),
    finish: impl Fn(&Acc) -> f32,
) {
    let (nb, n) = (x.blocks(), x.n());
    for r in 0..rows {
        let row = &w[r * nb * BB..(r + 1) * nb * BB];
        for c0 in (0..n).step_by(TILE) {
            let t = TILE.min(n - c0);
            let mut acc = [Acc::default(); TILE];
            for (b, raw) in row.chunks_exact(BB).enumerate() {
                let blk = decode(raw);
                for (i, a) in acc[..t].iter_mut().enumerate() {
                    step(&blk, c0 + i, b, a);
                }
            }
            for (i, a) in acc[..t].iter().enumerate() {
                out[(c0 + i) * rows + r] = finish(a);
            }
        }
    }
}

/// a Q4_1 block: d, m and the 32 unsigned quants in element order.
pub(super) fn q4_1_block(b: &[u8]) -> (f32, f32, [u8; 32]) {
    let mut q = [0u8; 32];
    for j in 0..16 {
        q[j] = b[4 + j] & 0x0F;
        q[j + 16] = b[4 + j] >> 4;
    }
    (f16_at(b, 0), f16_at(b, 2), q)
}

/// a Q8_0 block: d and the quants.
pub(super) fn q8_0_block(b: &[u8]) -> (f32, [i8; 32]) {
    (f16_at(b, 0), std::array::from_fn(|j| b[2 + j] as i8))
}

/// a Q5_0 block: d and the signed values q − 16 ∈ −16..15.
pub(super) fn q5_0_block(b: &[u8]) -> (f32, [i8; 32]) {
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    let q = std::array::from_fn(|j| {
        let nib = if j < 16 {
            b[6 + j] & 0x0F
        } else {
            b[6 + j - 16] >> 4
        };
        (nib | (((qh >> j) & 1) as u8) << 4) as i8 - 16
    });
    (f16_at(b, 0), q)
}

/// a Q4_K super-block: d, dmin, the 8 scales and 8 minimums, the 256 unsigned quants.
pub(super) struct Q4K {
    pub d: f32,
    pub dmin: f32,
    pub sc: [u8; 8],
    pub m: [u8; 8],
    pub q: [u8; 256],
}

pub(super) fn q4_k_block(b: &[u8]) -> Q4K {
    let scales = &b[4..16];
    let (mut sc, mut m) = ([0u8; 8], [0u8; 8]);
    for s in 0..8 {
        (sc[s], m[s]) = q4_k::scale_min(scales, s);
    }
    let q = std::array::from_fn(|e| {
        let s = e / 32;
        (b[16 + 32 * (s / 2) + e % 32] >> (4 * (s % 2))) & 0x0F
    });
    Q4K {
        d: f16_at(b, 0),
        dmin: f16_at(b, 2),
        sc,
        m,
        q,
    }
}

/// a Q6_K super-block: d, the 16 signed scales, the 256 unsigned quants (q + 32 ∈ 0..63).
pub(super) fn q6_k_block(b: &[u8]) -> (f32, [i8; 16], [u8; 256]) {
    let q = std::array::from_fn(|e| {
        let (n, g, l) = (e / 128, (e % 128) / 32, e % 32);
        let lo = (b[64 * n + 32 * (g % 2) + l] >> (4 * (g / 2))) & 0x0F;
        let hi = (b[128 + 32 * n + l] >> (2 * g)) & 3;
        lo | (hi << 4)
    });
    (f16_at(b, 208), std::array::from_fn(|s| b[192 + s] as i8), q)
}

/// ggml's lane l: Σ of elements 4l..4l+3 (`mul_sum_us8_pairs_float`, `_mm256_dpbusd_epi32`).
fn lanes32(w: impl Fn(usize) -> i32, q8: &[i8]) -> [i32; 8] {
    std::array::from_fn(|l| (4 * l..4 * l + 4).map(|e| w(e) * q8[e] as i32).sum())
}

/// Q4_1 × Q8_1: ggml-cpu/arch/x86/quants.c `ggml_vec_dot_q4_1_q8_1` (AVX2): per block
/// lane_l = fma(d_w·d_x, I_l, lane_l), summs += m·s; out = hsum_float_8(lanes) + summs.
pub fn q4_1(w: &[u8], rows: usize, x: &QActs, out: &mut [f32]) {
    let (k, nb) = (x.k(), x.blocks());
    let (qs, dx, sx) = (x.quants(), x.scales(), x.sums());
    tiles::<_, 20>(
        w,
        rows,
        x,
        out,
        q4_1_block,
        |(d, m, q), c, b, a| {
            a.extra += m * sx[c * nb + b];
            let dd = d * dx[c * nb + b];
            let q8 = &qs[c * k + 32 * b..][..32];
            for (lane, i) in a.lanes.iter_mut().zip(lanes32(|e| q[e] as i32, q8)) {
                *lane = dd.mul_add(i as f32, *lane);
            }
        },
        |a| hsum_float_8(&a.lanes) + a.extra,
    )
}

/// Q8_0 × Q8_0 and Q5_0 × Q8_0: `ggml_vec_dot_q8_0_q8_0`, `ggml_vec_dot_q5_0_q8_0`
/// (AVX2): lane_l = fma(d_w·d_x, I_l, lane_l); out = hsum_float_8(lanes).
fn signed32<const BB: usize>(
    w: &[u8],
    rows: usize,
    x: &QActs,
    out: &mut [f32],
    decode: fn(&[u8]) -> (f32, [i8; 32]),
) {
    let (k, nb) = (x.k(), x.blocks());
    let (qs, dx) = (x.quants(), x.scales());
    tiles::<_, BB>(
        w,
        rows,
        x,
        out,
        decode,
        |(d, q), c, b, a| {
            let dd = d * dx[c * nb + b];
            let q8 = &qs[c * k + 32 * b..][..32];
            for (lane, i) in a.lanes.iter_mut().zip(lanes32(|e| q[e] as i32, q8)) {
                *lane = dd.mul_add(i as f32, *lane);
            }
        },
        |a| hsum_float_8(&a.lanes),
    )
}

pub fn q8_0(w: &[u8], rows: usize, x: &QActs, out: &mut [f32]) {
    signed32::<34>(w, rows, x, out, q8_0_block)
}

pub fn q5_0(w: &[u8], rows: usize, x: &QActs, out: &mut [f32]) {
    signed32::<22>(w, rows, x, out, q5_0_block)
}

/// Q4_K × Q8_K as the CPU_REPACK kernels compute it on x86 (ggml-cpu/arch/x86/repack.cpp
/// `ggml_gemv_q4_K_8x8_q8_K` / `ggml_gemm_q4_K_8x8_q8_K`, which llama.cpp uses for Q4_K
/// weights of a multiple of 8 rows): per super-block I = Σ_s sc_s·Σ q·q8 and
/// M = Σ_s m_s·(bsums_2s + bsums_2s+1), exact;
/// acc = fma(f32(I), d_w·d_x, acc), accm = fma(f32(M), dmin_w·d_x, accm); out = acc − accm.
pub fn q4_k(w: &[u8], rows: usize, x: &QActs, out: &mut [f32]) {
    let (k, nb) = (x.k(), x.blocks());
    let (qs, dx, bsums) = (x.quants(), x.scales(), x.bsums());
    tiles::<_, 144>(
        w,
        rows,
        x,
        out,
        q4_k_block,
        |blk, c, b, a| {
            let d8 = dx[c * nb + b];
            let q8 = &qs[c * k + 256 * b..][..256];
            let bs = &bsums[c * k / 16 + 16 * b..][..16];
            let mut i = 0i32;
            let mut mins = 0i32;
            for s in 0..8 {
                let sub: i32 = (32 * s..32 * s + 32)
                    .map(|e| blk.q[e] as i32 * q8[e] as i32)
                    .sum();
                i += blk.sc[s] as i32 * sub;
                mins += blk.m[s] as i32 * (bs[2 * s] as i32 + bs[2 * s + 1] as i32);
            }
            a.lanes[0] = (i as f32).mul_add(blk.d * d8, a.lanes[0]);
            a.extra = (mins as f32).mul_add(blk.dmin * d8, a.extra);
        },
        |a| a.lanes[0] - a.extra,
    )
}

/// Q6_K × Q8_K: `ggml_vec_dot_q6_K_q8_K` (AVX2 branch): per super-block eight lanes,
/// lane l = Σ over the eight 32-value chunks C of sc[2C + (l ≥ 4)]·Σ_{t=4l}^{4l+3} q·q8 (q
/// unsigned, 0..63) − 32·(bsums_2l·sc_2l + bsums_2l+1·sc_2l+1), exact;
/// lane_l = fma(d_x·d_w, f32(lane), lane_l); out = hsum_float_8(lanes).
pub fn q6_k(w: &[u8], rows: usize, x: &QActs, out: &mut [f32]) {
    let (k, nb) = (x.k(), x.blocks());
    let (qs, dx, bsums) = (x.quants(), x.scales(), x.bsums());
    tiles::<_, 210>(
        w,
        rows,
        x,
        out,
        q6_k_block,
        |(d, sc, q), c, b, a| {
            let d = dx[c * nb + b] * d;
            let q8 = &qs[c * k + 256 * b..][..256];
            let bs = &bsums[c * k / 16 + 16 * b..][..16];
            for (l, lane) in a.lanes.iter_mut().enumerate() {
                let mut s = 0i32;
                for ch in 0..8 {
                    let e0 = 32 * ch + 4 * l;
                    let sub: i32 = (e0..e0 + 4).map(|e| q[e] as i32 * q8[e] as i32).sum();
                    s += sc[2 * ch + l / 4] as i32 * sub;
                }
                s -= 32
                    * (bs[2 * l] as i32 * sc[2 * l] as i32
                        + bs[2 * l + 1] as i32 * sc[2 * l + 1] as i32);
                *lane = d.mul_add(s as f32, *lane);
            }
        },
        |a| hsum_float_8(&a.lanes),
    )
}
