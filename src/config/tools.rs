//! The `tools` section: allow-lists per consumer group and argument rules per tool, compiled into
//! [`tools::Settings`].

use super::ConfigError;
use crate::engine::quota::Group;
use crate::engine::tools::{
    self, AllowList, ArgRules, HostPattern, Literal, OnUndeclared, Schema, Type,
};
use regex_lite::Regex;
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Tool allow-lists and tool-call checks.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTools {
    /// Tools everyone not in a listed group may use; `["*"]` (default): any.
    pub allow: Option<Vec<String>>,
    /// Allow-lists by quota group name.
    pub groups: BTreeMap<String, Vec<String>>,
    /// `reject` (default, 403) or `strip` declared tools off the allow-list.
    pub on_undeclared: Option<RawOnUndeclared>,
    /// Argument rules by tool name.
    pub rules: BTreeMap<String, RawRules>,
    /// Largest arguments of one tool call (bytes).
    pub max_arguments_bytes: Option<u64>,
    /// Most bytes of a stream held back while tool calls are assembled.
    pub max_held_bytes: Option<u64>,
}

/// What to do with declared tools off the allow-list.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RawOnUndeclared {
    Reject,
    Strip,
}

/// One tool's argument rules.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRules {
    /// A JSON Schema subset for the arguments.
    pub arguments: Option<Json>,
    /// Patterns (regex-lite) no string argument may match.
    pub deny: Vec<String>,
    /// Hosts URL arguments may name (`api.example.com`, `*.example.com`); absent: any.
    pub url_hosts: Option<Vec<String>>,
}

/// Longest pattern accepted.
const MAX_PATTERN: usize = 1024;
/// Deepest schema accepted.
const MAX_SCHEMA_DEPTH: usize = 16;

/// Compiles the section; `groups` are the quota's, whose names the allow-lists refer to.
pub fn compile(raw: RawTools, groups: &[Group]) -> Result<tools::Settings, ConfigError> {
    let d = tools::Settings::default();
    let default = allow_list("tools.allow", raw.allow.unwrap_or_else(|| vec!["*".into()]))?;
    let mut lists = Vec::new();
    for (name, list) in raw.groups {
        let path = format!("tools.groups.{name}");
        if !groups.iter().any(|g| g.name == name) {
            return Err(ConfigError::at(path, "names no quota group"));
        }
        lists.push((name, allow_list(&path, list)?));
    }
    let mut rules = Vec::new();
    for (name, r) in raw.rules {
        let path = format!("tools.rules.{name}");
        rules.push((name, arg_rules(&path, r)?));
    }
    let bound = |v: Option<u64>, default: usize, path: &str| match v {
        None => Ok(default),
        Some(v) if (1024..=16 << 20).contains(&v) => {
            usize::try_from(v).map_err(|_| ConfigError::at(path, "too large"))
        }
        Some(_) => Err(ConfigError::at(path, "must be between 1024 and 16777216")),
    };
    Ok(tools::Settings {
        default,
        groups: lists,
        on_undeclared: match raw.on_undeclared {
            None | Some(RawOnUndeclared::Reject) => OnUndeclared::Reject,
            Some(RawOnUndeclared::Strip) => OnUndeclared::Strip,
        },
        rules,
        max_arguments_bytes: bound(
            raw.max_arguments_bytes,
            d.max_arguments_bytes,
            "tools.max_arguments_bytes",
        )?,
        max_held_bytes: bound(raw.max_held_bytes, d.max_held_bytes, "tools.max_held_bytes")?,
    })
}

fn allow_list(path: &str, names: Vec<String>) -> Result<AllowList, ConfigError> {
    if names.iter().any(|n| n == "*") {
        return Ok(AllowList::Any);
    }
    if let Some(i) = names.iter().position(|n| n.is_empty()) {
        return Err(ConfigError::at(format!("{path}[{i}]"), "must not be empty"));
    }
    Ok(AllowList::Names(names))
}

fn pattern(path: &str, source: &str) -> Result<Regex, ConfigError> {
    if source.len() > MAX_PATTERN {
        return Err(ConfigError::at(
            path,
            format!("must be at most {MAX_PATTERN} bytes"),
        ));
    }
    regex_lite::RegexBuilder::new(source)
        .size_limit(1 << 16)
        .nest_limit(16)
        .build()
        .map_err(|e| ConfigError::at(path, e.to_string()))
}

fn arg_rules(path: &str, raw: RawRules) -> Result<ArgRules, ConfigError> {
    let schema = match &raw.arguments {
        None => Schema {
            additional_properties: true,
            ..Schema::default()
        },
        Some(json) => schema(&format!("{path}.arguments"), json, 0)?,
    };
    let deny = raw
        .deny
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let re = pattern(&format!("{path}.deny[{i}]"), p)?;
            if re.is_match("") {
                return Err(ConfigError::at(
                    format!("{path}.deny[{i}]"),
                    "must not match the empty string",
                ));
            }
            Ok(re)
        })
        .collect::<Result<_, _>>()?;
    let url_hosts = raw
        .url_hosts
        .map(|hosts| {
            hosts
                .iter()
                .enumerate()
                .map(|(i, h)| host(&format!("{path}.url_hosts[{i}]"), h))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(ArgRules {
        schema,
        deny,
        url_hosts,
    })
}

fn host(path: &str, raw: &str) -> Result<HostPattern, ConfigError> {
    let lower = raw.trim_end_matches('.').to_ascii_lowercase();
    let (wild, name) = match lower.strip_prefix("*.") {
        Some(rest) => (true, rest.to_string()),
        None => (false, lower),
    };
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    if !ok {
        return Err(ConfigError::at(
            path,
            "must be a host name (`api.example.com`) or `*.` and a domain",
        ));
    }
    Ok(if wild {
        HostPattern::Subdomains(format!(".{name}"))
    } else {
        HostPattern::Exact(name)
    })
}

fn schema(path: &str, json: &Json, depth: usize) -> Result<Schema, ConfigError> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(ConfigError::at(path, "nests too deep"));
    }
    let Some(object) = json.as_object() else {
        return Err(ConfigError::at(path, "must be a schema object"));
    };
    let mut s = Schema {
        additional_properties: true,
        ..Schema::default()
    };
    for (key, value) in object {
        let at = format!("{path}.{key}");
        let bad = |what: &str| Err(ConfigError::at(&at, format!("must be {what}")));
        match key.as_str() {
            "type" => {
                let names: Vec<&Json> = match value {
                    Json::Array(list) => list.iter().collect(),
                    one => vec![one],
                };
                for name in names {
                    s.types.push(match name.as_str() {
                        Some("object") => Type::Object,
                        Some("array") => Type::Array,
                        Some("string") => Type::String,
                        Some("number") => Type::Number,
                        Some("integer") => Type::Integer,
                        Some("boolean") => Type::Boolean,
                        Some("null") => Type::Null,
                        _ => return bad("a JSON type name or a list of them"),
                    });
                }
            }
            "properties" => {
                let Some(props) = value.as_object() else {
                    return bad("an object of schemas");
                };
                for (name, sub) in props {
                    let sub = schema(&format!("{at}.{name}"), sub, depth + 1)?;
                    s.properties.push((name.clone(), sub));
                }
            }
            "required" => {
                let names: Option<Vec<String>> = value.as_array().and_then(|list| {
                    list.iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect()
                });
                let Some(names) = names else {
                    return bad("a list of property names");
                };
                s.required = names;
            }
            "additionalProperties" => match value.as_bool() {
                Some(b) => s.additional_properties = b,
                None => return bad("`true` or `false`"),
            },
            "items" => s.items = Some(Box::new(schema(&at, value, depth + 1)?)),
            "enum" => {
                let literals: Option<Vec<Literal>> = value.as_array().and_then(|list| {
                    list.iter()
                        .map(|v| match v {
                            Json::String(t) => Some(Literal::Str(t.clone())),
                            Json::Number(n) => n.as_f64().map(Literal::Num),
                            Json::Bool(b) => Some(Literal::Bool(*b)),
                            Json::Null => Some(Literal::Null),
                            _ => None,
                        })
                        .collect()
                });
                let Some(literals) = literals else {
                    return bad("a list of strings, numbers, booleans or null");
                };
                s.enumeration = Some(literals);
            }
            "pattern" => match value.as_str() {
                Some(p) => s.pattern = Some(pattern(&at, p)?),
                None => return bad("a pattern string"),
            },
            "maxLength" => match value.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(n) => s.max_length = Some(n),
                None => return bad("a non-negative integer"),
            },
            "description" | "title" => {}
            other => {
                return Err(ConfigError::at(
                    &at,
                    format!("unsupported schema keyword `{other}`"),
                ));
            }
        }
    }
    Ok(s)
}
