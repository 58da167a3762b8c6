//! Time decisions, fixed before reading data: the common unit of both time columns and the
//! windows, each side's conversion factor, and the watermark in that unit.

use std::collections::HashSet;

use arrow::datatypes::TimeUnit;

use super::options::{JoinOptions, WatermarkArg, WindowArg};
use crate::duration::{coarsest_exact_unit, finer, parse_duration, unit_nanos};
use crate::error::{config_err, schema_err, Result};
use crate::normalize::TimeKind;

pub struct Window {
    /// The label column is `label_<name>`.
    pub name: String,
    /// Width in the common unit.
    pub width: i64,
}

/// The time decisions: common unit, conversion factors, windows and watermark in that unit.
pub struct Times {
    pub unit: Option<TimeUnit>,
    pub pred_factor: i64,
    pub fb_factor: i64,
    pub windows: Vec<Window>,
    pub watermark: Option<i64>,
}

impl Times {
    pub fn resolve(options: &JoinOptions, pred: &TimeKind, fb: &TimeKind) -> Result<Times> {
        if options.windows.is_empty() {
            return Err(config_err("windows: give at least one window"));
        }
        match (pred, fb) {
            (TimeKind::Int, TimeKind::Int) => Times::integer(options),
            (
                TimeKind::Timestamp { unit: pu, zone: pz },
                TimeKind::Timestamp { unit: fu, zone: fz },
            ) => {
                if pz.is_some() != fz.is_some() {
                    let describe = |z: &Option<String>| match z {
                        Some(zone) => format!("time-zone-aware ({zone})"),
                        None => "naive (no time zone)".to_string(),
                    };
                    return Err(schema_err(format!(
                        "time: predictions column {:?} is {} but feedback column {:?} is {}; \
                         make both naive or both aware",
                        options.time,
                        describe(pz),
                        options.feedback_time,
                        describe(fz)
                    )));
                }
                Times::timestamps(options, *pu, *fu, pz.is_some())
            }
            _ => Err(schema_err(format!(
                "time: predictions column {:?} and feedback column {:?} must both be timestamps \
                 or both be integers",
                options.time, options.feedback_time
            ))),
        }
    }

    fn integer(options: &JoinOptions) -> Result<Times> {
        let mut windows = Vec::new();
        for w in &options.windows {
            match w {
                WindowArg::Int(width) => windows.push(Window {
                    name: width.to_string(),
                    width: *width,
                }),
                WindowArg::Text(text) => {
                    return Err(config_err(format!(
                        "windows: {text:?} is a duration but the time columns are integers; \
                         give integer windows in the same unit"
                    )))
                }
            }
        }
        check_windows(&windows)?;
        let watermark = match &options.watermark {
            None => None,
            Some(WatermarkArg::Int(v)) => Some(*v),
            Some(WatermarkArg::Instant { .. }) => {
                return Err(config_err(
                    "watermark: the time columns are integers; give an integer watermark",
                ))
            }
        };
        Ok(Times {
            unit: None,
            pred_factor: 1,
            fb_factor: 1,
            windows,
            watermark,
        })
    }

    fn timestamps(options: &JoinOptions, pu: TimeUnit, fu: TimeUnit, aware: bool) -> Result<Times> {
        let mut named_nanos = Vec::new();
        for w in &options.windows {
            match w {
                WindowArg::Text(text) => {
                    named_nanos.push((text.clone(), parse_duration(text, "windows")?))
                }
                WindowArg::Int(v) => {
                    return Err(config_err(format!(
                        "windows: {v} is a plain number but the time columns are timestamps; \
                         give durations such as \"30m\" or datetime.timedelta"
                    )))
                }
            }
        }
        let exact: Vec<i64> = named_nanos.iter().map(|(_, n)| *n).collect();
        let watermark_parts = match &options.watermark {
            None => None,
            Some(WatermarkArg::Int(_)) => {
                return Err(config_err(
                    "watermark: the time columns are timestamps; give a datetime",
                ))
            }
            Some(WatermarkArg::Instant {
                seconds,
                nanos,
                aware: w_aware,
            }) => {
                if *w_aware != aware {
                    let (have, want) = if aware {
                        ("naive", "aware")
                    } else {
                        ("aware", "naive")
                    };
                    return Err(config_err(format!(
                        "watermark: a {have} datetime, but the time columns are {want}; \
                         give a {want} datetime"
                    )));
                }
                Some((*seconds, *nanos))
            }
        };
        let unit = finer(finer(pu, fu), coarsest_exact_unit(&exact));
        let per = unit_nanos(unit);
        let windows: Vec<Window> = named_nanos
            .into_iter()
            .map(|(name, nanos)| Window {
                name,
                width: nanos / per,
            })
            .collect();
        check_windows(&windows)?;
        // The watermark is floored to the unit: every time and window is a whole number of
        // units, so `t > A`, `A >= t + w` and `t <= A` give the same answers for floor(A); one
        // beyond the representable range is clamped, which also changes no answer.
        let watermark = watermark_parts.map(|(seconds, nanos)| {
            let ticks = seconds as i128 * (1_000_000_000 / per) as i128 + (nanos / per) as i128;
            ticks.clamp(i64::MIN as i128, i64::MAX as i128) as i64
        });
        Ok(Times {
            unit: Some(unit),
            pred_factor: unit_nanos(pu) / per,
            fb_factor: unit_nanos(fu) / per,
            windows,
            watermark,
        })
    }
}

fn check_windows(windows: &[Window]) -> Result<()> {
    let mut widths = HashSet::new();
    for w in windows {
        if w.width < 0 {
            return Err(config_err(format!("windows: {} is negative", w.name)));
        }
        if !widths.insert(w.width) {
            return Err(config_err(format!(
                "windows: {} is given twice (or two windows have the same width)",
                w.name
            )));
        }
    }
    Ok(())
}
