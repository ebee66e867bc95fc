//! the pure core: formats, the Q8_0 matrix and its kernels, and the maths of the lesson.
//! no wasm-bindgen, no web-sys: this module compiles and is tested natively.

pub mod error;
pub mod gguf;
pub mod kernels;
pub mod q8;
pub mod rng;
pub mod source;
pub mod tensor;
pub mod vocab;
pub mod maths;
pub mod spectrum;
pub mod model;
pub mod safetensors;
pub mod tokenizer;
pub mod hidden;
