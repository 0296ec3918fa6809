//! "Now": the wall clock, unless KPKI_NOW fixes it (tests and reproducible runs).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// KPKI_NOW accepts Unix seconds or RFC 3339 UTC (`2026-11-25T02:00:00Z`).
pub fn now() -> Result<SystemTime, String> {
    match std::env::var("KPKI_NOW") {
        Ok(text) => parse(&text).ok_or_else(|| {
            format!("KPKI_NOW: {text:?} is neither Unix seconds nor RFC 3339 UTC (2026-11-25T02:00:00Z)")
        }),
        Err(_) => Ok(SystemTime::now()),
    }
}

fn parse(text: &str) -> Option<SystemTime> {
    if let Ok(secs) = text.parse::<u64>() {
        return Some(UNIX_EPOCH + Duration::from_secs(secs));
    }
    let t = text.strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let d: Vec<u32> = date
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let h: Vec<u32> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if d.len() != 3 || h.len() != 3 {
        return None;
    }
    let dt = der::DateTime::new(
        d[0] as u16,
        d[1] as u8,
        d[2] as u8,
        h[0] as u8,
        h[1] as u8,
        h[2] as u8,
    )
    .ok()?;
    Some(UNIX_EPOCH + dt.unix_duration())
}
