//! The learned model: logistic regression over [`features`](super::features), trained offline by
//! `tools/train_injection.py` and embedded as `model.bin`.
//!
//! `model.bin` layout (little-endian): magic `LWM1`, `dim: u32`, `scale: f32`, `bias: f32`,
//! `low: f32`, `high: f32`, then `dim` weights as `i8` (the real weight is `w × scale`).
//! The logit maps to a family weight: `high` (benign false-positive rate ≈ 0.5% in training) to
//! 1.0, `low` (≈ 5%) to 0.5, linear between and beyond, clamped to 0..=1.5.

use super::features::DIM;

const EMBEDDED: &[u8] = include_bytes!("model.bin");
const HEADER: usize = 24;

/// The embedded model.
#[derive(Clone, Debug)]
pub struct Model {
    scale: f32,
    bias: f32,
    low: f32,
    high: f32,
    weights: &'static [u8],
}

fn f32_at(bytes: &[u8], at: usize) -> Option<f32> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(f32::from_le_bytes(b))
}

impl Model {
    /// The embedded model; `None` when the module was built without one.
    pub fn embedded() -> Result<Option<Model>, String> {
        Self::parse(EMBEDDED)
    }

    fn parse(bytes: &'static [u8]) -> Result<Option<Model>, String> {
        if bytes.is_empty() {
            return Ok(None);
        }
        let bad = || "model.bin is malformed".to_string();
        if bytes.get(..4) != Some(b"LWM1".as_slice()) {
            return Err(bad());
        }
        let dim = bytes
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or_else(bad)?;
        let weights = bytes.get(HEADER..).ok_or_else(bad)?;
        if dim as usize != DIM || weights.len() != DIM {
            return Err(bad());
        }
        let (scale, bias, low, high) = (
            f32_at(bytes, 8),
            f32_at(bytes, 12),
            f32_at(bytes, 16),
            f32_at(bytes, 20),
        );
        match (scale, bias, low, high) {
            (Some(scale), Some(bias), Some(low), Some(high)) if high > low => Ok(Some(Model {
                scale,
                bias,
                low,
                high,
                weights,
            })),
            _ => Err(bad()),
        }
    }

    /// The weights, one per feature slot: `i8` stored as `u8` (the real weight is `w × scale`).
    pub fn weights(&self) -> &'static [u8] {
        self.weights
    }

    /// The family weight for a text whose distinct feature slots' [`Self::weights`] sum to `sum`.
    pub fn weight(&self, sum: i32) -> f32 {
        let logit = self.bias + self.scale * sum as f32;
        (1.0 + (logit - self.high) * 0.5 / (self.high - self.low)).clamp(0.0, 1.5)
    }
}
