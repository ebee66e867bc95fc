//! typed errors: every bad input becomes one of these, never a panic.

use std::fmt;

/// everything that can go wrong while reading a model or computing with it.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// the source ended before `what` could be read; `need` is the smallest total length that
    /// could hold it (callers that read by ranges fetch more and retry).
    Truncated { what: String, need: u64, have: u64 },
    /// the bytes are not in the format we expected (bad magic, bad version, bad json …).
    Format(String),
    /// the file is well formed but holds something we do not support.
    Unsupported(String),
    /// shapes disagree (vocabulary size vs rows, h length vs d …).
    Shape(String),
    /// a value is out of its domain (NaN in h, negative temperature …).
    Invalid(String),
    /// a token text or id could not be found in the vocabulary.
    NotFound(String),
    /// an i/o error from the operating system.
    Io(String),
    /// the caller asked to stop (progress callback returned false).
    Cancelled,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { what, need, have } => write!(
                f,
                "file is truncated: {what} needs {need} bytes but the file has {have}"
            ),
            Error::Format(m) => write!(f, "bad file format: {m}"),
            Error::Unsupported(m) => write!(f, "unsupported: {m}"),
            Error::Shape(m) => write!(f, "shape mismatch: {m}"),
            Error::Invalid(m) => write!(f, "invalid value: {m}"),
            Error::NotFound(m) => write!(f, "not found: {m}"),
            Error::Io(m) => write!(f, "i/o error: {m}"),
            Error::Cancelled => write!(f, "cancelled"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// shorthand for `Err(Error::Format(...))`.
macro_rules! bail_format {
    ($($arg:tt)*) => { return Err($crate::core::error::Error::Format(format!($($arg)*))) };
}
pub(crate) use bail_format;
