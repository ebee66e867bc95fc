//! Q4_1 (ggml type 3): 32 values, an f16 scale and an f16 minimum, 4-bit quants.
//!
//! ```c
//! typedef struct {
//!     ggml_half d;           // delta
//!     ggml_half m;           // min
//!     uint8_t qs[QK4_1 / 2]; // nibbles / quants
//! } block_q4_1;              // 20 bytes
//! ```
//!
//! value j < 16 is the low nibble of `qs[j]`, value j + 16 its high nibble:
//! w = (d · f32(q)) + m, q ∈ 0..15: two f32 operations, never fused. follows ggml-quants.c
//! `dequantize_row_q4_1` (`x0*d + m`, which a C compiler may fuse) as gguf-py
//! `Q4_1.dequantize_blocks` evaluates it (`(d * qs) + m`); the product is exact, so both
//! round once, at the sum.

use super::{dequantize_blocks, dot_blocks, f16_at};

pub const BLOCK: usize = 32;
pub const BYTES: usize = 2 + 2 + BLOCK / 2;

fn block(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let m = f16_at(b, 2);
    let qs = &b[4..4 + BLOCK / 2];
    for j in 0..BLOCK / 2 {
        y[j] = (d * (qs[j] & 0x0F) as f32) + m;
        y[j + BLOCK / 2] = (d * (qs[j] >> 4) as f32) + m;
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
