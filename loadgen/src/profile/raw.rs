//! The profile file as written: serde reads the TOML into these `Raw*`
//! structs, every key optional and every value as loose as TOML allows
//! (strings for durations, signed integers for counts), so that the
//! validators can say exactly what is wrong with a value. Unknown keys are
//! refused here, naming the key.

use serde::Deserialize;

use super::error::{Invalid, invalid};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProfile {
    pub name: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub model: Option<String>,
    pub collection: Option<String>,
    pub questions: Option<String>,
    pub timeout: Option<String>,
    pub max_requests: Option<i64>,
    pub max_in_flight: Option<i64>,
    pub thresholds: Option<Vec<String>>,
    pub stop_on_breach: Option<bool>,
    pub ingest_ids: Option<i64>,
    pub think_time: Option<RawThink>,
    pub setup: Option<RawSetup>,
    pub resources: Option<RawResources>,
    pub stages: Option<Vec<RawStage>>,
    pub scenarios: Option<Vec<RawScenario>>,
}

/// `[think_time]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawThink {
    pub min: Option<String>,
    pub max: Option<String>,
}

/// `[setup]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSetup {
    pub corpus: Option<String>,
}

/// `[resources]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResources {
    pub project: Option<String>,
    pub service: Option<String>,
}

/// One `[[stages]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStage {
    pub name: Option<String>,
    pub duration: Option<String>,
    pub users: Option<i64>,
    pub rate: Option<f64>,
    pub ramp_to: Option<f64>,
}

/// One `[[scenarios]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub weight: Option<i64>,
    pub stream: Option<bool>,
    pub top_k: Option<i64>,
    pub unique: Option<bool>,
}

impl RawProfile {
    /// Read profile text. TOML errors are refused as a whole-file error,
    /// except an unknown key, which is named.
    pub(super) fn parse(text: &str) -> Result<RawProfile, Invalid> {
        toml::from_str(text).map_err(|e| {
            let key = e
                .message()
                .split('`')
                .nth(1)
                .filter(|_| e.message().starts_with("unknown field"))
                .unwrap_or("");
            invalid(
                key,
                format!("not a valid profile: {}", e.to_string().trim_end()),
            )
        })
    }
}
