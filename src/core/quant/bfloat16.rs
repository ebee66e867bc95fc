//! BF16 (ggml type 30): the high 16 bits of an f32, little-endian. w_j = f32 with those bits
//! and 16 zero bits below, as ggml's `ggml_compute_bf16_to_fp32` and gguf-py's
//! `(blocks.view(np.int16).astype(np.int32) << 16).view(np.float32)`: every bit kept, NaN
//! payloads included (the `half` crate would set the quiet bit of a signalling NaN).

pub const BLOCK: usize = 1;
pub const BYTES: usize = 2;

fn value(b: &[u8]) -> f32 {
    f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16)
}

/// w_j = f32::from_bits(bits_j << 16).
pub fn dequantize(raw: &[u8], out: &mut [f32]) {
    for (b, y) in raw.chunks_exact(BYTES).zip(out) {
        *y = value(b);
    }
}

/// Σ_j w_j·x_j in f64.
pub fn dot(raw: &[u8], x: &[f32]) -> f64 {
    let mut acc = 0f64;
    for (b, &xj) in raw.chunks_exact(BYTES).zip(x) {
        acc += value(b) as f64 * xj as f64;
    }
    acc
}
