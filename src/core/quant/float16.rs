//! F16 (ggml type 1): one little-endian IEEE binary16 per value, widened to f32 (exact), as
//! ggml's `ggml_fp16_to_fp32_row` and gguf-py's `data.view(np.float16).astype(np.float32)`.
//! the one difference: a signalling NaN comes out quiet here (the `half` crate, like ggml's
//! `GGML_FP16_TO_FP32`), while numpy keeps its payload as it is; either way it is a NaN.

use super::f16_at;

pub const BLOCK: usize = 1;
pub const BYTES: usize = 2;

/// w_j = f32(the f16 at bytes 2j..2j + 2).
pub fn dequantize(raw: &[u8], out: &mut [f32]) {
    for (b, y) in raw.chunks_exact(BYTES).zip(out) {
        *y = f16_at(b, 0);
    }
}

/// Σ_j w_j·x_j in f64.
pub fn dot(raw: &[u8], x: &[f32]) -> f64 {
    let mut acc = 0f64;
    for (b, &xj) in raw.chunks_exact(BYTES).zip(x) {
        acc += f16_at(b, 0) as f64 * xj as f64;
    }
    acc
}
