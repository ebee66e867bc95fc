//! Q2_K (ggml type 10): a super-block of 256 values in 16 sub-blocks of 16, each with a 4-bit
//! scale and a 4-bit minimum, 2-bit quants; two f16 super-scales.
//!
//! ```c
//! typedef struct {
//!     uint8_t scales[QK_K/16]; // scales and mins, quantized with 4 bits
//!     uint8_t qs[QK_K/4];      // quants
//!     ggml_half d;             // super-block scale for quantized scales
//!     ggml_half dmin;          // super-block scale for quantized mins
//! } block_q2_K;                // 84 bytes
//! ```
//!
//! value e of the block (0..256), in sub-block s = e / 16, all in f32 and never fused:
//!
//! ```text
//! q  = (qs[32·(e / 128) + e % 32] >> 2·((e % 128) / 32)) & 3
//! dl = d · f32(scales[s] & 15)
//! ml = dmin · f32(scales[s] >> 4)
//! w  = dl · f32(q) − ml
//! ```
//!
//! follows ggml-quants.c `dequantize_row_q2_K` (`dl * q - ml`, which a C compiler may fuse)
//! as gguf-py `Q2_K.dequantize_blocks` evaluates it (`dl * qs - ml`); the product is exact,
//! so both round once, at the difference.

use super::{dequantize_blocks, dot_blocks, f16_at};

pub const BLOCK: usize = 256;
pub const BYTES: usize = BLOCK / 16 + BLOCK / 4 + 2 + 2;

fn block(b: &[u8], y: &mut [f32]) {
    let scales = &b[0..16];
    let qs = &b[16..80];
    let d = f16_at(b, 80);
    let dmin = f16_at(b, 82);
    for (s, &sc) in scales.iter().enumerate() {
        let dl = d * (sc & 0x0F) as f32;
        let ml = dmin * (sc >> 4) as f32;
        for e in 16 * s..16 * (s + 1) {
            let q = (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            y[e] = (dl * q as f32) - ml;
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
