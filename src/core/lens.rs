//! the logit lens: the residual stream of every layer at every position, read through the
//! final norm and the unembedding as if the model stopped there.
//!
//!   cell(ℓ, t) = softmax(W_U · h_{ℓ,t}),  h_{ℓ,t} = RMSNorm(x^ℓ_t)·output_norm
//!
//! where x^ℓ_t is the input of layer ℓ at position t (row 0: the embedding; row L: the last
//! layer's output, so that row is the model's own next-token distribution). each residual is
//! normed with its own RMS: reusing the last layer's scale (a known bug of a popular Python
//! library) makes the early layers look uniform. the logits are at T = 1: the last row's are
//! the exact readout's ([`Unembedding::logits`](super::model::Unembedding::logits)), so that
//! row is the model's own distribution to the bit; the other rows are read several positions
//! per pass at the kernels' fast precision (about 4e-5 relative: the stated bound of
//! `quant::kernels`), which no colour or listed probability can show.
//!
//! a cell keeps what the heatmap colours by and hover shows: the top tokens with their
//! probabilities, the entropy, the log-partition log Z (so any token's probability follows from
//! its logit w_i·h), its h (so any token's logit is one dot product away) and the `KEEP`
//! largest logits (so the token's rank follows too, up to `KEEP`). the KL divergence to the
//! last row needs both full distributions at once: [`Lens::kl`] computes it on request with
//! one more product per cell.
//!
//! [`LensSession`] runs a prompt layer by layer (each row can be shown as soon as it exists),
//! continues it token by token, and answers what the page and the CLI ask.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::files::gguf::Metadata;
use super::forward::{Pass, Precision as PassPrecision, State, Trace, Transformer};
use super::model::Model;
use super::quant::kernels::Precision;
use super::readout::{Readout, ReadoutOptions, SHOWN_CHARS};
use super::tokenize::Tokenizer;
use super::vocab;

/// what colours the cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// the probability of the cell's own top token.
    TopProb,
    /// the probability of a chosen token (by default the final prediction at that position).
    TokenProb,
    /// the rank of a chosen token (log scale, 1 … 1000+).
    TokenRank,
    /// KL divergence to the last layer (nats).
    Kl,
    /// entropy (nats).
    Entropy,
}

/// what the lens heatmap shows (plot::lens draws it): row-major cells, row 0 the embedding, the last row the model's
/// output; `values[r·cols + c]` is None where nothing is known yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grid {
    pub rows: usize,
    pub cols: usize,
    pub quantity: Quantity,
    /// the top-1 token of each cell, as shown text (may be empty while unknown).
    pub labels: Vec<String>,
    pub values: Vec<Option<f64>>,
    /// the input token at each position (x axis).
    pub inputs: Vec<String>,
    /// for each position: the first row from which its final prediction is top-3, top-1, and
    /// above p = 0.5 (None: never, or not yet known).
    #[serde(default)]
    pub commitment: Vec<[Option<usize>; 3]>,
    /// the highest value of the scale (KL, entropy: the largest present; ln V for entropy).
    #[serde(default)]
    pub scale_max: Option<f64>,
    /// a selected cell (row, col), outlined.
    #[serde(default)]
    pub selected: Option<(usize, usize)>,
    /// each row's name (`Lens::row_name`: the layer number, `12a` for layer 12 after
    /// attention); empty: the row numbers.
    #[serde(default)]
    pub row_names: Vec<String>,
}

/// where a lens row reads the residual stream: `Output(ℓ)` is the input of layer ℓ (the
/// embedding for ℓ = 0, else layer ℓ − 1's output), `Mid(ℓ)` layer ℓ's residual after
/// attention, before its MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Site {
    Output(usize),
    Mid(usize),
}

/// positions read through the unembedding together (the matrix is read once per pass).
const FAST_COLUMNS: usize = 16;

/// the largest logits kept per cell, for ranks.
pub const KEEP: usize = 1000;

/// one token of a cell's list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenProb {
    pub id: u32,
    pub token: String,
    pub text: String,
    pub shown: String,
    pub logit: f64,
    pub prob: f64,
}

/// one layer at one position, read through the unembedding (T = 1).
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub top: Vec<TokenProb>,
    /// H = −Σ p ln p (nats).
    pub entropy: f64,
    /// ln Σ exp z: p_i = exp(z_i − log_z).
    pub log_z: f64,
    /// KL(p_last ‖ p_this) in nats, once [`Lens::kl`] ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kl_to_final: Option<f64>,
    /// the normed hidden state this cell reads.
    #[serde(skip)]
    pub h: Vec<f32>,
    /// the `KEEP` largest logits, descending.
    #[serde(skip)]
    ranked: Vec<f64>,
    /// logits closer than this are a tie: the largest error of the precision they were
    /// computed at.
    #[serde(skip)]
    slack: f64,
}

impl Cell {
    /// a token's probability from its logit.
    pub fn prob(&self, logit: f64) -> f64 {
        (logit - self.log_z).exp()
    }
    /// a token's 1-based rank from its logit: one more than the number of logits larger by
    /// more than the largest error of the precision they were computed at (logits closer than
    /// that are a tie, and the token ranks first among them), or None when it lies below the
    /// `KEEP` largest.
    pub fn rank(&self, logit: f64) -> Option<usize> {
        let above = self.ranked.partition_point(|&z| z > logit + self.slack);
        if above < self.ranked.len() {
            Some(above + 1)
        } else {
            None
        }
    }
}

/// a token's place in one cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Standing {
    pub logit: f64,
    pub prob: f64,
    /// None: below the `KEEP` largest.
    pub rank: Option<usize>,
}

/// where in the stack a position settles on a token: the first row from which it is top-1,
/// in the top 3, and above p = 0.5 (staying so up to the last row).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Commitment {
    pub token: u32,
    pub top1: Option<usize>,
    pub top3: Option<usize>,
    pub half: Option<usize>,
}

/// the cells of rows 0..=n_layer (row 0 the embedding, row ℓ+1 the output of layer ℓ) at
/// every position; with `mid`, 2·n_layer + 1 rows: row 0 the embedding, row 2ℓ+1 layer ℓ's
/// residual after attention (before its MLP), row 2ℓ+2 layer ℓ's output.
#[derive(Debug, Clone, Default)]
pub struct Lens {
    pub rows: usize,
    pub positions: usize,
    /// whether the rows include each layer's residual between attention and MLP.
    pub mid: bool,
    /// position-major: positions × rows.
    cells: Vec<Option<Cell>>,
}

impl Lens {
    pub fn new(n_layer: usize, mid: bool) -> Self {
        Lens {
            rows: if mid { 2 * n_layer + 1 } else { n_layer + 1 },
            mid,
            ..Default::default()
        }
    }

    /// which residual of the trace a row reads.
    pub fn site(&self, row: usize) -> Site {
        if !self.mid {
            Site::Output(row)
        } else if row % 2 == 1 {
            Site::Mid((row - 1) / 2)
        } else {
            Site::Output(row / 2)
        }
    }

    /// the row that reads a site.
    pub fn row_of(&self, site: Site) -> usize {
        match (site, self.mid) {
            (Site::Output(l), false) => l,
            (Site::Output(l), true) => 2 * l,
            (Site::Mid(l), _) => 2 * l + 1,
        }
    }

    /// a row's name on the heatmap's axis: `embed`, the layer number ℓ+1 for layer ℓ's
    /// output, `ℓ+1a` for its residual after attention.
    pub fn row_name(&self, row: usize) -> String {
        match self.site(row) {
            Site::Output(0) => "embed".into(),
            Site::Output(l) => l.to_string(),
            Site::Mid(l) => format!("{}a", l + 1),
        }
    }

    pub fn cell(&self, row: usize, t: usize) -> Option<&Cell> {
        if row >= self.rows {
            return None;
        }
        self.cells.get(t * self.rows + row)?.as_ref()
    }

    fn add_positions(&mut self, n: usize) {
        self.positions += n;
        self.cells.resize(self.positions * self.rows, None);
    }

    fn truncate(&mut self, positions: usize) {
        self.positions = positions.min(self.positions);
        self.cells.truncate(self.positions * self.rows);
    }

    /// reads row `row` of `trace` at `positions` through the final norm and the unembedding.
    pub fn read(
        &mut self,
        t: &Transformer,
        model: &Model,
        trace: &Trace,
        row: usize,
        positions: Range<usize>,
        top: usize,
    ) -> Result<()> {
        if row >= self.rows || positions.end > self.positions || positions.end > trace.positions() {
            return Err(Error::Invalid(format!("no row {row} at {positions:?}")));
        }
        // the last row exactly (it is the model's own next-token distribution, as the readout
        // gives it); the others at the kernels' fast precision, several positions per pass.
        let hs: Vec<Vec<f32>> = positions
            .clone()
            .map(|p| {
                let mut h = vec![0f32; trace.d];
                let x = match self.site(row) {
                    Site::Output(l) => trace.resid(l, p),
                    Site::Mid(l) => trace.mid(l, p),
                };
                t.final_norm(x, &mut h);
                h
            })
            .collect();
        let n_vocab = model.n_vocab();
        if row == self.rows - 1 {
            for (p, h) in positions.zip(hs) {
                let z = model.unembedding().logits(&h)?;
                let slack = 2.0 * model.unembedding().max_error(&h, Precision::Exact);
                self.cells[p * self.rows + row] = Some(cell(model, &z, h, top, slack, true));
            }
        } else {
            for (chunk, ps) in hs
                .chunks(FAST_COLUMNS)
                .zip(positions.collect::<Vec<_>>().chunks(FAST_COLUMNS))
            {
                let refs: Vec<&[f32]> = chunk.iter().map(|h| &h[..]).collect();
                let z = model.unembedding().logits_many_fast(&refs)?;
                for (k, (&p, h)) in ps.iter().zip(chunk).enumerate() {
                    let zc = &z[k * n_vocab..(k + 1) * n_vocab];
                    let slack = 2.0 * model.unembedding().max_error(h, Precision::Fast);
                    self.cells[p * self.rows + row] =
                        Some(cell(model, zc, h.clone(), top, slack, false));
                }
            }
        }
        Ok(())
    }

    /// a token's logit, probability and rank in one cell: w_token·h and the cell's summaries.
    pub fn standing(&self, model: &Model, row: usize, t: usize, token: u32) -> Result<Standing> {
        let c = self
            .cell(row, t)
            .ok_or_else(|| Error::Invalid(format!("no cell at row {row}, position {t}")))?;
        let logit = model.unembedding().row_dot(token as usize, &c.h)?;
        Ok(Standing {
            logit,
            prob: c.prob(logit),
            rank: c.rank(logit),
        })
    }

    /// where position t settles on `token` (by default the last row's top-1).
    pub fn commitment(&self, model: &Model, t: usize, token: Option<u32>) -> Result<Commitment> {
        let last = self.rows - 1;
        let token = match token {
            Some(x) => x,
            None => self
                .cell(last, t)
                .and_then(|c| c.top.first())
                .map(|e| e.id)
                .ok_or_else(|| Error::Invalid(format!("position {t} has no last row yet")))?,
        };
        let mut s = Vec::with_capacity(self.rows);
        for row in 0..self.rows {
            s.push(self.standing(model, row, t, token)?);
        }
        // the first row from which the condition holds to the end.
        let from = |ok: &dyn Fn(&Standing) -> bool| -> Option<usize> {
            let mut first = None;
            for (row, st) in s.iter().enumerate().rev() {
                if ok(st) {
                    first = Some(row);
                } else {
                    break;
                }
            }
            first
        };
        Ok(Commitment {
            token,
            top1: from(&|x| x.rank == Some(1)),
            top3: from(&|x| x.rank.is_some_and(|r| r <= 3)),
            half: from(&|x| x.prob > 0.5),
        })
    }

    /// fills KL(p_last ‖ p_cell) of every cell of `positions` whose rows are all read: one
    /// more product per cell (the full distributions are not kept). `progress(done, total)`
    /// after each position; false stops (Cancelled).
    pub fn kl(
        &mut self,
        model: &Model,
        positions: Range<usize>,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<()> {
        let last = self.rows - 1;
        let total = positions.len();
        for (k, t) in positions.enumerate() {
            let Some(fc) = self.cell(last, t) else {
                return Err(Error::Invalid(format!("position {t} has no last row yet")));
            };
            let zf = model.unembedding().logits(&fc.h)?;
            let lf = fc.log_z;
            // E_pf[z_f] − log Z_f, the first half of KL.
            let ef: f64 = zf.iter().map(|&z| (z - lf).exp() * z).sum::<f64>() - lf;
            for row in 0..self.rows {
                let kl = if row == last {
                    0.0
                } else {
                    let Some(c) = self.cell(row, t) else {
                        continue;
                    };
                    let z = model.unembedding().logits(&c.h)?;
                    let ez: f64 = zf
                        .iter()
                        .zip(&z)
                        .map(|(&a, &b)| (a - lf).exp() * b)
                        .sum::<f64>();
                    (ef - (ez - c.log_z)).max(0.0)
                };
                if let Some(c) = self.cells[t * self.rows + row].as_mut() {
                    c.kl_to_final = Some(kl);
                }
            }
            if !progress(k + 1, total) {
                return Err(Error::Cancelled);
            }
        }
        Ok(())
    }
}

/// one cell from its logits (T = 1).
fn cell(model: &Model, z: &[f64], h: Vec<f32>, top: usize, slack: f64, exact: bool) -> Cell {
    let zmax = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let (s, sz) = if exact {
        let (mut s, mut sz) = (0f64, 0f64);
        for &zi in z {
            let e = (zi - zmax).exp();
            s += e;
            sz += e * (zi - zmax);
        }
        (s, sz)
    } else {
        exp_sums(z, zmax)
    };
    let log_z = zmax + s.ln();
    let entropy = (s.ln() - sz / s).max(0.0);
    // the KEEP largest: the KEEP-th largest value by selection on the values alone (no
    // indirection), then the ids at or above it, sorted (ties by id).
    let keep = KEEP.min(z.len());
    let mut vals = z.to_vec();
    let (_, &mut cut, _) = vals.select_nth_unstable_by(keep - 1, |a, b| b.total_cmp(a));
    let mut idx: Vec<u32> = (0..z.len() as u32)
        .filter(|&i| z[i as usize] >= cut)
        .collect();
    let by = |a: &u32, b: &u32| z[*b as usize].total_cmp(&z[*a as usize]).then(a.cmp(b));
    idx.sort_unstable_by(by);
    idx.truncate(keep);
    let top = idx
        .iter()
        .take(top)
        .map(|&i| TokenProb {
            id: i,
            token: model.vocab.raw(i).to_string(),
            text: model.vocab.text(i).to_string(),
            shown: vocab::quoted(model.vocab.text(i), SHOWN_CHARS),
            logit: z[i as usize],
            prob: (z[i as usize] - log_z).exp(),
        })
        .collect();
    Cell {
        top,
        entropy,
        log_z,
        kl_to_final: None,
        h,
        ranked: idx.iter().map(|&i| z[i as usize]).collect(),
        slack,
    }
}

/// Σ e^(z_i − m) and Σ e^(z_i − m)·(z_i − m) for the rows read at the fast precision, with an
/// f32 exponential written so the compiler vectorises it (a libm call per logit was most of
/// a cell's time in wasm): e^x = 2^n·p(r), x = n·ln 2 + r, |r| ≤ ln2/2, p of degree 6 (relative
/// error below 2e-7, far under the logits' own 4e-5); x below −87 gives 0. sums in f32 lanes of
/// 64, then f64.
fn exp_sums(z: &[f64], m: f64) -> (f64, f64) {
    #[inline(always)]
    fn exp(x: f32) -> f32 {
        let x = x.max(-87.0);
        let n = (x * std::f32::consts::LOG2_E).round();
        let r = (x - n * 0.693_145_75) - n * 1.428_606_8e-6;
        let p = 1.0
            + r * (1.0
                + r * (0.5
                    + r * (0.166_666_67
                        + r * (0.041_666_668 + r * (0.008_333_334 + r * 0.001_388_889)))));
        f32::from_bits(((n as i32 + 127) << 23) as u32) * p
    }
    let (mut s, mut sz) = (0f64, 0f64);
    let mut x = [0f32; 64];
    for chunk in z.chunks(64) {
        for (a, &v) in x.iter_mut().zip(chunk) {
            *a = (v - m) as f32;
        }
        let k = chunk.len();
        let (mut cs, mut cz) = (0f32, 0f32);
        for &v in &x[..k] {
            let e = exp(v);
            cs += e;
            cz += e * v;
        }
        s += cs as f64;
        sz += cz as f64;
    }
    (s, sz)
}

/// the most positions a lens session holds (prompt and continuation): each costs the KV
/// cache, the residuals of every layer and a cell per row.
pub const MAX_POSITIONS: usize = 256;

/// a prompt run through the model layer by layer and read through the lens, and its
/// continuation.
pub struct LensSession {
    pub model: Model,
    pub t: Transformer,
    /// the file's own tokenizer, or why its metadata has none.
    pub tok: std::result::Result<Tokenizer, Error>,
    state: State,
    trace: Trace,
    pub lens: Lens,
    ids: Vec<u32>,
    pass: Option<Pass>,
    /// the last position's h once its pass finished.
    h: Option<Vec<f32>>,
    top: usize,
}

impl LensSession {
    /// `top` tokens per cell; room for `capacity` positions (at most [`MAX_POSITIONS`] and
    /// the model's context).
    pub fn new(
        model: Model,
        t: Transformer,
        capacity: usize,
        top: usize,
        precision: PassPrecision,
    ) -> Result<Self> {
        if model.d() != t.config().d {
            return Err(Error::Shape(format!(
                "the unembedding has d = {}, the pass {}",
                model.d(),
                t.config().d
            )));
        }
        let capacity = capacity.min(MAX_POSITIONS).min(t.config().n_ctx).max(1);
        Ok(LensSession {
            tok: Err(Error::NotFound(
                "no tokenizer was read for this model".into(),
            )),
            state: t.state(capacity, precision),
            trace: Trace::new(t.config()),
            lens: Lens::new(t.config().n_layer, false),
            model,
            t,
            ids: Vec::new(),
            pass: None,
            h: None,
            top,
        })
    }

    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// whether the lens also reads each layer's residual between attention and MLP (twice
    /// the reads). changing it forgets the prompt: run it again.
    pub fn set_mid(&mut self, on: bool) {
        if on != self.lens.mid {
            self.state.reset();
            self.trace.truncate(0);
            self.ids.clear();
            self.pass = None;
            self.h = None;
            self.lens = Lens::new(self.t.config().n_layer, on);
        }
    }

    /// reads the tokenizer of the file's metadata (BPE merges and pre-tokenizer); a file
    /// without one still runs from token ids, and [`tokenize`](Self::tokenize) says why not.
    pub fn read_tokenizer(&mut self, meta: &Metadata) {
        self.tok = Tokenizer::from_metadata(meta);
    }

    /// a text's tokens as the model reads it: special-token text (`<|im_start|>`) becomes the
    /// special token, BOS is added when the model asks for it (llama.cpp's `llama_tokenize`
    /// with add_special and parse_special).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        match &self.tok {
            Ok(tok) => tok.encode(text, true, true),
            Err(e) => Err(e.clone()),
        }
    }

    /// whether a token ends generation (end of text, of turn).
    pub fn is_end(&self, id: u32) -> bool {
        self.tok.as_ref().is_ok_and(|t| t.is_eog(id))
    }
    pub fn capacity(&self) -> usize {
        self.state.capacity
    }

    /// starts over with a prompt: embeds it and reads row 0. the layers follow, one per
    /// [`step`](Self::step).
    pub fn start(&mut self, ids: &[u32]) -> Result<()> {
        if ids.is_empty() {
            return Err(Error::Invalid("the prompt has no tokens".into()));
        }
        if ids.len() > self.state.capacity {
            return Err(Error::Invalid(format!(
                "the prompt has {} tokens; the lens holds at most {}",
                ids.len(),
                self.state.capacity
            )));
        }
        self.state.reset();
        self.trace.truncate(0);
        self.lens.truncate(0);
        self.ids.clear();
        self.pass = None;
        self.h = None;
        self.run_positions(ids)
    }

    fn run_positions(&mut self, ids: &[u32]) -> Result<()> {
        let first = self.ids.len();
        let pass = self.t.begin(&mut self.state, ids, Some(&mut self.trace))?;
        self.ids.extend_from_slice(ids);
        self.lens.add_positions(ids.len());
        self.pass = Some(pass);
        self.lens.read(
            &self.t,
            &self.model,
            &self.trace,
            0,
            first..self.ids.len(),
            self.top,
        )
    }

    /// runs the next layer and reads its row; returns the row read, or None when the pass is
    /// complete.
    pub fn step(&mut self) -> Result<Option<usize>> {
        let Some(mut pass) = self.pass.take() else {
            return Ok(None);
        };
        // the pass's positions: those after the state's (it joins them when it finishes).
        let first = self.state.pos;
        self.t
            .step(&mut self.state, &mut pass, Some(&mut self.trace))?;
        let done = pass.layers_done();
        // the layer's residual after attention (with mid rows), then its output.
        let mid = self.lens.mid.then(|| self.lens.row_of(Site::Mid(done - 1)));
        let row = self.lens.row_of(Site::Output(done));
        for r in mid.into_iter().chain([row]) {
            self.lens.read(
                &self.t,
                &self.model,
                &self.trace,
                r,
                first..self.ids.len(),
                self.top,
            )?;
        }
        if done == self.t.config().n_layer {
            self.h = Some(self.t.finish(&mut self.state, pass)?);
        } else {
            self.pass = Some(pass);
        }
        Ok(Some(row))
    }

    /// runs every remaining layer.
    pub fn run(&mut self) -> Result<()> {
        while self.step()?.is_some() {}
        Ok(())
    }

    /// the model's next-token readout after the last position (the pass must be complete).
    pub fn next(&self, opts: &ReadoutOptions) -> Result<Readout> {
        let h = self
            .h
            .as_ref()
            .ok_or_else(|| Error::Invalid("the pass is not complete".into()))?;
        Readout::of(&self.model, h, opts)
    }

    /// the next token: the arg-max at T = 0 (lowest id on a tie), else drawn from softmax(z/T)
    /// with `u` uniform in [0, 1).
    pub fn pick(&self, temperature: f64, u: f64) -> Result<u32> {
        let h = self
            .h
            .as_ref()
            .ok_or_else(|| Error::Invalid("the pass is not complete".into()))?;
        let z = self.model.unembedding().logits(h)?;
        Ok(pick(&z, temperature, u))
    }

    /// appends a token (a continuation): one more position through every layer, read at
    /// every row.
    pub fn append(&mut self, token: u32) -> Result<()> {
        if self.pass.is_some() || self.h.is_none() {
            return Err(Error::Invalid("the pass is not complete".into()));
        }
        if self.ids.len() >= self.state.capacity {
            return Err(Error::Invalid(format!(
                "the lens holds at most {} positions",
                self.state.capacity
            )));
        }
        self.run_positions(&[token])?;
        self.run()
    }

    /// the hidden state a cell reads (what the explorer takes as h).
    pub fn hidden(&self, row: usize, t: usize) -> Result<&[f32]> {
        self.lens
            .cell(row, t)
            .map(|c| &c.h[..])
            .ok_or_else(|| Error::Invalid(format!("no cell at row {row}, position {t}")))
    }

    /// what the heatmap shows, coloured by `quantity`; for a token's probability or rank the
    /// token is `token`, else each position's final prediction.
    pub fn grid(&self, quantity: Quantity, token: Option<u32>) -> Result<Grid> {
        let (rows, cols) = (self.lens.rows, self.lens.positions);
        let last = rows - 1;
        let mut labels = Vec::with_capacity(rows * cols);
        let mut values = Vec::with_capacity(rows * cols);
        let finals: Vec<Option<u32>> = (0..cols)
            .map(|c| {
                token.or(self
                    .lens
                    .cell(last, c)
                    .and_then(|x| x.top.first())
                    .map(|e| e.id))
            })
            .collect();
        for r in 0..rows {
            for c in 0..cols {
                let cell = self.lens.cell(r, c);
                labels.push(
                    cell.and_then(|x| x.top.first())
                        .map(|e| e.text.clone())
                        .unwrap_or_default(),
                );
                let v = match (cell, quantity) {
                    (None, _) => None,
                    (Some(x), Quantity::TopProb) => x.top.first().map(|e| e.prob),
                    (Some(x), Quantity::Entropy) => Some(x.entropy),
                    (Some(x), Quantity::Kl) => x.kl_to_final,
                    (Some(_), Quantity::TokenProb | Quantity::TokenRank) => match finals[c] {
                        None => None,
                        Some(tok) => {
                            let s = self.lens.standing(&self.model, r, c, tok)?;
                            Some(match quantity {
                                Quantity::TokenProb => s.prob,
                                _ => s.rank.map_or((KEEP + 1) as f64, |k| k as f64),
                            })
                        }
                    },
                };
                values.push(v);
            }
        }
        let commitment = (0..cols)
            .map(|c| match (self.lens.cell(last, c), finals[c]) {
                (Some(_), Some(tok)) => self
                    .lens
                    .commitment(&self.model, c, Some(tok))
                    .map(|k| [k.top3, k.top1, k.half]),
                _ => Ok([None; 3]),
            })
            .collect::<Result<Vec<_>>>()?;
        let scale_max = match quantity {
            Quantity::Entropy => Some((self.model.n_vocab() as f64).ln()),
            _ => None,
        };
        Ok(Grid {
            rows,
            cols,
            quantity,
            labels,
            values,
            inputs: self
                .ids
                .iter()
                .map(|&i| self.model.vocab.text(i).to_string())
                .collect(),
            commitment,
            scale_max,
            selected: None,
            row_names: (0..rows).map(|r| self.lens.row_name(r)).collect(),
        })
    }

    /// the lens as JSON: `ids` (the tokens, prompt and continuation), `next` (the readout after
    /// the last position, the shape `unembed query --json` prints), `layers` (for every row,
    /// row 0 the embedding, and every position, its cell: `top` [{id, token, text, shown,
    /// logit, prob}], `entropy`, `log_z`, `kl_to_final` when computed), `commitment` (per
    /// position: the first row from which its final prediction is top-3, top-1, p > 0.5); with
    /// mid rows, `layers` has 2L + 1 rows and `rows` names them (`embed`, `1a`, `1`, …).
    pub fn json(&self, top: usize) -> Result<serde_json::Value> {
        let next = self.next(&ReadoutOptions {
            top,
            ..Default::default()
        })?;
        let lens = &self.lens;
        let layers: Vec<Vec<Option<&Cell>>> = (0..lens.rows)
            .map(|r| (0..lens.positions).map(|p| lens.cell(r, p)).collect())
            .collect();
        let commitment = (0..lens.positions)
            .map(|c| lens.commitment(&self.model, c, None))
            .collect::<Result<Vec<_>>>()?;
        let mut out = serde_json::json!({
            "ids": self.ids,
            "tokens": self.ids.iter().map(|&i| self.model.vocab.raw(i)).collect::<Vec<_>>(),
            "next": next,
            "layers": layers,
            "commitment": commitment,
        });
        if lens.mid {
            out["rows"] =
                serde_json::json!((0..lens.rows).map(|r| lens.row_name(r)).collect::<Vec<_>>());
        }
        Ok(out)
    }

    /// the residual of the trace behind a cell (before the final norm), or the mid-layer one.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }
}

/// the arg-max at T = 0 (the lowest id on a tie), else the token where `u·Σw` falls in the
/// cumulative weights w_i = exp((z_i − max z)/T).
pub fn pick(z: &[f64], temperature: f64, u: f64) -> u32 {
    if temperature <= 0.0 || !temperature.is_finite() {
        let mut best = 0;
        for (i, &v) in z.iter().enumerate() {
            if v > z[best] {
                best = i;
            }
        }
        return best as u32;
    }
    let zmax = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let total: f64 = z.iter().map(|&v| ((v - zmax) / temperature).exp()).sum();
    let mut left = u.clamp(0.0, 1.0) * total;
    for (i, &v) in z.iter().enumerate() {
        left -= ((v - zmax) / temperature).exp();
        if left <= 0.0 {
            return i as u32;
        }
    }
    (z.len() - 1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fixtures::tiny_llama_bytes;
    use crate::core::plan::read_header;
    use crate::core::source::SliceSource;

    fn session() -> LensSession {
        let bytes = tiny_llama_bytes(8);
        let f = read_header(&SliceSource::whole(&bytes)).unwrap();
        let model = Model::from_source(&SliceSource::whole(&bytes), None).unwrap();
        let t = Transformer::new(&f.metadata, &f.index, bytes).unwrap();
        LensSession::new(model, t, 16, 5, PassPrecision::Exact).unwrap()
    }

    #[test]
    fn the_last_row_is_the_models_own_next_token_distribution() {
        let mut s = session();
        let toks = [4u32, 8, 15, 16, 23, 1];
        s.start(&toks).unwrap();
        let mut rows = vec![0];
        while let Some(r) = s.step().unwrap() {
            rows.push(r);
        }
        assert_eq!(rows, vec![0, 1, 2]);
        let last = s.t.config().n_layer;
        let next = s
            .next(&ReadoutOptions {
                top: 5,
                ..Default::default()
            })
            .unwrap();
        let cell = s.lens.cell(last, toks.len() - 1).unwrap().clone();
        for (a, b) in cell.top.iter().zip(&next.top) {
            assert_eq!((a.id, a.logit), (b.id, b.logit));
            assert!((a.prob - b.prob).abs() < 1e-12);
        }
        assert!((cell.entropy - next.entropy).abs() < 1e-9);
        // the same pass run in one go gives the same last row.
        let mut st = s.t.state(16, PassPrecision::Exact);
        let h = s.t.forward(&mut st, &toks, None).unwrap();
        assert_eq!(s.hidden(last, toks.len() - 1).unwrap(), &h[..]);
        // every cell: ranks and probabilities from the kept logits agree with its list, and
        // a token's standing agrees with the list too.
        for row in 0..=last {
            for p in 0..toks.len() {
                let c = s.lens.cell(row, p).unwrap();
                for (k, e) in c.top.iter().enumerate() {
                    assert_eq!(c.rank(e.logit), Some(k + 1));
                    assert!((c.prob(e.logit) - e.prob).abs() < 1e-12);
                    let st = s.lens.standing(&s.model, row, p, e.id).unwrap();
                    // the same logit within the stated bound of the precision the row was
                    // read at (exact on the last row, fast on the others).
                    let m = s.model.unembedding().matrix();
                    let bound = if row == last {
                        crate::core::quant::kernels::error_bound(m, &c.h)[e.id as usize]
                    } else {
                        crate::core::quant::kernels::fast_error_bound(m, &c.h)[e.id as usize]
                    };
                    assert!(
                        (st.logit - e.logit).abs() <= bound,
                        "{} {} {bound}",
                        st.logit,
                        e.logit
                    );
                    assert_eq!(st.rank, Some(k + 1));
                }
            }
        }
        s.lens
            .kl(&s.model, 0..toks.len(), &mut |_, _| true)
            .unwrap();
        for p in 0..toks.len() {
            assert_eq!(s.lens.cell(last, p).unwrap().kl_to_final, Some(0.0));
        }
        assert!((0..toks.len()).any(|p| s.lens.cell(0, p).unwrap().kl_to_final.unwrap() > 1e-6));
        let c = s.lens.commitment(&s.model, toks.len() - 1, None).unwrap();
        assert_eq!(c.token, cell.top[0].id);
        assert!(c.top1.is_some_and(|r| r <= last) && c.top3 <= c.top1);
    }

    #[test]
    fn every_row_reads_its_own_residual_normed_by_its_own_rms() {
        // each cell's h is the final norm of exactly the trace's residual that row names
        // (row ℓ: the input of layer ℓ; with mid rows, layer ℓ's residual after attention
        // too), with that residual's own RMS: not a comment, a test.
        let toks = [4u32, 8, 15, 16, 23, 1];
        let mut plain = session();
        plain.start(&toks).unwrap();
        plain.run().unwrap();
        let mut s = session();
        s.set_mid(true);
        s.start(&toks).unwrap();
        let mut rows = vec![0];
        while let Some(r) = s.step().unwrap() {
            rows.push(r);
        }
        let n = s.t.config().n_layer;
        assert_eq!(s.lens.rows, 2 * n + 1);
        // step returns each layer's output row; the mid row before it is read with it.
        assert_eq!(rows, (0..=n).map(|l| 2 * l).collect::<Vec<_>>());
        let d = s.t.config().d;
        for row in 0..s.lens.rows {
            for p in 0..toks.len() {
                let x = match s.lens.site(row) {
                    Site::Output(l) => s.trace().resid(l, p),
                    Site::Mid(l) => s.trace().mid(l, p),
                };
                let mut h = vec![0f32; d];
                s.t.final_norm(x, &mut h);
                assert_eq!(s.hidden(row, p).unwrap(), &h[..], "row {row} position {p}");
                if let Site::Output(l) = s.lens.site(row) {
                    assert_eq!(s.hidden(row, p).unwrap(), plain.hidden(l, p).unwrap());
                    assert_eq!(
                        s.lens.cell(row, p).unwrap().top,
                        plain.lens.cell(l, p).unwrap().top
                    );
                }
            }
        }
        // the plain lens's rows: the same, each residual with its own scale (the early rows
        // are not uniform, as they would be with the last layer's RMS).
        for l in 0..=n {
            for p in 0..toks.len() {
                let mut h = vec![0f32; d];
                plain.t.final_norm(plain.trace().resid(l, p), &mut h);
                assert_eq!(plain.hidden(l, p).unwrap(), &h[..]);
            }
        }
        assert_eq!(s.lens.row_name(0), "embed");
        assert_eq!(s.lens.row_name(1), "1a");
        assert_eq!(s.lens.row_name(2), "1");
        let g = s.grid(Quantity::TopProb, None).unwrap();
        assert_eq!(g.rows, 2 * n + 1);
        assert_eq!(g.row_names[2 * n], n.to_string());
        let j = s.json(3).unwrap();
        assert_eq!(j["layers"].as_array().unwrap().len(), 2 * n + 1);
        assert_eq!(j["rows"][1], "1a");
        // switching back forgets the prompt.
        s.set_mid(false);
        assert!(s.ids().is_empty() && s.lens.rows == n + 1);
    }

    #[test]
    fn a_continuation_adds_a_column() {
        let mut s = session();
        s.start(&[3, 9]).unwrap();
        s.run().unwrap();
        let tok = s.pick(0.0, 0.0).unwrap();
        s.append(tok).unwrap();
        assert_eq!(s.ids(), &[3, 9, tok]);
        assert_eq!(s.lens.positions, 3);
        for row in 0..s.lens.rows {
            assert!(s.lens.cell(row, 2).is_some());
        }
        // the same as running the three tokens as a prompt.
        let mut s2 = session();
        s2.start(&[3, 9, tok]).unwrap();
        s2.run().unwrap();
        for row in 0..s.lens.rows {
            assert_eq!(s.hidden(row, 2).unwrap(), s2.hidden(row, 2).unwrap());
        }
        // too long a prompt, and an empty one, are errors.
        assert!(s.start(&[1; 17]).is_err());
        assert!(s.start(&[]).is_err());
    }

    #[test]
    fn the_grid_has_a_value_for_every_cell_once_the_pass_is_done() {
        let mut s = session();
        s.start(&[5, 6, 7]).unwrap();
        s.step().unwrap();
        // while layers run, the rows above are unknown.
        let g = s.grid(Quantity::TopProb, None).unwrap();
        assert_eq!((g.rows, g.cols), (3, 3));
        assert!(g.values[2 * 3..].iter().all(|v| v.is_none()));
        assert!(g.commitment.iter().all(|c| *c == [None; 3]));
        s.run().unwrap();
        for q in [
            Quantity::TopProb,
            Quantity::TokenProb,
            Quantity::TokenRank,
            Quantity::Entropy,
        ] {
            let g = s.grid(q, None).unwrap();
            assert!(g.values.iter().all(|v| v.is_some()), "{q:?}");
        }
        // the final row's own prediction has rank 1 and its top probability there.
        let r = s.grid(Quantity::TokenRank, None).unwrap();
        let p = s.grid(Quantity::TokenProb, None).unwrap();
        let top = s.grid(Quantity::TopProb, None).unwrap();
        for c in 0..3 {
            assert_eq!(r.values[2 * 3 + c], Some(1.0));
            let (a, b) = (p.values[2 * 3 + c].unwrap(), top.values[2 * 3 + c].unwrap());
            assert!((a - b).abs() < 1e-6);
        }
        assert_eq!(s.grid(Quantity::Kl, None).unwrap().values[0], None);
        s.lens.kl(&s.model, 0..3, &mut |_, _| true).unwrap();
        assert!(s
            .grid(Quantity::Kl, None)
            .unwrap()
            .values
            .iter()
            .all(|v| v.is_some()));
        assert_eq!(top.inputs.len(), 3);
    }

    #[test]
    fn the_fast_exponential_sums_like_the_exact_one() {
        let z: Vec<f64> = (0..5000)
            .map(|i| ((i * 7919) % 1000) as f64 * 0.037 - 20.0)
            .collect();
        let m = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let (s, sz) = exp_sums(&z, m);
        let es: f64 = z.iter().map(|&v| (v - m).exp()).sum();
        let ez: f64 = z.iter().map(|&v| (v - m).exp() * (v - m)).sum();
        assert!((s - es).abs() < 1e-6 * es, "{s} {es}");
        assert!((sz - ez).abs() < 1e-5 * ez.abs(), "{sz} {ez}");
        // far below the max: zero, not a NaN or an infinity.
        let (s, _) = exp_sums(&[0.0, -500.0, -1e30], 0.0);
        assert_eq!(s, 1.0);
    }

    #[test]
    fn picking_follows_the_temperature() {
        let z = [1.0, 3.0, 3.0, -2.0];
        assert_eq!(pick(&z, 0.0, 0.9), 1);
        assert_eq!(pick(&z, 1.0, 0.0), 0);
        assert_eq!(pick(&z, 1.0, 0.999_999), 3);
    }
}

/// the prompt benchmarks run (repeated to the length they need).
pub const BENCH_PROMPT: &str = "A language model reads a sequence of tokens and, at every \
position, produces a hidden state: a vector that summarises everything the model has seen so far.";

/// what [`bench`] measured, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Timings {
    pub prefill_tokens: usize,
    pub prefill_ms_per_token: f64,
    pub decode_tokens: usize,
    pub decode_ms_per_token: f64,
    pub lens_tokens: usize,
    /// from start to the first layer's row read (row 0 and row 1 on screen).
    pub lens_first_row_ms: f64,
    /// from start to every row read.
    pub lens_ms: f64,
}

/// times the pass and the lens on this machine: prefill of `ids` (one batch), `decode` tokens
/// one by one after it, and the whole lens (every layer read at every position) of the first
/// `lens` tokens of `ids`. `now()` is a clock in milliseconds (Instant natively,
/// performance.now in a browser). a benchmark, not a test.
pub fn bench(
    s: &mut LensSession,
    ids: &[u32],
    decode: usize,
    lens: usize,
    now: &dyn Fn() -> f64,
) -> Result<Timings> {
    if ids.is_empty() || lens == 0 || lens > ids.len() {
        return Err(Error::Invalid(
            "bench needs a prompt at least as long as the lens".into(),
        ));
    }
    let precision = s.state.precision;
    let mut st = s.t.state(ids.len() + decode, precision);
    // warm-up: one token.
    s.t.forward(&mut st, &ids[..1], None)?;
    st.reset();
    let t0 = now();
    let mut h = s.t.forward(&mut st, ids, None)?;
    let t1 = now();
    for _ in 0..decode {
        let z = s.model.unembedding().logits(&h)?;
        let tok = pick(&z, 0.0, 0.0);
        h = s.t.forward(&mut st, &[tok], None)?;
    }
    let t2 = now();
    s.start(&ids[..lens])?;
    s.step()?;
    let t3 = now();
    s.run()?;
    let t4 = now();
    Ok(Timings {
        prefill_tokens: ids.len(),
        prefill_ms_per_token: (t1 - t0) / ids.len() as f64,
        decode_tokens: decode,
        decode_ms_per_token: if decode > 0 {
            (t2 - t1) / decode as f64
        } else {
            0.0
        },
        lens_tokens: lens,
        lens_first_row_ms: t3 - t2,
        lens_ms: t4 - t2,
    })
}
