//! Durations as kubeadm writes them (Go's `time.ParseDuration`: `8760h`, `90m`, `1h30m`),
//! plus `d` (24 h) and `y` (365 days — not 365.25, so `1y` equals kubeadm's `8760h`).

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses a duration. `what` names the flag or field for the error message.
///
/// ```
/// use std::time::Duration;
/// use pki_core::duration::parse;
/// assert_eq!(parse("8760h", "--validity").unwrap(), parse("1y", "--validity").unwrap());
/// assert_eq!(parse("1h30m", "x").unwrap(), Duration::from_secs(5400));
/// assert!(parse("10 parsecs", "--validity").is_err());
/// ```
pub fn parse(text: &str, what: &str) -> Result<Duration> {
    let bad = || {
        Error::invalid(
            what,
            format!("invalid duration {text:?}: expected e.g. 8760h, 90m, 30d or 1y"),
        )
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(bad());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "y" => 365.0 * 86400.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += value * seconds;
    }
    if !total.is_finite() || total > 1e12 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

/// Formats a duration the way Go prints one of whole seconds (`8760h0m0s`).
pub fn format_go(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}h{}m{}s", s / 3600, (s % 3600) / 60, s % 60)
}

/// Kubernetes' `ShortHumanDuration`, which kubeadm uses for residual times: `30s`, `5m`,
/// `23h`, `364d`, `9y`; `<invalid>` for anything more than a second in the past.
pub fn short_human(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let secs = seconds.max(0);
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 60 * 60 {
        format!("{}m", secs / 60)
    } else if secs < 60 * 60 * 24 {
        format!("{}h", secs / 3600)
    } else if secs < 60 * 60 * 24 * 365 {
        format!("{}d", secs / 86400)
    } else {
        format!("{}y", secs / (86400 * 365))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_syntax_and_days_and_years() {
        assert_eq!(parse("45s", "x").unwrap(), Duration::from_secs(45));
        assert_eq!(parse("30d", "x").unwrap(), Duration::from_secs(30 * 86400));
        assert_eq!(parse("1y", "x").unwrap(), Duration::from_secs(8760 * 3600));
        assert_eq!(parse("87600h", "x").unwrap(), parse("10y", "x").unwrap());
        assert_eq!(parse("1.5h", "x").unwrap(), Duration::from_secs(5400));
        for bad in ["", "h", "5", "5x", "-5h", "1h 2m"] {
            let err = parse(bad, "--warn-within").unwrap_err().to_string();
            assert!(
                err.starts_with("--warn-within: invalid duration"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn short_human_matches_kubeadm_residuals() {
        assert_eq!(short_human(364 * 86400 + 23 * 3600), "364d");
        assert_eq!(short_human(3650 * 86400 - 60), "9y");
        assert_eq!(short_human(23 * 3600 + 59), "23h");
        assert_eq!(short_human(-5), "<invalid>");
        assert_eq!(format_go(Duration::from_secs(8760 * 3600)), "8760h0m0s");
    }
}
