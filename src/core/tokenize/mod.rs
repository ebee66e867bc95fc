//! text → token ids exactly as llama.cpp makes them (being built): the Unicode facts, the
//! pre-tokenizer, the vocabulary and the special-token partition.

pub mod pretokenize;
pub mod special;
pub mod unicode;
mod unicode_tables;
pub mod vocab;
