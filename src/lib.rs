//! unembed: the unembedding step of a language model, made explorable.
//!
//! layers (one direction of dependency): [`core`] (pure maths and formats) ← `plot` ←
//! `wasm` (the browser façade) and [`cli`] (the native command line). see ARCHITECTURE.md.

// index loops read like the formulas they implement (Σ_j v_ij h_j); keep them.
#![allow(clippy::needless_range_loop)]

pub mod core;
pub mod plot;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;

#[cfg(target_arch = "wasm32")]
pub mod wasm;
