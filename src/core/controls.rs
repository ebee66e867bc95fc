//! the explorer's controls, and the one place where untrusted state becomes them.
//!
//! a link's `s=` (JSON), an element's attributes (a JSON object of strings, named as the
//! attributes are) and the page's own inputs (the lr box, the rows box, the sliders, as the
//! text they hold) arrive here as text and go through [`parse`] once, then through
//! [`check_with_model`] for what only the model can say (does the token exist, is h d long).
//! each field is read on its own: a bad value is reported as a [`Problem`] that names the key,
//! quotes what was read and says what the field holds instead (its fallback), and the rest of
//! the state is kept. nothing here throws, panics or recurses on the input.
//!
//! limits, checked before anything is built from the text:
//! - the whole text: at most [`MAX_STATE_BYTES`]; longer is refused whole (one problem).
//! - depth: a field is read only as deep as its shape: text and numbers at the top level,
//!   lists of numbers one level down. a deeper value is refused for its field ("expected a
//!   number, got a list nested 10000 deep") without being descended into: serde_json skips a
//!   value iteratively (`RawValue`) and the depth in the message comes from a byte scan, so a
//!   10,000-deep value costs neither stack nor allocation beyond its text.
//! - text fields (`base`, `mix_with`, `target`): at most [`MAX_TEXT_CHARS`] chars.
//! - numbers: the syntax of [`super::number`], finite (`1e400` is "too large", `"NaN"` is
//!   not a number), JSON numbers or text holding one (attributes and inputs are text).
//! - ranges: noise, temperature, lr ≥ 0; seed a whole number ≤ 2^53 − 1 (what a JavaScript
//!   number holds exactly); steps 0 to [`MAX_STEPS`]; top 0 to [`MAX_TOP`] (0 is an empty
//!   table); coeffs at most [`N_DIRECTIONS`]; h and drift at most [`MAX_D`] numbers within
//!   f32's range, then exactly d.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::error::Error;
use super::model::Model;
use super::number::{self, NumberError};
use super::vocab;

/// the longest state text read (a link's `s=`, an element's attributes).
pub const MAX_STATE_BYTES: usize = 256 * 1024;
/// the longest text field (a token, an expression).
pub const MAX_TEXT_CHARS: usize = 1000;
/// the most gradient steps a state may hold. a link's steps are replayed in a Worker.
pub const MAX_STEPS: u32 = 1000;
/// the longest top-k list the explorer shows (the tables are DOM rows).
pub const MAX_TOP: usize = 500;
/// how many singular directions get a slider (and a coefficient).
pub const N_DIRECTIONS: usize = 8;
/// the largest seed: 2^53 − 1, the largest whole number a JavaScript number holds exactly.
pub const MAX_SEED: u64 = (1 << 53) - 1;
/// the longest list of numbers (h, drift) read before the model's d is known.
pub const MAX_D: usize = 1 << 16;
/// how many problems one state reports (the rest are counted).
pub const MAX_PROBLEMS: usize = 12;

/// what the controls say; every field has a default, so a partial object (or URL) is valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Controls {
    /// a token's text (` Paris`), `#id`, or an expression (`king - man + woman`); when `h`
    /// is given, a description of it.
    pub base: String,
    /// h_base given as numbers (d of them) instead of by `base`: a hidden state from
    /// elsewhere (a model's layer, a file). empty when `base` says it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub h: Vec<f32>,
    /// a token to mix toward ("" for none), and how far (0 = h_base, 1 = v_with).
    pub mix_with: String,
    pub mix: f64,
    pub scale: f64,
    /// per-component standard deviation of the added Gaussian noise, and its seed.
    pub noise: f64,
    pub seed: u64,
    /// offsets a_k along the first singular directions v_1, v_2, ….
    pub coeffs: Vec<f64>,
    pub temperature: f64,
    /// the target token for loss and gradient ("" for none), learning rate, and the steps
    /// taken since the last fold (see `session`).
    pub target: String,
    pub lr: f64,
    pub steps: u32,
    pub top: usize,
    /// the offset of h that earlier gradient steps left when another control changed after
    /// them (d numbers, or empty): `session` folds the steps into it so that a slider move
    /// never replays them, and a link reproduces it exactly.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<f32>,
}

impl Default for Controls {
    fn default() -> Self {
        Controls {
            base: " Paris".into(),
            h: Vec::new(),
            mix_with: String::new(),
            mix: 0.0,
            scale: 1.0,
            noise: 0.0,
            seed: 1,
            coeffs: Vec::new(),
            temperature: 1.0,
            target: String::new(),
            lr: 0.5,
            steps: 0,
            top: 10,
            drift: Vec::new(),
        }
    }
}

impl Controls {
    /// the first screen for a model: h = v(" Paris") mixing toward " London" where the
    /// vocabulary has them (the lesson's example), else the first of a few common words, else
    /// tokens #0 and #1.
    pub fn for_model(model: &Model) -> Controls {
        let pick = |words: &[&str]| {
            words
                .iter()
                .find(|w| model.vocab.find(w).is_ok())
                .map(|w| w.to_string())
        };
        Controls {
            base: pick(&[" Paris", "Paris", "▁Paris", " the", "the", "#0"]).unwrap_or_default(),
            mix_with: pick(&[" London", "London", "▁London", " a", "a", "#1"]).unwrap_or_default(),
            ..Controls::default()
        }
    }
}

/// where a state comes from, which decides its keys' names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// a link's `s=` or the page's own state: the field names (`mix_with`).
    Link,
    /// an `<unembed-explorer>`'s attributes: `token`, `mix-with`, … (values are text).
    Attributes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Base,
    H,
    MixWith,
    Mix,
    Scale,
    Noise,
    Seed,
    Coeffs,
    Temperature,
    Target,
    Lr,
    Steps,
    Top,
    Drift,
}

const LINK_KEYS: [(&str, Field); 14] = [
    ("base", Field::Base),
    ("h", Field::H),
    ("mix_with", Field::MixWith),
    ("mix", Field::Mix),
    ("scale", Field::Scale),
    ("noise", Field::Noise),
    ("seed", Field::Seed),
    ("coeffs", Field::Coeffs),
    ("temperature", Field::Temperature),
    ("target", Field::Target),
    ("lr", Field::Lr),
    ("steps", Field::Steps),
    ("top", Field::Top),
    ("drift", Field::Drift),
];

const ATTRIBUTE_KEYS: [(&str, Field); 9] = [
    ("token", Field::Base),
    ("temperature", Field::Temperature),
    ("target", Field::Target),
    ("mix", Field::Mix),
    ("mix-with", Field::MixWith),
    ("scale", Field::Scale),
    ("noise", Field::Noise),
    ("seed", Field::Seed),
    ("top", Field::Top),
];

fn keys(origin: Origin) -> &'static [(&'static str, Field)] {
    match origin {
        Origin::Link => &LINK_KEYS,
        Origin::Attributes => &ATTRIBUTE_KEYS,
    }
}

fn lookup(origin: Origin, key: &str) -> Option<Field> {
    keys(origin)
        .iter()
        .find(|(k, _)| *k == key)
        .map(|&(_, f)| f)
}

/// a field's name where the state came from (`token` for an element's base, `base` in a
/// link); a field the origin cannot set is named as a link names it.
fn name_of(origin: Origin, field: Field) -> &'static str {
    keys(origin)
        .iter()
        .chain(&LINK_KEYS)
        .find(|&&(_, f)| f == field)
        .map_or("state", |&(k, _)| k)
}

/// what a field should have held.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Text,
    Number,
    Numbers,
    WholeNumber,
}

/// what it held instead.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Got {
    Text,
    Number,
    List { depth: usize },
    Object { depth: usize },
    Bool,
    Null,
}

/// a range a number broke.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    AtLeastZero,
    WholeUpTo(u64),
    F32,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// the whole state is longer than [`MAX_STATE_BYTES`].
    TooBig {
        bytes: usize,
    },
    /// the whole state is not a JSON object.
    NotJson(String),
    Unknown,
    Duplicate,
    WrongType {
        want: Want,
        got: Got,
    },
    NotANumber {
        read: String,
    },
    TooLarge {
        read: String,
    },
    OutOfRange {
        read: String,
        rule: Rule,
    },
    NotWhole {
        read: String,
    },
    TooLong {
        chars: usize,
    },
    TooMany {
        n: usize,
        max: usize,
    },
    BadText(String),
    /// what the model says about the value (an unknown token, a length that is not d, an
    /// expression that overflows).
    Model(Error),
    NeedsTarget,
    NeedsTemperature,
    NeedsSpectrum,
}

/// what a field holds instead of a bad value, as messages show it.
#[derive(Debug, Clone, PartialEq)]
enum Instead {
    /// a number, a quoted text or a list, the same in every language.
    Shown(String),
    /// an empty list of numbers (h, drift): "none".
    Nothing,
    /// n numbers (h, drift).
    Numbers(usize),
    /// the key is ignored.
    Ignored,
    /// the whole state is refused.
    NothingUsed,
    /// the fields named by the key take their defaults.
    Defaults,
    /// the state in force stays.
    Kept,
}

/// one bad value: its key (`scale`, `mix-with`, `coeffs[3]`, or `s` for the whole state),
/// what was wrong, and what the field holds instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    kind: Kind,
    instead: Instead,
}

/// controls read from untrusted text, and what was wrong on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub controls: Controls,
    pub problems: Vec<Problem>,
    /// where the text came from: problems name its keys as it spells them.
    pub origin: Origin,
}

/// reads `text` (a JSON object; empty means `{}`) as controls: a key that is missing takes
/// its value from `missing`, a key whose value is bad from `fallback` (both valid controls:
/// the defaults when a link or an element starts, the controls in force when the page's
/// inputs or an element's attributes change).
pub fn parse(text: &str, origin: Origin, missing: &Controls, fallback: &Controls) -> Checked {
    let whole = match origin {
        Origin::Link => "s",
        Origin::Attributes => "attributes",
    };
    let refuse = |kind| Checked {
        origin,
        controls: fallback.clone(),
        problems: vec![Problem {
            key: whole.into(),
            kind,
            instead: Instead::NothingUsed,
        }],
    };
    if text.len() > MAX_STATE_BYTES {
        return refuse(Kind::TooBig { bytes: text.len() });
    }
    let text = if text.trim().is_empty() { "{}" } else { text };
    let members = match serde_json::from_str::<Members>(text) {
        Ok(m) => m.0,
        Err(e) => return refuse(Kind::NotJson(e.to_string())),
    };
    let mut c = missing.clone();
    let mut seen = Vec::new();
    let mut problems = Vec::new();
    for (key, raw) in members {
        let Some(field) = lookup(origin, &key) else {
            problems.push(Problem {
                key: shown_key(&key),
                kind: Kind::Unknown,
                instead: Instead::Ignored,
            });
            continue;
        };
        if seen.contains(&field) {
            problems.push(Problem {
                key: shown_key(&key),
                kind: Kind::Duplicate,
                instead: Instead::Ignored,
            });
            continue;
        }
        seen.push(field);
        if let Err((at, kind)) = read_field(&mut c, field, raw.get()) {
            copy_field(&mut c, fallback, field);
            problems.push(Problem {
                key: shown_key(&key) + &at,
                kind,
                instead: instead(&c, field),
            });
        }
    }
    Checked {
        controls: c,
        problems,
        origin,
    }
}

/// what only the model can say, for every field that differs from `fallback` (which is valid
/// for this model): the base resolves to a finite h, h and drift are d long, the tokens
/// exist, coefficients have singular directions to move along, steps have a target and T > 0.
/// a bad field takes `fallback`'s value, with a problem.
pub fn check_with_model(model: &Model, checked: &mut Checked, fallback: &Controls) {
    let c = &mut checked.controls;
    let problems = &mut checked.problems;
    let origin = checked.origin;
    let d = model.d();
    let mut fail = |c: &mut Controls, field: Field, kind: Kind| {
        let key = name_of(origin, field);
        copy_field(c, fallback, field);
        if field == Field::Base {
            // a base and the h it describes go together.
            c.h = fallback.h.clone();
        }
        problems.push(Problem {
            key: key.into(),
            kind,
            instead: instead(c, field),
        });
    };
    if !c.h.is_empty() && c.h.len() != d {
        let e = Error::Shape(format!(
            "h has {} components, the model has d = {d}",
            c.h.len()
        ));
        fail(c, Field::H, Kind::Model(e));
    }
    if c.h.is_empty() && (c.base != fallback.base || !fallback.h.is_empty()) {
        if let Err(e) = resolves(model, &c.base) {
            fail(c, Field::Base, Kind::Model(e));
        }
    }
    for field in [Field::MixWith, Field::Target] {
        let (text, was) = match field {
            Field::MixWith => (&c.mix_with, &fallback.mix_with),
            _ => (&c.target, &fallback.target),
        };
        if !text.is_empty() && text != was {
            if let Err(e) = model.vocab.find(text) {
                fail(c, field, Kind::Model(e));
            }
        }
    }
    if !c.drift.is_empty() && c.drift.len() != d {
        let e = Error::Shape(format!(
            "drift has {} components, the model has d = {d}",
            c.drift.len()
        ));
        fail(c, Field::Drift, Kind::Model(e));
    }
    if c.coeffs.iter().any(|&a| a != 0.0) && model.spectrum.is_none() {
        c.coeffs = Vec::new();
        problems.push(Problem {
            key: "coeffs".into(),
            kind: Kind::NeedsSpectrum,
            instead: instead(c, Field::Coeffs),
        });
    }
    if c.steps > 0 && (c.target.is_empty() || c.temperature == 0.0) {
        let kind = if c.target.is_empty() {
            Kind::NeedsTarget
        } else {
            Kind::NeedsTemperature
        };
        c.steps = 0;
        problems.push(Problem {
            key: "steps".into(),
            kind,
            instead: Instead::Shown("0".into()),
        });
    }
}

/// the base's h, which must exist and be finite.
fn resolves(model: &Model, base: &str) -> Result<(), Error> {
    let h = super::session::resolve(model, base)?;
    match h.iter().position(|x| !x.is_finite()) {
        Some(j) => Err(Error::Invalid(format!("h[{j}] is {}", h[j]))),
        None => Ok(()),
    }
}

impl Problem {
    /// an update that could not be applied (h overflows, a step fails): the state in force
    /// stays.
    pub fn failed(e: Error) -> Problem {
        Problem {
            key: String::new(),
            kind: Kind::Model(e),
            instead: Instead::Kept,
        }
    }

    /// a first state whose values are each fine but together make h overflow: the values
    /// that combine into h take their defaults.
    pub fn together(e: Error) -> Problem {
        Problem {
            key: "scale, mix, noise, coeffs, drift, steps".into(),
            kind: Kind::Model(e),
            instead: Instead::Defaults,
        }
    }

    /// a first state that cannot be shown even so: every setting takes its default.
    pub fn whole(e: Error) -> Problem {
        Problem {
            key: "s".into(),
            kind: Kind::Model(e),
            instead: Instead::NothingUsed,
        }
    }

    /// the message in Vietnamese (`vi`) or English: the key, what was read and why it is
    /// not used, and what is used instead.
    pub fn message(&self, vi: bool) -> String {
        let what = self.kind.words(vi);
        let instead = match (&self.instead, vi) {
            (Instead::Shown(s), false) => format!("; using {s}"),
            (Instead::Shown(s), true) => format!("; dùng {s}"),
            (Instead::Nothing, false) => "; using none".into(),
            (Instead::Nothing, true) => "; không dùng".into(),
            (Instead::Numbers(n), false) => format!("; using the {n} numbers in force"),
            (Instead::Numbers(n), true) => format!("; dùng {n} số đang có"),
            (Instead::Ignored, false) => "; ignored".into(),
            (Instead::Ignored, true) => "; bỏ qua".into(),
            (Instead::NothingUsed, false) => "; nothing in it is used".into(),
            (Instead::NothingUsed, true) => "; không dùng giá trị nào trong đó".into(),
            (Instead::Defaults, false) => "; using their defaults".into(),
            (Instead::Defaults, true) => "; dùng giá trị mặc định".into(),
            (Instead::Kept, false) => "; the state in force is kept".into(),
            (Instead::Kept, true) => "; giữ nguyên trạng thái đang có".into(),
        };
        if self.key.is_empty() {
            format!("{what}{instead}")
        } else {
            format!("{}: {what}{instead}", self.key)
        }
    }
}

impl Kind {
    fn words(&self, vi: bool) -> String {
        let want = |w: Want| match (w, vi) {
            (Want::Text, false) => "text",
            (Want::Text, true) => "văn bản",
            (Want::Number, false) => "a number",
            (Want::Number, true) => "một số",
            (Want::Numbers, false) => "a list of numbers",
            (Want::Numbers, true) => "một danh sách số",
            (Want::WholeNumber, false) => "a whole number",
            (Want::WholeNumber, true) => "một số nguyên",
        };
        let got = |g: Got| match (g, vi) {
            (Got::Text, false) => "text".to_string(),
            (Got::Text, true) => "văn bản".to_string(),
            (Got::Number, false) => "a number".to_string(),
            (Got::Number, true) => "một số".to_string(),
            (Got::List { depth } | Got::Object { depth }, _) if depth > 1 => {
                let what = match (g, vi) {
                    (Got::List { .. }, false) => "a list",
                    (Got::List { .. }, true) => "một danh sách",
                    (_, false) => "an object",
                    (_, true) => "một đối tượng",
                };
                if vi {
                    format!("{what} lồng {depth} tầng")
                } else {
                    format!("{what} nested {depth} deep")
                }
            }
            (Got::List { .. }, false) => "a list".to_string(),
            (Got::List { .. }, true) => "một danh sách".to_string(),
            (Got::Object { .. }, false) => "an object".to_string(),
            (Got::Object { .. }, true) => "một đối tượng".to_string(),
            (Got::Bool, _) => "true/false".to_string(),
            (Got::Null, _) => "null".to_string(),
        };
        let rule = |r: Rule| match (r, vi) {
            (Rule::AtLeastZero, false) => "it must be ≥ 0".to_string(),
            (Rule::AtLeastZero, true) => "phải ≥ 0".to_string(),
            (Rule::WholeUpTo(m), false) => format!("a whole number from 0 to {m}"),
            (Rule::WholeUpTo(m), true) => format!("một số nguyên từ 0 đến {m}"),
            (Rule::F32, false) => "|x| ≤ 3.4e38".to_string(),
            (Rule::F32, true) => "|x| ≤ 3,4e38".to_string(),
        };
        match (self, vi) {
            (Kind::TooBig { bytes }, false) => {
                format!("the state is {bytes} bytes, more than the {MAX_STATE_BYTES} read")
            }
            (Kind::TooBig { bytes }, true) => {
                format!("trạng thái dài {bytes} byte, vượt giới hạn {MAX_STATE_BYTES} byte")
            }
            (Kind::NotJson(e), false) => format!("not a JSON object ({e})"),
            (Kind::NotJson(e), true) => format!("không phải một đối tượng JSON ({e})"),
            (Kind::Unknown, false) => "not a setting".into(),
            (Kind::Unknown, true) => "không phải một thiết lập".into(),
            (Kind::Duplicate, false) => "given twice, the first is kept".into(),
            (Kind::Duplicate, true) => "xuất hiện hai lần, giữ giá trị đầu tiên".into(),
            (Kind::WrongType { want: w, got: g }, false) => {
                format!("expected {}, got {}", want(*w), got(*g))
            }
            (Kind::WrongType { want: w, got: g }, true) => {
                format!("cần {}, nhưng nhận được {}", want(*w), got(*g))
            }
            (Kind::NotANumber { read }, false) => format!("{read} is not a number"),
            (Kind::NotANumber { read }, true) => format!("{read} không phải là một số"),
            (Kind::TooLarge { read }, false) => {
                format!("{read} is too large (the largest number is about 1.8e308)")
            }
            (Kind::TooLarge { read }, true) => {
                format!("{read} quá lớn (số lớn nhất khoảng 1,8e308)")
            }
            (Kind::OutOfRange { read, rule: r }, false) => {
                format!("{read} is out of range ({})", rule(*r))
            }
            (Kind::OutOfRange { read, rule: r }, true) => {
                format!("{read} nằm ngoài khoảng cho phép ({})", rule(*r))
            }
            (Kind::NotWhole { read }, false) => format!("{read} is not a whole number"),
            (Kind::NotWhole { read }, true) => format!("{read} không phải là số nguyên"),
            (Kind::TooLong { chars }, false) => {
                format!("{chars} characters, at most {MAX_TEXT_CHARS}")
            }
            (Kind::TooLong { chars }, true) => format!("{chars} ký tự, tối đa {MAX_TEXT_CHARS}"),
            (Kind::TooMany { n, max }, false) => format!("{n} numbers, at most {max}"),
            (Kind::TooMany { n, max }, true) => format!("{n} số, tối đa {max}"),
            (Kind::BadText(e), false) => format!("not valid text ({e})"),
            (Kind::BadText(e), true) => format!("không phải văn bản hợp lệ ({e})"),
            (Kind::Model(e), _) => e.localized(vi),
            (Kind::NeedsTarget, false) => "gradient steps need a target token".into(),
            (Kind::NeedsTarget, true) => "các bước gradient cần một token đích".into(),
            (Kind::NeedsTemperature, false) => "gradient steps need T > 0".into(),
            (Kind::NeedsTemperature, true) => "các bước gradient cần T > 0".into(),
            (Kind::NeedsSpectrum, false) => {
                "the singular directions are not known yet (the spectrum is being computed)".into()
            }
            (Kind::NeedsSpectrum, true) => "chưa có các hướng kỳ dị (phổ đang được tính)".into(),
        }
    }
}

impl Checked {
    /// `(key, message)` for each problem, at most [`MAX_PROBLEMS`] (then one that counts the
    /// rest).
    pub fn messages(&self, vi: bool) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .problems
            .iter()
            .take(MAX_PROBLEMS)
            .map(|p| (p.key.clone(), p.message(vi)))
            .collect();
        let more = self.problems.len().saturating_sub(MAX_PROBLEMS);
        if more > 0 {
            out.push((
                String::new(),
                if vi {
                    format!("… và {more} vấn đề khác")
                } else {
                    format!("… and {more} more")
                },
            ));
        }
        out
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(false))
    }
}

/// a top-level object's members in order, each value left as raw text (skipped, not parsed:
/// serde_json skips a value iteratively, so a deep one costs no stack).
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of settings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// reads one field's raw JSON into `c`; on an error, the suffix of the key it concerns
/// (`[3]` for a list's element) and what was wrong.
fn read_field(c: &mut Controls, field: Field, raw: &str) -> Result<(), (String, Kind)> {
    fn top<T>(r: Result<T, Kind>) -> Result<T, (String, Kind)> {
        r.map_err(|k| (String::new(), k))
    }
    match field {
        Field::Base => c.base = top(text(raw))?,
        Field::MixWith => c.mix_with = top(text(raw))?,
        Field::Target => c.target = top(text(raw))?,
        Field::Mix => c.mix = top(number_in(raw, Want::Number))?,
        Field::Scale => c.scale = top(number_in(raw, Want::Number))?,
        Field::Noise => c.noise = top(non_negative(raw))?,
        Field::Temperature => c.temperature = top(non_negative(raw))?,
        Field::Lr => c.lr = top(non_negative(raw))?,
        Field::Seed => c.seed = top(whole(raw, MAX_SEED))?,
        Field::Steps => c.steps = top(whole(raw, MAX_STEPS as u64))? as u32,
        Field::Top => c.top = top(whole(raw, MAX_TOP as u64))? as usize,
        Field::Coeffs => c.coeffs = numbers(raw, N_DIRECTIONS, |_, v| Ok(v))?,
        Field::H => c.h = f32s(raw)?,
        Field::Drift => c.drift = f32s(raw)?,
    }
    Ok(())
}

fn copy_field(c: &mut Controls, from: &Controls, field: Field) {
    match field {
        Field::Base => c.base = from.base.clone(),
        Field::H => c.h = from.h.clone(),
        Field::MixWith => c.mix_with = from.mix_with.clone(),
        Field::Mix => c.mix = from.mix,
        Field::Scale => c.scale = from.scale,
        Field::Noise => c.noise = from.noise,
        Field::Seed => c.seed = from.seed,
        Field::Coeffs => c.coeffs = from.coeffs.clone(),
        Field::Temperature => c.temperature = from.temperature,
        Field::Target => c.target = from.target.clone(),
        Field::Lr => c.lr = from.lr,
        Field::Steps => c.steps = from.steps,
        Field::Top => c.top = from.top,
        Field::Drift => c.drift = from.drift.clone(),
    }
}

/// a field's value as messages show it.
fn instead(c: &Controls, field: Field) -> Instead {
    let list = |v: &[f64]| {
        let items: Vec<String> = v.iter().map(|&x| num(x)).collect();
        Instead::Shown(format!("[{}]", items.join(", ")))
    };
    let many = |n: usize| {
        if n == 0 {
            Instead::Nothing
        } else {
            Instead::Numbers(n)
        }
    };
    Instead::Shown(match field {
        Field::Base => vocab::quoted(&c.base, 48),
        Field::MixWith => vocab::quoted(&c.mix_with, 48),
        Field::Target => vocab::quoted(&c.target, 48),
        Field::Mix => num(c.mix),
        Field::Scale => num(c.scale),
        Field::Noise => num(c.noise),
        Field::Temperature => num(c.temperature),
        Field::Lr => num(c.lr),
        Field::Seed => c.seed.to_string(),
        Field::Steps => c.steps.to_string(),
        Field::Top => c.top.to_string(),
        Field::Coeffs => return list(&c.coeffs),
        Field::H => return many(c.h.len()),
        Field::Drift => return many(c.drift.len()),
    })
}

/// a number as messages show it: plain when moderate, else in e notation.
fn num(x: f64) -> String {
    if x != 0.0 && !(1e-4..1e6).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// a key as messages show it: escaped, cut at 40 chars.
fn shown_key(key: &str) -> String {
    vocab::visible(key, 40).replace('␣', " ")
}

/// raw JSON as messages quote it: escaped, cut at 40 chars.
fn shown_raw(raw: &str) -> String {
    let mut s: String = raw.chars().take(40).collect();
    if raw.chars().nth(40).is_some() {
        s.push('…');
    }
    vocab::escaped(&s)
}

/// what a raw JSON value is.
fn got(raw: &str) -> Got {
    match raw.as_bytes().first() {
        Some(b'"') => Got::Text,
        Some(b'[') => Got::List { depth: depth(raw) },
        Some(b'{') => Got::Object { depth: depth(raw) },
        Some(b't' | b'f') => Got::Bool,
        Some(b'n') => Got::Null,
        _ => Got::Number,
    }
}

/// how deep a raw JSON value nests (a byte scan; strings skipped).
fn depth(raw: &str) -> usize {
    let (mut d, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for &b in raw.as_bytes() {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                d += 1;
                max = max.max(d);
            }
            b']' | b'}' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn text(raw: &str) -> Result<String, Kind> {
    if !raw.starts_with('"') {
        return Err(Kind::WrongType {
            want: Want::Text,
            got: got(raw),
        });
    }
    let s: String = serde_json::from_str(raw).map_err(|e| Kind::BadText(e.to_string()))?;
    let chars = s.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(Kind::TooLong { chars });
    }
    Ok(s)
}

/// a JSON number, or text that holds one (attributes and inputs are text).
fn number_in(raw: &str, want: Want) -> Result<f64, Kind> {
    let read = || shown_raw(raw);
    let from = |t: &str| {
        number::parse(t).map_err(|e| match e {
            NumberError::NotANumber => Kind::NotANumber { read: read() },
            NumberError::TooLarge => Kind::TooLarge { read: read() },
        })
    };
    match raw.as_bytes().first() {
        Some(b'"') => {
            let s: String = serde_json::from_str(raw).map_err(|e| Kind::BadText(e.to_string()))?;
            from(&s)
        }
        Some(b'-' | b'0'..=b'9') => from(raw),
        _ => Err(Kind::WrongType {
            want,
            got: got(raw),
        }),
    }
}

fn non_negative(raw: &str) -> Result<f64, Kind> {
    let v = number_in(raw, Want::Number)?;
    if v < 0.0 {
        return Err(Kind::OutOfRange {
            read: shown_raw(raw),
            rule: Rule::AtLeastZero,
        });
    }
    Ok(v)
}

fn whole(raw: &str, max: u64) -> Result<u64, Kind> {
    let v = number_in(raw, Want::WholeNumber)?;
    if v.fract() != 0.0 {
        return Err(Kind::NotWhole {
            read: shown_raw(raw),
        });
    }
    if v < 0.0 || v > max as f64 {
        return Err(Kind::OutOfRange {
            read: shown_raw(raw),
            rule: Rule::WholeUpTo(max),
        });
    }
    Ok(v as u64)
}

/// a list of at most `max` numbers, each checked by `each` (index, value).
fn numbers(
    raw: &str,
    max: usize,
    each: impl Fn(usize, f64) -> Result<f64, Kind>,
) -> Result<Vec<f64>, (String, Kind)> {
    if !raw.starts_with('[') {
        return Err((
            String::new(),
            Kind::WrongType {
                want: Want::Numbers,
                got: got(raw),
            },
        ));
    }
    // the elements are skipped, not parsed, until each is read as a number.
    let items: Vec<&RawValue> =
        serde_json::from_str(raw).map_err(|e| (String::new(), Kind::BadText(e.to_string())))?;
    if items.len() > max {
        return Err((
            String::new(),
            Kind::TooMany {
                n: items.len(),
                max,
            },
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, r)| {
            number_in(r.get(), Want::Number)
                .and_then(|v| each(i, v))
                .map_err(|k| (format!("[{i}]"), k))
        })
        .collect()
}

/// h or drift: numbers within f32's range.
fn f32s(raw: &str) -> Result<Vec<f32>, (String, Kind)> {
    let v = numbers(raw, MAX_D, |_, v| {
        if v.abs() > f32::MAX as f64 {
            Err(Kind::OutOfRange {
                read: format!("{v:e}"),
                rule: Rule::F32,
            })
        } else {
            Ok(v)
        }
    })?;
    Ok(v.into_iter().map(|x| x as f32).collect())
}

#[cfg(test)]
mod tests;
