//! `unembed` command line: see `unembed help`.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    // std::env::args() panics on an argument that is not UTF-8 (text to tokenize, a file name):
    // say which one instead.
    let mut argv = Vec::new();
    for (i, a) in std::env::args_os().skip(1).enumerate() {
        match a.into_string() {
            Ok(s) => argv.push(s),
            Err(a) => {
                eprintln!(
                    "error: invalid value: argument {} is not valid UTF-8: {:?}",
                    i + 1,
                    a
                );
                std::process::exit(1);
            }
        }
    }
    if let Err(e) = unembed::cli::run(argv) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// the CLI is native only; the wasm build is the library (see src/wasm.rs).
#[cfg(target_arch = "wasm32")]
fn main() {}
