//! text → token ids exactly as llama.cpp makes them (being built): the Unicode facts and the
//! pre-tokenizer.

pub mod pretokenize;
pub mod unicode;
mod unicode_tables;
