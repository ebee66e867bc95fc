//! text → token ids exactly as llama.cpp makes them (being built): first the Unicode facts the
//! pre-tokenizer needs.

pub mod unicode;
mod unicode_tables;
