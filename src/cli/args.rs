//! a small argument reader: `--flag`, `--key value`, `--key=value`, positionals.

use crate::core::error::{Error, Result};

pub struct Args {
    items: Vec<String>,
    used: Vec<bool>,
}

impl Args {
    pub fn new(items: Vec<String>) -> Self {
        let used = vec![false; items.len()];
        Args { items, used }
    }

    /// whether `--name` is present.
    pub fn flag(&mut self, name: &str) -> bool {
        let mut found = false;
        for (i, it) in self.items.iter().enumerate() {
            if it == name {
                self.used[i] = true;
                found = true;
            }
        }
        found
    }

    /// the value of `--name V` or `--name=V`.
    pub fn opt(&mut self, name: &str) -> Result<Option<String>> {
        let prefix = format!("{name}=");
        for i in 0..self.items.len() {
            if self.items[i] == name {
                if i + 1 >= self.items.len() {
                    return Err(Error::Invalid(format!("{name} needs a value")));
                }
                self.used[i] = true;
                self.used[i + 1] = true;
                return Ok(Some(self.items[i + 1].clone()));
            }
            if let Some(v) = self.items[i].strip_prefix(&prefix) {
                self.used[i] = true;
                return Ok(Some(v.to_string()));
            }
        }
        Ok(None)
    }

    /// a parsed option.
    pub fn parse<T: std::str::FromStr>(&mut self, name: &str) -> Result<Option<T>> {
        match self.opt(name)? {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Error::Invalid(format!("{name}: cannot read {v:?}"))),
        }
    }

    /// remaining positionals; fails on unknown flags (call after every opt/flag).
    pub fn positionals(&mut self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let it = &self.items[i];
            if it.starts_with("--") && it.len() > 2 {
                return Err(Error::Invalid(format!("unknown option {it}")));
            }
            out.push(it.clone());
        }
        Ok(out)
    }
}
