//! `unembed spectrum`: the singular values of W_U, and h in the singular basis.

use std::time::Instant;

use serde_json::json;

use super::{load, one_file, progress_bar, Args};
use crate::core::error::Result;
use crate::core::query::{hidden_state, QuerySpec};

pub fn run(a: &mut Args) -> Result<()> {
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
