//! Durations ("90s", "1h30m", "250ms") and time units.

use arrow::datatypes::TimeUnit;

use crate::error::{config_err, Result};

/// Nanoseconds in one `unit`.
pub fn unit_nanos(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

pub fn unit_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "us",
        TimeUnit::Nanosecond => "ns",
    }
}

/// The finer of two units.
pub fn finer(a: TimeUnit, b: TimeUnit) -> TimeUnit {
    if unit_nanos(a) <= unit_nanos(b) {
        a
    } else {
        b
    }
}

/// The coarsest unit in which every one of `nanos` is a whole number.
pub fn coarsest_exact_unit(nanos: &[i64]) -> TimeUnit {
    [
        TimeUnit::Second,
        TimeUnit::Millisecond,
        TimeUnit::Microsecond,
    ]
    .into_iter()
    .find(|&u| nanos.iter().all(|n| n % unit_nanos(u) == 0))
    .unwrap_or(TimeUnit::Nanosecond)
}

const UNITS: [(&str, i64); 9] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("h", 3_600 * 1_000_000_000),
    ("d", 86_400 * 1_000_000_000),
    ("w", 7 * 86_400 * 1_000_000_000),
];

/// Parse a duration such as `"30m"`, `"1h30m"` or `"250ms"` into nanoseconds.
///
/// `argument` names the caller's argument in errors. Calendar units (months, years) have no
/// fixed length and are rejected.
pub fn parse_duration(text: &str, argument: &str) -> Result<i64> {
    let bad = |why: &str| {
        config_err(format!(
            "{argument}: cannot read {text:?} as a duration ({why}); expected e.g. \"90s\", \
             \"30m\", \"1h30m\", \"7d\", \"250ms\""
        ))
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(bad("it is empty"));
    }
    if s.starts_with('-') {
        return Err(bad("durations cannot be negative"));
    }
    let mut total: i64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad("each part must start with a whole number"));
        }
        let number: i64 = rest[..digits]
            .parse()
            .map_err(|_| bad("number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = &rest[unit_len..];
        let per = match UNITS.iter().find(|(name, _)| *name == unit) {
            Some((_, per)) => *per,
            None if unit.is_empty() => return Err(bad("a unit is missing after the number")),
            None if ["mo", "M", "y", "Y", "month", "months", "year", "years"].contains(&unit) => {
                return Err(bad("calendar units have no fixed length; use days"))
            }
            None => return Err(bad(&format!("unknown unit {unit:?}"))),
        };
        let part = number.checked_mul(per).ok_or_else(|| bad("too long"))?;
        total = total.checked_add(part).ok_or_else(|| bad("too long"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_durations() {
        assert_eq!(parse_duration("90s", "w").unwrap(), 90_000_000_000);
        assert_eq!(parse_duration("1h30m", "w").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("250ms", "w").unwrap(), 250_000_000);
        assert_eq!(parse_duration("7d", "w").unwrap(), 604_800_000_000_000);
        assert_eq!(parse_duration("0s", "w").unwrap(), 0);
        assert_eq!(parse_duration("1us", "w").unwrap(), 1_000);
    }

    #[test]
    fn rejects_bad_durations_naming_the_argument() {
        for bad in [
            "",
            "-5m",
            "5",
            "m",
            "1mo",
            "2y",
            "3x",
            "1.5h",
            "99999999999999d",
        ] {
            let err = parse_duration(bad, "windows").unwrap_err().to_string();
            assert!(err.starts_with("windows: "), "{bad}: {err}");
        }
    }

    #[test]
    fn picks_the_coarsest_exact_unit() {
        assert_eq!(coarsest_exact_unit(&[60_000_000_000]), TimeUnit::Second);
        assert_eq!(
            coarsest_exact_unit(&[250_000_000, 1_000_000_000]),
            TimeUnit::Millisecond
        );
        assert_eq!(coarsest_exact_unit(&[1]), TimeUnit::Nanosecond);
        assert_eq!(coarsest_exact_unit(&[]), TimeUnit::Second);
    }
}

/// A duration argument as given: a string such as `"1h"` (timestamp columns; timedeltas arrive
/// as their compact string) or a plain integer (integer time columns, in their unit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DurationArg {
    Text(String),
    Int(i64),
}

/// A positive duration in the stored unit of a time column of type `time_type` (`None` unit =
/// integer time). Durations finer than the column's unit, or not a whole number of it, are
/// refused rather than rounded.
pub fn duration_in_unit(arg: &DurationArg, unit: Option<TimeUnit>, argument: &str) -> Result<i64> {
    let value = match (arg, unit) {
        (DurationArg::Int(v), None) => *v,
        (DurationArg::Text(text), Some(unit)) => {
            let nanos = parse_duration(text, argument)?;
            let per = unit_nanos(unit);
            if nanos % per != 0 {
                return Err(config_err(format!(
                    "{argument}: {text:?} is not a whole number of the time column's unit ({})",
                    unit_name(unit)
                )));
            }
            nanos / per
        }
        (DurationArg::Text(text), None) => {
            return Err(config_err(format!(
                "{argument}: {text:?} is a duration but the time column holds integers; give an \
                 integer in the same unit"
            )))
        }
        (DurationArg::Int(v), Some(_)) => {
            return Err(config_err(format!(
                "{argument}: {v} is a plain number but the time column holds timestamps; give a \
                 duration such as \"1h\" or a datetime.timedelta"
            )))
        }
    };
    if value <= 0 {
        return Err(config_err(format!(
            "{argument}: must be a positive duration, got {}",
            match arg {
                DurationArg::Text(t) => format!("{t:?}"),
                DurationArg::Int(v) => v.to_string(),
            }
        )));
    }
    Ok(value)
}
