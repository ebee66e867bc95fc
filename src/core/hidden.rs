//! building h: a token's vector, sums like `king - man + woman`, mixes, scaling, noise.
//!
//! expression grammar: `term (('+' | '-') term)*`, `term = [number ['*']] atom ['*' number]`,
//! `atom = "quoted text" | #id | word`. a quoted atom is a token's exact decoded text; a bare
//! word means the word as it appears after a space (` king`) when the vocabulary has it, else the
//! word itself. `2*" Paris" - 0.5*#1234` is valid.

use super::error::{Error, Result};
use super::model::Model;
use super::rng::Rng;

/// one resolved term of an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub coef: f64,
    pub id: u32,
}

/// parses and resolves an expression to its terms.
pub fn parse_expr(model: &Model, s: &str) -> Result<Vec<Term>> {
    let mut p = Parser {
        chars: s.chars().collect(),
        pos: 0,
    };
    let mut terms = Vec::new();
    let mut sign = 1.0;
    loop {
        p.skip_ws();
        if p.eof() {
            return Err(Error::Invalid(if terms.is_empty() {
                "empty expression".to_string()
            } else {
                format!("expression ends after an operator: {s:?}")
            }));
        }
        // a sign may lead a term: "-king + queen", "a - -b".
        while let Some(c @ ('-' | '+')) = p.peek() {
            p.pos += 1;
            p.skip_ws();
            if c == '-' {
                sign = -sign;
            }
        }
        let (coef, atom) = p.term()?;
        let id = resolve(model, &atom)?;
        terms.push(Term {
            coef: sign * coef,
            id,
        });
        p.skip_ws();
        match p.next() {
            None => break,
            Some('+') => sign = 1.0,
            Some('-') => sign = -1.0,
            Some(c) => {
                return Err(Error::Invalid(format!(
                    "expected + or - at position {} of {s:?}, found {c:?}",
                    p.pos
                )))
            }
        }
    }
    Ok(terms)
}

/// h = Σ coef·v_id.
pub fn eval_terms(model: &Model, terms: &[Term]) -> Result<Vec<f32>> {
    let mut h = vec![0f64; model.d()];
    for t in terms {
        let v = model.token_vector(t.id)?;
        for (a, &x) in h.iter_mut().zip(&v) {
            *a += t.coef * x as f64;
        }
    }
    Ok(h.into_iter().map(|x| x as f32).collect())
}

/// h for an expression.
pub fn eval_expr(model: &Model, s: &str) -> Result<Vec<f32>> {
    eval_terms(model, &parse_expr(model, s)?)
}

/// (1 − t)·a + t·b.
pub fn mix(a: &[f32], b: &[f32], t: f64) -> Vec<f32> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| ((1.0 - t) * x as f64 + t * y as f64) as f32)
        .collect()
}

/// adds Gaussian noise of per-component standard deviation `sigma`, from `seed`.
pub fn add_noise(h: &mut [f32], sigma: f64, seed: u64) {
    if sigma == 0.0 {
        return;
    }
    let noise = gaussian(h.len(), seed);
    for (x, n) in h.iter_mut().zip(noise) {
        *x = (*x as f64 + sigma * n) as f32;
    }
}

/// d standard normal numbers from `seed`: the noise of [`add_noise`] before scaling.
pub fn gaussian(d: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..d).map(|_| rng.gauss()).collect()
}

fn resolve(model: &Model, atom: &Atom) -> Result<u32> {
    match atom {
        Atom::Quoted(s) => model.vocab.find(s),
        Atom::Id(i) => model.vocab.check_id(*i),
        Atom::Word(w) => model
            .vocab
            .find(&format!(" {w}"))
            .or_else(|_| model.vocab.find(w)),
    }
}

enum Atom {
    Quoted(String),
    Id(u32),
    Word(String),
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn eof(&self) -> bool {
        self.pos >= self.chars.len()
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += c.is_some() as usize;
        c
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn number(&mut self) -> Option<f64> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E')
        {
            self.pos += 1;
        }
        let s: String = self.chars[start..self.pos].iter().collect();
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                self.pos = start;
                None
            }
        }
    }

    fn term(&mut self) -> Result<(f64, Atom)> {
        let mut coef = 1.0;
        if self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
            if let Some(v) = self.number() {
                coef = v;
                self.skip_ws();
                if self.peek() == Some('*') {
                    self.pos += 1;
                    self.skip_ws();
                } else if self.eof() || matches!(self.peek(), Some('+') | Some('-')) {
                    return Err(Error::Invalid(format!(
                        "number {v} has no token to multiply"
                    )));
                }
            }
        }
        let atom = self.atom()?;
        self.skip_ws();
        if self.peek() == Some('*') {
            self.pos += 1;
            self.skip_ws();
            coef *= self
                .number()
                .ok_or_else(|| Error::Invalid("expected a number after *".into()))?;
        }
        Ok((coef, atom))
    }

    fn atom(&mut self) -> Result<Atom> {
        match self.peek() {
            Some(q @ ('"' | '\'')) => {
                self.pos += 1;
                let start = self.pos;
                while self.peek().is_some_and(|c| c != q) {
                    self.pos += 1;
                }
                if self.eof() {
                    return Err(Error::Invalid("unclosed quote in expression".into()));
                }
                let s: String = self.chars[start..self.pos].iter().collect();
                self.pos += 1;
                Ok(Atom::Quoted(unescape(&s)))
            }
            Some('#') => {
                self.pos += 1;
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let s: String = self.chars[start..self.pos].iter().collect();
                s.parse()
                    .map(Atom::Id)
                    .map_err(|_| Error::Invalid(format!("bad token id #{s}")))
            }
            _ => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| !c.is_whitespace() && !matches!(c, '+' | '-' | '*'))
                {
                    self.pos += 1;
                }
                if self.pos == start {
                    return Err(Error::Invalid(format!(
                        "expected a token at position {}",
                        self.pos
                    )));
                }
                Ok(Atom::Word(self.chars[start..self.pos].iter().collect()))
            }
        }
    }
}

/// `\n`, `\t`, `\\` in quoted atoms.
fn unescape(s: &str) -> String {
    s.replace("\\n", "\n")
        .replace("\\t", "\t")
        .replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fixtures::tiny_model;

    #[test]
    fn analogy_expression() {
        let m = tiny_model(40, 64);
        let t = parse_expr(&m, "king - man + woman").unwrap();
        assert_eq!(
            t,
            vec![
                Term { coef: 1.0, id: 0 },
                Term { coef: -1.0, id: 1 },
                Term { coef: 1.0, id: 2 }
            ]
        );
        let t = parse_expr(&m, "0.5*\"king\" + #7*2").unwrap();
        assert_eq!(
            t,
            vec![Term { coef: 0.5, id: 3 }, Term { coef: 2.0, id: 7 }]
        );
        let h = eval_expr(&m, "king - king").unwrap();
        assert!(h.iter().all(|&x| x == 0.0));
        for bad in [
            "",
            "king +",
            "2 +",
            "\"king",
            "#99999",
            "nosuchword",
            "king / man",
        ] {
            assert!(parse_expr(&m, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn noise_is_seeded() {
        let mut a = vec![0f32; 64];
        let mut b = vec![0f32; 64];
        add_noise(&mut a, 1.0, 5);
        add_noise(&mut b, 1.0, 5);
        assert_eq!(a, b);
        add_noise(&mut b, 1.0, 6);
        assert_ne!(a, b);
        assert_eq!(mix(&[1.0, 2.0], &[3.0, 6.0], 0.25), vec![1.5, 3.0]);
    }
}
