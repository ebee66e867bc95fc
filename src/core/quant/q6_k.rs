//! Q6_K (ggml type 14): a super-block of 256 values in 16 sub-blocks of 16, each with an int8
//! scale, 6-bit quants (4 low bits in `ql`, 2 high bits in `qh`) stored with an offset of 32;
//! one f16 super-scale.
//!
//! ```c
//! typedef struct {
//!     uint8_t ql[QK_K/2];      // quants, lower 4 bits
//!     uint8_t qh[QK_K/4];      // quants, upper 2 bits
//!     int8_t  scales[QK_K/16]; // scales, quantized with 8 bits
//!     ggml_half d;             // super-block scale
//! } block_q6_K;                // 210 bytes
//! ```
//!
//! value e of the block (0..256), in half n = e / 128 at r = e % 128, group g = r / 32 and
//! l = r % 32:
//!
//! ```text
//! lo = (ql[64·n + 32·(g % 2) + l] >> 4·(g / 2)) & 15
//! hi = (qh[32·n + l] >> 2·g) & 3
//! q  = (lo | hi · 16) − 32                    ∈ −32..31
//! w  = (d · f32(scales[e / 16])) · f32(q)
//! ```
//!
//! follows ggml-quants.c `dequantize_row_q6_K` (`d * sc[is] * q1`, left to right) and
//! gguf-py `Q6_K.dequantize_blocks` (`d = d * scales`, then `d * q`): the same two exact
//! products.

use super::{dequantize_blocks, dot_blocks, f16_at};

pub const BLOCK: usize = 256;
pub const BYTES: usize = BLOCK / 2 + BLOCK / 4 + BLOCK / 16 + 2;

fn block(b: &[u8], y: &mut [f32]) {
    let ql = &b[0..128];
    let qh = &b[128..192];
    let scales = &b[192..208];
    let d = f16_at(b, 208);
    for (s, &sc) in scales.iter().enumerate() {
        let dl = d * (sc as i8) as f32;
        for e in 16 * s..16 * (s + 1) {
            let (n, g, l) = (e / 128, (e % 128) / 32, e % 32);
            let lo = (ql[64 * n + 32 * (g % 2) + l] >> (4 * (g / 2))) & 0x0F;
            let hi = (qh[32 * n + l] >> (2 * g)) & 3;
            let q = (lo | (hi << 4)) as i32 - 32;
            y[e] = dl * q as f32;
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
