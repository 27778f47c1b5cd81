//! JSON with spans: a strict parser that remembers where every value sits in the body, and an edit
//! list that splices new values into the original bytes.
//!
//! The engine needs three things serde's `Value` cannot give: the byte span of each string (to rewrite
//! one text and leave every other byte as it was), decoded text (so `\u0069gnore` is scanned as
//! `ignore`), and hard limits on nesting and duplicate keys (so two parsers cannot disagree about what
//! a request says).

mod edit;
mod parse;

pub use edit::{Edits, write_str};
pub use parse::{ParseError, parse};

#[cfg(test)]
mod tests;

use std::borrow::Cow;

/// A half-open byte range `start..end` in the parsed body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The bytes of `body` this span covers, or an empty slice if it lies outside `body`.
    pub fn of<'b>(&self, body: &'b [u8]) -> &'b [u8] {
        body.get(self.start..self.end).unwrap_or_default()
    }
}

/// A parsed JSON value with the span of its source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Value<'a> {
    /// Where the value's text sits in the body; for strings this includes the quotes.
    pub span: Span,
    /// What the value is.
    pub kind: Kind<'a>,
}

/// The kinds of JSON value. Numbers keep their source text, strings their decoded text.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind<'a> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, as written.
    Number(&'a str),
    /// A string, with escapes decoded (borrowed when it had none).
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Value<'a>>),
    /// An object, members in source order; keys are unique (the parser rejects duplicates).
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl<'a> Value<'a> {
    /// The member `key` of an object, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        match &self.kind {
            Kind::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The decoded text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value<'a>]> {
        match &self.kind {
            Kind::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&[(Cow<'a, str>, Value<'a>)]> {
        match &self.kind {
            Kind::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The value as a non-negative integer, if it is a number written as one that fits in `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match &self.kind {
            Kind::Number(raw) => raw.parse().ok(),
            _ => None,
        }
    }

    /// The value as a boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            Kind::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The string member `key`, if present and a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }
}
