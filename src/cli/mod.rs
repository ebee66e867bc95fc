//! the native command line: convert, inspect, query, spectrum, bench, serve.

mod args;
pub mod serve;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::core::convert::{served_gguf, SourceInfo};
use crate::core::error::{Error, Result};
use crate::core::kernels::{Kernel, Precision};
use crate::core::model::{plan, sniff, Format, Model, QueryOptions, SHOWN_CHARS};
use crate::core::query::{hidden_state, run_query, QuerySpec};
use crate::core::source::{ByteSource, FileSource};
use crate::core::tensor::VocabKind;
use crate::core::tokenizer;
use crate::core::vocab;
use args::Args;

/// println! that ends the process quietly when stdout is closed (`unembed query … | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

pub const USAGE: &str = "\
unembed — explore the unembedding step of a language model

usage:
  unembed convert <model.gguf | model.safetensors> [--tokenizer FILE] -o out.gguf
                  [--name NAME] [--license ID] [--no-spectrum] [--manifest models.json]
  unembed inspect <file> [--tokenizer FILE] [--json]
  unembed query <file> (--token TEXT | --id N | --expr \"king - man + woman\" | --h h.json
                        | --batch queries.json)
                [--mix-with TEXT [--mix 0.5]] [--scale S] [--noise SIGMA [--seed N]]
                [--temperature T] [--top K] [--cosine] [--target TEXT] [--json] [--tokenizer FILE]
  unembed spectrum <file> [--token TEXT | --id N | --expr E] [--json] [--top N]
  unembed bench <file> [--reps N]
  unembed serve [DIR] [--port 8000] [--host 127.0.0.1] [--isolate] [--csp POLICY|off]

--token matches decoded text first (\" Paris\" finds ĠParis), then the raw vocabulary string.
in --expr a bare word means the word after a space (king → \" king\"); quote for exact text.
h is then mixed toward --mix-with, scaled, and given seeded Gaussian noise, in that order.
`spectrum` with --token/--id/--expr also shows h in the singular basis: c = Vᵀh and σ_k·c_k.
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
        "convert" => convert(&mut a),
        "inspect" => inspect(&mut a),
        "query" => query(&mut a),
        "spectrum" => spectrum(&mut a),
        "bench" => bench(&mut a),
        "serve" => serve_cmd(&mut a),
        "help" | "--help" | "-h" => {
            out!("{USAGE}");
            Ok(())
        }
        other => Err(Error::Invalid(format!(
            "unknown command {other:?}; try `unembed help`"
        ))),
    }
}

fn one_file(a: &mut Args) -> Result<PathBuf> {
    match a.positionals()?.as_slice() {
        [f] => Ok(PathBuf::from(f)),
        [] => Err(Error::Invalid("give a model file".into())),
        more => Err(Error::Invalid(format!("expected one file, got {more:?}"))),
    }
}

/// reads a vocabulary file: tokenizer.json (has a "model") or vocab.json/encoder.json.
pub fn read_tokenizer(path: &Path) -> Result<(Vec<String>, VocabKind)> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    tokenizer::parse_any(&bytes).map_err(|e| with_file(e, path))
}

/// the vocabulary to use: --tokenizer if given; for a safetensors file (which has none) a
/// tokenizer.json or vocab.json beside it; else the file's own.
fn tokens_for(
    path: &Path,
    format: Format,
    explicit: Option<String>,
) -> Result<Option<(Vec<String>, VocabKind)>> {
    if let Some(t) = explicit {
        return read_tokenizer(Path::new(&t)).map(Some);
    }
    if format != Format::Safetensors {
        return Ok(None);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    for name in ["tokenizer.json", "vocab.json"] {
        let p = dir.join(name);
        if p.is_file() {
            return read_tokenizer(&p).map(Some);
        }
    }
    Ok(None)
}

pub fn load(path: &Path, tokenizer: Option<String>) -> Result<Model> {
    let src = FileSource::open(path)?;
    let first = src.read_range(0, src.len().min(9), "file signature")?;
    let format = sniff(&first).map_err(|e| with_file(e, path))?;
    let tokens = tokens_for(path, format, tokenizer)?;
    let model = Model::from_source(&src, tokens).map_err(|e| with_file(e, path))?;
    if format == Format::Safetensors && model.tied() {
        check_really_tied(path)?;
    }
    Ok(model)
}

/// a safetensors file without lm_head.weight looks tied; make sure the model beside it does not
/// say otherwise (a sharded checkpoint keeps lm_head in another shard).
fn check_really_tied(path: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let read_json = |name: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(dir.join(name)).ok()?).ok()
    };
    if let Some(index) = read_json("model.safetensors.index.json") {
        let me = path.file_name().map(|f| f.to_string_lossy().to_string());
        for name in ["lm_head.weight", "embed_out.weight", "output.weight"] {
            if let Some(shard) = index["weight_map"][name].as_str() {
                if Some(shard) != me.as_deref() {
                    return Err(Error::Unsupported(format!(
                        "{} has no {name}: the model is untied and keeps it in {shard}; \
                         reading a W_U from another shard is not supported yet",
                        path.display()
                    )));
                }
            }
        }
    }
    if let Some(config) = read_json("config.json") {
        if config["tie_word_embeddings"] == serde_json::Value::Bool(false) {
            return Err(Error::Unsupported(format!(
                "config.json says tie_word_embeddings = false but {} has no lm_head.weight",
                path.display()
            )));
        }
    }
    Ok(())
}

/// a number in a fixed column: `d` decimals, or scientific when it is large (‖h‖ = 1e30).
fn num(x: f64, d: usize) -> String {
    if x.is_finite() && x.abs() >= 1e7 {
        format!("{x:.3e}")
    } else {
        format!("{x:.d$}")
    }
}

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

fn convert(a: &mut Args) -> Result<()> {
    let out = a
        .opt("-o")?
        .or(a.opt("--output")?)
        .ok_or_else(|| Error::Invalid("convert needs -o out.gguf".into()))?;
    let tok = a.opt("--tokenizer")?;
    let name = a.opt("--name")?;
    let license = a.opt("--license")?;
    let manifest = a.opt("--manifest")?;
    let no_spectrum = a.flag("--no-spectrum");
    let path = one_file(a)?;
    eprintln!("reading {}", path.display());
    let mut model = load(&path, tok)?;
    if !no_spectrum && model.spectrum.is_none() {
        let t = Instant::now();
        model.ensure_spectrum(&mut progress_bar("spectrum"))?;
        eprintln!("spectrum in {:.2} s", t.elapsed().as_secs_f64());
    }
    let file_name = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let info = SourceInfo {
        file_name,
        sha256: sha256_file(&path)?,
        name: name.clone(),
        license,
    };
    let bytes = served_gguf(&model, &info);
    let out = PathBuf::from(out);
    std::fs::write(&out, &bytes)
        .map_err(|e| Error::Io(format!("cannot write {}: {e}", out.display())))?;
    let sha = hex(&Sha256::digest(&bytes));
    eprintln!(
        "wrote {} ({} bytes, sha256 {sha})",
        out.display(),
        bytes.len()
    );
    if let Some(m) = manifest {
        // re-read what we wrote, so the manifest describes the served file itself.
        let served = load(&out, None)?;
        update_manifest(Path::new(&m), &out, &served, bytes.len(), &sha)?;
        eprintln!("updated {m}");
    }
    Ok(())
}

fn meta<'a>(m: &'a Model, key: &str) -> Option<&'a str> {
    m.metadata
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.as_str())
}

fn update_manifest(path: &Path, file: &Path, m: &Model, bytes: usize, sha: &str) -> Result<()> {
    let mut root: serde_json::Value = match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| Error::Format(format!("{}: {e}", path.display())))?,
        Err(_) => json!({ "models": [] }),
    };
    let file_name = file
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let entry = json!({
        "name": m.name,
        "file": file_name,
        "bytes": bytes,
        "sha256": sha,
        "vocab": m.n_vocab(),
        "d": m.d(),
        "tied": m.tied(),
        "license": meta(m, "general.license").unwrap_or("unknown"),
        "source": meta(m, "unembed.source.file").unwrap_or(""),
        "source_sha256": meta(m, "unembed.source.sha256").unwrap_or(""),
    });
    let models = root
        .get_mut("models")
        .and_then(|v| v.as_array_mut())
        .ok_or_else(|| Error::Format(format!("{}: no \"models\" list", path.display())))?;
    models.retain(|e| e.get("file").and_then(|f| f.as_str()) != Some(file_name.as_str()));
    models.push(entry);
    let text = serde_json::to_string_pretty(&root).map_err(|e| Error::Format(e.to_string()))?;
    std::fs::write(path, text + "\n")?;
    Ok(())
}

fn inspect(a: &mut Args) -> Result<()> {
    let tok = a.opt("--tokenizer")?;
    let as_json = a.flag("--json");
    let path = one_file(a)?;
    let src = FileSource::open(&path)?;
    let p = plan(&src).map_err(|e| with_file(e, &path))?;
    let n_tensors = p.n_tensors;
    let file_len = src.len();
    let m = load(&path, tok)?;
    let fmt = match m.format {
        Format::Gguf => "GGUF",
        Format::Safetensors => "safetensors",
    };
    let mb = |b: u64| b as f64 / 1e6;
    let emb_bytes = p.embed.nbytes;
    let summary = json!({
        "file": path.display().to_string(),
        "format": fmt,
        "bytes": file_len,
        "tensors": n_tensors,
        "name": m.name,
        "architecture": meta(&m, "general.architecture"),
        "license": meta(&m, "general.license"),
        "vocab": m.n_vocab(),
        "d": m.d(),
        "embedding": {"name": p.embed.name, "type": p.embed.dtype.name(), "bytes": emb_bytes},
        "output": p.output.as_ref().map(|o| json!({"name": o.name, "type": o.dtype.name(), "bytes": o.nbytes})),
        "tied": m.tied(),
        "tokenizer": format!("{:?}", m.vocab.kind),
        "spectrum_in_file": m.spectrum_from_file,
        "in_memory_q8_bytes": m.embed.quants().len() + 4 * m.embed.scales().len(),
    });
    if as_json {
        out!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
        return Ok(());
    }
    out!(
        "file        {} ({fmt}, {:.1} MB, {n_tensors} tensors)",
        path.display(),
        mb(file_len)
    );
    // strings from the file reach the terminal escaped: no control sequence or bidi override.
    out!("model       {}", vocab::escaped(&m.name));
    if let Some(ar) = meta(&m, "general.architecture") {
        out!("arch        {}", vocab::escaped(ar));
    }
    out!(
        "licence     {}",
        vocab::escaped(meta(&m, "general.license").unwrap_or("not stated"))
    );
    out!("vocabulary  {} tokens ({:?})", m.n_vocab(), m.vocab.kind);
    out!("d           {}", m.d());
    out!(
        "embedding   {} {} [{} × {}], {:.1} MB",
        p.embed.name,
        p.embed.dtype.name(),
        p.embed.rows,
        p.embed.cols,
        mb(emb_bytes)
    );
    match &p.output {
        Some(o) => out!(
            "unembedding {} {} [{} × {}], {:.1} MB (untied: W_U ≠ E)",
            o.name,
            o.dtype.name(),
            o.rows,
            o.cols,
            mb(o.nbytes)
        ),
        None => out!("unembedding tied: W_U = E (no separate output matrix)"),
    }
    out!(
        "spectrum    {}",
        if m.spectrum_from_file {
            "precomputed in the file"
        } else {
            "not in the file (computed on demand)"
        }
    );
    let show = |i: u32| {
        format!(
            "{}→{}",
            vocab::quoted(m.vocab.raw(i), SHOWN_CHARS),
            vocab::quoted(m.vocab.text(i), SHOWN_CHARS)
        )
    };
    let n = m.n_vocab() as u32;
    let samples: Vec<String> = [0, 1, n / 3, n / 2, n - 1]
        .iter()
        .map(|&i| show(i))
        .collect();
    out!("tokens      {}", samples.join("  "));
    Ok(())
}

fn query(a: &mut Args) -> Result<()> {
    let tok = a.opt("--tokenizer")?;
    let mut q = QuerySpec {
        id: a.parse("--id")?,
        token: a.opt("--token")?,
        expr: a.opt("--expr")?,
        target: a.opt("--target")?,
        mix_with: a.opt("--mix-with")?,
        mix: a.parse("--mix")?,
        scale: a.parse("--scale")?,
        noise: a.parse("--noise")?,
        seed: a.parse("--seed")?,
        ..Default::default()
    };
    if let Some(f) = a.opt("--h")? {
        let b = std::fs::read(&f).map_err(|e| Error::Io(format!("cannot read {f}: {e}")))?;
        q.h =
            Some(serde_json::from_slice(&b).map_err(|e| {
                Error::Format(format!("{f}: expected a JSON array of numbers: {e}"))
            })?);
    }
    let batch = a.opt("--batch")?;
    let defaults = QueryOptions {
        temperature: a.parse("--temperature")?.unwrap_or(1.0),
        top: a.parse("--top")?.unwrap_or(10),
        by_cosine: a.flag("--cosine"),
        target: None,
    };
    let as_json = a.flag("--json");
    let path = one_file(a)?;
    let m = load(&path, tok)?;
    if let Some(b) = batch {
        let bytes = std::fs::read(&b).map_err(|e| Error::Io(format!("cannot read {b}: {e}")))?;
        let specs: Vec<QuerySpec> = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Format(format!("{b}: expected a JSON array of queries: {e}")))?;
        let mut out = Vec::with_capacity(specs.len());
        for (i, s) in specs.iter().enumerate() {
            let r = run_query(&m, s, &defaults)
                .map_err(|e| Error::Invalid(format!("query {i} of {b}: {e}")))?;
            out.push(r);
        }
        out!("{}", serde_json::to_string(&out).unwrap_or_default());
        return Ok(());
    }
    let r = run_query(&m, &q, &defaults)?;
    if as_json {
        out!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return Ok(());
    }
    out!(
        "‖h‖ = {}   T = {}   entropy = {:.4} nats   ranked by {}",
        num(r.h_norm, 4),
        match num(r.temperature, 4) {
            t if t.contains('e') => t,
            t => t.trim_end_matches('0').trim_end_matches('.').to_string(),
        },
        r.entropy,
        r.ranked_by
    );
    out!(
        "{:>4}  {:>6}  {:<20} {:>10} {:>10} {:>8} {:>8}",
        "#",
        "id",
        "token",
        "logit",
        "p",
        "‖v‖",
        "cos θ"
    );
    for (k, e) in r.top.iter().enumerate() {
        out!(
            "{:>4}  {:>6}  {:<20} {:>10} {:>10.6} {:>8.4} {:>8.4}",
            k + 1,
            e.id,
            e.shown,
            num(e.logit, 4),
            e.prob,
            e.norm,
            e.cos
        );
    }
    if let Some(t) = &r.target {
        out!(
            "target {} (#{}): p = {:.6}, rank {} by logit, {} by cosine, loss {}, ‖∇‖ = {}",
            t.entry.shown,
            t.entry.id,
            t.entry.prob,
            t.rank,
            t.cos_rank,
            num(t.loss, 4),
            t.grad_norm.map_or("n/a".into(), |g| format!("{g:.4}"))
        );
    }
    Ok(())
}

fn spectrum(a: &mut Args) -> Result<()> {
    let as_json = a.flag("--json");
    let top: usize = a.parse("--top")?.unwrap_or(10);
    let tok = a.opt("--tokenizer")?;
    let spec = QuerySpec {
        id: a.parse("--id")?,
        token: a.opt("--token")?,
        expr: a.opt("--expr")?,
        ..Default::default()
    };
    let with_h = spec.id.is_some() || spec.token.is_some() || spec.expr.is_some();
    let path = one_file(a)?;
    let mut m = load(&path, tok)?;
    let h = if with_h {
        Some(hidden_state(&m, &spec)?)
    } else {
        None
    };
    let from_file = m.spectrum_from_file;
    let t = Instant::now();
    let s = m.ensure_spectrum(&mut progress_bar("spectrum"))?.clone();
    let secs = t.elapsed().as_secs_f64();
    // h in the singular basis: c = Vᵀh, and σ_k·c_k, the k-th coordinate of z in the basis U.
    let coords = match &h {
        Some(h) => Some(s.coords(h)?),
        None => None,
    };
    let contrib = coords.as_ref().map(|c| s.contributions(c));
    if as_json {
        let v = json!({
            "singular_values": s.sigma.to_vec(),
            "cumulative_energy": s.cumulative_energy(),
            "from_file": from_file,
            "seconds": secs,
            "h_coords": coords,
            "logit_contributions": contrib,
        });
        out!("{v}");
        return Ok(());
    }
    out!(
        "{} singular values ({}, {:.2} s)",
        s.sigma.len(),
        if from_file {
            "read from the file"
        } else {
            "computed"
        },
        secs
    );
    let energy = s.cumulative_energy();
    for k in 0..top.min(s.sigma.len()) {
        out!(
            "σ_{:<4} {:>12.4}   cumulative energy {:>6.2}%",
            k + 1,
            s.sigma[k],
            100.0 * energy[k]
        );
    }
    if let (Some(c), Some(sc)) = (coords, contrib) {
        // ‖z‖² = Σ (σ_k c_k)²: each direction's share of the logit vector's energy.
        let total: f64 = sc.iter().map(|x| x * x).sum();
        let order = crate::core::maths::top_k(sc.len(), top, |k| sc[k].abs());
        out!("h in the singular basis (largest |σ_k·c_k| first; z = U Σ c):");
        for k in order {
            out!(
                "k = {:<4} c_k = {:>9.4}   σ_k·c_k = {:>10.4}   share of ‖z‖² {:>6.2}%",
                k + 1,
                c[k],
                sc[k],
                100.0 * sc[k] * sc[k] / total.max(f64::MIN_POSITIVE)
            );
        }
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(a: &mut Args) -> Result<()> {
    let reps: usize = a.parse("--reps")?.unwrap_or(200);
    let path = one_file(a)?;
    let mut m = load(&path, None)?;
    let d = m.d();
    let h: Vec<f32> = (0..d).map(|j| ((j as f32) * 0.37).sin()).collect();
    out!(
        "matrix {} × {} Q8_0, {} repetitions after 10 warm-ups",
        m.n_vocab(),
        d,
        reps.max(1)
    );
    let mut t = Vec::with_capacity(reps);
    for i in 0..reps.max(1) + 10 {
        let s = Instant::now();
        std::hint::black_box(m.unembed().stream_checksum());
        if i >= 10 {
            t.push(s.elapsed().as_secs_f64() * 1e3);
        }
    }
    out!("native_memory_floor_median_ms {:.3}", median(&mut t));
    for k in Kernel::available() {
        for (precision, label) in [(Precision::Exact, "exact"), (Precision::Fast, "fast")] {
            let mut t = Vec::with_capacity(reps);
            for i in 0..reps.max(1) + 10 {
                let s = Instant::now();
                let z = m.unembed().matvec_with(&h, k, precision)?;
                std::hint::black_box(&z);
                if i >= 10 {
                    t.push(s.elapsed().as_secs_f64() * 1e3);
                }
            }
            let med = median(&mut t);
            let p95 = t[(t.len() * 95 / 100).min(t.len() - 1)];
            out!("native_matvec_{}_{label}_median_ms {med:.3}", k.name());
            out!("native_matvec_{}_{label}_p95_ms {p95:.3}", k.name());
        }
    }
    m.spectrum = None;
    let s = Instant::now();
    m.ensure_spectrum(&mut |_| true)?;
    out!("native_spectrum_s {:.3}", s.elapsed().as_secs_f64());
    Ok(())
}

fn serve_cmd(a: &mut Args) -> Result<()> {
    let port: u16 = a.parse("--port")?.unwrap_or(8000);
    let host = a.opt("--host")?.unwrap_or_else(|| "127.0.0.1".into());
    let isolate = a.flag("--isolate");
    let csp = match a.opt("--csp")? {
        None => Some(serve::CSP.to_string()),
        Some(p) if p == "off" => None,
        Some(p) if p.chars().any(char::is_control) => {
            return Err(Error::Invalid(
                "--csp: a header value cannot hold control characters".into(),
            ))
        }
        Some(p) => Some(p),
    };
    let dir = a
        .positionals()?
        .first()
        .cloned()
        .unwrap_or_else(|| "www".into());
    let root = PathBuf::from(&dir);
    if !root.is_dir() {
        return Err(Error::Io(format!("{dir} is not a folder")));
    }
    let limits = serve::Limits::from_env().map_err(Error::Invalid)?;
    let cfg = serve::Config {
        root,
        host: host.clone(),
        port,
        isolate,
        csp,
        limits,
    };
    serve::serve(cfg).map_err(|e| Error::Io(format!("cannot serve on {host}:{port}: {e}")))
}
