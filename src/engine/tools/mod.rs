//! Agent boundaries: which tools a consumer group may declare and call, and what a call's
//! arguments may say.
//!
//! Requests are checked against the group's allow-list ([`Settings::allows`]); tool calls in
//! responses against the allow-list and the tool's [`ArgRules`] ([`Settings::check_call`]).
//! Streamed calls are assembled by [`stream::StreamCalls`] before they are checked.

mod rules;
mod schema;
pub mod stream;

pub use rules::{ArgRules, HostPattern};
pub use schema::{Literal, Schema, Type};

use crate::engine::json::{self, Kind, Value};
use std::borrow::Cow;

/// Which tools a group may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowList {
    /// Any tool (`*`).
    Any,
    /// Only these names.
    Names(Vec<String>),
}

impl AllowList {
    /// Whether `name` is on the list.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            AllowList::Any => true,
            AllowList::Names(names) => names.iter().any(|n| n == name),
        }
    }
}

/// What to do with a request that declares tools its group may not use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnUndeclared {
    /// Refuse the request (403).
    Reject,
    /// Remove the other tools from the request's `tools` array.
    Strip,
}

/// The compiled tool policy.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Allow-list of consumers whose group has none of its own.
    pub default: AllowList,
    /// Allow-lists by quota group name.
    pub groups: Vec<(String, AllowList)>,
    /// Declared tools off the allow-list.
    pub on_undeclared: OnUndeclared,
    /// Argument rules by tool name.
    pub rules: Vec<(String, ArgRules)>,
    /// Largest arguments of one tool call; a larger call is blocked.
    pub max_arguments_bytes: usize,
    /// Most bytes of a stream held back while tool calls are assembled; more is blocked.
    pub max_held_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default: AllowList::Any,
            groups: Vec::new(),
            on_undeclared: OnUndeclared::Reject,
            rules: Vec::new(),
            max_arguments_bytes: 64 << 10,
            max_held_bytes: 1 << 20,
        }
    }
}

/// Why a tool call was refused; the name is the decision's category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// The tool is not on the group's allow-list.
    NotAllowed,
    /// The arguments break the tool's schema.
    Schema,
    /// An argument matches a deny pattern.
    Denied,
    /// A URL argument names a host off the tool's host list.
    Host,
    /// The arguments (or the stream held back for them) are over the limit.
    TooLarge,
}

impl Violation {
    /// The category name in decisions, stats and audit records.
    pub fn name(self) -> &'static str {
        match self {
            Violation::NotAllowed => "tool_not_allowed",
            Violation::Schema => "tool_arguments_schema",
            Violation::Denied => "tool_arguments_denied",
            Violation::Host => "tool_url_host",
            Violation::TooLarge => "tool_arguments_too_large",
        }
    }

    /// What the client is told (names no argument value).
    pub fn message(self) -> &'static str {
        match self {
            Violation::NotAllowed => "the model called a tool that is not allowed",
            Violation::Schema => "the model's tool call arguments break the tool's rules",
            Violation::Denied => "the model's tool call arguments match a denied pattern",
            Violation::Host => "the model's tool call names a host that is not allowed",
            Violation::TooLarge => "the model's tool call arguments are too large to check",
        }
    }
}

impl Settings {
    /// Whether nothing can ever be refused: any tool for everyone and no argument rules. Streams
    /// are then not held back.
    pub fn inert(&self) -> bool {
        self.default == AllowList::Any
            && self.groups.iter().all(|(_, l)| *l == AllowList::Any)
            && self.rules.is_empty()
    }

    /// The allow-list of the group named `group`.
    pub fn allow_list(&self, group: &str) -> &AllowList {
        self.groups
            .iter()
            .find(|(name, _)| name == group)
            .map_or(&self.default, |(_, list)| list)
    }

    /// Whether the group `group` may use the tool `name`.
    pub fn allows(&self, group: &str, name: &str) -> bool {
        self.allow_list(group).allows(name)
    }

    /// Checks a tool call of the group `group`: its name, then its arguments, given as written
    /// (`Value::String` holding JSON for OpenAI, an object for Anthropic).
    pub fn check_call(
        &self,
        group: &str,
        name: &str,
        arguments: &Value<'_>,
    ) -> Result<(), Violation> {
        if let Some(text) = arguments.as_str() {
            return self.check_streamed(group, name, text);
        }
        if !self.allows(group, name) {
            return Err(Violation::NotAllowed);
        }
        match self.rules_of(name) {
            Some(rules) => rules.check(arguments),
            None => Ok(()),
        }
    }

    fn rules_of(&self, name: &str) -> Option<&ArgRules> {
        self.rules.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }

    /// Checks arguments that arrive as text: JSON when they parse, else the text as one string
    /// (a custom tool's free-form input).
    fn check_text(rules: &ArgRules, text: &str) -> Result<(), Violation> {
        let text = if text.trim().is_empty() { "{}" } else { text };
        match json::parse(text.as_bytes(), rules::MAX_DEPTH) {
            Ok(value) => rules.check(&value),
            Err(_) => rules.check(&Value {
                span: json::Span::default(),
                kind: Kind::String(Cow::Borrowed(text)),
            }),
        }
    }

    /// Checks a call whose arguments are text: OpenAI's JSON string, or a streamed call's
    /// assembled fragments.
    pub fn check_streamed(
        &self,
        group: &str,
        name: &str,
        arguments: &str,
    ) -> Result<(), Violation> {
        if !self.allows(group, name) {
            return Err(Violation::NotAllowed);
        }
        if arguments.len() > self.max_arguments_bytes {
            return Err(Violation::TooLarge);
        }
        match self.rules_of(name) {
            Some(rules) => Self::check_text(rules, arguments),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
