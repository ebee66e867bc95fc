//! Q5_K (ggml type 13): a super-block of 256 values in 8 sub-blocks of 32, each with a 6-bit
//! scale and a 6-bit minimum, 5-bit quants (4 low bits in `qs`, the high bit in `qh`); two f16
//! super-scales.
//!
//! ```c
//! typedef struct {
//!     ggml_half d;                  // super-block scale for quantized scales
//!     ggml_half dmin;               // super-block scale for quantized mins
//!     uint8_t scales[K_SCALE_SIZE]; // scales and mins, quantized with 6 bits
//!     uint8_t qh[QK_K/8];           // quants, high bit
//!     uint8_t qs[QK_K/2];           // quants, low 4 bits
//! } block_q5_K;                     // 176 bytes
//! ```
//!
//! value e of the block (0..256), in sub-block s = e / 32 at l = e % 32, all in f32 and never
//! fused, with (sc, m) as in Q4_K ([`q4_k::scale_min`](super::q4_k::scale_min)):
//!
//! ```text
//! q = ((qs[32·(s / 2) + l] >> 4·(s % 2)) & 15) | ((qh[l] >> s) & 1) · 16
//! w = (d · f32(sc)) · f32(q) − (dmin · f32(m))
//! ```
//!
//! follows ggml-quants.c `dequantize_row_q5_K` (`d1 * q - m1`, which a C compiler may fuse)
//! as gguf-py `Q5_K.dequantize_blocks` evaluates it (`d * q - dm`); every product is exact,
//! so both round once, at the difference.

use super::q4_k::{scale_min, K_SCALE_SIZE};
use super::{dequantize_blocks, dot_blocks, f16_at};

pub const BLOCK: usize = 256;
pub const BYTES: usize = 2 + 2 + K_SCALE_SIZE + BLOCK / 8 + BLOCK / 2;

fn block(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let dmin = f16_at(b, 2);
    let scales = &b[4..4 + K_SCALE_SIZE];
    let qh = &b[16..16 + BLOCK / 8];
    let qs = &b[48..48 + BLOCK / 2];
    for s in 0..8 {
        let (sc, m) = scale_min(scales, s);
        let dl = d * sc as f32;
        let ml = dmin * m as f32;
        for l in 0..32 {
            let lo = (qs[32 * (s / 2) + l] >> (4 * (s % 2))) & 0x0F;
            let hi = (qh[l] >> s) & 1;
            let q = lo | (hi << 4);
            y[32 * s + l] = (dl * q as f32) - ml;
        }
    }
}

/// the values of whole blocks (lengths checked by `GgmlType::dequantize_row`).
pub fn dequantize(raw: &[u8], out: &mut [f32]) {
    dequantize_blocks::<BLOCK, BYTES>(raw, out, block)
}

/// Σ_j w_j·x_j in f64.
pub fn dot(raw: &[u8], x: &[f32]) -> f64 {
    dot_blocks::<BLOCK, BYTES>(raw, x, block)
}
