//! Q4_0 (ggml type 2): 32 values, one f16 scale, 4-bit quants stored with an offset of 8.
//!
//! ```c
//! typedef struct {
//!     ggml_half d;           // delta
//!     uint8_t qs[QK4_0 / 2]; // nibbles / quants
//! } block_q4_0;              // 18 bytes
//! ```
//!
//! value j < 16 is the low nibble of `qs[j]`, value j + 16 its high nibble:
//! w = d · f32(q − 8), q ∈ 0..15. follows ggml-quants.c `dequantize_row_q4_0` (`x0*d`) and
//! gguf-py `Q4_0.dequantize_blocks` (`d * qs`); one product, so both give the same bits.

use super::{dequantize_blocks, dot_blocks, f16_at};

pub const BLOCK: usize = 32;
pub const BYTES: usize = 2 + BLOCK / 2;

fn block(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let qs = &b[2..2 + BLOCK / 2];
    for j in 0..BLOCK / 2 {
        y[j] = d * ((qs[j] & 0x0F) as i32 - 8) as f32;
        y[j + BLOCK / 2] = d * ((qs[j] >> 4) as i32 - 8) as f32;
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
