//! The counts that travel with every labeled table (`loopwatch.stats` in the schema metadata).

use serde_json::{json, Map, Value};

pub const STATS_KEY: &str = "loopwatch.stats";
pub const STATS_VERSION: u64 = 1;

#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct LabelCounts {
    pub positive: u64,
    pub negative: u64,
    pub pending: u64,
}

impl LabelCounts {
    pub fn add(&mut self, other: &LabelCounts) {
        self.positive += other.positive;
        self.negative += other.negative;
        self.pending += other.pending;
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct JoinStats {
    pub attribution: String,
    pub time_unit: Option<String>,
    pub watermark: Option<i64>,
    pub predictions_total: u64,
    pub predictions_invalid: u64,
    pub events_total: u64,
    pub events_credited: u64,
    pub events_orphan: u64,
    pub events_late: u64,
    pub events_after_watermark: u64,
    pub events_invalid: u64,
    /// Per window, in the caller's order: (name, counts of valid predictions).
    pub labels: Vec<(String, LabelCounts)>,
}

impl JoinStats {
    pub fn to_json(&self) -> String {
        let mut labels = Map::new();
        for (name, c) in &self.labels {
            labels.insert(
                name.clone(),
                json!({"positive": c.positive, "negative": c.negative, "pending": c.pending}),
            );
        }
        let windows: Vec<&String> = self.labels.iter().map(|(n, _)| n).collect();
        let value = json!({
            "version": STATS_VERSION,
            "attribution": self.attribution,
            "windows": windows,
            "watermark": self.watermark,
            "time_unit": self.time_unit,
            "predictions": {"total": self.predictions_total, "invalid": self.predictions_invalid},
            "events": {
                "total": self.events_total,
                "credited": self.events_credited,
                "orphan": self.events_orphan,
                "late": self.events_late,
                "after_watermark": self.events_after_watermark,
                "invalid": self.events_invalid,
            },
            "labels": Value::Object(labels),
        });
        value.to_string()
    }
}
