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
    /// something the file or the vocabulary should have is not there.
    NotFound(String),
    /// no token reads `text`; `suggestions` are near spellings (`" Paris" (#7042)`).
    UnknownToken {
        text: String,
        suggestions: Vec<String>,
    },
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
            Error::UnknownToken { text, suggestions } if suggestions.is_empty() => {
                write!(f, "not found: no token reads {text:?}")
            }
            Error::UnknownToken { text, suggestions } => write!(
                f,
                "not found: no token reads {text:?}; did you mean {}?",
                suggestions.join(", ")
            ),
            Error::Io(m) => write!(f, "i/o error: {m}"),
            Error::Cancelled => write!(f, "cancelled"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// the message in Vietnamese (`vi`) or English. what a reader meets in normal use (unknown
    /// tokens, bad values, truncated or foreign files) is translated whole; for the rest the
    /// kind is translated and the technical detail (a tensor name, an offset) kept.
    pub fn localized(&self, vi: bool) -> String {
        if !vi {
            return self.to_string();
        }
        match self {
            Error::Truncated { what, need, have } => {
                format!("tệp bị cắt cụt: {what} cần {need} byte nhưng tệp chỉ có {have}")
            }
            Error::Format(m) => format!("tệp không đúng định dạng: {m}"),
            Error::Unsupported(m) => format!("chưa hỗ trợ: {m}"),
            Error::Shape(m) => format!("kích thước không khớp: {m}"),
            Error::Invalid(m) => format!("giá trị không hợp lệ: {m}"),
            Error::NotFound(m) => format!("không tìm thấy: {m}"),
            Error::UnknownToken { text, suggestions } if suggestions.is_empty() => {
                format!("không có token nào là {text:?}")
            }
            Error::UnknownToken { text, suggestions } => format!(
                "không có token nào là {text:?}; có phải bạn muốn {}?",
                suggestions.join(", ")
            ),
            Error::Io(m) => format!("lỗi đọc/ghi: {m}"),
            Error::Cancelled => "đã hủy".to_string(),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_messages() {
        let e = Error::UnknownToken {
            text: "paris".into(),
            suggestions: vec!["\" Paris\" (#7042)".into()],
        };
        assert_eq!(
            e.to_string(),
            "not found: no token reads \"paris\"; did you mean \" Paris\" (#7042)?"
        );
        assert!(e
            .localized(true)
            .starts_with("không có token nào là \"paris\"; có phải bạn muốn"));
        assert_eq!(e.localized(false), e.to_string());
        let t = Error::Truncated {
            what: "header".into(),
            need: 10,
            have: 4,
        };
        assert!(t.localized(true).contains("tệp bị cắt cụt"));
    }
}
