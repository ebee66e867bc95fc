//! the native command line, one file per subcommand: `convert`, `inspect`, `query`,
//! `spectrum`, `tokenize`, `lens`, `bench`, `serve`; `load.rs` opens a model file the way they all do.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::core::error::{Error, Result};

/// println! that ends the process quietly when stdout is closed (`unembed query … | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

mod args;
mod bench;
mod compare;
mod convert;
mod inspect;
pub(crate) mod lens;
mod load;
mod query;
pub mod serve;
mod spectrum;
mod tokenize;

use args::Args;
pub use load::{load, read_tokenizer};

pub const USAGE: &str = "\
unembed — explore the unembedding step of a language model

usage:
  unembed convert <model.gguf | model.safetensors> [--tokenizer FILE] -o out.gguf
                  [--name NAME] [--license ID] [--license-link URL] [--no-spectrum]
                  [--manifest models.json] [--full whole-model.gguf]
  unembed inspect <file> [--tokenizer FILE] [--json]
  unembed query <file> (--token TEXT | --id N | --expr \"king - man + woman\" | --h h.json
                        | --batch queries.json)
                [--mix-with TEXT [--mix 0.5]] [--scale S] [--noise SIGMA [--seed N]]
                [--temperature T] [--top K] [--cosine] [--target TEXT] [--json] [--tokenizer FILE]
  unembed spectrum <file> [--token TEXT | --id N | --expr E] [--json] [--top N]
  unembed compare <a.gguf> <b.gguf> [more…] [--token TEXT | --expr E] [--top K] [--json]
  unembed tokenize <model.gguf> (TEXT | --text TEXT | --batch strings.json) [--json] [--no-special]
  unembed lens <model.gguf> (--prompt TEXT | --ids 1,2,3) [--generate N] [--temperature T]
               [--seed N] [--top K] [--json] [--mid] [--exact] [--exact-head] [--ignore-end]
               [--logits-out FILE]
  unembed bench <file> [--reps N]
  unembed bench --forward <model.gguf> [--reps N]
  unembed bench --gemm [--reps N] [--types Q4_1,Q8_0,Q5_0,Q4_K,Q6_K]
  unembed serve [DIR] [--port 8000] [--host 127.0.0.1] [--isolate] [--csp POLICY|off]

--token matches decoded text first (\" Paris\" finds ĠParis), then the raw vocabulary string.
in --expr a bare word means the word after a space (king → \" king\"); quote for exact text.
h is then mixed toward --mix-with, scaled, and given seeded Gaussian noise, in that order.
`spectrum` with --token/--id/--expr also shows h in the singular basis: c = Vᵀh and σ_k·c_k.
`convert --full` records the whole model (served beside the slim file, for the page's logit
lens) in the manifest entry as {file, bytes, sha256, layers, context}.
`compare` summarises each model's W_U (effective rank, ‖w_i‖, cos to the mean vector) and,
for the same text's h in each vocabulary, the top-K by logit and by cosine and Spearman's ρ
between the two over the whole vocabulary.
`tokenize` gives llama.cpp's ids for the file's tokenizer: special-token text (<|im_start|>) is
parsed unless --no-special; BOS is added only if the model asks for it. --json prints
{\"ids\", \"tokens\"} (raw vocabulary strings); --batch a JSON array of those.
`lens` runs the model's forward pass on the prompt (then --generate tokens, greedy at
temperature 0) and reads every layer's hidden state through the final norm and the head: a row
per layer, the top token at every position; --mid adds each layer's residual after attention,
before its MLP (row `12a`). Products run as llama.cpp runs them (activations
quantized) unless --exact; --logits-out writes the last position's logits as f32 little-endian.
`serve` sends the page's Content-Security-Policy (--csp replaces it, `off` drops it) and
nosniff; --isolate adds the cross-origin isolation headers (COOP, COEP, CORP).
";

/// runs the CLI; the error is printed by main with a non-zero exit.
pub fn run(argv: Vec<String>) -> Result<()> {
    let Some(cmd) = argv.first().cloned() else {
        out!("{USAGE}");
        return Ok(());
    };
    let mut a = Args::new(argv[1..].to_vec());
    match cmd.as_str() {
        "convert" => convert::run(&mut a),
        "inspect" => inspect::run(&mut a),
        "query" => query::run(&mut a),
        "spectrum" => spectrum::run(&mut a),
        "tokenize" => tokenize::run(&mut a),
        "bench" => bench::run(&mut a),
        "lens" => lens::run(&mut a),
        "compare" => compare::run(&mut a),
        "serve" => serve::run(&mut a),
        "help" | "--help" | "-h" => {
            out!("{USAGE}");
            Ok(())
        }
        other => Err(Error::Invalid(format!(
            "unknown command {other:?}; try `unembed help`"
        ))),
    }
}

/// the one file a command takes.
fn one_file(a: &mut Args) -> Result<PathBuf> {
    match a.positionals()?.as_slice() {
        [f] => Ok(PathBuf::from(f)),
        [] => Err(Error::Invalid("give a model file".into())),
        more => Err(Error::Invalid(format!("expected one file, got {more:?}"))),
    }
}

/// a number in a fixed column: `d` decimals, or scientific when it is large (‖h‖ = 1e30).
pub(crate) fn num(x: f64, d: usize) -> String {
    if x.is_finite() && x.abs() >= 1e7 {
        format!("{x:.3e}")
    } else {
        format!("{x:.d$}")
    }
}

/// an error that names the file it came from.
fn with_file(e: Error, path: &Path) -> Error {
    let p = path.display();
    match e {
        Error::Format(m) => Error::Format(format!("{p}: {m}")),
        Error::Truncated { what, need, have } => Error::Truncated {
            what: format!("{p}: {what}"),
            need,
            have,
        },
        other => other,
    }
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex(&h.finalize()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// a progress bar on stderr; never cancels.
fn progress_bar(label: &str) -> impl FnMut(f64) -> bool + '_ {
    let mut last = -1i64;
    move |f: f64| {
        let pct = (f * 100.0) as i64;
        if pct != last {
            last = pct;
            let n = (f * 30.0) as usize;
            eprint!(
                "\r{label} [{}{}] {pct:3}%",
                "#".repeat(n),
                " ".repeat(30 - n.min(30))
            );
            if f >= 1.0 {
                eprintln!();
            }
        }
        true
    }
}
