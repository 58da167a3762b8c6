"""Synthetic recommender log: impressions (predictions) and delayed clicks (feedback).

``generate_log`` is numpy-vectorized (10M impressions in a few seconds) and deterministic per
seed. Requests arrive uniformly over one day in time order; each shows ``items_per_request``
items drawn from a power-law popularity (duplicates within a request are kept, so a key can have
several predictions with the same ``ts``). Users are power-law too, and ``personal_share`` of the
slots re-show one of the user's 20 "personal" items, so (user, item) pairs repeat across requests
(~26% of impressions share their key with another). Clicks depend on position and score; click
delays are log-normal (median 2 min, sigma 1.5: ~4% land more than 30 min after the impression),
a few impressions are clicked twice, and a small share of "organic" clicks have no impression at
all (orphans).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pyarrow as pa

DAY_US = 86_400 * 1_000_000
START_US = 1_717_200_000 * 1_000_000  # 2024-06-01 00:00 UTC, stored naive
TS = pa.timestamp("us")


def _power_law(rng: np.random.Generator, n: int, size: int, alpha: float) -> np.ndarray:
    """Ranks in [0, n) with P(rank) ~ (rank + 1) ** -alpha (continuous inverse CDF)."""
    u = rng.random(size)
    e = 1.0 - alpha
    x = ((float(n + 1) ** e - 1.0) * u + 1.0) ** (1.0 / e)
    return np.minimum(x.astype(np.int64) - 1, n - 1)


def generate_log(
    n_requests: int = 1_000_000,
    items_per_request: int = 10,
    n_users: int = 200_000,
    n_items: int = 200_000,
    ctr: float = 0.04,
    seed: int = 0,
    personal_share: float = 0.3,
    organic_share: float = 0.01,
    repeat_click_share: float = 0.05,
    observed_s: float | None = 86_400,
) -> tuple[pa.Table, pa.Table]:
    """Return ``(predictions, feedback)`` as Arrow tables.

    predictions: request_id int64, user_id int64, item_id int64, position int32 (1-based),
    score float64, ts timestamp[us] — one row per impression, in request (time) order.
    feedback: user_id int64, item_id int64, ts timestamp[us] — clicks sorted by click time,
    observed until ``observed_s`` seconds after the first request could arrive (default: the end
    of the day, like a daily export; the last half hour's labels are then partly pending).
    ``None`` keeps every click.
    """
    rng = np.random.default_rng(seed)
    k = items_per_request
    n = n_requests * k

    # Requests: uniform over one day, sorted; ids shuffled so popular ids are not the small ones.
    req_ts = START_US + np.sort(rng.integers(0, DAY_US, n_requests))
    user_ids = rng.permutation(n_users)[_power_law(rng, n_users, n_requests, 0.6)]
    item_perm = rng.permutation(n_items)
    item_rank = _power_law(rng, n_items, n, 0.9)
    # Some slots re-show one of the user's 20 "personal" items, so keys repeat across requests.
    personal = rng.random(n) < personal_share
    slot_user = np.repeat(user_ids, k)[personal]
    item_rank[personal] = (
        slot_user * 7919 + rng.integers(0, 20, personal.sum()) * 104_729
    ) % n_items
    item_ids = item_perm[item_rank]

    ts = np.repeat(req_ts, k)
    position = np.tile(np.arange(1, k + 1, dtype=np.int32), n_requests)
    score = 1.0 / (1.0 + np.exp(-rng.normal(-3.0, 1.0, n)))

    # Click probability ~ score x position bias, scaled so the mean is ``ctr``.
    bias = 1.0 / np.log2(position + 1.0)
    p = score * bias
    p *= ctr * (1.0 - organic_share) / (1.0 + repeat_click_share) / p.mean()
    clicked = np.flatnonzero(rng.random(n) < np.minimum(p, 1.0))
    repeats = clicked[rng.random(clicked.size) < repeat_click_share]
    src = np.concatenate([clicked, repeats])
    delay_us = (rng.lognormal(np.log(120.0), 1.5, src.size) * 1e6).astype(np.int64)
    click_ts = ts[src] + delay_us
    click_user = np.repeat(user_ids, k)[src]
    click_item = item_ids[src]

    # Organic clicks: random keys and times, mostly without a matching impression.
    n_org = int(src.size * organic_share)
    click_user = np.concatenate([click_user, rng.integers(0, n_users, n_org)])
    click_item = np.concatenate([click_item, rng.integers(0, n_items, n_org)])
    click_ts = np.concatenate([click_ts, START_US + rng.integers(0, DAY_US, n_org)])
    order = np.argsort(click_ts, kind="stable")
    if observed_s is not None:
        order = order[click_ts[order] <= START_US + int(observed_s * 1e6)]

    predictions = pa.table(
        {
            "request_id": pa.array(np.repeat(np.arange(n_requests, dtype=np.int64), k)),
            "user_id": pa.array(np.repeat(user_ids.astype(np.int64), k)),
            "item_id": pa.array(item_ids.astype(np.int64)),
            "position": pa.array(position),
            "score": pa.array(score),
            "ts": pa.array(ts, TS),
        }
    )
    feedback = pa.table(
        {
            "user_id": pa.array(click_user[order].astype(np.int64)),
            "item_id": pa.array(click_item[order].astype(np.int64)),
            "ts": pa.array(click_ts[order], TS),
        }
    )
    return predictions, feedback


def main() -> None:
    n_requests = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    t0 = time.perf_counter()
    pred, fb = generate_log(n_requests)
    dt = time.perf_counter() - t0
    mb = (pred.nbytes + fb.nbytes) / 2**20
    print(
        f"{pred.num_rows:,} impressions, {fb.num_rows:,} clicks "
        f"({fb.num_rows / pred.num_rows:.2%}), {mb:,.0f} MiB, generated in {dt:.2f}s"
    )
    keys = pred.group_by(["user_id", "item_id"]).aggregate([]).num_rows
    print(
        f"{keys:,} distinct (user_id, item_id) keys "
        f"({pred.num_rows / keys:.2f} impressions per key)"
    )


if __name__ == "__main__":
    main()
