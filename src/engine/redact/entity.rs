//! What the redactor recognises: the entity types, their configuration names and mask labels.

/// A kind of sensitive value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    /// An e-mail address.
    Email,
    /// A phone number (E.164 or a common national format).
    Phone,
    /// A payment card number (Luhn and issuer range checked).
    CreditCard,
    /// An IBAN (country length and mod-97 checked).
    Iban,
    /// A US social security number (valid ranges).
    UsSsn,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// An AWS access key id or secret key.
    AwsKey,
    /// A GitHub token.
    GithubToken,
    /// An OpenAI API key.
    OpenAiKey,
    /// An Anthropic API key.
    AnthropicKey,
    /// A Slack token.
    SlackToken,
    /// A Slack incoming-webhook URL.
    SlackWebhook,
    /// A Stripe secret or restricted key.
    StripeKey,
    /// A Google API key.
    GoogleApiKey,
    /// A JSON web token.
    Jwt,
    /// A PEM private key block.
    PrivateKey,
    /// Credentials in a connection string or URL (`scheme://user:pass@host`, SQL `PASSWORD '…'`).
    ConnectionString,
    /// A password in an assignment (`password=…`, `pw:…`) or `--user name:pass`.
    Password,
    /// Any other credential: `api_key: …` assignments, `Authorization` values, vendor tokens and
    /// high-entropy strings.
    GenericSecret,
    /// A configured canary string.
    Canary,
    /// A long run of the request's own system prompt.
    SystemPrompt,
    /// A markdown or HTML image or link to a host outside the allow-list carrying data in its URL.
    ExfilLink,
    /// A custom entity from the configuration (its index).
    Custom(u16),
}

/// The built-in entities that configuration can name, in a stable order.
pub const BUILT_IN: [Entity; 22] = [
    Entity::Email,
    Entity::Phone,
    Entity::CreditCard,
    Entity::Iban,
    Entity::UsSsn,
    Entity::IpAddress,
    Entity::AwsKey,
    Entity::GithubToken,
    Entity::OpenAiKey,
    Entity::AnthropicKey,
    Entity::SlackToken,
    Entity::SlackWebhook,
    Entity::StripeKey,
    Entity::GoogleApiKey,
    Entity::Jwt,
    Entity::PrivateKey,
    Entity::ConnectionString,
    Entity::Password,
    Entity::GenericSecret,
    Entity::Canary,
    Entity::SystemPrompt,
    Entity::ExfilLink,
];

impl Entity {
    /// The name used in configuration and audit records (`credit_card`); `custom` for custom ones.
    pub fn name(self) -> &'static str {
        match self {
            Entity::Email => "email",
            Entity::Phone => "phone",
            Entity::CreditCard => "credit_card",
            Entity::Iban => "iban",
            Entity::UsSsn => "us_ssn",
            Entity::IpAddress => "ip_address",
            Entity::AwsKey => "aws_key",
            Entity::GithubToken => "github_token",
            Entity::OpenAiKey => "openai_key",
            Entity::AnthropicKey => "anthropic_key",
            Entity::SlackToken => "slack_token",
            Entity::SlackWebhook => "slack_webhook",
            Entity::StripeKey => "stripe_key",
            Entity::GoogleApiKey => "google_api_key",
            Entity::Jwt => "jwt",
            Entity::PrivateKey => "private_key",
            Entity::ConnectionString => "connection_string",
            Entity::Password => "password",
            Entity::GenericSecret => "generic_secret",
            Entity::Canary => "canary",
            Entity::SystemPrompt => "system_prompt",
            Entity::ExfilLink => "exfil_link",
            Entity::Custom(_) => "custom",
        }
    }

    /// The built-in entity with this configuration name.
    pub fn from_name(name: &str) -> Option<Entity> {
        BUILT_IN.into_iter().find(|e| e.name() == name)
    }

    /// Whether this is personal data (the `pii` group) rather than a credential.
    pub fn is_pii(self) -> bool {
        matches!(
            self,
            Entity::Email
                | Entity::Phone
                | Entity::CreditCard
                | Entity::Iban
                | Entity::UsSsn
                | Entity::IpAddress
        )
    }

    /// Whether this is a credential (the `secrets` group).
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            Entity::AwsKey
                | Entity::GithubToken
                | Entity::OpenAiKey
                | Entity::AnthropicKey
                | Entity::SlackToken
                | Entity::SlackWebhook
                | Entity::StripeKey
                | Entity::GoogleApiKey
                | Entity::Jwt
                | Entity::PrivateKey
                | Entity::ConnectionString
                | Entity::Password
                | Entity::GenericSecret
        )
    }

    /// The upper-case label of masks and pseudonyms (`EMAIL` in `[REDACTED_EMAIL]`, `<EMAIL_1>`).
    pub fn label(self) -> &'static str {
        match self {
            Entity::Email => "EMAIL",
            Entity::Phone => "PHONE",
            Entity::CreditCard => "CREDIT_CARD",
            Entity::Iban => "IBAN",
            Entity::UsSsn => "SSN",
            Entity::IpAddress => "IP",
            Entity::AwsKey => "AWS_KEY",
            Entity::GithubToken => "GITHUB_TOKEN",
            Entity::OpenAiKey => "OPENAI_KEY",
            Entity::AnthropicKey => "ANTHROPIC_KEY",
            Entity::SlackToken => "SLACK_TOKEN",
            Entity::SlackWebhook => "SLACK_WEBHOOK",
            Entity::StripeKey => "STRIPE_KEY",
            Entity::GoogleApiKey => "GOOGLE_API_KEY",
            Entity::Jwt => "JWT",
            Entity::PrivateKey => "PRIVATE_KEY",
            Entity::ConnectionString => "CREDENTIALS",
            Entity::Password => "PASSWORD",
            Entity::GenericSecret => "SECRET",
            Entity::Canary => "CANARY",
            Entity::SystemPrompt => "SYSTEM_PROMPT",
            Entity::ExfilLink => "LINK",
            Entity::Custom(_) => "CUSTOM",
        }
    }
}
