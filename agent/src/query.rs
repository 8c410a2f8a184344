//! Parsing an endpoint's query string strictly: known parameters only, each value checked,
//! every mistake a 400 with a reason.

use crate::AgentError;

/// Most bytes a request target may have.
pub const MAX_TARGET: usize = 2048;

/// A request target split into its path and decoded parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    /// The path, e.g. `/profile`.
    pub path: String,
    /// The parameters in order, decoded.
    pub params: Vec<(String, String)>,
}

impl Target {
    /// Splits and decodes `url` (`/path?key=value&...`).
    pub fn parse(url: &str) -> Result<Target, AgentError> {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let mut params = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            params.push((decode(key)?, decode(value)?));
        }
        Ok(Target {
            path: path.to_owned(),
            params,
        })
    }

    /// Fails on any parameter not in `known`, and on repeats of those not in `repeatable`.
    pub fn check(&self, known: &[&str], repeatable: &[&str]) -> Result<(), AgentError> {
        for (index, (key, _)) in self.params.iter().enumerate() {
            if !known.contains(&key.as_str()) {
                let mut expected = known.join(", ");
                if expected.is_empty() {
                    expected = "none".to_owned();
                }
                return Err(AgentError::BadValue(format!(
                    "unknown parameter `{key}` (expected: {expected})"
                )));
            }
            if !repeatable.contains(&key.as_str())
                && self.params[..index].iter().any(|(k, _)| k == key)
            {
                return Err(AgentError::BadValue(format!(
                    "parameter `{key}` given twice"
                )));
            }
        }
        Ok(())
    }

    /// The value of a parameter, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable parameter.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.params
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Percent-decoding, with `+` as a space.
fn decode(text: &str) -> Result<String, AgentError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        AgentError::BadValue(format!("bad percent-encoding in `{text}`"))
                    })?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| AgentError::BadValue(format!("`{text}` is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_check() {
        let t =
            Target::parse("/profile?from=now-5m&thread=worker%201&thread=main&format=svg").unwrap();
        assert_eq!(t.path, "/profile");
        assert_eq!(t.get("from"), Some("now-5m"));
        assert_eq!(t.all("thread"), ["worker 1", "main"]);
        assert!(t
            .check(&["from", "until", "thread", "format"], &["thread"])
            .is_ok());
        assert_eq!(
            t.check(&["from", "thread", "format"], &[])
                .unwrap_err()
                .to_string(),
            "parameter `thread` given twice"
        );
        let bad = Target::parse("/x?sconds=3").unwrap();
        assert_eq!(
            bad.check(&["seconds"], &[]).unwrap_err().to_string(),
            "unknown parameter `sconds` (expected: seconds)"
        );
        assert!(Target::parse("/x?a=%zz").is_err());
    }
}
