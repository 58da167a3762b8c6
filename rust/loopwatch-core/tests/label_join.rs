//! End-to-end checks of the engine without Python: a hand-computed case, hash collisions,
//! thread counts and batch sizes, and errors raised before any data is read.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Int8Type, Schema};
use arrow::record_batch::RecordBatch;
use loopwatch_core::input::{InputTable, Source};
use loopwatch_core::{label_join, Attribution, JoinOptions, LwError, WindowArg};

fn table(columns: Vec<(&str, ArrayRef)>, batch_rows: usize) -> InputTable {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let arrays: Vec<ArrayRef> = columns.into_iter().map(|(_, a)| a).collect();
    let whole = RecordBatch::try_new(schema.clone(), arrays).unwrap();
    let batches = (0..whole.num_rows())
        .step_by(batch_rows.max(1))
        .map(|start| whole.slice(start, batch_rows.min(whole.num_rows() - start)))
        .collect();
    InputTable { schema, batches }
}

fn ints(values: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

/// Predictions of users 1 and 2 and their clicks, integer time.
fn example(batch_rows: usize) -> (InputTable, InputTable) {
    let predictions = table(
        vec![
            (
                "user",
                ints(&[Some(1), Some(1), Some(2), Some(2), None, Some(3)]),
            ),
            (
                "ts",
                ints(&[Some(0), Some(10), Some(0), Some(0), Some(5), Some(95)]),
            ),
        ],
        batch_rows,
    );
    let feedback = table(
        vec![
            (
                "user",
                ints(&[Some(1), Some(1), Some(2), Some(4), Some(2), None]),
            ),
            (
                "ts",
                ints(&[Some(3), Some(12), Some(50), Some(1), Some(100), Some(7)]),
            ),
        ],
        batch_rows,
    );
    (predictions, feedback)
}

fn options(windows: &[i64], attribution: Attribution) -> JoinOptions {
    JoinOptions {
        attribution,
        ..JoinOptions::new(
            vec!["user".into()],
            windows.iter().map(|&w| WindowArg::Int(w)).collect(),
        )
    }
}

fn column_i64(out: &loopwatch_core::JoinOutput, name: &str) -> Vec<Option<i64>> {
    let index = out.schema.index_of(name).unwrap();
    out.batches
        .iter()
        .flat_map(|b| {
            let a = b.column(index);
            match a.data_type() {
                DataType::Int8 => a
                    .as_primitive::<Int8Type>()
                    .iter()
                    .map(|v| v.map(i64::from))
                    .collect::<Vec<_>>(),
                _ => a.as_primitive::<Int64Type>().iter().collect(),
            }
        })
        .collect()
}

#[test]
fn last_touch_by_hand() {
    let (p, f) = example(100);
    let out = label_join(
        Source::Batches(p),
        Source::Batches(f),
        &options(&[5, 60], Attribution::Last),
    )
    .unwrap();
    // Watermark 100 (latest click). User 1: click at 3 → prediction at 0 (delay 3); click at
    // 12 → the later prediction at 10 (delay 2). User 2: tie at t=0 → the later row (3) gets
    // both clicks in window 60 (delay 50; the one at 100 is late). Row 4 has a null key.
    // Row 5 (t=95): window 5 is closed by the watermark, window 60 still open → pending.
    assert_eq!(
        column_i64(&out, "label_5"),
        [Some(1), Some(1), Some(0), Some(0), None, Some(0)]
    );
    assert_eq!(
        column_i64(&out, "label_60"),
        [Some(1), Some(1), Some(0), Some(1), None, None]
    );
    assert_eq!(
        column_i64(&out, "feedback_count"),
        [Some(1), Some(1), Some(0), Some(1), Some(0), Some(0)]
    );
    assert_eq!(
        column_i64(&out, "first_feedback_delay"),
        [Some(3), Some(2), None, Some(50), None, None]
    );
    let s = &out.stats;
    assert_eq!(
        (
            s.events_credited,
            s.events_orphan,
            s.events_late,
            s.events_invalid
        ),
        (3, 1, 1, 1)
    );
    assert_eq!(s.predictions_invalid, 1);
}

#[test]
fn attribution_first_and_all() {
    let (p, f) = example(100);
    let first = label_join(
        Source::Batches(p.clone()),
        Source::Batches(f.clone()),
        &options(&[60], Attribution::First),
    )
    .unwrap();
    // First: user 1's click at 12 goes to the earliest prediction in window (t=0);
    // user 2's tie goes to the earlier row (2).
    assert_eq!(
        column_i64(&first, "feedback_count"),
        [Some(2), Some(0), Some(1), Some(0), Some(0), Some(0)]
    );
    let all = label_join(
        Source::Batches(p),
        Source::Batches(f),
        &options(&[60], Attribution::All),
    )
    .unwrap();
    assert_eq!(
        column_i64(&all, "feedback_count"),
        [Some(2), Some(1), Some(1), Some(1), Some(0), Some(0)]
    );
    assert_eq!(all.stats.events_credited, 3);
}

#[test]
fn same_answers_for_any_batches_threads_and_hash_collisions() {
    let users: Vec<Option<i64>> = (0..3000).map(|i| Some((i * 7919) % 97)).collect();
    let times: Vec<Option<i64>> = (0..3000).map(|i| Some((i * 31) % 1000)).collect();
    let click_users: Vec<Option<i64>> = (0..800).map(|i| Some((i * 13) % 101)).collect();
    let click_times: Vec<Option<i64>> = (0..800).map(|i| Some((i * 17) % 1100)).collect();
    let names: Vec<String> = (0..3000).map(|i| format!("u{}", (i * 7919) % 97)).collect();
    let click_names: Vec<String> = (0..800).map(|i| format!("u{}", (i * 13) % 101)).collect();
    let run = |rows: usize, threads: usize, mask: u64, attribution: Attribution, strings: bool| {
        let user: ArrayRef = if strings {
            Arc::new(StringArray::from(names.clone()))
        } else {
            ints(&users)
        };
        let click_user: ArrayRef = if strings {
            Arc::new(StringArray::from(click_names.clone()))
        } else {
            ints(&click_users)
        };
        let p = table(vec![("user", user), ("ts", ints(&times))], rows);
        let f = table(vec![("user", click_user), ("ts", ints(&click_times))], rows);
        let o = JoinOptions {
            threads: Some(threads),
            hash_mask: mask,
            ..options(&[0, 20, 300], attribution)
        };
        let out = label_join(Source::Batches(p), Source::Batches(f), &o).unwrap();
        let columns: Vec<Vec<Option<i64>>> = [
            "label_0",
            "label_20",
            "label_300",
            "feedback_count",
            "first_feedback_delay",
        ]
        .iter()
        .map(|c| column_i64(&out, c))
        .collect();
        (columns, out.stats)
    };
    for attribution in [Attribution::Last, Attribution::First, Attribution::All] {
        for strings in [false, true] {
            let expected = run(100_000, 1, u64::MAX, attribution, strings);
            assert!(expected.1.events_credited > 0);
            for (rows, threads, mask) in [
                (1, 4, u64::MAX),
                (37, 3, 0b111),
                (1000, 2, 0),
                (64, 1, 0xff),
            ] {
                assert_eq!(
                    run(rows, threads, mask, attribution, strings),
                    expected,
                    "{rows} {threads} {mask:#x}"
                );
            }
        }
    }
}

#[test]
fn errors_name_what_is_wrong() {
    let (p, f) = example(10);
    let fail = |o: JoinOptions| {
        label_join(Source::Batches(p.clone()), Source::Batches(f.clone()), &o)
            .err()
            .unwrap()
    };
    let missing = fail(JoinOptions::new(
        vec!["nope".into()],
        vec![WindowArg::Int(5)],
    ));
    assert!(
        matches!(&missing, LwError::Schema(m) if m.contains("\"nope\"")),
        "{missing}"
    );
    let text_window = fail(JoinOptions::new(
        vec!["user".into()],
        vec![WindowArg::Text("5m".into())],
    ));
    assert!(
        matches!(&text_window, LwError::Config(m) if m.starts_with("windows:")),
        "{text_window}"
    );
    let twice = fail(options(&[5, 5], Attribution::Last));
    assert!(
        matches!(&twice, LwError::Config(m) if m.contains("twice")),
        "{twice}"
    );
    let empty = table(vec![("user", ints(&[])), ("ts", ints(&[]))], 10);
    let out = label_join(
        Source::Batches(empty.clone()),
        Source::Batches(empty),
        &options(&[5], Attribution::Last),
    )
    .unwrap();
    assert_eq!(out.stats.predictions_total, 0);
    assert!(out.batches.is_empty());
    assert_eq!(out.schema.fields().len(), 2 + 3);
}
