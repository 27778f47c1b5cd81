//! The exchange's identity step at the request headers: a verified identity (JWT claims) before
//! the quota's own sources, and the 401 when an identity is required and missing.

use super::{Exchange, Headers, header};
use crate::engine::api::error::{ErrorKind, ErrorReply};
use crate::engine::identity::Verified;
use crate::engine::policy::Policy;
use crate::engine::quota::identity::{Consumer, Source, SourceAddress, hex, keyed_hash};
use crate::engine::quota::{Meter, Mode};

impl Exchange {
    /// Identifies the consumer: from `verified` claims when present, else from the quota's
    /// sources (trusted header, API key, address). `Some(reply)`: refused (401).
    pub fn identify(
        &mut self,
        policy: &Policy,
        key: &[u8],
        headers: &Headers,
        source_address: SourceAddress<'_>,
        verified: Verified,
    ) -> Option<ErrorReply> {
        let trusted_header = policy
            .quota
            .identity
            .header
            .as_deref()
            .and_then(|name| header(headers, name))
            .is_some_and(|v| !v.trim().is_empty());
        if policy.identity.required && verified.consumer.is_none() && !trusted_header {
            return Some(self.reply(
                ErrorKind::Unauthenticated,
                "llm_warden.unauthenticated",
                "a verified consumer identity is required",
            ));
        }
        self.verified = verified;
        if policy.quota.mode == Mode::Off {
            return None;
        }
        let Some(name) = self.verified.consumer.clone() else {
            return self.quota_identify(policy, key, headers, source_address);
        };
        let id = keyed_hash(key, &[Source::Jwt.name().as_bytes(), name.as_bytes()]);
        let label = if name.bytes().all(|b| b.is_ascii_graphic()) {
            name.clone()
        } else {
            format!("jwt:{}", hex(id.get(..6).unwrap_or_default()))
        };
        let consumer = Consumer {
            source: Source::Jwt,
            id,
            label,
            header_value: Some(name),
            group_name: self.verified.group.clone(),
        };
        self.quota = Meter::new(&policy.quota, consumer, key);
        None
    }

    /// The consumer's group name: as the quota resolved it, else the verified group claim when it
    /// names a quota group, else `default`.
    pub(super) fn group<'p>(&self, policy: &'p Policy) -> &'p str {
        let groups = &policy.quota.groups;
        let by_quota = self
            .quota
            .consumer
            .as_ref()
            .and_then(|_| groups.get(self.quota.group));
        let by_claim = || {
            let claim = self.verified.group.as_deref()?;
            groups.iter().find(|g| g.name == claim)
        };
        by_quota
            .or_else(by_claim)
            .map_or("default", |g| g.name.as_str())
    }
}
