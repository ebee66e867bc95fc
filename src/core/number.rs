//! numbers as the explorer reads them, in one syntax everywhere: in expressions (`1e-3*king`),
//! in a link's state, in an element's attributes and in the page's inputs.
//!
//!   number = [+-] (digits [. digits*] | . digits) ([eE] [+-] digits)
//!
//! and nothing else: no `inf`, `NaN`, hex, `_` or surrounding words. a number beyond f64's
//! range (`1e309`) is an error that says it is too large, never ∞; one below the smallest
//! subnormal (`1e-400`) reads as 0, as it does in every language.

use super::error::Error;

/// why a text is not a number.
#[derive(Debug, Clone, PartialEq)]
pub enum NumberError {
    /// the text does not have the syntax above.
    NotANumber,
    /// the syntax is right but the value is beyond ±1.8e308.
    TooLarge,
}

/// how many chars at the start of `s` form an unsigned number (0 when none): digits with at
/// most one point and at least one digit, then an exponent only when digits follow it (`2e`
/// in `2even` is the number 2 and the word `even`).
pub fn scan_unsigned(s: &[char]) -> usize {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while s.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut n = digits(&mut i);
    if s.get(i) == Some(&'.') {
        let mut j = i + 1;
        let m = digits(&mut j);
        if n + m > 0 {
            n += m;
            i = j;
        }
    }
    if n == 0 {
        return 0;
    }
    if matches!(s.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some('+' | '-')) {
            j += 1;
        }
        if digits(&mut j) > 0 {
            i = j;
        }
    }
    i
}

/// the value of a whole text that is one number (surrounding white space allowed).
pub fn parse(text: &str) -> Result<f64, NumberError> {
    let t = text.trim();
    let chars: Vec<char> = t.chars().collect();
    let sign = usize::from(matches!(chars.first(), Some('+' | '-')));
    let n = scan_unsigned(&chars[sign..]);
    if n == 0 || sign + n != chars.len() {
        return Err(NumberError::NotANumber);
    }
    value(t)
}

/// the value of text already known to have the syntax.
fn value(t: &str) -> Result<f64, NumberError> {
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(NumberError::TooLarge),
        Err(_) => Err(NumberError::NotANumber),
    }
}

/// the value of the number `read` (scanned by [`scan_unsigned`]) in an expression, as an
/// error that quotes it when it is out of range.
pub fn in_expression(read: &str) -> Result<f64, Error> {
    value(read).map_err(|e| match e {
        NumberError::TooLarge => Error::Invalid(format!(
            "{read} is too large (the largest number is about 1.8e308)"
        )),
        NumberError::NotANumber => Error::Invalid(format!("{read:?} is not a number")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_syntax_and_nothing_else() {
        for (s, v) in [
            ("1", 1.0),
            ("-3", -3.0),
            ("+2", 2.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e-3", 1e-3),
            ("2.5E+2", 250.0),
            ("1E3", 1000.0),
            (" 0.25 ", 0.25),
            ("1e-400", 0.0),
            ("1.7976931348623157e308", f64::MAX),
        ] {
            assert_eq!(parse(s), Ok(v), "{s}");
        }
        for s in [
            "", ".", "e3", "1e", "1e+", "abc", "NaN", "nan", "inf", "-inf", "Infinity", "0x10",
            "1_000", "1.2.3", "--1", "1 2", "١", "1e3x",
        ] {
            assert_eq!(parse(s), Err(NumberError::NotANumber), "{s:?}");
        }
        for s in ["1e309", "-1e309", "1e99999999999"] {
            assert_eq!(parse(s), Err(NumberError::TooLarge), "{s}");
        }
    }

    #[test]
    fn scanning_stops_where_the_number_does() {
        let n = |s: &str| scan_unsigned(&s.chars().collect::<Vec<_>>());
        assert_eq!(n("1e-3*king"), 4);
        assert_eq!(n("2.5E+2 king"), 6);
        assert_eq!(n("2even"), 1);
        assert_eq!(n("2e-x"), 1);
        assert_eq!(n(".5*king"), 2);
        assert_eq!(n("king"), 0);
        assert_eq!(n(".x"), 0);
        assert!(in_expression("1e309")
            .unwrap_err()
            .to_string()
            .contains("1e309 is too large"));
    }
}
