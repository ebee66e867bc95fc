//! building h: a token's vector, sums like `king - man + woman`, mixes, scaling, noise.
//!
//! expression grammar: `term (('+' | '-') term)*`, `term = [number ['*']] atom ['*' number]`,
//! `atom = "quoted text" | #id | word`, with numbers as everywhere else ([`super::number`]:
//! `1e-3`, `2.5E+2`, `.5`; a leading sign belongs to the term). a quoted atom is a token's exact
//! decoded text; a bare word means the word as it appears after a space (` king`) when the
//! vocabulary has it, else the word itself. `2*" Paris" - 0.5*#1234` is valid. every error says
//! what was read.

use super::error::{Error, Result};
use super::model::Model;
use super::number;
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
                format!("expression ends after an operator: {}", shown(s))
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
        let (coef, atom) = p.term(s)?;
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
                    "expected + or - at position {} of {}, found {c:?}",
                    p.pos,
                    shown(s)
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
        // digits only (the parser saw to it); too many for u32 is outside any vocabulary.
        Atom::Id(digits) => match digits.parse::<u32>() {
            Ok(i) => model.vocab.check_id(i),
            Err(_) => Err(Error::NotFound(format!(
                "token id {} is outside the vocabulary (0..{})",
                shown(digits),
                model.vocab.len()
            ))),
        },
        Atom::Word(w) => model
            .vocab
            .find(&format!(" {w}"))
            .or_else(|_| model.vocab.find(w)),
    }
}

enum Atom {
    Quoted(String),
    /// the digits after `#`.
    Id(String),
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

    /// the number at the cursor, if one starts there (an error when it is out of range).
    fn number(&mut self) -> Result<Option<f64>> {
        let n = number::scan_unsigned(&self.chars[self.pos..]);
        if n == 0 {
            return Ok(None);
        }
        let read: String = self.chars[self.pos..self.pos + n].iter().collect();
        self.pos += n;
        number::in_expression(&read).map(Some)
    }

    /// up to 24 chars from the cursor to the next white space.
    fn ahead_raw(&self) -> String {
        self.chars[self.pos..]
            .iter()
            .take_while(|c| !c.is_whitespace())
            .take(24)
            .collect()
    }

    /// what is at the cursor, for messages: quoted, or "the end".
    fn ahead(&self) -> String {
        match self.ahead_raw() {
            s if s.is_empty() => "the end".to_string(),
            s => shown(&s),
        }
    }

    fn term(&mut self, s: &str) -> Result<(f64, Atom)> {
        let mut coef = 1.0;
        if let Some(v) = self.number()? {
            coef = v;
            self.skip_ws();
            if self.peek() == Some('*') {
                self.pos += 1;
                self.skip_ws();
            } else if self.eof() || matches!(self.peek(), Some('+') | Some('-')) {
                return Err(Error::Invalid(format!(
                    "number {v} has no token to multiply in {}",
                    shown(s)
                )));
            }
        }
        let atom = self.atom(s)?;
        self.skip_ws();
        if self.peek() == Some('*') {
            self.pos += 1;
            self.skip_ws();
            match self.number()? {
                Some(v) => coef *= v,
                None => {
                    return Err(Error::Invalid(format!(
                        "expected a number after * in {}, found {}",
                        shown(s),
                        self.ahead()
                    )))
                }
            }
        }
        Ok((coef, atom))
    }

    fn atom(&mut self, s: &str) -> Result<Atom> {
        match self.peek() {
            Some(q @ ('"' | '\'')) => {
                self.pos += 1;
                let start = self.pos;
                while self.peek().is_some_and(|c| c != q) {
                    self.pos += 1;
                }
                if self.eof() {
                    return Err(Error::Invalid(format!("unclosed quote in {}", shown(s))));
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
                let digits: String = self.chars[start..self.pos].iter().collect();
                // an id ends where the term does: "#12abc" or "#-1" is not one.
                let ends = self.eof()
                    || self.peek().is_some_and(|c| {
                        c.is_whitespace()
                            || matches!(c, '+' | '*')
                            || (c == '-' && !digits.is_empty())
                    });
                match digits {
                    d if ends && !d.is_empty() => Ok(Atom::Id(d)),
                    _ => {
                        self.pos = start;
                        Err(Error::Invalid(format!(
                            "{} is not a token id: # takes a whole number (#0, #1, …)",
                            shown(&format!("#{}", self.ahead_raw()))
                        )))
                    }
                }
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
                        "expected a token at position {} of {}, found {}",
                        self.pos,
                        shown(s),
                        self.ahead()
                    )));
                }
                Ok(Atom::Word(self.chars[start..self.pos].iter().collect()))
            }
        }
    }
}

/// the expression as messages quote it: escaped, cut at 60 chars.
fn shown(s: &str) -> String {
    super::vocab::quoted(s, 60)
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
    fn numbers_read_as_numbers_everywhere() {
        let m = tiny_model(40, 64);
        let coef = |s: &str| parse_expr(&m, s).unwrap()[0].coef;
        assert_eq!(coef("1e-3*king"), 1e-3);
        assert_eq!(coef("2.5E+2 king"), 250.0);
        assert_eq!(coef(".5*king"), 0.5);
        assert_eq!(coef("-3*king"), -3.0);
        assert_eq!(coef("king*1e-3"), 1e-3);
        assert_eq!(coef("2e3king"), 2000.0);
        assert_eq!(parse_expr(&m, "king - 1e-2*man").unwrap()[1].coef, -1e-2);
        assert_eq!(parse_expr(&m, "#5-king").unwrap()[0].id, 5);
    }

    #[test]
    fn parse_errors_say_what_was_read() {
        let m = tiny_model(40, 64);
        let err = |s: &str| parse_expr(&m, s).unwrap_err().to_string();
        assert!(
            err("1e309*king").contains("1e309 is too large"),
            "{}",
            err("1e309*king")
        );
        assert!(err("king*1e309").contains("1e309 is too large"));
        assert!(
            err("#-1").contains("\"#-1\" is not a token id"),
            "{}",
            err("#-1")
        );
        assert!(err("#").contains("\"#\" is not a token id"));
        assert!(err("#12abc").contains("\"#12abc\" is not a token id"));
        assert!(err("#99999999999999999999").contains("\"99999999999999999999\" is outside"));
        assert!(
            err("king * abc")
                .contains("expected a number after * in \"king * abc\", found \"abc\""),
            "{}",
            err("king * abc")
        );
        assert!(err("king *").contains("found the end"));
        assert!(
            err("\"king").contains("unclosed quote in \"\\\"king\""),
            "{}",
            err("\"king")
        );
        assert!(err("king / man").contains("found '/'"));
        assert!(err("3 + king").contains("number 3 has no token to multiply"));
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
