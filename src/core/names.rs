//! tensor names, in one place: what GGUF files (llama.cpp's converter) and hugging face
//! checkpoints call the matrices we read, and the names of what the served file adds.

/// GGUF: the token embedding E (rows = vocabulary).
pub const TOKEN_EMBD: &str = "token_embd.weight";
/// GGUF: the unembedding W_U of an untied model.
pub const OUTPUT: &str = "output.weight";
/// GGUF: the final norm before the unembedding.
pub const OUTPUT_NORM: &str = "output_norm.weight";

/// block `n`'s tensor `what` in llama.cpp's naming (`blk.3.attn_q.weight`).
pub fn blk(n: usize, what: &str) -> String {
    format!("blk.{n}.{what}.weight")
}

/// hugging face names of the token embedding, most common first.
pub const HF_EMBEDDING: &[&str] = &[
    "wte.weight",
    "transformer.wte.weight",
    "model.embed_tokens.weight",
    "embed_tokens.weight",
    "tok_embeddings.weight",
    "embeddings.word_embeddings.weight",
    "model.decoder.embed_tokens.weight",
    "transformer.word_embeddings.weight",
    "gpt_neox.embed_in.weight",
];

/// hugging face names of the output (unembedding) matrix of untied models.
pub const HF_OUTPUT: &[&str] = &["lm_head.weight", "embed_out.weight", "output.weight"];

/// the served file's precomputed spectrum: σ (f32, descending) …
pub const SIGMA: &str = "unembed.singular_values";
/// … and Vᵀ (f32, row k = the right singular vector v_k).
pub const VT: &str = "unembed.right_singular_vectors";
