//! Durations and times as people write them: `10s`, `5m`, `24h`, `7d`; times as Unix
//! seconds, `now`, or `now-5m`.

use std::time::Duration;

/// Now, in Unix nanoseconds: the session's clock, which stamps every slice.
pub use session::now_unix_ns;

use crate::AgentError;

/// Parses `90`, `90s`, `15m`, `24h`, `7d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, AgentError> {
    let text = text.trim();
    let bad = || {
        AgentError::BadValue(format!(
            "`{text}` is not a duration (like 30s, 15m, 24h, 7d)"
        ))
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "" | "s" => value,
        "m" => value.checked_mul(60).ok_or_else(bad)?,
        "h" => value.checked_mul(3600).ok_or_else(bad)?,
        "d" => value.checked_mul(86_400).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(seconds))
}

/// Parses a time: Unix seconds, `now`, or `now-DURATION`; `now_unix` is the current time.
pub fn parse_time(text: &str, now_unix: u64) -> Result<u64, AgentError> {
    let text = text.trim();
    if text == "now" {
        return Ok(now_unix);
    }
    if let Some(ago) = text.strip_prefix("now-") {
        return Ok(now_unix.saturating_sub(parse_duration(ago)?.as_secs()));
    }
    text.parse().map_err(|_| {
        AgentError::BadValue(format!(
            "`{text}` is not a time (Unix seconds, now, or now-DURATION)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("15m").unwrap().as_secs(), 900);
        assert_eq!(parse_duration("7d").unwrap().as_secs(), 604_800);
        assert!(parse_duration("7w").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-5s").is_err());
        assert_eq!(parse_time("now", 1000).unwrap(), 1000);
        assert_eq!(parse_time("now-5m", 1000).unwrap(), 700);
        assert_eq!(parse_time("1700000000", 1).unwrap(), 1_700_000_000);
        assert!(parse_time("yesterday", 1).is_err());
    }
}
