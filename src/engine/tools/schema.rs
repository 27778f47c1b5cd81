//! A small JSON Schema subset for tool arguments: `type`, `properties`, `required`,
//! `additionalProperties: false`, `items`, `enum`, `pattern`, `maxLength`.

use crate::engine::json::{Kind, Value};
use regex_lite::Regex;

/// JSON types a schema can require.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Type {
    Object,
    Array,
    String,
    Number,
    Integer,
    Boolean,
    Null,
}

impl Type {
    fn matches(self, value: &Value<'_>) -> bool {
        match (self, &value.kind) {
            (Type::Object, Kind::Object(_))
            | (Type::Array, Kind::Array(_))
            | (Type::String, Kind::String(_))
            | (Type::Number, Kind::Number(_))
            | (Type::Boolean, Kind::Bool(_))
            | (Type::Null, Kind::Null) => true,
            (Type::Integer, Kind::Number(raw)) => !raw.contains(['.', 'e', 'E']),
            _ => false,
        }
    }
}

/// A scalar an `enum` may list.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
}

impl Literal {
    fn matches(&self, value: &Value<'_>) -> bool {
        match (self, &value.kind) {
            (Literal::Str(s), Kind::String(v)) => s == v,
            (Literal::Num(n), Kind::Number(raw)) => raw.parse::<f64>().is_ok_and(|v| v == *n),
            (Literal::Bool(b), Kind::Bool(v)) => b == v,
            (Literal::Null, Kind::Null) => true,
            _ => false,
        }
    }
}

/// A compiled schema; absent keywords accept anything.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// Allowed types (`type`); empty: any.
    pub types: Vec<Type>,
    /// Schemas of named properties.
    pub properties: Vec<(String, Schema)>,
    /// Properties that must be present.
    pub required: Vec<String>,
    /// Whether properties outside `properties` are accepted.
    pub additional_properties: bool,
    /// Schema of every array element.
    pub items: Option<Box<Schema>>,
    /// The only values accepted, if set.
    pub enumeration: Option<Vec<Literal>>,
    /// A pattern strings must match (searched, not anchored, as in JSON Schema).
    pub pattern: Option<Regex>,
    /// Longest string, in characters.
    pub max_length: Option<usize>,
}

impl Schema {
    /// Whether `value` satisfies the schema.
    pub fn accepts(&self, value: &Value<'_>) -> bool {
        if !self.types.is_empty() && !self.types.iter().any(|t| t.matches(value)) {
            return false;
        }
        if let Some(list) = &self.enumeration {
            if !list.iter().any(|l| l.matches(value)) {
                return false;
            }
        }
        match &value.kind {
            Kind::String(text) => {
                self.max_length
                    .is_none_or(|max| text.chars().count() <= max)
                    && self.pattern.as_ref().is_none_or(|p| p.is_match(text))
            }
            Kind::Array(items) => self
                .items
                .as_ref()
                .is_none_or(|schema| items.iter().all(|v| schema.accepts(v))),
            Kind::Object(members) => {
                let present = |name: &String| members.iter().any(|(k, _)| k == name);
                self.required.iter().all(present)
                    && members.iter().all(|(key, v)| {
                        match self.properties.iter().find(|(name, _)| name == key) {
                            Some((_, schema)) => schema.accepts(v),
                            None => self.additional_properties,
                        }
                    })
            }
            _ => true,
        }
    }
}
