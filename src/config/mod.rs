//! Plugin configuration: JSON from Envoy's `configuration` field, read in two stages.
//!
//! [`raw`] only parses (serde, unknown fields rejected, defaults filled in); [`compile`] checks
//! every value and builds the engine's [`Policy`], so that nothing is parsed or compiled at
//! request time. Every error names the JSON path of the offending value.

mod compile;
pub mod identity;
pub mod quota;
pub mod raw;
pub mod redaction;
pub mod tools;

use crate::engine::policy::Policy;
use std::fmt;

/// A configuration the plugin refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// JSON path of the offending value (`quota.limits[2].window`); empty for the whole document.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl ConfigError {
    /// An error at `path`. Both may quote the configuration (a key's name), so control characters
    /// are escaped: the error is logged as one line, and a key cannot forge more.
    pub(crate) fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: one_line(path.into()),
            message: one_line(message.into()),
        }
    }
}

fn one_line(text: String) -> String {
    if !text.contains(char::is_control) {
        return text;
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Reads and compiles a plugin configuration. Empty input (no configuration) means `{}`: every
/// protection on with its defaults.
pub fn load(bytes: &[u8]) -> Result<Policy, ConfigError> {
    let raw = raw::parse(bytes)?;
    compile::compile(raw)
}

#[cfg(test)]
mod tests;
