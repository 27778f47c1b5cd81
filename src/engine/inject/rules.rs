//! Rules: concepts of the lexicon combined into weighted signals, grouped in families.
//!
//! A rule fires on one concept (`any`), on two concepts close together in either order (`near`),
//! or on concepts in order within a span (`seq`). A family scores the weight of its strongest
//! rule that fired; the text's score is the sum over families, so independent kinds of evidence add
//! up while repeating one phrase does not.

use super::lexicon::{Concept, Hit, Lexicon};

/// Families of signals. Their names appear in audit records and error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// "Ignore/forget previous instructions", "new instructions follow".
    InstructionOverride,
    /// Requests to reveal the system prompt or hidden instructions.
    SystemPromptExtraction,
    /// Persona and role-play jailbreaks (DAN, developer mode, "no restrictions").
    Jailbreak,
    /// Fake chat-template tokens and role delimiters.
    Delimiter,
    /// Sending data out: links and images carrying data, "send the conversation to …".
    Exfiltration,
    /// Driving tools or agents: "call the tool", "run this command".
    ToolHijack,
    /// Script and query payloads (XSS, template, SQL) to be echoed.
    CodeInjection,
    /// Instructions to decode an opaque payload.
    Encoding,
    /// Instructions aimed at the assistant's answer, inside documents or tool output.
    Indirect,
    /// Text hidden in invisible characters.
    Smuggling,
    /// Evasion techniques: lookalikes, spacing, leetspeak, invisible characters.
    Obfuscation,
    /// A request for harmful content framed to get past refusals.
    Harmful,
    /// The learned model's judgement of the text as a whole.
    Learned,
}

impl Family {
    /// The family's name in configuration, audit records and stats.
    pub fn name(self) -> &'static str {
        match self {
            Family::InstructionOverride => "instruction_override",
            Family::SystemPromptExtraction => "system_prompt_extraction",
            Family::Jailbreak => "jailbreak",
            Family::Delimiter => "delimiter",
            Family::Exfiltration => "exfiltration",
            Family::ToolHijack => "tool_hijack",
            Family::CodeInjection => "code_injection",
            Family::Encoding => "encoding",
            Family::Indirect => "indirect",
            Family::Smuggling => "smuggling",
            Family::Obfuscation => "obfuscation",
            Family::Harmful => "harmful",
            Family::Learned => "learned",
        }
    }

    /// Whether the family's weight comes from the rules table (the others come from evasions,
    /// hidden text and the learned model).
    pub fn is_rule_family(self) -> bool {
        !matches!(self, Family::Smuggling | Family::Learned)
    }

    /// Every family, in a stable order.
    pub const ALL: [Family; 13] = [
        Family::InstructionOverride,
        Family::SystemPromptExtraction,
        Family::Jailbreak,
        Family::Delimiter,
        Family::Exfiltration,
        Family::ToolHijack,
        Family::CodeInjection,
        Family::Encoding,
        Family::Indirect,
        Family::Smuggling,
        Family::Obfuscation,
        Family::Harmful,
        Family::Learned,
    ];
}

/// How a rule combines concepts.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// The concept occurs.
    Any(&'static str),
    /// Both occur within `span` bytes of each other, in either order.
    Near(&'static str, &'static str, u32),
    /// The concepts occur in this order, the whole within `span` bytes.
    Seq(&'static [&'static str], u32),
}

/// Where a rule applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every scanned text.
    All,
    /// Only texts that carry third-party content: tool results and documents.
    Untrusted,
}

struct RuleDef {
    id: &'static str,
    family: Family,
    shape: Shape,
    weight: f32,
    scope: Scope,
}

use Family as F;
use Scope::{All, Untrusted};
use Shape::{Any, Near, Seq};

const fn rule(id: &'static str, family: Family, shape: Shape, weight: f32) -> RuleDef {
    RuleDef {
        id,
        family,
        shape,
        weight,
        scope: All,
    }
}

const fn untrusted(id: &'static str, family: Family, shape: Shape, weight: f32) -> RuleDef {
    RuleDef {
        id,
        family,
        shape,
        weight,
        scope: Untrusted,
    }
}

/// The rules. Weights are calibrated so that 1.0 blocks on its own by default; `make eval` measures
/// them against the corpora.
const RULES: &[RuleDef] = &[
    // Instruction override.
    rule(
        "override.ignore_rules",
        F::InstructionOverride,
        Near("ignore", "rules", 90),
        1.0,
    ),
    rule(
        "override.ignore_prior",
        F::InstructionOverride,
        Seq(&["ignore", "prior"], 50),
        0.6,
    ),
    rule(
        "override.ignore_all",
        F::InstructionOverride,
        Seq(&["ignore", "all"], 24),
        0.35,
    ),
    rule(
        "override.new_instructions",
        F::InstructionOverride,
        Any("new_instructions"),
        0.45,
    ),
    rule(
        "override.ignore_policy",
        F::InstructionOverride,
        Near("ignore", "policy", 80),
        1.0,
    ),
    // System prompt extraction.
    rule(
        "extraction.reveal_secret",
        F::SystemPromptExtraction,
        Seq(&["reveal", "secret"], 80),
        0.9,
    ),
    rule(
        "extraction.secret_verbatim",
        F::SystemPromptExtraction,
        Near("secret", "verbatim", 120),
        0.8,
    ),
    rule(
        "extraction.reveal_prior_rules",
        F::SystemPromptExtraction,
        Seq(&["reveal", "prior", "rules"], 60),
        0.8,
    ),
    rule(
        "extraction.secret",
        F::SystemPromptExtraction,
        Any("secret"),
        0.35,
    ),
    rule(
        "extraction.prefix_secret",
        F::SystemPromptExtraction,
        Near("forced_prefix", "secret", 300),
        0.8,
    ),
    // Jailbreak personas.
    rule(
        "jailbreak.persona_unrestricted",
        F::Jailbreak,
        Near("persona", "unrestricted", 400),
        1.0,
    ),
    rule(
        "jailbreak.role_unrestricted",
        F::Jailbreak,
        Near("you_are_now", "unrestricted", 250),
        0.9,
    ),
    rule(
        "jailbreak.role_never_refuse",
        F::Jailbreak,
        Near("you_are_now", "never_refuse", 300),
        0.8,
    ),
    rule(
        "jailbreak.unrestricted_never_refuse",
        F::Jailbreak,
        Near("unrestricted", "never_refuse", 300),
        0.8,
    ),
    rule(
        "jailbreak.persona_never_refuse",
        F::Jailbreak,
        Near("persona", "never_refuse", 400),
        0.9,
    ),
    rule(
        "jailbreak.unrestricted_policy",
        F::Jailbreak,
        Near("unrestricted", "policy", 150),
        0.8,
    ),
    rule(
        "jailbreak.role_persona",
        F::Jailbreak,
        Near("you_are_now", "persona", 120),
        0.7,
    ),
    rule(
        "jailbreak.unrestricted",
        F::Jailbreak,
        Any("unrestricted"),
        0.35,
    ),
    rule("jailbreak.persona", F::Jailbreak, Any("persona"), 0.25),
    rule(
        "jailbreak.never_refuse",
        F::Jailbreak,
        Any("never_refuse"),
        0.25,
    ),
    rule("jailbreak.policy", F::Jailbreak, Any("policy"), 0.2),
    // Delimiters and fake roles.
    rule("delimiter.token", F::Delimiter, Any("delimiter"), 0.6),
    rule("delimiter.prefix", F::Delimiter, Any("forced_prefix"), 0.3),
    // Exfiltration.
    rule(
        "exfiltration.image_data",
        F::Exfiltration,
        Near("image_link", "url_data", 400),
        1.0,
    ),
    rule(
        "exfiltration.image_destination",
        F::Exfiltration,
        Near("image_link", "destination", 200),
        0.6,
    ),
    rule(
        "exfiltration.send_private",
        F::Exfiltration,
        Seq(&["send", "private_data", "destination"], 250),
        1.0,
    ),
    rule(
        "exfiltration.send_destination",
        F::Exfiltration,
        Near("send", "destination", 120),
        0.5,
    ),
    rule(
        "exfiltration.data_destination",
        F::Exfiltration,
        Near("url_data", "destination", 300),
        0.6,
    ),
    // Tool and agent hijack.
    rule(
        "tool.call_send",
        F::ToolHijack,
        Near("tool_call", "send", 200),
        0.7,
    ),
    rule(
        "tool.call_destination",
        F::ToolHijack,
        Near("tool_call", "destination", 200),
        0.8,
    ),
    rule("tool.call", F::ToolHijack, Any("tool_call"), 0.3),
    // Code payloads to echo.
    rule(
        "code.payload_echo",
        F::CodeInjection,
        Near("code_payload", "forced_prefix", 300),
        0.9,
    ),
    rule(
        "code.payload_answer",
        F::CodeInjection,
        Near("code_payload", "answer_ref", 300),
        0.8,
    ),
    rule("code.payload", F::CodeInjection, Any("code_payload"), 0.5),
    // Encoded payloads.
    rule(
        "encoding.decode_payload",
        F::Encoding,
        Near("decode_request", "payload", 400),
        0.9,
    ),
    rule("encoding.decode", F::Encoding, Any("decode_request"), 0.2),
    rule("encoding.payload", F::Encoding, Any("payload"), 0.3),
    // Indirect injection: instructions about the answer, inside third-party content.
    untrusted(
        "indirect.modify_answer",
        F::Indirect,
        Near("answer_ref", "modify", 80),
        0.9,
    ),
    untrusted("indirect.urgent", F::Indirect, Any("urgency"), 0.2),
    untrusted("indirect.ai_address", F::Indirect, Any("ai_address"), 0.7),
    rule(
        "indirect.ai_address_modify",
        F::Indirect,
        Near("ai_address", "modify", 200),
        0.5,
    ),
    rule(
        "indirect.ai_address_reveal",
        F::Indirect,
        Near("ai_address", "reveal", 200),
        0.5,
    ),
    rule("indirect.ai_address", F::Indirect, Any("ai_address"), 0.3),
    rule(
        "indirect.document_modify_answer",
        F::Indirect,
        Seq(&["doc_frame", "answer_ref"], 3000),
        0.35,
    ),
    rule(
        "indirect.modify_answer",
        F::Indirect,
        Near("answer_ref", "modify", 60),
        0.3,
    ),
    // Harmful requests.
    rule(
        "harmful.request",
        F::Harmful,
        Near("harm_request", "harm", 150),
        0.4,
    ),
];

/// A compiled rule: concept ids resolved.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Stable identifier for audit records (`override.ignore_rules`).
    pub id: &'static str,
    /// Its family.
    pub family: Family,
    /// Its weight.
    pub weight: f32,
    /// Where it applies.
    pub scope: Scope,
    shape: CompiledShape,
}

#[derive(Clone, Debug)]
enum CompiledShape {
    Any(Concept),
    Near(Concept, Concept, u32),
    Seq(Vec<Concept>, u32),
}

/// Concepts the scanner adds itself (not from the lexicon's atoms).
pub const SYNTHETIC: &[&str] = &["payload"];

/// Resolves the rules against `lexicon`.
pub fn compile(lexicon: &Lexicon) -> Result<Vec<Rule>, String> {
    let id = |name: &str| {
        lexicon
            .concept(name)
            .ok_or(format!("rule uses unknown concept `{name}`"))
    };
    RULES
        .iter()
        .map(|r| {
            let shape = match r.shape {
                Any(a) => CompiledShape::Any(id(a)?),
                Near(a, b, span) => CompiledShape::Near(id(a)?, id(b)?, span),
                Seq(names, span) => {
                    CompiledShape::Seq(names.iter().map(|n| id(n)).collect::<Result<_, _>>()?, span)
                }
            };
            Ok(Rule {
                id: r.id,
                family: r.family,
                weight: r.weight,
                scope: r.scope,
                shape,
            })
        })
        .collect()
}

impl Rule {
    /// The widest distance, in bytes of normalised text, over which the rule looks.
    pub fn span(&self) -> u32 {
        match &self.shape {
            CompiledShape::Any(_) => 0,
            CompiledShape::Near(_, _, span) | CompiledShape::Seq(_, span) => *span,
        }
    }

    /// Whether the rule fires on `hits` (in order of end position).
    pub fn fires(&self, hits: &[Hit]) -> bool {
        match &self.shape {
            CompiledShape::Any(c) => hits.iter().any(|h| h.concept == *c),
            CompiledShape::Near(a, b, span) => near(hits, *a, *b, *span),
            CompiledShape::Seq(concepts, span) => seq(hits, concepts, *span),
        }
    }
}

/// Whether `a` and `b` occur within `span` bytes (from the first's start to the second's end).
fn near(hits: &[Hit], a: Concept, b: Concept, span: u32) -> bool {
    let mut last_a: Option<u32> = None;
    let mut last_b: Option<u32> = None;
    for h in hits {
        if h.concept == a {
            if last_b.is_some_and(|s| h.end.saturating_sub(s) <= span) {
                return true;
            }
            last_a = Some(h.start);
        }
        if h.concept == b {
            if last_a.is_some_and(|s| h.end.saturating_sub(s) <= span && s < h.start) {
                return true;
            }
            last_b = Some(h.start);
        }
    }
    false
}

/// Whether `concepts` occur in order, non-overlapping, within `span` bytes from first to last.
fn seq(hits: &[Hit], concepts: &[Concept], span: u32) -> bool {
    // For each stage, the latest start of a chain that reached it, and where that chain ended.
    let mut stages: Vec<Option<(u32, u32)>> = vec![None; concepts.len()];
    for h in hits {
        for (i, c) in concepts.iter().enumerate().rev() {
            if h.concept != *c {
                continue;
            }
            let chain = if i == 0 {
                Some((h.start, h.end))
            } else {
                stages
                    .get(i - 1)
                    .copied()
                    .flatten()
                    .filter(|&(start, end)| end <= h.start && h.end.saturating_sub(start) <= span)
                    .map(|(start, _)| (start, h.end))
            };
            if let Some(chain) = chain {
                if i + 1 == concepts.len() {
                    return true;
                }
                if let Some(stage) = stages.get_mut(i) {
                    *stage = Some(chain);
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn hit(concept: Concept, start: u32, end: u32) -> Hit {
        Hit {
            concept,
            start,
            end,
            encoded: false,
        }
    }

    #[test]
    fn near_either_order_within_span() {
        let hits = [hit(1, 0, 5), hit(2, 10, 15)];
        assert!(near(&hits, 1, 2, 15));
        assert!(near(&hits, 2, 1, 15));
        assert!(!near(&hits, 1, 2, 14));
        assert!(!near(&hits, 1, 3, 100));
    }

    #[test]
    fn seq_in_order_only() {
        let hits = [hit(1, 0, 5), hit(2, 6, 9), hit(3, 20, 25)];
        assert!(seq(&hits, &[1, 2, 3], 25));
        assert!(!seq(&hits, &[1, 2, 3], 24));
        assert!(!seq(&hits, &[2, 1], 100));
        assert!(seq(&hits, &[1, 3], 100));
        // A later start gives a shorter chain.
        let hits = [hit(1, 0, 5), hit(1, 50, 55), hit(2, 60, 65)];
        assert!(seq(&hits, &[1, 2], 20));
    }

    #[test]
    fn every_rule_compiles() {
        let lexicon =
            Lexicon::build(&SYNTHETIC.iter().map(|c| (*c, "")).collect::<Vec<_>>()).unwrap();
        assert_eq!(compile(&lexicon).unwrap().len(), RULES.len());
    }
}
