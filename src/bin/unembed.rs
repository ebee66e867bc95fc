//! `unembed` command line: see `unembed help`.

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = unembed::cli::run(argv) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
