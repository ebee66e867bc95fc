//! the pure core: formats, the Q8_0 matrix and its kernels, and the maths of the lesson.
//! no wasm-bindgen, no web-sys: this module compiles and is tested natively.

pub mod convert;
pub mod error;
pub mod gguf;
pub mod hidden;
pub mod kernels;
pub mod maths;
pub mod model;
pub mod q8;
pub mod quant;
pub mod query;
pub mod rng;
pub mod safetensors;
pub mod session;
pub mod source;
pub mod spectrum;
pub mod tensor;
pub mod tokenizer;
pub mod vocab;
