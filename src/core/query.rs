//! one query, as the CLI's flags or a batch file or the page describe it: which h, which options.

use serde::Deserialize;

use super::error::{Error, Result};
use super::hidden;
use super::model::Model;
use super::readout::{Ranking, Readout, ReadoutOptions};

/// one query of a batch, or of the command line.
#[derive(Deserialize, Default, Debug, Clone)]
pub struct QuerySpec {
    pub id: Option<u32>,
    pub token: Option<String>,
    pub expr: Option<String>,
    pub h: Option<Vec<f32>>,
    pub temperature: Option<f64>,
    pub top: Option<usize>,
    pub cosine: Option<bool>,
    pub target: Option<String>,
    /// h ← (1 − mix)·h + mix·v(mix_with).
    pub mix_with: Option<String>,
    pub mix: Option<f64>,
    /// h ← scale·h (after the mix).
    pub scale: Option<f64>,
    /// h ← h + noise·N(0, I) from `seed` (after the scale).
    pub noise: Option<f64>,
    pub seed: Option<u64>,
}

/// the h a query describes.
pub fn hidden_state(m: &Model, q: &QuerySpec) -> Result<Vec<f32>> {
    let given = [
        q.id.is_some(),
        q.token.is_some(),
        q.expr.is_some(),
        q.h.is_some(),
    ];
    if given.iter().filter(|&&g| g).count() != 1 {
        return Err(Error::Invalid(
            "give exactly one of --token, --id, --expr, --h".into(),
        ));
    }
    let mut h = if let Some(i) = q.id {
        m.token_vector(i)?
    } else if let Some(t) = &q.token {
        m.token_vector(m.vocab.find(t)?)?
    } else if let Some(e) = &q.expr {
        hidden::eval_expr(m, e)?
    } else {
        q.h.clone().unwrap_or_default()
    };
    if h.len() != m.d() {
        return Err(Error::Shape(format!(
            "h has {} components, the model has d = {}",
            h.len(),
            m.d()
        )));
    }
    match (&q.mix_with, q.mix) {
        (Some(with), mix) => {
            let t = mix.unwrap_or(0.5);
            finite("mix", t)?;
            let other = m.token_vector(m.vocab.find(with)?)?;
            h = hidden::mix(&h, &other, t);
        }
        (None, Some(_)) => return Err(Error::Invalid("mix needs a token to mix with".into())),
        (None, None) => {}
    }
    if let Some(s) = q.scale {
        finite("scale", s)?;
        h.iter_mut().for_each(|x| *x = (*x as f64 * s) as f32);
    }
    if let Some(sigma) = q.noise {
        finite("noise", sigma)?;
        if sigma < 0.0 {
            return Err(Error::Invalid(format!("noise must be ≥ 0, got {sigma}")));
        }
        hidden::add_noise(&mut h, sigma, q.seed.unwrap_or(0));
    }
    Ok(h)
}

/// `v` must be a finite number.
pub(crate) fn finite(what: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what} must be a finite number, got {v}"
        )))
    }
}

/// answers one query; fields it leaves out come from `defaults`.
pub fn run_query(m: &Model, q: &QuerySpec, defaults: &ReadoutOptions) -> Result<Readout> {
    let h = hidden_state(m, q)?;
    let target = match &q.target {
        None => defaults.target,
        Some(t) => Some(m.vocab.find(t)?),
    };
    let ranked_by = match q.cosine {
        None => defaults.ranked_by,
        Some(true) => Ranking::Cosine,
        Some(false) => Ranking::Logit,
    };
    let opts = ReadoutOptions {
        temperature: q.temperature.unwrap_or(defaults.temperature),
        top: q.top.unwrap_or(defaults.top),
        ranked_by,
        target,
        ..defaults.clone()
    };
    Readout::of(m, &h, &opts)
}
