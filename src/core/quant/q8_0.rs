//! Q8_0 (ggml type 8): 32 values, one f16 scale, int8 quants.
//!
//! ```c
//! typedef struct {
//!     ggml_half d;       // delta
//!     int8_t  qs[QK8_0]; // quants
//! } block_q8_0;          // 34 bytes
//! ```
//!
//! `w_j = f32(qs[j]) · d`. follows ggml-quants.c `dequantize_row_q8_0` (`x[i].qs[j]*d`) and
//! gguf-py `Q8_0.dequantize_blocks` (`x * d`). the same values as `q8::Q8Matrix::row`, which
//! keeps the scales and quants apart for the product kernels.

use super::{dequantize_blocks, dot_blocks, f16_at};

pub const BLOCK: usize = 32;
pub const BYTES: usize = 2 + BLOCK;

fn block(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    for (y, &q) in y.iter_mut().zip(&b[2..2 + BLOCK]) {
        *y = (q as i8) as f32 * d;
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
