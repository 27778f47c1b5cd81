//! The LLM API formats the filter understands: what a request asks, what a response says.
//!
//! Requests are parsed into a [`RequestView`] that lists every piece of text with its role and its
//! span in the body, so that detectors scan decoded text and redactors rewrite exactly that string.
//! Responses are read the same way, whole ([`response`]) or as server-sent events ([`sse`],
//! [`stream`]).

pub mod error;
mod format;
pub mod request;
pub mod response;
pub mod sse;
pub mod stream;

pub use format::{ApiFormat, Provider};
pub use request::{RequestView, TextKind, TextPiece};

/// Who wrote a piece of text, as the API labels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// System prompt or instructions from the application.
    System,
    /// OpenAI's `developer` role: application instructions.
    Developer,
    /// The end user.
    User,
    /// The model (earlier turns in a request; output in a response).
    Assistant,
    /// A tool or function result fed back to the model.
    Tool,
}

impl Role {
    /// The role's name as used in configuration and audit records.
    pub fn name(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// Token usage reported by the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens, including cached prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens, including reasoning tokens.
    pub output_tokens: u64,
}

impl Usage {
    /// Input plus output.
    pub fn total(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}
