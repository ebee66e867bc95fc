//! F32 (ggml type 0): one little-endian IEEE binary32 per value; w_j is the stored value,
//! bits and all (gguf-py: `data.view(np.float32)`).

pub const BLOCK: usize = 1;
pub const BYTES: usize = 4;

fn value(b: &[u8]) -> f32 {
    f32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// w_j = the f32 at bytes 4j..4j + 4.
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
