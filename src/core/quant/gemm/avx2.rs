//! x86-64 AVX2 kernels: ggml's x86 integer lanes and float order (ggml-cpu/arch/x86/quants.c
//! and repack.cpp, see the module docs of `gemm`), so their results are the scalar kernels'
//! bit for bit. unsigned × signed bytes with `vpmaddubsw`, pairs of i16 summed with
//! `vpmaddwd`; signed weights through the sign trick (|w|, sign(x, w)) as ggml does. a weight
//! block is unpacked once and multiplied into [`T`] columns before the next block.

use std::arch::x86_64::*;

use super::super::acts::QActs;
use super::super::q4_k;
use super::GgmlType;

/// columns per pass (accumulators live in registers).
const T: usize = 4;

/// rows in panels of about [`PANEL_BYTES`] of weights; within a panel, columns in tiles of
/// T (then one tile of the 1..T−1 left), and each tile runs over the panel's rows: a weight
/// row is read from memory once and stays in L1 while every tile uses it, and a tile's
/// activations stay in L1 across the panel (32 columns of k = 1536 are 48 KB of int8).
macro_rules! drive {
    ($tile:ident, $w:expr, $rows:expr, $bb:expr, $x:expr, $out:expr) => {{
        let (nb, n, rows) = ($x.blocks(), $x.n(), $rows);
        assert!($w.len() >= rows * nb * $bb && $out.len() >= rows * n);
        assert!($x.quants().len() >= n * nb * $x.format().block_size());
        let panel = (PANEL_BYTES / (nb * $bb).max(1)).max(1);
        let w = $w.as_ptr();
        for r0 in (0..rows).step_by(panel) {
            let r1 = (r0 + panel).min(rows);
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
    }};
}

/// weights per panel of rows (see `drive!`).
const PANEL_BYTES: usize = 16 << 10;

/// # Safety
/// the caller must have checked AVX2, FMA and F16C, and the shapes (`gemm::check`).
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn matmul(ty: GgmlType, w: &[u8], rows: usize, x: &QActs, out: &mut [f32]) {
    match ty {
        GgmlType::Q4_1 => drive!(q4_1_tile, w, rows, 20, x, out),
        GgmlType::Q8_0 => drive!(q8_0_tile, w, rows, 34, x, out),
        GgmlType::Q5_0 => drive!(q5_0_tile, w, rows, 22, x, out),
        GgmlType::Q4_K => drive!(q4_k_tile, w, rows, 144, x, out),
        GgmlType::Q6_K => drive!(q6_k_tile, w, rows, 210, x, out),
        _ => unreachable!("gemm::supports"),
    }
}

/// two f16 at `p` (d and m, or d and dmin) as f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16_pair(p: *const u8) -> (f32, f32) {
    let v = _mm_cvtph_ps(_mm_cvtsi32_si128(std::ptr::read_unaligned(p as *const i32)));
    (_mm_cvtss_f32(v), _mm_cvtss_f32(_mm_movehdup_ps(v)))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16_one(p: *const u8) -> f32 {
    let h = std::ptr::read_unaligned(p as *const u16);
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h as i32)))
}

/// ggml's `hsum_float_8`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum_float_8(x: __m256) -> f32 {
    let mut r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    _mm_cvtss_f32(r)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum_i32_8(a: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    let s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01)))
}

/// 32 nibbles as bytes in element order: low nibbles of 16 bytes, then the high ones.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn bytes_from_nibbles_32(p: *const u8) -> __m256i {
    let tmp = _mm_loadu_si128(p as *const __m128i);
    _mm256_and_si256(
        _mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp),
        _mm256_set1_epi8(0x0F),
    )
}

/// byte j = 0xFF where bit j of the little-endian u32 at `p` is set, else 0.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn bytes_from_bits_32(p: *const u8) -> __m256i {
    let x32 = std::ptr::read_unaligned(p as *const i32);
    let shuf = _mm256_set_epi64x(
        0x0303030303030303,
        0x0202020202020202,
        0x0101010101010101,
        0,
    );
    let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(x32), shuf);
    let bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1))
}

/// eight i32 lanes, lane l = Σ of bytes 4l..4l+3 of ax·sy (ax unsigned), as f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn lanes_us8(ax: __m256i, sy: __m256i) -> __m256 {
    _mm256_cvtepi32_ps(_mm256_madd_epi16(
        _mm256_maddubs_epi16(ax, sy),
        _mm256_set1_epi16(1),
    ))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_1_tile<const N: usize>(row: *const u8, nb: usize, x: &QActs, c0: usize) -> [f32; N] {
    let k = nb * 32;
    let (qs, dx, sx) = (x.quants().as_ptr(), x.scales().as_ptr(), x.sums().as_ptr());
    let mut acc = [_mm256_setzero_ps(); N];
    let mut summs = [0f32; N];
    for b in 0..nb {
        let blk = row.add(20 * b);
        let (d, m) = f16_pair(blk);
        let qw = bytes_from_nibbles_32(blk.add(4));
        for t in 0..N {
            let i = (c0 + t) * nb + b;
            summs[t] += m * *sx.add(i);
            let qy = _mm256_loadu_si256(qs.add((c0 + t) * k + 32 * b) as *const __m256i);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * *dx.add(i)), lanes_us8(qw, qy), acc[t]);
        }
    }
    std::array::from_fn(|t| hsum_float_8(acc[t]) + summs[t])
}

/// Q8_0 and Q5_0: the weight's signed bytes `qw(block)` against Q8_0 activations.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn signed_tile<const N: usize>(
    row: *const u8,
    nb: usize,
    bb: usize,
    x: &QActs,
    c0: usize,
    qw: impl Fn(*const u8) -> __m256i,
) -> [f32; N] {
    let k = nb * 32;
    let (qs, dx) = (x.quants().as_ptr(), x.scales().as_ptr());
    let mut acc = [_mm256_setzero_ps(); N];
    for b in 0..nb {
        let blk = row.add(bb * b);
        let d = f16_one(blk);
        let q = qw(blk);
        let aw = _mm256_sign_epi8(q, q);
        for t in 0..N {
            let qy = _mm256_loadu_si256(qs.add((c0 + t) * k + 32 * b) as *const __m256i);
            let xy = lanes_us8(aw, _mm256_sign_epi8(qy, q));
            let dd = _mm256_set1_ps(d * *dx.add((c0 + t) * nb + b));
            acc[t] = _mm256_fmadd_ps(dd, xy, acc[t]);
        }
    }
    std::array::from_fn(|t| hsum_float_8(acc[t]))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_tile<const N: usize>(row: *const u8, nb: usize, x: &QActs, c0: usize) -> [f32; N] {
    signed_tile::<N>(row, nb, 34, x, c0, |blk| {
        _mm256_loadu_si256(blk.add(2) as *const __m256i)
    })
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q5_0_tile<const N: usize>(row: *const u8, nb: usize, x: &QActs, c0: usize) -> [f32; N] {
    signed_tile::<N>(row, nb, 22, x, c0, |blk| {
        // nibble | 0xF0 where the fifth bit is clear: the value − 16 as an int8.
        let hi = _mm256_andnot_si256(bytes_from_bits_32(blk.add(2)), _mm256_set1_epi8(-16));
        _mm256_or_si256(bytes_from_nibbles_32(blk.add(6)), hi)
    })
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_k_tile<const N: usize>(row: *const u8, nb: usize, x: &QActs, c0: usize) -> [f32; N] {
    let k = nb * 256;
    let (qs, dx, bsums) = (x.quants().as_ptr(), x.scales().as_ptr(), x.bsums().as_ptr());
    let m4 = _mm256_set1_epi8(0x0F);
    let mut acc = [0f32; N];
    let mut accm = [0f32; N];
    for b in 0..nb {
        let blk = row.add(144 * b);
        let (d, dmin) = f16_pair(blk);
        let scales = std::slice::from_raw_parts(blk.add(4), 12);
        let (mut sc, mut mn) = ([0i16; 8], [0i32; 8]);
        for s in 0..8 {
            let (a, m) = q4_k::scale_min(scales, s);
            (sc[s], mn[s]) = (a as i16, m as i32);
        }
        let mut sumi = [_mm256_setzero_si256(); N];
        for j in 0..4 {
            let bits = _mm256_loadu_si256(blk.add(16 + 32 * j) as *const __m256i);
            let lo = _mm256_and_si256(bits, m4);
            let hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            let (sl, sh) = (
                _mm256_set1_epi16(sc[2 * j]),
                _mm256_set1_epi16(sc[2 * j + 1]),
            );
            for t in 0..N {
                let q8 = qs.add((c0 + t) * k + 256 * b + 64 * j) as *const __m256i;
                let pl = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256(q8)), sl);
                let ph =
                    _mm256_madd_epi16(_mm256_maddubs_epi16(hi, _mm256_loadu_si256(q8.add(1))), sh);
                sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(pl, ph));
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
            acc[t] = (hsum_i32_8(sumi[t]) as f32).mul_add(d * d8, acc[t]);
            accm[t] = (m as f32).mul_add(dmin * d8, accm[t]);
        }
    }
    std::array::from_fn(|t| acc[t] - accm[t])
}

/// `get_scale_shuffle(i)` of ggml's x86 quants.c: bytes 2i (eight times), then 2i + 1.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scale_pair(scales: __m128i, i: usize) -> __m256i {
    let (a, b) = ((2 * i) as i8, (2 * i + 1) as i8);
    let shuf = _mm_setr_epi8(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b);
    _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, shuf))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q6_k_tile<const N: usize>(row: *const u8, nb: usize, x: &QActs, c0: usize) -> [f32; N] {
    let k = nb * 256;
    let (qs, dx, bsums) = (x.quants().as_ptr(), x.scales().as_ptr(), x.bsums().as_ptr());
    let (m3, m15) = (_mm256_set1_epi8(3), _mm256_set1_epi8(15));
    let mut acc = [_mm256_setzero_ps(); N];
    for b in 0..nb {
        let blk = row.add(210 * b);
        let dw = f16_one(blk.add(208));
        let scales = _mm_loadu_si128(blk.add(192) as *const __m128i);
        let mut sumi = [_mm256_setzero_si256(); N];
        for j in 0..2 {
            let ql1 = _mm256_loadu_si256(blk.add(64 * j) as *const __m256i);
            let ql2 = _mm256_loadu_si256(blk.add(64 * j + 32) as *const __m256i);
            let qh = _mm256_loadu_si256(blk.add(128 + 32 * j) as *const __m256i);
            let h0 = _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4);
            let h1 = _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(12)), 2);
            let h2 = _mm256_and_si256(qh, _mm256_set1_epi8(48));
            let h3 = _mm256_srli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(-64)), 2);
            let q = [
                _mm256_or_si256(_mm256_and_si256(ql1, m15), h0),
                _mm256_or_si256(_mm256_and_si256(ql2, m15), h1),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m15), h2),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql2, 4), m15), h3),
            ];
            let sc = [
                scale_pair(scales, 4 * j),
                scale_pair(scales, 4 * j + 1),
                scale_pair(scales, 4 * j + 2),
                scale_pair(scales, 4 * j + 3),
            ];
            for t in 0..N {
                let q8 = qs.add((c0 + t) * k + 256 * b + 128 * j) as *const __m256i;
                let p: [__m256i; 4] = std::array::from_fn(|i| {
                    _mm256_madd_epi16(
                        sc[i],
                        _mm256_maddubs_epi16(q[i], _mm256_loadu_si256(q8.add(i))),
                    )
                });
                sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(p[0], p[1]));
                sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(p[2], p[3]));
            }
        }
        let scales16 = _mm256_cvtepi8_epi16(scales);
        for t in 0..N {
            let c = c0 + t;
            let q8sums = _mm256_loadu_si256(bsums.add(c * k / 16 + 16 * b) as *const __m256i);
            let sub = _mm256_slli_epi32(_mm256_madd_epi16(q8sums, scales16), 5);
            let d = _mm256_set1_ps(*dx.add(c * nb + b) * dw);
            let s = _mm256_sub_epi32(sumi[t], sub);
            acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[t]);
        }
    }
    std::array::from_fn(|t| hsum_float_8(acc[t]))
}
