//! the explorer's state: h built from the page's controls, with the logits of every piece
//! cached, so that a slider step costs a few additions over the vocabulary instead of a full
//! product. everything here is linear in h:
//!
//!   h = scale·((1 − mix)·h_base + mix·v_with) + noise·n_seed + Σ_k a_k·v_k + drift + δ
//!   z = scale·((1 − mix)·z_base + mix·z_with) + noise·E·n_seed + Σ_k a_k·E·v_k + E·drift + E·δ
//!
//! with v_k the right singular vectors (E·v_k = σ_k·u_k). each cached product is the exact
//! kernel's, and the sums are in f64, so z matches a fresh product on the same h to about
//! 1e-12 relative.
//!
//! gradient steps. δ is the offset the steps taken so far add to h, kept with its logits
//! E·δ as one more cached piece, so a slider combines it like any other piece. δ is defined
//! by the controls it was taken under (`steps` steps of h ← h − lr·∇_h L from the state the
//! other controls describe), which is what lets a link say `"steps": 5` and reproduce it.
//! when a control δ depends on changes after steps were taken (anything but `top`: base,
//! mix, scale, noise, the offsets, temperature, target, lr), δ no longer follows from the
//! controls. we *fold* it: δ is added to `drift`, an explicit offset of h held in the
//! controls as d numbers (f32, as a link stores them), `steps` restarts at 0 and δ at 0, and
//! the new drift's logits are computed once, from the f32 numbers, exactly as a link that
//! holds them computes them. so:
//!
//!   - a slider move after N steps costs what it costs after one step: one pass for the fold
//!     (then none), never a replay;
//!   - h stays where the steps took it (moving the temperature does not throw the steps
//!     away), and Reset (`steps: 0, drift: []`) is the one way back;
//!   - the URL reproduces the state exactly: `drift` is the folded offset itself (bounded:
//!     d numbers, however many steps and changes), and `steps` the steps since, replayed
//!     from the same controls.
//!
//! we chose this over recording the controls the steps were taken from: steps, a change,
//! more steps, another change … would need a chain of such records in the URL, each
//! replayed, growing without bound; a folded offset is one vector, replays nothing and
//! reads back bit for bit.
//!
//! a link's steps are replayed by [`Session::replay`] in a Worker (the page's main thread
//! takes at most one step per update, see [`Session::apply`]) and installed here by
//! [`Session::adopt`], with their logits as the Worker summed them, so a replayed link and
//! the session that took the steps one by one hold the same numbers.
//!
//! what an update costs in full passes over the vocabulary (counted by
//! [`Unembedding`](super::model::Unembedding)): a slider (scale, mix, noise, the singular
//! directions once built, temperature, top) none; a new base, mix token or noise seed one;
//! the first non-zero offset along a direction one (each direction's piece is built when
//! first asked for); a drift from a link one; the first change after steps one (the fold,
//! whatever the number of steps); with a target at T > 0 the view adds one transposed pass
//! (the gradient's Σ p_i w_i; [`Session::view_with`] can leave it for later, as the page's
//! steps do, see [`defers_gradient`]); each gradient step two (Σ p_i w_i, then W_U·δh). a new state
//! can be built piece by piece ([`Session::prepare`], one pass per call) so that no single
//! task on the page's thread pays for all of them.

use serde::Serialize;

use super::error::{Error, Result};
use super::hidden;
use super::maths::Softmax;
use super::model::Model;
use super::quant::kernels::Precision;
use super::query::finite;
use super::readout::{Gradient, Loss, Ranking, Readout, ReadoutOptions, Scores};
use super::vocab;

use super::controls::{Checked, Problem};
pub use super::controls::{Controls, MAX_STEPS, MAX_TOP, N_DIRECTIONS};

/// a vector and its logits.
#[derive(Debug, Clone, Default)]
struct Piece {
    key: String,
    /// the numbers a piece given as numbers was made from (`Controls::h`, `Controls::drift`).
    given: Vec<f32>,
    h: Vec<f64>,
    z: Vec<f64>,
    /// c = Vᵀh of the piece, once the model has a spectrum (empty until then).
    c: Vec<f64>,
}

impl Piece {
    /// one full pass.
    fn new(model: &Model, key: String, h: Vec<f32>) -> Result<Self> {
        let z = model.unembedding().logits(&h)?;
        let mut p = Piece {
            key,
            given: Vec::new(),
            h: h.into_iter().map(f64::from).collect(),
            z,
            c: Vec::new(),
        };
        p.coords(model)?;
        Ok(p)
    }

    /// c = Vᵀh, when the model has a spectrum and c is not known yet.
    fn coords(&mut self, model: &Model) -> Result<()> {
        if let Some(sp) = &model.spectrum {
            if self.c.is_empty() && !self.h.is_empty() {
                let h: Vec<f32> = self.h.iter().map(|&x| x as f32).collect();
                self.c = sp.coords(&h)?;
            }
        }
        Ok(())
    }
}

/// which cached piece a [`Request`] fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Base,
    With,
    Noise,
    Dir(usize),
    Drift,
}

/// a piece the controls need whose h is known and whose logits are not computed yet
/// ([`Session::request`], [`Session::install`]).
#[derive(Debug, Clone)]
pub struct Request {
    slot: Slot,
    key: String,
    given: Vec<f32>,
    h: Vec<f32>,
}

impl Request {
    fn new(slot: Slot, key: String, given: Vec<f32>, h: Vec<f32>) -> Self {
        Request {
            slot,
            key,
            given,
            h,
        }
    }
    /// the vector whose logits the piece needs (f32, as the kernels take it).
    pub fn h(&self) -> &[f32] {
        &self.h
    }
}

/// h, z and c = Vᵀh summed from pieces.
struct Sum {
    h: Vec<f32>,
    z: Vec<f64>,
    coords: Vec<f64>,
}

/// what happens to δ in an update.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    /// the steps taken still follow from the controls.
    Keep,
    /// δ is dropped (fewer steps asked, a new drift, or no steps were taken).
    Restart,
    /// δ is added to the drift (a control it depends on changed after steps).
    Fold,
}

/// gradient steps replayed elsewhere (a Worker), to install with [`Session::adopt`]: δ, its
/// logits E·δ as they were summed step by step, and the loss before and after each step.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    pub steps: u32,
    pub h: Vec<f64>,
    pub z: Vec<f64>,
    pub loss: Vec<f64>,
}

/// the cached pieces and the current h and z.
#[derive(Debug, Default)]
pub struct Session {
    base: Piece,
    with: Option<Piece>,
    noise: Option<Piece>,
    /// v_k's piece, built when a coefficient first asks for it.
    dirs: Vec<Option<Piece>>,
    /// the folded offset of earlier steps (`Controls::drift`).
    drift: Option<Piece>,
    /// δ of the steps taken since the last fold.
    steps: Option<Piece>,
    steps_key: String,
    steps_done: u32,
    loss_history: Vec<f64>,
    h: Vec<f32>,
    z: Vec<f64>,
    /// c = Vᵀh for the current h (empty without a spectrum).
    coords: Vec<f64>,
    controls: Controls,
    /// whether an update has succeeded (before, the controls are the defaults, never shown).
    ready: bool,
}

impl Session {
    pub fn new() -> Self {
        Session::default()
    }

    pub fn h(&self) -> &[f32] {
        &self.h
    }
    pub fn z(&self) -> &[f64] {
        &self.z
    }
    /// the controls in force: after a fold, with the new drift and `steps` counted from it.
    pub fn controls(&self) -> &Controls {
        &self.controls
    }
    /// whether the session holds a state (an update has succeeded).
    pub fn ready(&self) -> bool {
        self.ready
    }
    /// L after each step taken (the first entry is the loss before any step).
    pub fn loss_history(&self) -> &[f64] {
        &self.loss_history
    }

    /// brings the caches up to date with `c`, recomputes h and z, and takes every gradient
    /// step `c` asks for.
    pub fn update(&mut self, model: &mut Model, c: &Controls) -> Result<()> {
        self.apply(model, c, u32::MAX).map(|_| ())
    }

    /// [`update`](Self::update), taking at most `max_new_steps` new gradient steps: when `c`
    /// asks for more, none is taken and the number `c` asks for is returned (0 otherwise), to
    /// be replayed elsewhere from the controls in force and installed with
    /// [`adopt`](Self::adopt). on an error nothing the view reads changes (h, z, δ, the
    /// drift, the controls in force), except that a step that fails leaves the steps before it.
    pub fn apply(&mut self, model: &mut Model, c: &Controls, max_new_steps: u32) -> Result<u32> {
        check(c)?;
        while self.prepare(model, c)? {}
        let key = trajectory_key(c);
        let plan = if !self.ready || c.drift != self.controls.drift {
            Plan::Restart
        } else if key != self.steps_key {
            if self.steps_done > 0 && c.steps >= self.steps_done {
                Plan::Fold
            } else {
                Plan::Restart
            }
        } else if c.steps < self.steps_done {
            Plan::Restart
        } else {
            Plan::Keep
        };
        let want = match plan {
            Plan::Fold => c.steps - self.steps_done,
            _ => c.steps,
        };
        let folded = match plan {
            Plan::Fold => Some(self.fold(model, None)?),
            _ => None,
        };
        self.fill_coords(model)?;
        let drift = match &folded {
            Some(p) => Some(p),
            None if c.drift.is_empty() => None,
            None => self.drift.as_ref(),
        };
        let steps = match plan {
            Plan::Keep => self.steps.as_ref(),
            _ => None,
        };
        let sum = self.sum(model, c, drift, steps)?;
        // commit.
        if plan != Plan::Keep {
            self.steps = None;
            self.steps_done = 0;
            self.loss_history.clear();
        }
        if folded.is_some() {
            self.drift = folded;
        } else if c.drift.is_empty() {
            self.drift = None;
        }
        self.steps_key = key;
        self.set(sum);
        self.controls = c.clone();
        self.controls.steps = self.steps_done;
        self.controls.drift = self.drift.as_ref().map_or(Vec::new(), |p| p.given.clone());
        self.ready = true;
        let target = match c.target.as_str() {
            "" => None,
            t => Some(model.vocab.find(t)?),
        };
        if let Some(t) = target {
            if self.loss_history.is_empty() {
                self.loss_history.push(self.loss(t, c.temperature)?);
            }
        }
        if want > self.steps_done {
            let Some(t) = target else {
                return Err(Error::Invalid("gradient steps need a target token".into()));
            };
            if want - self.steps_done > max_new_steps {
                return Ok(want);
            }
            while self.steps_done < want {
                self.step(model, t)?;
            }
        }
        Ok(0)
    }

    /// applies checked controls to a session that shows nothing yet (a link, an element), so
    /// that something is shown: when the values, each fine, together make h overflow, those
    /// that combine into h (scale, mix, noise, the offsets, the drift, the steps) take
    /// `defaults`' values, and if even that fails every setting does; each fallback is a
    /// problem in `checked`. returns what [`apply`](Self::apply) returns.
    pub fn start(
        &mut self,
        model: &mut Model,
        checked: &mut Checked,
        defaults: &Controls,
        max_new_steps: u32,
    ) -> Result<u32> {
        let tries = [
            None,
            Some(Controls {
                scale: defaults.scale,
                mix: defaults.mix,
                noise: defaults.noise,
                coeffs: defaults.coeffs.clone(),
                drift: defaults.drift.clone(),
                steps: defaults.steps,
                ..checked.controls.clone()
            }),
            Some(defaults.clone()),
        ];
        let mut last = Error::Invalid("nothing to apply".into());
        for (k, next) in tries.into_iter().enumerate() {
            if let Some(c) = next {
                checked.controls = c;
            }
            match self.apply(model, &checked.controls, max_new_steps) {
                Ok(n) => return Ok(n),
                // a step failed after the state was applied: it stays, with the steps before.
                Err(e) if self.ready => {
                    checked.problems.push(Problem::failed(e));
                    return Ok(0);
                }
                Err(e) => {
                    match k {
                        0 => checked.problems.push(Problem::together(e.clone())),
                        1 => checked.problems.push(Problem::whole(e.clone())),
                        _ => {}
                    }
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// builds the first piece `c` needs that is not cached (one full pass) and says whether
    /// there was one: a caller can spread a new state's passes over several tasks, then
    /// [`apply`](Self::apply) finds them cached. the same as [`request`](Self::request), the
    /// product here, then [`install`](Self::install).
    pub fn prepare(&mut self, model: &mut Model, c: &Controls) -> Result<bool> {
        let Some(r) = self.request(model, c)? else {
            return Ok(false);
        };
        // the pass is counted by install.
        let z = model
            .unembedding()
            .matrix()
            .matvec_precision(&r.h, Precision::Exact)?;
        self.install(model, r, z)?;
        Ok(true)
    }

    /// the first piece `c` needs that is not cached, as its h without its logits (no pass), or
    /// None when every piece is cached: the caller computes z = W_U·h where it likes (the page
    /// splits the rows between its thread and a Worker) and hands it to
    /// [`install`](Self::install). a base that cannot be resolved is an error here.
    pub fn request(&self, model: &mut Model, c: &Controls) -> Result<Option<Request>> {
        let n = model.n_vocab();
        if self.base.key != c.base || self.base.given != c.h || self.base.z.len() != n {
            let h = if c.h.is_empty() {
                resolve(model, &c.base)?
            } else {
                given(model, &c.h)?
            };
            return Ok(Some(Request::new(
                Slot::Base,
                c.base.clone(),
                c.h.clone(),
                h,
            )));
        }
        if !c.mix_with.is_empty() && self.with.as_ref().is_none_or(|p| p.key != c.mix_with) {
            let v = model.token_vector(model.vocab.find(&c.mix_with)?)?;
            return Ok(Some(Request::new(
                Slot::With,
                c.mix_with.clone(),
                Vec::new(),
                v,
            )));
        }
        // the noise piece stays cached while noise is 0, so dragging through 0 costs nothing.
        let key = c.seed.to_string();
        if c.noise != 0.0 && self.noise.as_ref().is_none_or(|p| p.key != key) {
            let n = hidden::gaussian(model.d(), c.seed)
                .into_iter()
                .map(|x| x as f32)
                .collect();
            return Ok(Some(Request::new(Slot::Noise, key, Vec::new(), n)));
        }
        let asked = c.coeffs.len().min(N_DIRECTIONS);
        if c.coeffs[..asked].iter().any(|&a| a != 0.0) {
            let s = model.ensure_spectrum(&mut |_| true)?;
            let missing = (0..asked.min(s.v.ncols()))
                .find(|&k| c.coeffs[k] != 0.0 && self.dirs.get(k).is_none_or(Option::is_none));
            if let Some(k) = missing {
                let v: Vec<f32> = s.v.column(k).iter().map(|&x| x as f32).collect();
                return Ok(Some(Request::new(
                    Slot::Dir(k),
                    format!("v{k}"),
                    Vec::new(),
                    v,
                )));
            }
        }
        if !c.drift.is_empty() && self.drift.as_ref().is_none_or(|p| p.given != c.drift) {
            let h = given(model, &c.drift)?;
            return Ok(Some(Request::new(Slot::Drift, String::new(), h.clone(), h)));
        }
        Ok(None)
    }

    /// caches the piece `r` asked for with its logits `z` = W_U·h (every row of the
    /// vocabulary, as the exact kernel gives them: a product split by rows gives the same
    /// bits). counts the pass. a z of the wrong length or with a non-finite value is an error
    /// and caches nothing.
    pub fn install(&mut self, model: &Model, r: Request, z: Vec<f64>) -> Result<()> {
        let n = model.n_vocab();
        if z.len() != n {
            return Err(Error::Shape(format!(
                "{} logits for a vocabulary of {n}",
                z.len()
            )));
        }
        if let Some(i) = z.iter().position(|x| !x.is_finite()) {
            return Err(Error::Invalid(format!("logit {i} is {}", z[i])));
        }
        model.unembedding().count_pass();
        let mut p = Piece {
            key: r.key,
            given: r.given,
            h: r.h.into_iter().map(f64::from).collect(),
            z,
            c: Vec::new(),
        };
        p.coords(model)?;
        match r.slot {
            Slot::Base => self.base = p,
            Slot::With => self.with = Some(p),
            Slot::Noise => self.noise = Some(p),
            Slot::Dir(k) => {
                if self.dirs.len() <= k {
                    self.dirs.resize(k + 1, None);
                }
                self.dirs[k] = Some(p);
            }
            Slot::Drift => self.drift = Some(p),
        }
        Ok(())
    }

    /// builds, one full pass per call, a piece that a slider not moved yet would need: the
    /// noise at the current seed, then the singular directions (only when the model has its
    /// spectrum already: this never computes one). what is shown does not change; false when
    /// nothing is left to build. for idle time, so that the first step of those sliders costs
    /// no pass (at 262,144 tokens a pass is a frame).
    pub fn warm(&mut self, model: &mut Model) -> Result<bool> {
        if !self.ready {
            return Ok(false);
        }
        let mut c = self.controls.clone();
        if c.noise == 0.0 {
            c.noise = 1.0;
        }
        let on = if model.spectrum.is_some() { 1.0 } else { 0.0 };
        c.coeffs = vec![on; N_DIRECTIONS];
        self.prepare(model, &c)
    }

    /// the drift in force plus δ (plus `more`), as a new drift piece (one pass).
    fn fold(&self, model: &Model, more: Option<&[f64]>) -> Result<Piece> {
        let mut h = vec![0f64; model.d()];
        let parts = self.drift.iter().chain(self.steps.iter()).map(|p| &p.h[..]);
        for part in parts.chain(more) {
            for (a, &x) in h.iter_mut().zip(part) {
                *a += x;
            }
        }
        let f: Vec<f32> = h.iter().map(|&x| x as f32).collect();
        if let Some(j) = f.iter().position(|x| !x.is_finite()) {
            return Err(Error::Invalid(format!(
                "the steps' offset of h is too large to keep (drift[{j}] = {})",
                h[j]
            )));
        }
        drift_piece(model, f)
    }

    fn loss(&self, target: u32, t: f64) -> Result<f64> {
        Ok(Softmax::new(&self.z, t)?.loss(&self.z, target as usize))
    }

    /// one step of gradient descent on L = −log p_target: δ ← δ − lr·∇_h L (two passes: the
    /// gradient's Σ p_i w_i, and W_U·δh to keep z in step with h). a step that would make h
    /// overflow is refused and changes nothing.
    fn step(&mut self, model: &Model, target: u32) -> Result<()> {
        let c = &self.controls;
        let sm = Softmax::new(&self.z, c.temperature)?;
        let g = Gradient::new(model, &sm, &self.z, target)?;
        let dh: Vec<f32> = g.grad.iter().map(|&x| (-c.lr * x as f64) as f32).collect();
        if let Some(j) = dh.iter().position(|x| !x.is_finite()) {
            return Err(Error::Invalid(format!(
                "step {}: the step along h[{j}] is too large (lr·∇L overflows)",
                self.steps_done + 1
            )));
        }
        let dz = model.unembedding().logits(&dh)?;
        let mut next = self.steps.clone().unwrap_or_else(|| Piece {
            h: vec![0.0; model.d()],
            z: vec![0.0; dz.len()],
            ..Piece::default()
        });
        for (s, &x) in next.h.iter_mut().zip(&dh) {
            *s += x as f64;
        }
        for (s, &x) in next.z.iter_mut().zip(&dz) {
            *s += x;
        }
        next.c.clear();
        next.coords(model)?;
        let sum = self.sum(model, &self.controls, self.drift.as_ref(), Some(&next))?;
        self.steps = Some(next);
        self.steps_done += 1;
        self.controls.steps = self.steps_done;
        self.set(sum);
        let t = self.controls.temperature;
        self.loss_history.push(self.loss(target, t)?);
        Ok(())
    }

    /// replays the `c.steps` gradient steps of `c` from the state the other controls describe
    /// (what a Worker runs for a link), calling `progress(k)` after step k (false stops).
    pub fn replay(
        &mut self,
        model: &mut Model,
        c: &Controls,
        progress: &mut dyn FnMut(u32) -> bool,
    ) -> Result<Replayed> {
        if c.steps == 0 {
            return Err(Error::Invalid("no gradient steps to replay".into()));
        }
        let start = Controls {
            steps: 0,
            ..c.clone()
        };
        self.apply(model, &start, 0)?;
        let target = match c.target.as_str() {
            "" => return Err(Error::Invalid("gradient steps need a target token".into())),
            t => model.vocab.find(t)?,
        };
        for k in 1..=c.steps {
            self.step(model, target)?;
            if !progress(k) {
                return Err(Error::Cancelled);
            }
        }
        let p = self.steps.as_ref().expect("steps were taken");
        Ok(Replayed {
            steps: c.steps,
            h: p.h.clone(),
            z: p.z.clone(),
            loss: self.loss_history.clone(),
        })
    }

    /// installs steps replayed from `from` (the controls in force when the replay began, with
    /// the number of steps): as δ when the controls are still those, else folded into the
    /// drift as a change after steps would fold them (one pass). refused when the drift
    /// changed meanwhile (a Reset or another link: the steps no longer belong here).
    pub fn adopt(&mut self, model: &Model, from: &Controls, r: Replayed) -> Result<()> {
        let (d, n) = (model.d(), model.n_vocab());
        if r.steps == 0
            || r.steps > MAX_STEPS
            || r.h.len() != d
            || r.z.len() != n
            || r.loss.len() != r.steps as usize + 1
        {
            return Err(Error::Shape(format!(
                "the replayed steps do not fit this model ({} steps, {} and {} numbers, {} losses)",
                r.steps,
                r.h.len(),
                r.z.len(),
                r.loss.len()
            )));
        }
        if r.h.iter().chain(&r.z).any(|x| !x.is_finite()) || r.loss.iter().any(|x| x.is_nan()) {
            return Err(Error::Invalid(
                "the replayed steps hold a non-finite number".into(),
            ));
        }
        if !self.ready || from.drift != self.controls.drift {
            return Err(Error::Invalid(
                "the replayed steps were taken from another state; they no longer apply".into(),
            ));
        }
        if trajectory_key(from) == self.steps_key && self.steps_done == 0 {
            let mut piece = Piece {
                h: r.h,
                z: r.z,
                ..Piece::default()
            };
            piece.coords(model)?;
            let sum = self.sum(model, &self.controls, self.drift.as_ref(), Some(&piece))?;
            self.steps = Some(piece);
            self.steps_done = r.steps;
            self.controls.steps = r.steps;
            self.loss_history = r.loss;
            self.set(sum);
            return Ok(());
        }
        // the controls moved on while the steps were replayed.
        let folded = self.fold(model, Some(&r.h))?;
        let sum = self.sum(model, &self.controls, Some(&folded), None)?;
        self.controls.drift = folded.given.clone();
        self.drift = Some(folded);
        self.steps = None;
        self.steps_done = 0;
        self.controls.steps = 0;
        self.set(sum);
        self.loss_history.clear();
        if let Ok(t) = model.vocab.find(&self.controls.target) {
            if !self.controls.target.is_empty() {
                let l = self.loss(t, self.controls.temperature)?;
                self.loss_history.push(l);
            }
        }
        Ok(())
    }

    fn set(&mut self, s: Sum) {
        self.h = s.h;
        self.z = s.z;
        self.coords = s.coords;
    }

    /// c = Vᵀh of every cached piece that lacks it (the spectrum may have arrived since).
    fn fill_coords(&mut self, model: &Model) -> Result<()> {
        if model.spectrum.is_none() {
            return Ok(());
        }
        let pieces = std::iter::once(&mut self.base)
            .chain(self.with.iter_mut())
            .chain(self.noise.iter_mut())
            .chain(self.dirs.iter_mut().flatten())
            .chain(self.drift.iter_mut())
            .chain(self.steps.iter_mut());
        for p in pieces {
            p.coords(model)?;
        }
        Ok(())
    }

    /// h, z and c from the cached pieces for `c`, with `drift` and `steps` as given.
    fn sum(
        &self,
        model: &Model,
        c: &Controls,
        drift: Option<&Piece>,
        steps: Option<&Piece>,
    ) -> Result<Sum> {
        let n = model.n_vocab();
        let d = model.d();
        let with = self.with.as_ref().filter(|_| !c.mix_with.is_empty());
        let (keep, t) = match with {
            Some(_) => (1.0 - c.mix, c.mix),
            None => (1.0, 0.0),
        };
        let mut terms: Vec<(f64, &Piece)> = vec![(c.scale * keep, &self.base)];
        if let Some(w) = with {
            terms.push((c.scale * t, w));
        }
        if let Some(p) = self.noise.as_ref().filter(|_| c.noise != 0.0) {
            terms.push((c.noise, p));
        }
        for (a, p) in c.coeffs.iter().zip(&self.dirs) {
            if let (true, Some(p)) = (*a != 0.0, p) {
                terms.push((*a, p));
            }
        }
        terms.extend(drift.map(|p| (1.0, p)));
        terms.extend(steps.map(|p| (1.0, p)));
        let mut h = vec![0f64; d];
        let mut z = vec![0f64; n];
        let with_c = model.spectrum.is_some() && terms.iter().all(|(_, p)| p.c.len() == d);
        let mut coords = vec![0f64; if with_c { d } else { 0 }];
        for &(w, p) in &terms {
            for (a, &x) in h.iter_mut().zip(&p.h) {
                *a += w * x;
            }
            for (a, &x) in coords.iter_mut().zip(&p.c) {
                *a += w * x;
            }
        }
        // z block by block, every term into a block while it is in cache (the same additions
        // in the same order as term by term over the whole vector, so the same bits): one
        // write of z instead of one per term, at 262,144 tokens the larger part of a step.
        const B: usize = 2048;
        for (b, zb) in z.chunks_mut(B).enumerate() {
            let at = b * B;
            for &(w, p) in &terms {
                let Some(pz) = p.z.get(at..at + zb.len()) else {
                    continue;
                };
                for (a, &x) in zb.iter_mut().zip(pz) {
                    *a += w * x;
                }
            }
        }
        if let Some(j) = h
            .iter()
            .position(|x| x.is_nan() || x.abs() >= f32::MAX as f64)
        {
            return Err(Error::Invalid(format!("h[{j}] is too large")));
        }
        Ok(Sum {
            h: h.into_iter().map(|x| x as f32).collect(),
            z,
            coords,
        })
    }

    /// everything the page shows for the current state, and the scores of every token (the
    /// scatter and hover read them).
    pub fn view(&self, model: &Model) -> Result<(View, Scores)> {
        self.view_with(model, false)
    }

    /// [`Session::view`], leaving a target's gradient for later when `defer_gradient`
    /// (`Readout::deferred`; [`Readout::add_gradient`] computes it from the same scores).
    pub fn view_with(&self, model: &Model, defer_gradient: bool) -> Result<(View, Scores)> {
        let c = &self.controls;
        let scores = Scores::new(model, &self.h, self.z.clone(), c.temperature)?;
        let target = match c.target.as_str() {
            "" => None,
            t => Some(model.vocab.find(t)?),
        };
        let opts = ReadoutOptions {
            temperature: c.temperature,
            top: c.top,
            ranked_by: Ranking::Logit,
            cosine_top: c.top,
            target,
        };
        let readout = if defer_gradient {
            Readout::deferred(model, &scores, &opts)?
        } else {
            Readout::new(model, &scores, &opts, None)?
        };
        let coords = match &model.spectrum {
            Some(_) if self.coords.len() == self.h.len() => self.coords.clone(),
            Some(s) => s.coords(&self.h)?,
            None => Vec::new(),
        };
        let contributions = match &model.spectrum {
            Some(s) => s.contributions(&coords),
            None => Vec::new(),
        };
        let drift_norm = self
            .drift
            .as_ref()
            .map_or(0.0, |p| p.h.iter().map(|x| x * x).sum::<f64>().sqrt());
        let view = View {
            readout,
            coords: coords.into_iter().take(64).collect(),
            contributions,
            loss_history: self
                .loss_history
                .iter()
                .map(|&l| Loss::from_f64(l))
                .collect(),
            drift_norm,
        };
        Ok((view, scores))
    }
}

/// the largest matrix (rows × d) whose target gradient a slider step computes at once. the
/// gradient's transposed pass runs at about 4.2 GMAC/s in wasm (simd128: 6.8 and 39.9 ms,
/// `two_*_target_gradient_median_of_7_ms` of `bench/two_models_chromium.mjs`): inside a step
/// it took SmolLM2's (49,152 × 576) p95 from 6 to 16–19 ms and Gemma 3's (262,144 × 640) to
/// 49 ms, so above this size (about 2 ms of pass) the page computes it once h stops changing.
pub const INLINE_GRADIENT_MACS: usize = 8_000_000;

/// whether a slider step on this model leaves the target's gradient for later
/// ([`INLINE_GRADIENT_MACS`]).
pub fn defers_gradient(model: &Model) -> bool {
    let m = model.unembedding().matrix();
    m.rows() * m.cols() > INLINE_GRADIENT_MACS
}

/// the controls δ depends on: all but `steps`, `top` and the drift itself.
fn trajectory_key(c: &Controls) -> String {
    let rest = Controls {
        steps: 0,
        top: 0,
        drift: Vec::new(),
        ..c.clone()
    };
    serde_json::to_string(&rest).unwrap_or_default()
}

/// a drift given as numbers, as its piece (one pass).
fn drift_piece(model: &Model, drift: Vec<f32>) -> Result<Piece> {
    let mut p = Piece::new(model, String::new(), drift.clone())?;
    p.given = drift;
    Ok(p)
}

fn check(c: &Controls) -> Result<()> {
    for (name, v) in [
        ("mix", c.mix),
        ("scale", c.scale),
        ("noise", c.noise),
        ("temperature", c.temperature),
        ("learning rate", c.lr),
    ] {
        finite(name, v)?;
    }
    if c.noise < 0.0 || c.temperature < 0.0 || c.lr < 0.0 {
        return Err(Error::Invalid(
            "noise, temperature and the learning rate must be ≥ 0".into(),
        ));
    }
    if let Some(a) = c.coeffs.iter().find(|a| !a.is_finite()) {
        return Err(Error::Invalid(format!("a coefficient is {a}")));
    }
    if c.steps > MAX_STEPS {
        return Err(Error::Invalid(format!(
            "at most {MAX_STEPS} gradient steps"
        )));
    }
    if c.top > MAX_TOP {
        return Err(Error::Invalid(format!(
            "at most {MAX_TOP} rows in the tables"
        )));
    }
    Ok(())
}

/// numbers given for h or the drift: d finite values.
fn given(model: &Model, h: &[f32]) -> Result<Vec<f32>> {
    if h.len() != model.d() {
        return Err(Error::Shape(format!(
            "h has {} components, the model has d = {}",
            h.len(),
            model.d()
        )));
    }
    if let Some(j) = h.iter().position(|x| !x.is_finite()) {
        return Err(Error::Invalid(format!("h[{j}] is {}", h[j])));
    }
    Ok(h.to_vec())
}

/// the base of h: a token's exact text or `#id` first, else an expression.
pub fn resolve(model: &Model, s: &str) -> Result<Vec<f32>> {
    match model.vocab.find(s) {
        Ok(id) => model.token_vector(id),
        Err(not_found) => hidden::eval_expr(model, s).map_err(|e| match e {
            // a single unknown word: the token message is the clearer one.
            Error::NotFound(_) | Error::UnknownToken { .. } if !s.trim().contains(' ') => not_found,
            other => other,
        }),
    }
}

/// what the page shows for one state: the readout of h (top tokens by logit and by cosine
/// with both ranks, the softmax's summaries, the target), h in the singular basis, and the
/// loss after each gradient step.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    #[serde(flatten)]
    pub readout: Readout,
    /// c = Vᵀh (first 64) and σ_k·c_k (all).
    pub coords: Vec<f64>,
    pub contributions: Vec<f64>,
    pub loss_history: Vec<Loss>,
    /// ‖drift‖: how far earlier, folded steps moved h (0 when there is no drift).
    pub drift_norm: f64,
}

impl View {
    /// the top-k table as CSV (fields quoted; a leading = + - @ is defused for spreadsheets).
    pub fn csv(&self) -> String {
        let mut out = String::from("rank,id,token,text,logit,p,norm,cos,cos_rank\n");
        for (k, e) in self.readout.top.iter().enumerate() {
            out += &format!(
                "{},{},{},{},{},{},{},{},{}\n",
                k + 1,
                e.id,
                csv_field(&vocab::escaped(&e.token)),
                csv_field(&vocab::escaped(&e.text)),
                e.logit,
                e.prob,
                e.norm,
                e.cos,
                e.cos_rank
            );
        }
        out
    }
}

fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses() {
        assert_eq!(csv_field(" Paris"), "\" Paris\"");
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
    }
    use crate::core::fixtures::tiny_model;
    use crate::core::query::{hidden_state, QuerySpec};

    #[test]
    fn pieces_installed_from_a_split_product_are_prepares_bits() {
        let c = Controls {
            base: "king - man + woman".into(),
            mix_with: " t9".into(),
            mix: 0.3,
            scale: 1.7,
            noise: 0.05,
            seed: 4,
            coeffs: vec![0.5, 0.0, -1.0],
            drift: vec![0.25; 64],
            ..Default::default()
        };
        // every piece by prepare, one pass each.
        let mut m1 = tiny_model(70, 64);
        let mut s1 = Session::new();
        let mut built = 0;
        while s1.prepare(&mut m1, &c).unwrap() {
            built += 1;
        }
        assert_eq!(built, 6, "base, mix, noise, two directions, drift");
        s1.update(&mut m1, &c).unwrap();
        // the same pieces, each product split at a different row: a head here, the rest from
        // a matrix of the other rows (as a Worker holds them).
        let mut m2 = tiny_model(70, 64);
        let mut s2 = Session::new();
        let before = m2.unembedding().passes();
        let mut k = 0;
        while let Some(r) = s2.request(&mut m2, &c).unwrap() {
            let e = m2.unembedding().matrix();
            let split = [0, 1, 33, 69, 70, 35][k % 6];
            let mut z = e.matvec_head(r.h(), split, Precision::Exact).unwrap();
            let (d, nb) = (e.cols(), e.nb());
            let rest = crate::core::quant::matrix::Q8Matrix::from_parts(
                70 - split,
                d,
                e.scales()[split * nb..].to_vec(),
                e.quants()[split * d..].to_vec(),
            );
            if let Ok(rest) = rest {
                z.extend(rest.matvec_precision(r.h(), Precision::Exact).unwrap());
            }
            assert_eq!(z.len(), 70);
            // a wrong length or a NaN is refused and caches nothing.
            let mut bad = z.clone();
            bad.pop();
            assert!(s2.install(&m2, r.clone(), bad).is_err());
            let mut bad = z.clone();
            bad[3] = f64::NAN;
            assert!(s2.install(&m2, r.clone(), bad).is_err());
            s2.install(&m2, r, z).unwrap();
            k += 1;
        }
        assert_eq!(k, built);
        assert_eq!(
            m2.unembedding().passes() - before,
            built,
            "one pass per piece"
        );
        s2.update(&mut m2, &c).unwrap();
        assert_eq!(m1.unembedding().passes(), m2.unembedding().passes());
        assert_eq!(s1.z(), s2.z(), "the same bits");
        assert_eq!(s1.h(), s2.h());
    }

    #[test]
    fn cached_logits_match_a_full_product() {
        let mut m = tiny_model(60, 64);
        let mut s = Session::new();
        let c = Controls {
            base: "king - man + woman".into(),
            mix_with: " t9".into(),
            mix: 0.3,
            scale: 1.7,
            noise: 0.05,
            seed: 4,
            coeffs: vec![0.5, -0.25, 0.0, 1.0],
            ..Default::default()
        };
        s.update(&mut m, &c).unwrap();
        let z = m.unembedding().logits(s.h()).unwrap();
        for (a, b) in s.z().iter().zip(&z) {
            assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()), "{a} {b}");
        }
        // c = Vᵀh, summed from the pieces, matches a direct product.
        let direct = m.spectrum.as_ref().unwrap().coords(s.h()).unwrap();
        let (v, _) = s.view(&m).unwrap();
        for (a, b) in v.coords.iter().zip(&direct) {
            assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()), "{a} {b}");
        }
        // the same h as the CLI builds from the same controls (without the coefficients).
        let q = QuerySpec {
            expr: Some(c.base.clone()),
            mix_with: Some(c.mix_with.clone()),
            mix: Some(c.mix),
            scale: Some(c.scale),
            noise: Some(c.noise),
            seed: Some(c.seed),
            ..Default::default()
        };
        let want = hidden_state(&m, &q).unwrap();
        let mut s2 = Session::new();
        s2.update(
            &mut m,
            &Controls {
                coeffs: vec![],
                ..c.clone()
            },
        )
        .unwrap();
        for (a, b) in s2.h().iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
    }

    #[test]
    fn warming_builds_the_sliders_pieces_and_changes_nothing_shown() {
        let mut m = tiny_model(40, 64);
        let mut s = Session::new();
        let mut c = Controls {
            base: " king".into(),
            coeffs: vec![0.0; 8],
            ..Default::default()
        };
        let passes = |m: &Model| m.unembedding().passes();
        // nothing to warm before a state is shown.
        assert!(!s.warm(&mut m).unwrap());
        s.update(&mut m, &c).unwrap();
        let (z, h) = (s.z().to_vec(), s.h().to_vec());
        // without a spectrum: the noise only, and no spectrum is computed.
        let p0 = passes(&m);
        while s.warm(&mut m).unwrap() {}
        assert_eq!(passes(&m), p0 + 1);
        assert!(m.spectrum.is_none());
        assert_eq!((s.z(), s.h()), (&z[..], &h[..]));
        // with one: the eight directions too; then moving those sliders costs no pass.
        m.ensure_spectrum(&mut |_| true).unwrap();
        while s.warm(&mut m).unwrap() {}
        assert_eq!(passes(&m), p0 + 1 + 8);
        assert!(!s.warm(&mut m).unwrap());
        let warmed = passes(&m);
        c.noise = 0.2;
        c.coeffs = (0..8).map(|k| 0.1 * k as f64 + 0.1).collect();
        s.update(&mut m, &c).unwrap();
        assert_eq!(passes(&m), warmed);
        // and the result is what a session that never warmed computes.
        let mut cold = Session::new();
        cold.update(&mut m, &c).unwrap();
        assert_eq!(s.z(), cold.z());
        assert_eq!(s.h(), cold.h());
    }

    #[test]
    fn sliders_reuse_the_cached_products() {
        let mut m = tiny_model(40, 64);
        m.ensure_spectrum(&mut |_| true).unwrap();
        let mut s = Session::new();
        let mut c = Controls {
            base: " king".into(),
            mix_with: " man".into(),
            noise: 0.1,
            coeffs: vec![0.0; 8],
            ..Default::default()
        };
        let passes = |m: &Model| m.unembedding().passes();
        s.update(&mut m, &c).unwrap();
        s.view(&m).unwrap();
        // base, mix token, noise: one pass each; a direction's piece waits for its coefficient.
        assert_eq!(passes(&m), 3);
        for k in 0..20 {
            c.mix = k as f64 / 20.0;
            c.scale = 1.0 + k as f64 / 10.0;
            c.temperature = 0.5 + k as f64 / 10.0;
            c.noise = 0.01 * k as f64;
            c.coeffs[k % 8] = k as f64 / 7.0;
            c.top = 5 + k % 3;
            s.update(&mut m, &c).unwrap();
            s.view(&m).unwrap();
        }
        // the eight directions, once each as their coefficient first left 0.
        assert_eq!(passes(&m), 3 + 8);
        // a target at T > 0 costs one transposed pass per view, and each step two.
        c.target = " woman".into();
        s.update(&mut m, &c).unwrap();
        let before = passes(&m);
        s.view(&m).unwrap();
        assert_eq!(passes(&m), before + 1);
        c.steps = 3;
        s.update(&mut m, &c).unwrap();
        assert_eq!(passes(&m), before + 1 + 2 * 3);
        c.temperature = 0.0;
        c.steps = 0;
        c.drift = Vec::new();
        s.update(&mut m, &c).unwrap();
        let before = passes(&m);
        s.view(&m).unwrap();
        assert_eq!(passes(&m), before, "no gradient at T = 0");
    }

    /// a slider move after N steps costs what it costs after one: one pass to fold δ into the
    /// drift, whatever N, and none after that.
    #[test]
    fn a_change_after_steps_costs_one_pass_whatever_the_steps() {
        let mut m = tiny_model(50, 64);
        let mut cost = Vec::new();
        for n in [1, 40] {
            let mut s = Session::new();
            let mut c = Controls {
                base: " king".into(),
                target: " woman".into(),
                lr: 0.2,
                ..Default::default()
            };
            s.update(&mut m, &c).unwrap();
            for k in 1..=n {
                c.steps = k;
                assert_eq!(s.apply(&mut m, &c, 1).unwrap(), 0);
            }
            let h = s.h().to_vec();
            let before = m.unembedding().passes();
            c.temperature = 0.8;
            s.update(&mut m, &c).unwrap();
            let first = m.unembedding().passes() - before;
            let before = m.unembedding().passes();
            for t in [0.7, 0.6, 0.5] {
                c = s.controls().clone();
                c.temperature = t;
                c.scale = 1.0 + t;
                s.update(&mut m, &c).unwrap();
            }
            cost.push((first, m.unembedding().passes() - before));
            // the fold kept h where the steps took it (to f32 rounding of the offset).
            let s2 = s.controls().clone();
            assert_eq!(s2.steps, 0);
            assert_eq!(s2.drift.len(), 64);
            let mut back = Session::new();
            back.update(
                &mut m,
                &Controls {
                    temperature: 0.8,
                    scale: 1.0,
                    ..s2.clone()
                },
            )
            .unwrap();
            for (a, b) in back.h().iter().zip(&h) {
                assert!((a - b).abs() < 1e-6 * (1.0 + b.abs()), "{a} {b}");
            }
            assert_eq!(s.view(&m).unwrap().0.loss_history.len(), 1);
        }
        assert_eq!(cost, vec![(1, 0), (1, 0)]);
    }

    /// the URL (the controls in force) reproduces a folded state bit for bit.
    #[test]
    fn the_controls_in_force_reproduce_the_state_exactly() {
        let mut m = tiny_model(50, 64);
        let mut s = Session::new();
        let mut c = Controls {
            base: " king".into(),
            target: " woman".into(),
            steps: 4,
            ..Default::default()
        };
        s.update(&mut m, &c).unwrap();
        c.mix_with = " man".into();
        c.mix = 0.3;
        s.update(&mut m, &c).unwrap();
        c = s.controls().clone();
        c.steps = 2;
        s.update(&mut m, &c).unwrap();
        let url = serde_json::to_string(s.controls()).unwrap();
        let d = Controls::default();
        let back = crate::core::controls::parse(&url, crate::core::controls::Origin::Link, &d, &d);
        assert_eq!(back.problems, vec![]);
        let mut s2 = Session::new();
        s2.update(&mut m, &back.controls).unwrap();
        assert_eq!(s.h(), s2.h());
        assert_eq!(s.z(), s2.z());
        assert_eq!(s.loss_history(), s2.loss_history());
        // Reset (no steps, no drift) is the way back to the undisturbed h.
        let mut plain = Session::new();
        let reset = Controls {
            steps: 0,
            drift: Vec::new(),
            ..s.controls().clone()
        };
        plain.update(&mut m, &reset).unwrap();
        s.update(&mut m, &reset).unwrap();
        assert_eq!(s.h(), plain.h());
    }

    /// steps replayed in another session (a Worker) and adopted are the steps taken one by one.
    #[test]
    fn replayed_steps_are_the_steps_taken_one_by_one() {
        let mut m = tiny_model(50, 64);
        let c = Controls {
            base: " king".into(),
            target: " woman".into(),
            noise: 0.05,
            lr: 0.3,
            steps: 6,
            ..Default::default()
        };
        let mut one_by_one = Session::new();
        for k in 0..=6 {
            one_by_one
                .apply(
                    &mut m,
                    &Controls {
                        steps: k,
                        ..c.clone()
                    },
                    1,
                )
                .unwrap();
        }
        let mut page = Session::new();
        assert_eq!(
            page.apply(&mut m, &c, 1).unwrap(),
            6,
            "more than one step waits"
        );
        assert_eq!(page.controls().steps, 0);
        let from = Controls {
            steps: 0,
            ..page.controls().clone()
        };
        let mut seen = Vec::new();
        let r = Session::new()
            .replay(&mut m, &c, &mut |k| {
                seen.push(k);
                true
            })
            .unwrap();
        assert_eq!(seen, (1..=6).collect::<Vec<_>>());
        let before = m.unembedding().passes();
        page.adopt(&m, &from, r.clone()).unwrap();
        assert_eq!(m.unembedding().passes(), before, "adopting costs no pass");
        assert_eq!(page.h(), one_by_one.h());
        assert_eq!(page.z(), one_by_one.z());
        assert_eq!(page.loss_history(), one_by_one.loss_history());
        assert_eq!(page.controls(), one_by_one.controls());
        // cancelled midway.
        let mut stop = |k: u32| k < 3;
        assert_eq!(
            Session::new().replay(&mut m, &c, &mut stop).unwrap_err(),
            Error::Cancelled
        );
        // the controls moved while the steps were replayed: they are folded in, as a change
        // after steps would fold them.
        let mut moved = Session::new();
        moved.apply(&mut m, &c, 1).unwrap();
        let t = Controls {
            temperature: 0.6,
            steps: 0,
            ..moved.controls().clone()
        };
        moved.update(&mut m, &t).unwrap();
        moved.adopt(&m, &from, r.clone()).unwrap();
        assert_eq!(moved.controls().steps, 0);
        assert_eq!(moved.controls().drift.len(), 64);
        // another drift meanwhile (Reset after steps, another link): refused.
        let mut other = Session::new();
        other
            .update(
                &mut m,
                &Controls {
                    drift: vec![0.01; 64],
                    steps: 0,
                    ..c.clone()
                },
            )
            .unwrap();
        assert!(other.adopt(&m, &from, r.clone()).is_err());
        // and numbers that do not fit.
        let mut bad = r.clone();
        bad.z.pop();
        assert!(page.adopt(&m, &from, bad).is_err());
        let mut bad = r;
        bad.h[3] = f64::NAN;
        assert!(page.adopt(&m, &from, bad).is_err());
    }

    /// an update that fails (h would overflow) leaves what the view reads as it was.
    #[test]
    fn a_failed_update_changes_nothing() {
        let mut m = tiny_model(40, 64);
        let mut s = Session::new();
        let c = Controls {
            base: " king".into(),
            target: " woman".into(),
            steps: 2,
            ..Default::default()
        };
        s.update(&mut m, &c).unwrap();
        let (h, z, controls) = (s.h().to_vec(), s.z().to_vec(), s.controls().clone());
        let bad = Controls {
            scale: 1e300,
            ..c.clone()
        };
        assert!(s.update(&mut m, &bad).is_err());
        assert_eq!((s.h(), s.z(), s.controls()), (&h[..], &z[..], &controls));
        s.view(&m).unwrap();
        // a step that overflows is refused; the steps before it stay.
        let mut s = Session::new();
        let c = Controls { lr: 1e300, ..c };
        s.update(
            &mut m,
            &Controls {
                steps: 0,
                ..c.clone()
            },
        )
        .unwrap();
        let h = s.h().to_vec();
        let e = s.update(&mut m, &c).unwrap_err();
        assert!(e.to_string().contains("step 1:"), "{e}");
        assert_eq!((s.h(), s.controls().steps), (&h[..], 0));
        s.view(&m).unwrap();
    }

    #[test]
    fn a_given_h_is_the_base() {
        let mut m = tiny_model(40, 64);
        let mut s = Session::new();
        let v5 = m.token_vector(5).unwrap();
        let c = Controls {
            base: "layer 3".into(),
            h: v5.clone(),
            ..Default::default()
        };
        s.update(&mut m, &c).unwrap();
        assert_eq!(s.h(), &v5[..]);
        for bad in [vec![0.5; 63], {
            let mut h = v5.clone();
            h[7] = f32::NAN;
            h
        }] {
            let c = Controls {
                h: bad,
                ..c.clone()
            };
            assert!(s.update(&mut m, &c).is_err());
        }
    }

    #[test]
    fn coefficient_offsets_move_h_along_singular_directions() {
        let mut m = tiny_model(40, 64);
        m.ensure_spectrum(&mut |_| true).unwrap();
        let mut s = Session::new();
        let c = Controls {
            base: " king".into(),
            ..Default::default()
        };
        s.update(&mut m, &c).unwrap();
        let c0 = s.view(&m).unwrap().0.coords;
        let c2 = Controls {
            coeffs: vec![0.0, 0.75],
            ..c
        };
        s.update(&mut m, &c2).unwrap();
        let c1 = s.view(&m).unwrap().0.coords;
        assert!((c1[1] - c0[1] - 0.75).abs() < 1e-5);
        assert!((c1[0] - c0[0]).abs() < 1e-5 && (c1[2] - c0[2]).abs() < 1e-5);
    }

    #[test]
    fn gradient_steps_raise_the_target_and_replay() {
        let mut m = tiny_model(50, 64);
        let mut s = Session::new();
        let mut c = Controls {
            base: " king".into(),
            target: " woman".into(),
            lr: 0.5,
            ..Default::default()
        };
        s.update(&mut m, &c).unwrap();
        let p0 = s.view(&m).unwrap().0.readout.target.unwrap().entry.prob;
        c.steps = 5;
        s.update(&mut m, &c).unwrap();
        let (v, _) = s.view(&m).unwrap();
        let p5 = v.readout.target.as_ref().unwrap().entry.prob;
        assert!(p5 > p0, "{p0} → {p5}");
        assert_eq!(v.loss_history.len(), 6);
        assert!(v
            .loss_history
            .windows(2)
            .all(|w| w[1].value() <= w[0].value() + 1e-9));
        // a fresh session with the same controls lands on the same h.
        let mut s2 = Session::new();
        s2.update(&mut m, &c).unwrap();
        assert_eq!(s.h(), s2.h());
        // changing the temperature keeps h where the steps took it: δ is folded into the
        // drift, the steps count from there, and the loss history starts again.
        c.temperature = 0.7;
        s.update(&mut m, &c).unwrap();
        assert_eq!(s.loss_history().len(), 1);
        assert_eq!(s.controls().steps, 0);
        assert!(s.view(&m).unwrap().0.drift_norm > 0.0);
    }

    #[test]
    fn bad_controls_are_errors() {
        let mut m = tiny_model(20, 32);
        let mut s = Session::new();
        for c in [
            Controls {
                base: "zzz".into(),
                ..Default::default()
            },
            Controls {
                base: " t9".into(),
                temperature: -1.0,
                ..Default::default()
            },
            Controls {
                base: " t9".into(),
                scale: f64::NAN,
                ..Default::default()
            },
            Controls {
                base: " t9".into(),
                steps: 3,
                ..Default::default()
            },
            Controls {
                base: " t9".into(),
                scale: 1e300,
                ..Default::default()
            },
        ] {
            assert!(s.update(&mut m, &c).is_err(), "{c:?}");
        }
        // and the session still works.
        s.update(
            &mut m,
            &Controls {
                base: " t9".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
}
