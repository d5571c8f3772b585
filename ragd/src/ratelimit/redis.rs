//! GCRA in Redis: one Lua script, atomic, on Redis's clock, so every
//! replica shares one budget per client and replicas' clocks never matter.

use std::sync::LazyLock;

use super::{Client, Decision, Limit, ceil_secs};
use crate::redis::{Error, Shared};

/// `KEYS[1]`: the client's key. `ARGV[1]`: the interval between requests at
/// the sustained rate (µs). `ARGV[2]`: the burst.
///
/// Returns `{allowed (0|1), remaining, reset_us, retry_after_us}`. The key
/// holds the TAT (µs since the epoch, Redis's clock) and expires when the
/// budget is full again, so idle clients cost nothing.
pub const GCRA_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / interval), new_tat - now, 0}
"#;

static SCRIPT: LazyLock<::redis::Script> = LazyLock::new(|| ::redis::Script::new(GCRA_SCRIPT));

pub(super) async fn check(
    shared: &Shared,
    limit: &Limit,
    client: &Client,
) -> Result<Decision, Error> {
    let key = shared.key(&format!("rl:{}:{client}", limit.budget.name()));
    let interval_us = limit.interval.as_micros().max(1) as u64;
    let mut invocation = SCRIPT.key(key);
    invocation.arg(interval_us).arg(limit.rate.burst);
    let (allowed, remaining, reset_us, retry_us): (u8, u64, u64, u64) =
        shared.invoke_script("rate_limit", &invocation).await?;
    let us = std::time::Duration::from_micros;
    Ok(Decision {
        allowed: allowed == 1,
        limit: limit.rate.burst,
        remaining: remaining.min(limit.rate.burst as u64) as u32,
        reset_secs: ceil_secs(us(reset_us)),
        retry_after_secs: if allowed == 1 {
            0
        } else {
            ceil_secs(us(retry_us)).max(1)
        },
        local: false,
    })
}
