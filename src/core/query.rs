//! one query, as the CLI's flags or a batch file or the page describe it: which h, which options.

use serde::Deserialize;

use super::error::{Error, Result};
use super::hidden;
use super::model::{Model, QueryOptions, QueryResult};

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
    if let Some(i) = q.id {
        return m.token_vector(i);
    }
    if let Some(t) = &q.token {
        return m.token_vector(m.vocab.find(t)?);
    }
    if let Some(e) = &q.expr {
        return hidden::eval_expr(m, e);
    }
    Ok(q.h.clone().unwrap_or_default())
}

/// answers one query; fields it leaves out come from `defaults`.
pub fn run_query(m: &Model, q: &QuerySpec, defaults: &QueryOptions) -> Result<QueryResult> {
    let h = hidden_state(m, q)?;
    let target = match &q.target {
        None => defaults.target,
        Some(t) => Some(m.vocab.find(t)?),
    };
    let opts = QueryOptions {
        temperature: q.temperature.unwrap_or(defaults.temperature),
        top: q.top.unwrap_or(defaults.top),
        by_cosine: q.cosine.unwrap_or(defaults.by_cosine),
        target,
    };
    m.query(&h, &opts)
}
