//! `[[stages]]`: the load plan. Each stage has a duration and, by model,
//! the users at its end (closed) or its arrival rate, constant or ramping
//! (open); a key of the other model is refused rather than ignored.

use std::time::Duration;

use super::error::{Invalid, invalid};
use super::raw::RawStage;
use super::{Model, Stage, parse_duration};

/// Every stage, checked; at least one, with some load and some time.
pub(super) fn stages(model: Model, raw: Vec<RawStage>) -> Result<Vec<Stage>, Invalid> {
    if raw.is_empty() {
        return Err(invalid(
            "stages",
            match model {
                Model::Closed => {
                    "missing; expected at least one [[stages]] table with `duration` and `users`, e.g. duration = \"2m\", users = 100"
                }
                Model::Open => {
                    "missing; expected at least one [[stages]] table with `duration` and `rate`, e.g. duration = \"60s\", rate = 100"
                }
            },
        ));
    }
    let stages = raw
        .into_iter()
        .enumerate()
        .map(|(i, s)| stage(model, i, s))
        .collect::<Result<Vec<_>, _>>()?;
    if model == Model::Closed && stages.iter().all(|s| s.users == 0) {
        return Err(invalid(
            "stages",
            "no stage has users; expected at least one stage with users above 0",
        ));
    }
    if stages.iter().all(|s| s.duration.is_zero()) {
        return Err(invalid(
            "stages",
            "every stage lasts 0s; expected at least one stage with a duration",
        ));
    }
    Ok(stages)
}

/// `stages[i]`: its duration, then the keys of its model.
fn stage(model: Model, i: usize, s: RawStage) -> Result<Stage, Invalid> {
    let key = |f: &str| format!("stages[{i}].{f}");
    let duration = match &s.duration {
        None => {
            return Err(invalid(
                key("duration"),
                "missing; expected a duration such as \"2m\"",
            ));
        }
        Some(d) => parse_duration(d).map_err(|e| invalid(key("duration"), e.to_string()))?,
    };
    let name = s.name.clone().unwrap_or_else(|| format!("stage {}", i + 1));
    match model {
        Model::Closed => closed_stage(key, name, duration, &s),
        Model::Open => open_stage(key, name, duration, &s),
    }
}

/// A closed-model stage: `users`, and no arrival rates.
fn closed_stage(
    key: impl Fn(&str) -> String,
    name: String,
    duration: Duration,
    s: &RawStage,
) -> Result<Stage, Invalid> {
    if s.rate.is_some() || s.ramp_to.is_some() {
        return Err(invalid(
            key("rate"),
            "arrival rates belong to open-model profiles; a closed profile's stage sets `users`",
        ));
    }
    let users = match s.users {
        Some(u) if u >= 0 => u as u64,
        Some(u) => {
            return Err(invalid(
                key("users"),
                format!("expected a whole number of users, 0 or more, got {u}"),
            ));
        }
        None => {
            return Err(invalid(
                key("users"),
                "missing; expected the number of users at the end of the stage, e.g. users = 100",
            ));
        }
    };
    Ok(Stage {
        name,
        duration,
        users,
        rate: 0.0,
        ramp_to: 0.0,
    })
}

/// An open-model stage: `rate`, optionally `ramp_to`, and no users.
fn open_stage(
    key: impl Fn(&str) -> String,
    name: String,
    duration: Duration,
    s: &RawStage,
) -> Result<Stage, Invalid> {
    if s.users.is_some() {
        return Err(invalid(
            key("users"),
            "user counts belong to closed-model profiles; an open profile's stage sets `rate` (arrivals per second)",
        ));
    }
    let rate = match s.rate {
        Some(r) => arrivals(key("rate"), r)?,
        None => {
            return Err(invalid(
                key("rate"),
                "missing; expected arrivals per second, e.g. rate = 100",
            ));
        }
    };
    let ramp_to = match s.ramp_to {
        Some(r) => arrivals(key("ramp_to"), r)?,
        None => rate,
    };
    Ok(Stage {
        name,
        duration,
        users: 0,
        rate,
        ramp_to,
    })
}

/// Arrivals per second: finite, 0 or more.
fn arrivals(key: String, r: f64) -> Result<f64, Invalid> {
    if r.is_finite() && r >= 0.0 {
        Ok(r)
    } else {
        Err(invalid(
            key,
            format!("expected arrivals per second, 0 or more, got {r}"),
        ))
    }
}
