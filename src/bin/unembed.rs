//! `unembed` command line: see `unembed help`.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = unembed::cli::run(argv) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// the CLI is native only; the wasm build is the library (see src/wasm.rs).
#[cfg(target_arch = "wasm32")]
fn main() {}
