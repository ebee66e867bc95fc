//! the pure core, by concept: file formats ([`files`]) → the tensor index ([`index`],
//! [`names`]) → quantization ([`quant`]: one file per ggml block format, the served Q8_0
//! matrix and its kernels) → what a file holds and what the explorer reads ([`plan`]) → the
//! loaded model ([`model`]) → the readout of an h ([`readout`]) → queries ([`query`],
//! [`hidden`]) and the explorer's session ([`session`]); plus the spectrum, the tokenizer
//! ([`tokenize`]: text → ids exactly as llama.cpp makes them), the served-file writer and test
//! fixtures. no wasm-bindgen, no web-sys: this module compiles and is tested
//! natively.

pub mod compare;
pub mod controls;
pub mod convert;
pub mod error;
pub mod files;
pub mod fixtures;
pub mod forward;
pub mod hidden;
pub mod index;
pub mod lens;
pub mod maths;
pub mod model;
pub mod names;
pub mod number;
pub mod plan;
pub mod quant;
pub mod query;
pub mod readout;
pub mod rng;
pub mod session;
pub mod source;
pub mod spectrum;
pub mod tokenize;
pub mod vocab;
