//! Which API a route speaks, and which provider's error dialect it answers in.

/// An LLM API request/response format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiFormat {
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    OpenAiChat,
    /// OpenAI legacy Completions (`/v1/completions`).
    OpenAiCompletions,
    /// OpenAI Responses (`/v1/responses`).
    OpenAiResponses,
    /// Anthropic Messages (`/v1/messages`).
    AnthropicMessages,
}

/// The provider family whose error format and stream conventions a route uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// OpenAI-style APIs: `{"error":{"message","type","code"}}`.
    OpenAi,
    /// Anthropic-style APIs: `{"type":"error","error":{"type","message"}}`.
    Anthropic,
}

impl ApiFormat {
    /// Every format, in a stable order.
    pub const ALL: [ApiFormat; 4] = [
        ApiFormat::OpenAiChat,
        ApiFormat::OpenAiCompletions,
        ApiFormat::OpenAiResponses,
        ApiFormat::AnthropicMessages,
    ];

    /// The name used in configuration, stats and audit records.
    pub fn name(self) -> &'static str {
        match self {
            ApiFormat::OpenAiChat => "openai_chat",
            ApiFormat::OpenAiCompletions => "openai_completions",
            ApiFormat::OpenAiResponses => "openai_responses",
            ApiFormat::AnthropicMessages => "anthropic_messages",
        }
    }

    /// The format with this configuration name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The provider's canonical path for this format.
    pub fn default_path(self) -> &'static str {
        match self {
            ApiFormat::OpenAiChat => "/v1/chat/completions",
            ApiFormat::OpenAiCompletions => "/v1/completions",
            ApiFormat::OpenAiResponses => "/v1/responses",
            ApiFormat::AnthropicMessages => "/v1/messages",
        }
    }

    /// Whose error format and stream conventions apply.
    pub fn provider(self) -> Provider {
        match self {
            ApiFormat::AnthropicMessages => Provider::Anthropic,
            _ => Provider::OpenAi,
        }
    }
}
