//! Popularity sources: φ per item from a fixed table of interactions, or from a trailing window
//! ending at the start of each time bucket (recounted by sliding over the rows in time order).

use std::collections::HashMap;

use arrow::datatypes::DataType;

use super::items::{value_kind, Interner, ValueColumn};
use crate::duration::{duration_in_unit, unit_nanos, DurationArg};
use crate::error::{config_err, LwError, Result};
use crate::group::{column_index, time_unit_of};
use crate::input::{load, source_schema, Source};
use crate::normalize::to_common_unit;
use crate::state::codec::{Reader, Writer};

const NO_USER: u32 = u32::MAX;

/// What φ counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountBy {
    Interactions,
    Users,
}

impl CountBy {
    pub fn parse(text: &str) -> Result<CountBy> {
        match text {
            "interactions" => Ok(CountBy::Interactions),
            "users" => Ok(CountBy::Users),
            other => Err(config_err(format!(
                "count: expected \"interactions\" or \"users\", got {other:?}"
            ))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            CountBy::Interactions => "interactions",
            CountBy::Users => "users",
        }
    }
}

/// How to read a popularity source.
pub struct SourceOptions {
    pub item: String,
    pub user: Option<String>,
    pub count: CountBy,
    /// `(time column, lookback)` for a trailing popularity.
    pub trailing: Option<(String, DurationArg)>,
}

/// φ as one bucket sees it, indexed by the source's item ids (later ids have φ = 0).
pub struct PopView {
    pub phi: Vec<u64>,
    pub phi_users: Option<Vec<u64>>,
    pub n_users: Option<u64>,
}

impl PopView {
    #[inline]
    pub fn phi(&self, id: u32) -> u64 {
        self.phi.get(id as usize).copied().unwrap_or(0)
    }
    #[inline]
    pub fn phi_users(&self, id: u32) -> u64 {
        self.phi_users
            .as_ref()
            .and_then(|p| p.get(id as usize).copied())
            .unwrap_or(0)
    }
}

pub enum PopData {
    Fixed(PopView),
    /// Rows `(time on the axis, item, user)` with a time, sorted by time. The axis is
    /// nanoseconds for timestamp columns, the raw values for integer columns.
    Trailing {
        lookback: i64,
        integer_time: bool,
        rows: Vec<(i64, u32, u32)>,
    },
}

pub struct Popularity {
    pub count: CountBy,
    pub has_users: bool,
    /// Every non-null item of the source, at any time.
    pub items: Interner,
    pub ignored_rows: u64,
    pub data: PopData,
}

/// Nanoseconds per stored unit of a time column (1 for integer time).
pub fn axis_factor(data_type: &DataType, column: &str, argument: &str) -> Result<i64> {
    Ok(time_unit_of(data_type, column, argument)?.map_or(1, unit_nanos))
}

impl Popularity {
    pub fn build(source: Source, options: &SourceOptions) -> Result<Popularity> {
        let schema = source_schema(&source, "interactions")?;
        let item_field = schema.field(column_index(&schema, &options.item, "item")?);
        let kind = value_kind(item_field.data_type(), &options.item, "item")?;
        if options.count == CountBy::Users && options.user.is_none() {
            return Err(config_err(
                "count: \"users\" counts distinct users, so it needs user= (the user column)",
            ));
        }
        let mut columns = vec![options.item.as_str()];
        if let Some(user) = &options.user {
            let field = schema.field(column_index(&schema, user, "user")?);
            value_kind(field.data_type(), user, "user")?;
            columns.push(user);
        }
        let mut lookback = None;
        if let Some((time, arg)) = &options.trailing {
            let field = schema.field(column_index(&schema, time, "time")?);
            let unit = time_unit_of(field.data_type(), time, "time")?;
            let stored = duration_in_unit(arg, unit, "lookback")?;
            let factor = unit.map_or(1, unit_nanos);
            let on_axis = stored.checked_mul(factor).ok_or_else(|| {
                config_err("lookback: too long to express in nanoseconds".to_string())
            })?;
            lookback = Some((on_axis, unit.is_none()));
            columns.push(time);
        }
        let mut stages = crate::trace::Stages::start();
        let table = load(source, Some(&columns), "interactions")?;
        stages.mark("popsrc: load");
        let mut items = Interner::new(kind);
        let mut users = Interner::new(kind_of_user(&table.schema, options)?);
        // With several batches, dense user ids would need one table across them: only one
        // batch takes that path (`users_seen`), later ones use the interner.
        let mut users_seen = table.batches.len() != 1;
        let mut ignored = 0u64;
        let mut rows: Vec<(i64, u32, u32)> = Vec::new();
        // Fixed popularity from rows without nulls: each batch's item and user ids as they
        // come (counting needs no times, so no row tuples are built).
        let mut fixed: Vec<(Vec<u32>, Option<Vec<u32>>)> = Vec::new();
        for batch in &table.batches {
            let schema = batch.schema();
            let item_col = ValueColumn::new(
                batch.column(column_index(&schema, &options.item, "item")?),
                &options.item,
            )?;
            let user_col = match &options.user {
                Some(u) => Some(ValueColumn::new(
                    batch.column(column_index(&schema, u, "user")?),
                    u,
                )?),
                None => None,
            };
            let times = match &options.trailing {
                Some((time, _)) => {
                    let array = batch.column(column_index(&schema, time, "time")?);
                    let factor = axis_factor(array.data_type(), time, "time")?;
                    let values = to_common_unit(array, factor, time, "interactions")?;
                    Some((values, array.logical_nulls()))
                }
                None => None,
            };
            // Fast path: no null items or users, so every row interns both (in row order,
            // the same ids as the row loop below).
            if item_col.nulls.is_none() && user_col.as_ref().is_none_or(|u| u.nulls.is_none()) {
                let item_ids = items.intern_column(&item_col);
                // Users only need to be told apart: dense ids without the interner's map
                // when their range is small.
                let user_ids = user_col.as_ref().map(|u| {
                    dense_user_ids(u, &mut users_seen).unwrap_or_else(|| users.intern_column(u))
                });
                if lookback.is_none() {
                    fixed.push((item_ids, user_ids));
                    continue;
                }
                rows.reserve(batch.num_rows());
                for (i, &item) in item_ids.iter().enumerate() {
                    let user = user_ids.as_ref().map_or(NO_USER, |u| u[i]);
                    let t = match &times {
                        None => 0,
                        Some((_, Some(nulls))) if nulls.is_null(i) => continue,
                        Some((values, _)) => values[i],
                    };
                    rows.push((t, item, user));
                }
                continue;
            }
            for i in 0..batch.num_rows() {
                if item_col.is_null(i) {
                    ignored += 1;
                    continue;
                }
                let item = items.intern_row(&item_col, i);
                let user = match &user_col {
                    Some(u) if !u.is_null(i) => users.intern_row(u, i),
                    _ => NO_USER,
                };
                let t = match &times {
                    None => 0,
                    Some((_, Some(nulls))) if nulls.is_null(i) => continue,
                    Some((values, _)) => values[i],
                };
                rows.push((t, item, user));
            }
        }
        stages.mark("popsrc: intern rows");
        let data = match lookback {
            Some((lookback, integer_time)) => {
                rows.sort_by_key(|r| r.0);
                PopData::Trailing {
                    lookback,
                    integer_time,
                    rows,
                }
            }
            None => PopData::Fixed(count_rows(
                fixed
                    .iter()
                    .flat_map(|(items, users)| {
                        items
                            .iter()
                            .enumerate()
                            .map(move |(i, &item)| (item, users.as_ref().map_or(NO_USER, |u| u[i])))
                    })
                    .chain(rows.iter().map(|&(_, i, u)| (i, u))),
                items.len(),
                options.count,
                options.user.is_some(),
            )),
        };
        stages.mark("popsrc: count");
        Ok(Popularity {
            count: options.count,
            has_users: options.user.is_some(),
            items,
            ignored_rows: ignored,
            data,
        })
    }

    pub fn is_trailing(&self) -> bool {
        matches!(self.data, PopData::Trailing { .. })
    }

    /// The views of the windows ending at `starts` (on the axis; `None` = an empty window),
    /// which must be sorted ascending with `None` last.
    pub fn trailing_views(&self, starts: &[Option<i64>]) -> Vec<PopView> {
        let PopData::Trailing { lookback, rows, .. } = &self.data else {
            return Vec::new();
        };
        let mut window = Window::new(self.items.len(), self.has_users);
        let (mut lo, mut hi) = (0usize, 0usize);
        starts
            .iter()
            .map(|start| match start {
                None => count_rows(std::iter::empty(), 0, self.count, self.has_users),
                Some(s) => {
                    let from = s.saturating_sub(*lookback);
                    while hi < rows.len() && rows[hi].0 < *s {
                        window.add(rows[hi].1, rows[hi].2);
                        hi += 1;
                    }
                    while lo < hi && rows[lo].0 < from {
                        window.remove(rows[lo].1, rows[lo].2);
                        lo += 1;
                    }
                    window.view(self.count)
                }
            })
            .collect()
    }

    pub fn write(&self, out: &mut Writer) {
        out.str(self.count.name());
        out.u8(self.has_users as u8);
        self.items.write(out);
        out.u64(self.ignored_rows);
        match &self.data {
            PopData::Fixed(view) => {
                out.u8(0);
                out.u64s(&view.phi);
                out.u64s(view.phi_users.as_deref().unwrap_or(&[]));
                out.opt_i64(view.n_users.map(|n| n as i64));
            }
            PopData::Trailing {
                lookback,
                integer_time,
                rows,
            } => {
                out.u8(1);
                out.i64(*lookback);
                out.u8(*integer_time as u8);
                out.count(rows.len());
                for &(t, i, u) in rows {
                    out.i64(t);
                    out.u64(((i as u64) << 32) | u as u64);
                }
            }
        }
    }

    pub fn read(input: &mut Reader) -> Result<Popularity> {
        let count = CountBy::parse(&input.str()?)?;
        let has_users = input.u8()? != 0;
        let items = Interner::read(input)?;
        let ignored_rows = input.u64()?;
        let data = match input.u8()? {
            0 => {
                let phi = input.u64s()?;
                let phi_users = input.u64s()?;
                let n_users = input.opt_i64()?;
                PopData::Fixed(PopView {
                    phi,
                    phi_users: has_users.then_some(phi_users),
                    n_users: n_users.map(|n| n as u64),
                })
            }
            _ => {
                let lookback = input.i64()?;
                let integer_time = input.u8()? != 0;
                let n = input.count()?;
                let mut rows = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = input.i64()?;
                    let code = input.u64()?;
                    let item = (code >> 32) as u32;
                    if item as usize >= items.len() {
                        return Err(input.corrupt("item id"));
                    }
                    rows.push((t, item, code as u32));
                }
                PopData::Trailing {
                    lookback,
                    integer_time,
                    rows,
                }
            }
        };
        Ok(Popularity {
            count,
            has_users,
            items,
            ignored_rows,
            data,
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new("popularity", 1);
        self.write(&mut w);
        w.finish()
    }

    pub fn from_bytes(data: &[u8]) -> Result<Popularity> {
        let mut r = Reader::open(data, "popularity", 1)?;
        let pop = Popularity::read(&mut r)?;
        r.finish()?;
        Ok(pop)
    }
}

fn kind_of_user(
    schema: &arrow::datatypes::Schema,
    options: &SourceOptions,
) -> Result<super::items::ValueKind> {
    match &options.user {
        Some(u) => value_kind(
            schema.field(column_index(schema, u, "user")?).data_type(),
            u,
            "user",
        ),
        None => Ok(super::items::ValueKind::Int),
    }
}

/// Ids for a batch's users (signed integers, no nulls, small range) from a lookup table:
/// distinct values get distinct ids, which is all counting needs. None when it does not apply
/// or `used` (the ids would clash with another batch's); sets `used`.
fn dense_user_ids(column: &ValueColumn, used: &mut bool) -> Option<Vec<u32>> {
    if *used {
        return None;
    }
    let values = column.signed_ints()?;
    let (lo, hi) = super::items::min_max(values)?;
    if hi as i128 - lo as i128 >= super::items::dense_range_limit(values.len()) {
        return None;
    }
    *used = true;
    let mut table = vec![u32::MAX; (hi as i128 - lo as i128 + 1) as usize];
    let mut next = 0u32;
    Some(
        values
            .iter()
            .map(|&v| {
                let slot = &mut table[v.wrapping_sub(lo) as u64 as usize];
                if *slot == u32::MAX {
                    *slot = next;
                    next += 1;
                }
                *slot
            })
            .collect(),
    )
}

/// φ, φ_users and N_users of a set of `(item, user)` rows.
fn count_rows(
    rows: impl Iterator<Item = (u32, u32)>,
    n_items: usize,
    count: CountBy,
    has_users: bool,
) -> PopView {
    let mut interactions = vec![0u64; n_items];
    let mut pairs: Vec<u64> = Vec::new();
    for (item, user) in rows {
        interactions[item as usize] += 1;
        if has_users && user != NO_USER {
            pairs.push(((item as u64) << 32) | user as u64);
        }
    }
    if !has_users {
        return PopView {
            phi: interactions,
            phi_users: None,
            n_users: None,
        };
    }
    // Distinct users per item without sorting: pairs bucketed by item (a counting sort), then
    // a stamp per user marks the users already counted for the current item. Ids are dense
    // (0..number seen), so arrays over them are small.
    let max_user = pairs
        .iter()
        .map(|&p| p as u32)
        .max()
        .map_or(0, |m| m as usize + 1);
    let mut start = vec![0usize; n_items + 1];
    for &p in &pairs {
        start[(p >> 32) as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut fill = start.clone();
    let mut users_of_items = vec![0u32; pairs.len()];
    for &p in &pairs {
        let item = (p >> 32) as usize;
        users_of_items[fill[item]] = p as u32;
        fill[item] += 1;
    }
    let mut phi_users = vec![0u64; n_items];
    let mut stamp = vec![u32::MAX; max_user];
    let mut seen = vec![false; max_user];
    let mut n_users = 0u64;
    for item in 0..n_items {
        for &user in &users_of_items[start[item]..start[item + 1]] {
            let at = user as usize;
            if stamp[at] != item as u32 {
                stamp[at] = item as u32;
                phi_users[item] += 1;
            }
            if !seen[at] {
                seen[at] = true;
                n_users += 1;
            }
        }
    }
    PopView {
        phi: match count {
            CountBy::Interactions => interactions,
            CountBy::Users => phi_users.clone(),
        },
        phi_users: Some(phi_users),
        n_users: Some(n_users),
    }
}

/// A sliding window of rows: counts kept up to date as rows enter and leave.
struct Window {
    interactions: Vec<u64>,
    phi_users: Vec<u64>,
    has_users: bool,
    pairs: HashMap<u64, u64>,
    users: HashMap<u32, u64>,
}

impl Window {
    fn new(n_items: usize, has_users: bool) -> Window {
        Window {
            interactions: vec![0; n_items],
            phi_users: vec![0; if has_users { n_items } else { 0 }],
            has_users,
            pairs: HashMap::new(),
            users: HashMap::new(),
        }
    }

    fn add(&mut self, item: u32, user: u32) {
        self.interactions[item as usize] += 1;
        if self.has_users && user != NO_USER {
            let pair = self
                .pairs
                .entry(((item as u64) << 32) | user as u64)
                .or_insert(0);
            *pair += 1;
            if *pair == 1 {
                self.phi_users[item as usize] += 1;
            }
            *self.users.entry(user).or_insert(0) += 1;
        }
    }

    fn remove(&mut self, item: u32, user: u32) {
        self.interactions[item as usize] -= 1;
        if self.has_users && user != NO_USER {
            let code = ((item as u64) << 32) | user as u64;
            if let Some(pair) = self.pairs.get_mut(&code) {
                *pair -= 1;
                if *pair == 0 {
                    self.pairs.remove(&code);
                    self.phi_users[item as usize] -= 1;
                }
            }
            if let Some(n) = self.users.get_mut(&user) {
                *n -= 1;
                if *n == 0 {
                    self.users.remove(&user);
                }
            }
        }
    }

    fn view(&self, count: CountBy) -> PopView {
        if !self.has_users {
            return PopView {
                phi: self.interactions.clone(),
                phi_users: None,
                n_users: None,
            };
        }
        PopView {
            phi: match count {
                CountBy::Interactions => self.interactions.clone(),
                CountBy::Users => self.phi_users.clone(),
            },
            phi_users: Some(self.phi_users.clone()),
            n_users: Some(self.users.len() as u64),
        }
    }
}

/// Error for a popularity that cannot serve a call.
pub fn needs_buckets() -> LwError {
    config_err("pop: a trailing popularity needs time= and every= (its window ends at each bucket)")
}
