//! Q5_1 (ggml type 7): 32 values, an f16 scale and an f16 minimum, 5-bit quants.
//!
//! ```c
//! typedef struct {
//!     ggml_half d;           // delta
//!     ggml_half m;           // min
//!     uint8_t qh[4];         // 5-th bit of quants
//!     uint8_t qs[QK5_1 / 2]; // nibbles / quants
//! } block_q5_1;              // 24 bytes
//! ```
//!
//! with h = qh read as a little-endian u32, for j < 16:
//!
//! ```text
//! q_j      = (qs[j] & 15) | ((h >> j) & 1) · 16
//! q_(j+16) = (qs[j] >> 4) | ((h >> (j + 16)) & 1) · 16
//! w        = (d · f32(q)) + m                           q ∈ 0..31
//! ```
//!
//! two f32 operations, never fused. follows ggml-quants.c `dequantize_row_q5_1`
//! (`x0*d + m`, which a C compiler may fuse) as gguf-py `Q5_1.dequantize_blocks` evaluates it
//! (`(d * qs) + m`); the product is exact, so both round once, at the sum.

use super::{dequantize_blocks, dot_blocks, f16_at};

pub const BLOCK: usize = 32;
pub const BYTES: usize = 2 + 2 + 4 + BLOCK / 2;

fn block(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let m = f16_at(b, 2);
    let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    let qs = &b[8..8 + BLOCK / 2];
    for j in 0..BLOCK / 2 {
        let h0 = ((qh >> j) & 1) as u8;
        let h1 = ((qh >> (j + BLOCK / 2)) & 1) as u8;
        let q0 = (qs[j] & 0x0F) | (h0 << 4);
        let q1 = (qs[j] >> 4) | (h1 << 4);
        y[j] = (d * q0 as f32) + m;
        y[j + BLOCK / 2] = (d * q1 as f32) + m;
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
