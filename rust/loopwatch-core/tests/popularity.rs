//! End-to-end checks of `popularity_metrics` without Python: a hand-computed case, and the same
//! table at any thread count, batch size, row order of the lists and item representation (the
//! fast paths against their general fallbacks); Parquet parts streamed in partitions.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use arrow::datatypes::{Field, Float64Type, Int64Type, Schema};
use arrow::record_batch::RecordBatch;
use loopwatch_core::duration::DurationArg;
use loopwatch_core::input::{InputTable, Source};
use loopwatch_core::output::ParquetSink;
use loopwatch_core::popularity::{
    metrics_batch, popularity_metrics, CountBy, MetricsOptions, Popularity, PopularityMetricsState,
    SourceOptions, TailRule,
};
use loopwatch_core::spill::TempDir;

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

fn ints(values: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

fn options(time: bool) -> MetricsOptions {
    MetricsOptions {
        list_id: vec!["list".into()],
        item: "item".into(),
        position: None,
        k: None,
        time: time.then(|| "ts".into()),
        every: time.then_some(DurationArg::Int(100)),
        by: Vec::new(),
        rule: TailRule::new(0.8, None, None, None).unwrap(),
    }
}

fn fixed_pop(items: ArrayRef, users: Option<&[i64]>) -> Arc<Popularity> {
    let mut columns = vec![("item", items)];
    if let Some(u) = users {
        columns.push(("user", ints(u)));
    }
    let source = Source::Batches(table(columns, 1 << 20));
    let options = SourceOptions {
        item: "item".into(),
        user: users.map(|_| "user".into()),
        count: CountBy::Interactions,
        trailing: None,
    };
    Arc::new(Popularity::build(source, &options).unwrap())
}

fn float(batch: &RecordBatch, name: &str) -> Option<f64> {
    let column = batch.column(batch.schema().index_of(name).unwrap());
    let values = column.as_primitive::<Float64Type>();
    (!values.is_null(0)).then(|| values.value(0))
}

#[test]
fn hand_computed_lists_not_contiguous() {
    // φ: item 1 → 3, 2 → 2, 3 → 1; item 4 is cold. Head (0.8 of Σφ = 6 → 4.8): {1, 2}.
    let pop = fixed_pop(ints(&[1, 1, 1, 2, 2, 3]), None);
    // Lists 10 = [1, 2] and 20 = [3, 4], their rows interleaved.
    let recs = table(
        vec![
            ("list", ints(&[10, 20, 10, 20])),
            ("item", ints(&[1, 3, 2, 4])),
        ],
        1,
    );
    let (_, out) =
        popularity_metrics(Source::Batches(recs), pop, options(false), None, Some(2), 3).unwrap();
    assert_eq!(out.num_rows(), 1);
    let n_lists = out.column(out.schema().index_of("n_lists").unwrap());
    assert_eq!(n_lists.as_primitive::<Int64Type>().value(0), 2);
    assert_eq!(float(&out, "arp"), Some(1.5)); // ((3 + 2) / 2 + (1 + 0) / 2) / 2
    assert_eq!(float(&out, "aplt"), Some(0.5)); // (0 / 2 + 2 / 2) / 2
    assert_eq!(float(&out, "aclt"), Some(1.0));
    assert_eq!(float(&out, "long_tail_coverage"), Some(1.0));
    assert_eq!(float(&out, "coverage"), Some(1.0));
    assert_eq!(float(&out, "gini"), Some(0.0));
    assert_eq!(float(&out, "entropy"), Some(2.0));
    assert_eq!(float(&out, "entropy_norm"), Some(1.0));
    assert_eq!(float(&out, "novelty"), None);
    assert_eq!(float(&out, "cold_share"), Some(0.25));
}

/// A deterministic pseudo-random log: `(list, item, ts)` rows, lists contiguous, lengths 1..=12
/// with repeated items, and clicks `(item, user)` for the popularity.
#[allow(clippy::type_complexity)]
fn log(n_lists: usize) -> (Vec<(i64, i64, i64)>, Vec<i64>, Vec<i64>) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    let mut rows = Vec::new();
    for l in 0..n_lists {
        let id = (l as i64 * 7919) % 100_003; // distinct, not sorted
        let ts = (l as i64) * 1000 / n_lists as i64;
        for _ in 0..1 + next(12) {
            let item = (next(300) * next(300) / 300) as i64; // skewed
            rows.push((id, item, ts));
        }
    }
    let clicks: Vec<i64> = (0..3000)
        .map(|_| (next(200) * next(200) / 200) as i64)
        .collect();
    let users: Vec<i64> = (0..3000).map(|_| next(500) as i64).collect();
    (rows, clicks, users)
}

fn run(
    rows: &[(i64, i64, i64)],
    item: impl Fn(i64) -> ArrayRef,
    pop: Arc<Popularity>,
    threads: usize,
    chunk_rows: usize,
) -> RecordBatch {
    let items: Vec<ArrayRef> = rows.iter().map(|r| item(r.1)).collect();
    let refs: Vec<&dyn Array> = items.iter().map(|a| a.as_ref()).collect();
    let input = table(
        vec![
            ("list", ints(&rows.iter().map(|r| r.0).collect::<Vec<_>>())),
            ("item", arrow::compute::concat(&refs).unwrap()),
            ("ts", ints(&rows.iter().map(|r| r.2).collect::<Vec<_>>())),
        ],
        1 << 20,
    );
    popularity_metrics(
        Source::Batches(input),
        pop,
        options(true),
        None,
        Some(threads),
        chunk_rows,
    )
    .unwrap()
    .1
}

#[test]
fn same_table_at_any_thread_count_batch_size_and_row_order() {
    let (rows, clicks, users) = log(4000);
    let int_item = |v: i64| ints(&[v]);
    let pop = fixed_pop(ints(&clicks), Some(&users));
    let want = run(&rows, int_item, pop.clone(), 1, 1 << 16);
    assert!(want.num_rows() > 5);
    for (threads, chunk_rows) in [(2, 1 << 16), (4, 97), (3, 1)] {
        assert_eq!(run(&rows, int_item, pop.clone(), threads, chunk_rows), want);
    }
    // Lists split in two halves placed far apart, lists in reverse order: the linking
    // fallback must give the same lists.
    let mut starts = vec![0];
    for i in 1..rows.len() {
        if rows[i].0 != rows[i - 1].0 {
            starts.push(i);
        }
    }
    starts.push(rows.len());
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for w in starts.windows(2).rev() {
        let mid = w[0] + (w[1] - w[0]).div_ceil(2);
        first.extend_from_slice(&rows[w[0]..mid]);
        second.extend_from_slice(&rows[mid..w[1]]);
    }
    first.extend(second);
    assert_eq!(run(&first, int_item, pop.clone(), 2, 1000), want);

    // Items far apart (no lookup table) and as strings (hash interning): same order of
    // values, so the same metrics.
    let wide = |v: i64| ints(&[v * 1_000_000_007]);
    let wide_pop = fixed_pop(
        ints(&clicks.iter().map(|v| v * 1_000_000_007).collect::<Vec<_>>()),
        Some(&users),
    );
    assert_eq!(run(&rows, wide, wide_pop, 2, 500), want);
    let text = |v: i64| Arc::new(StringArray::from(vec![format!("{v:06}")])) as ArrayRef;
    let clicks_text: Vec<String> = clicks.iter().map(|v| format!("{v:06}")).collect();
    let text_pop = fixed_pop(Arc::new(StringArray::from(clicks_text)), Some(&users));
    assert_eq!(run(&rows, text, text_pop, 2, 500), want);
}

/// `rows` shuffled (lists scattered), written as three Parquet parts of small batches; the
/// same rows as one table.
fn parts(rows: &[(i64, i64, i64)], dir: &TempDir) -> InputTable {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40);
    let pick = |f: fn(&(i64, i64, i64)) -> i64| {
        ints(&order.iter().map(|&i| f(&rows[i])).collect::<Vec<_>>())
    };
    let whole = table(
        vec![
            ("list", pick(|r| r.0)),
            ("item", pick(|r| r.1)),
            ("ts", pick(|r| r.2)),
        ],
        1 << 20,
    );
    let batch = &whole.batches[0];
    let n = batch.num_rows();
    for (p, (start, end)) in [(0, n / 5), (n / 5, n / 2), (n / 2, n)]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("part-{p}.parquet"));
        let mut sink = ParquetSink::create(&path, &whole.schema, &[]).unwrap();
        for at in (start..end).step_by(333) {
            sink.write(&batch.slice(at, 333.min(end - at))).unwrap();
        }
        sink.finish().unwrap();
    }
    whole
}

#[test]
fn parquet_parts_streamed_in_partitions_equal_the_table() {
    let (rows, clicks, users) = log(3000);
    let pop = fixed_pop(ints(&clicks), Some(&users));
    let dir = TempDir::new(None).unwrap();
    let whole = parts(&rows, &dir);
    let paths = vec![dir.path().display().to_string()];
    let mut want = PopularityMetricsState::new(pop.clone(), options(true), None).unwrap();
    want.update(&whole, 1000).unwrap();
    let want = metrics_batch(&want).unwrap().1;
    assert!(want.num_rows() > 5);
    // One partition, a few, and as many as allowed.
    for limit in [u64::MAX, 500_000, 1] {
        let mut state = PopularityMetricsState::new(pop.clone(), options(true), None).unwrap();
        state.update_paths(&paths, 1000, limit).unwrap();
        assert_eq!(
            metrics_batch(&state).unwrap().1,
            want,
            "memory limit {limit}"
        );
    }
}

#[test]
fn a_failing_streamed_update_leaves_the_state_unchanged() {
    let (rows, clicks, users) = log(500);
    let pop = fixed_pop(ints(&clicks), Some(&users));
    let dir = TempDir::new(None).unwrap();
    let whole = parts(&rows, &dir);
    let paths = vec![dir.path().display().to_string()];
    // A catalog without the last row's item: one partition fails after others were counted.
    let mut catalog: Vec<i64> = rows
        .iter()
        .map(|r| r.1)
        .filter(|&i| i != rows[rows.len() - 1].1)
        .collect();
    catalog.sort_unstable();
    catalog.dedup();
    let catalog = table(vec![("item", ints(&catalog))], 1 << 20);
    let mut state = PopularityMetricsState::new(pop, options(true), Some(catalog)).unwrap();
    let no_rows = InputTable {
        schema: whole.schema,
        batches: Vec::new(),
    };
    state.update(&no_rows, 100).unwrap(); // fixes the grouping, as any first update does
    let before = state.to_bytes();
    let err = state.update_paths(&paths, 100, 1).unwrap_err();
    assert!(err.to_string().contains("not in the catalog"), "{err}");
    assert!(
        state.to_bytes() == before,
        "the failed update changed the state"
    );
}
