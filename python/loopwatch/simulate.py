"""A recommender that retrains on its own logs: the built-in feedback-loop simulator.

``feedback_loop(...)`` produces the three logs loopwatch reads — predictions (impressions),
feedback (clicks, delayed) and the interaction log the recommender trains on — from a small
world in which a degenerate feedback loop is known to run away (``shared/SIMULATOR.md``).

The model
---------
**World.** ``users`` users in ``clusters`` taste clusters and ``items`` items, with latent
factors of dimension ``d = 8``: a user's vector is its cluster centroid plus noise,
``x_u = c_{k(u)} + 0.5·ε``; items have ``y_i ~ N(0, I)`` and a bias ``b_i ~ N(0, 1)``. The true
affinity is ``a(u, i) = ⟨x_u, y_i⟩ / √d`` and the appeal
``appeal(u, i) = sigmoid(β₀ + 1.5·a(u, i) + b_i)`` with ``β₀ = -2``.

**Clicks.** Position-based model: an item shown at rank ``r`` (1-based) is clicked with
``P(click) = (1/r)^η * appeal(u, i)``, ``η = 1``. Click delays are a log-normal mixture: 85 %
with median 2 min (sd = 1), 15 % with median 2 h (sd = 1.2). Each user asks for one list of
``list_size`` items on a day with probability 0.8, at a uniform time of day.

**Recommender.** Scores ``s(u, i) = sigmoid(w₀ + w₁·â(u, i) + w₂·π(i))`` where ``â = a + N(0, 1)``
is a fixed noisy estimate of the affinity (drawn once per pair) and
``π(i) = log(1 + φ₇(i) / mean_j φ₇(j))`` the item's clicks in the 7 days before the last refit,
relative to the catalog mean. A list is the top ``list_size`` items by ``logit s + N(0, 0.3)``
(a little serving noise). The weights ``w`` are a logistic regression of *click* on
``(1, â, π)`` (π as logged at serving time) over the last 7 days of its own impressions, with
**no position correction**: items ranked first are clicked more because they are first, that
credit goes to the popularity feature, and popularity feeds itself.

**Phases.** ``warmup_days`` of uniformly random lists; the model is then fitted once and
frozen (weights and ``π``) for ``reference_days`` (a flat reference period); from then on it is
refitted every night and ``π`` refreshed (the drift).

**Exploration.** Each list has ``Binomial(list_size, exploration)`` slots, at uniformly random
positions, filled with uniformly random items not otherwise in the list; the policy's items
fill the other positions in rank order. Those rows have ``explored = True``. The recommender
trains on all logged traffic, explored or not.

The logs are as of the end of the last day: clicks that would come later are not in them, so
the last day's labels are partly pending, as in production.

Everything is drawn from one ``numpy.random.Generator`` seeded with ``seed``: the same
arguments give the same tables, bit for bit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import ConfigError

__all__ = ["Simulation", "feedback_loop"]

START = dt.datetime(2024, 1, 1)
DIM = 8
BASE_LOGIT = -2.0
APPEAL_SLOPE = 1.5
POSITION_ETA = 1.0
REQUEST_PROBABILITY = 0.8
AFFINITY_NOISE = 1.0
SERVING_NOISE = 0.3
POPULARITY_DAYS = 7
TRAINING_DAYS = 7
_US_PER_DAY = 86_400_000_000
_US_PER_MINUTE = 60_000_000

FloatArray = np.ndarray[tuple[int, ...], np.dtype[np.float64]]
IntArray = np.ndarray[tuple[int, ...], np.dtype[np.int64]]
BoolArray = np.ndarray[tuple[int, ...], np.dtype[np.bool_]]


@dataclass(frozen=True)
class Simulation:
    """The logs of one simulated run, and when its phases started.

    ``predictions``: ``request_id``, ``user_id``, ``item_id`` (int64), ``position`` (int32,
    1-based), ``score`` (float64 in [0, 1]: the model's click probability), ``explored``
    (bool), ``ts`` (timestamp[us]: the request time). ``feedback``: the clicks, ``user_id``,
    ``item_id``, ``ts`` (click time). ``interactions``: the same clicks as the training log the
    recommender learns from. All sorted by ``ts``.
    """

    predictions: pa.Table
    feedback: pa.Table
    interactions: pa.Table
    start: dt.datetime
    reference_start: dt.datetime
    retraining_start: dt.datetime
    end: dt.datetime
    exploration: float
    seed: int


@dataclass
class _World:
    appeal: FloatArray  # users * items
    noisy_affinity: FloatArray  # users * items


@dataclass
class _Log:
    """One day's impressions, kept as columns until the end."""

    user: IntArray
    item: IntArray
    position: IntArray
    score: FloatArray
    explored: BoolArray
    request_us: IntArray
    clicked: BoolArray
    click_us: IntArray
    affinity: FloatArray  # the model's features at serving time
    logpop: FloatArray


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return out


def _world(rng: np.random.Generator, users: int, items: int, clusters: int) -> _World:
    centroids = rng.normal(0.0, 1.0, (clusters, DIM))
    user_vec = centroids[rng.integers(0, clusters, users)] + 0.5 * rng.normal(
        0.0, 1.0, (users, DIM)
    )
    item_vec = rng.normal(0.0, 1.0, (items, DIM))
    item_bias = rng.normal(0.0, 1.0, items)
    affinity = user_vec @ item_vec.T / np.sqrt(DIM)
    appeal = _sigmoid(BASE_LOGIT + APPEAL_SLOPE * affinity + item_bias[None, :])
    noisy = affinity + AFFINITY_NOISE * rng.normal(0.0, 1.0, affinity.shape)
    return _World(appeal=appeal, noisy_affinity=noisy)


def _popularity_feature(daily_clicks: list[IntArray]) -> FloatArray:
    """``log(1 + φ₇(i) / mean_j φ₇(j))``: recent clicks relative to the catalog mean.

    Relative, so that its scale does not jump when the window grows from the warm-up's few
    days to a full week, or when the click-through rate changes.
    """
    clicks = np.sum(daily_clicks, axis=0).astype(np.float64)
    mean = float(clicks.mean())
    feature: FloatArray = np.log1p(clicks / mean) if mean > 0 else np.zeros_like(clicks)
    return feature


def _fit_logistic(features: FloatArray, clicked: BoolArray, iterations: int = 25) -> FloatArray:
    """Logistic regression by Newton's method (IRLS) with a tiny ridge for stability."""
    x = np.column_stack([np.ones(len(clicked)), features])
    y = clicked.astype(np.float64)
    w = np.zeros(x.shape[1])
    ridge = 1e-6 * np.eye(x.shape[1])
    for _ in range(iterations):
        p = _sigmoid(x @ w)
        gradient = x.T @ (y - p)
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        w = w + step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return w


def _policy_lists(
    rng: np.random.Generator,
    logits: FloatArray,
    list_size: int,
) -> IntArray:
    """Top ``list_size`` items per row of ``logits + N(0, SERVING_NOISE)``, best first."""
    noisy = logits + SERVING_NOISE * rng.normal(0.0, 1.0, logits.shape)
    top = np.argpartition(-noisy, list_size - 1, axis=1)[:, :list_size]
    order = np.argsort(-np.take_along_axis(noisy, top, axis=1), axis=1, kind="stable")
    lists: IntArray = np.take_along_axis(top, order, axis=1).astype(np.int64)
    return lists


def _explore(
    rng: np.random.Generator, lists: IntArray, items: int, exploration: float
) -> tuple[IntArray, BoolArray]:
    """Replace Binomial(k, ε) random positions per list by random items not in the list.

    The policy's items keep their rank order in the remaining positions.
    """
    n_lists, k = lists.shape
    explored = np.zeros((n_lists, k), dtype=np.bool_)
    if exploration <= 0.0 or n_lists == 0:
        return lists, explored
    slots = rng.binomial(k, exploration, n_lists)
    slot_rank = np.argsort(rng.random((n_lists, k)), axis=1)
    explored = slot_rank < slots[:, None]
    # Policy items fill the non-explored positions in order: the first (k - slots) of the list.
    policy_rank = np.cumsum(~explored, axis=1) - 1
    out = np.take_along_axis(lists, np.clip(policy_rank, 0, k - 1), axis=1)
    out = np.where(explored, rng.integers(0, items, (n_lists, k)), out)
    others = ~np.eye(k, dtype=np.bool_)
    # Redraw random items equal to another item of the same list. Each redraw succeeds with
    # probability >= 1/2 (items >= 2k is checked), so 64 rounds leave a clash with p < 2^-64.
    for _ in range(64):
        same = (out[:, :, None] == out[:, None, :]) & others
        clash = explored & same.any(axis=2)
        if not clash.any():
            break
        out[clash] = rng.integers(0, items, int(clash.sum()))
    return out.astype(np.int64), explored


def _delays_us(rng: np.random.Generator, n: int) -> IntArray:
    """Log-normal mixture: 85 % median 2 min (sd 1), 15 % median 2 h (sd 1.2)."""
    slow = rng.random(n) < 0.15
    median_minutes = np.where(slow, 120.0, 2.0)
    sigma = np.where(slow, 1.2, 1.0)
    minutes = median_minutes * np.exp(sigma * rng.normal(0.0, 1.0, n))
    delays: IntArray = np.round(minutes * _US_PER_MINUTE).astype(np.int64)
    return delays


def _check_args(
    days: int,
    users: int,
    items: int,
    exploration: float,
    list_size: int,
    warmup_days: int,
    reference_days: int,
    clusters: int,
) -> None:
    for name, value, low in [
        ("days", days, 1),
        ("users", users, 1),
        ("items", items, 2),
        ("list_size", list_size, 1),
        ("warmup_days", warmup_days, 1),
        ("reference_days", reference_days, 0),
        ("clusters", clusters, 1),
    ]:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name}: expected an integer >= {low}, got {value!r}")
    if list_size > items:
        raise ConfigError(f"list_size: {list_size} is more than the {items} items")
    if not 0.0 <= exploration <= 1.0:
        raise ConfigError(f"exploration: expected a share in [0, 1], got {exploration!r}")
    if exploration > 0 and items < 2 * list_size:
        raise ConfigError(
            f"items: exploration needs at least 2 * list_size = {2 * list_size} items to draw "
            f"random ones from, got {items}"
        )
    if days <= warmup_days + reference_days:
        raise ConfigError(
            f"days: {days} leaves no retraining day after warmup_days={warmup_days} and "
            f"reference_days={reference_days}"
        )


def feedback_loop(
    *,
    days: int = 45,
    users: int = 1_000,
    items: int = 1_000,
    exploration: float = 0.0,
    seed: int = 0,
    out: str | Path | None = None,
    list_size: int = 10,
    warmup_days: int = 3,
    reference_days: int = 14,
    clusters: int = 10,
) -> Simulation:
    """Simulate a recommender retrained nightly on its own click logs (see the module doc).

    Days ``[0, warmup_days)`` serve random lists, ``[warmup_days, warmup_days +
    reference_days)`` a frozen model (the reference period), the rest nightly retraining.
    ``exploration`` = ε, the expected share of list slots given to uniformly random items
    (flagged ``explored``). With ``out=DIR`` the three tables are also written to
    ``DIR/predictions.parquet``, ``DIR/feedback.parquet`` and ``DIR/interactions.parquet``.

    Example::

        sim = feedback_loop(days=45, exploration=0.1, seed=1)
        sim.predictions.num_rows  # ≈ 0.8 * users * days * list_size
    """
    _check_args(days, users, items, exploration, list_size, warmup_days, reference_days, clusters)
    rng = np.random.default_rng(seed)
    world = _world(rng, users, items, clusters)
    weights = np.array([BASE_LOGIT, 1.0, 0.0])
    logpop: FloatArray = np.zeros(items)
    daily_clicks: list[IntArray] = []  # per day, clicks per item
    logs: list[_Log] = []
    reference_from = warmup_days
    retrain_from = warmup_days + reference_days

    for day in range(days):
        if day >= reference_from and (day == reference_from or day >= retrain_from):
            logpop = _popularity_feature(daily_clicks[-POPULARITY_DAYS:])
            training = logs[-TRAINING_DAYS:]
            features = np.column_stack(
                [
                    np.concatenate([log.affinity for log in training]),
                    np.concatenate([log.logpop for log in training]),
                ]
            )
            weights = _fit_logistic(features, np.concatenate([log.clicked for log in training]))
        warmup = day < reference_from
        log = _serve_day(rng, world, day, weights, logpop, list_size, exploration, warmup)
        logs.append(log)
        daily_clicks.append(np.bincount(log.item[log.clicked], minlength=items).astype(np.int64))

    simulation = _tables(logs, exploration, seed, warmup_days, reference_days, days)
    if out is not None:
        write(simulation, out)
    return simulation


def _serve_day(
    rng: np.random.Generator,
    world: _World,
    day: int,
    weights: FloatArray,
    logpop: FloatArray,
    list_size: int,
    exploration: float,
    warmup: bool,
) -> _Log:
    """One day: who asks, what they are shown (policy + explored slots), what they click."""
    users, items = world.appeal.shape
    asking = np.flatnonzero(rng.random(users) < REQUEST_PROBABILITY).astype(np.int64)
    request_us = day * _US_PER_DAY + np.sort(rng.integers(0, _US_PER_DAY, len(asking)))
    asking = rng.permutation(asking)  # who asks first is random
    logits = weights[0] + weights[1] * world.noisy_affinity[asking] + weights[2] * logpop[None, :]
    if warmup:
        lists = np.argsort(rng.random((len(asking), items)), axis=1)[:, :list_size]
        explored: BoolArray = np.zeros(lists.shape, dtype=np.bool_)
    else:
        lists, explored = _explore(rng, _policy_lists(rng, logits, list_size), items, exploration)
    rows = np.repeat(asking, list_size)
    item = lists.ravel().astype(np.int64)
    position = np.tile(np.arange(1, list_size + 1, dtype=np.int64), len(asking))
    p_click = position.astype(np.float64) ** -POSITION_ETA * world.appeal[rows, item]
    clicked = rng.random(len(item)) < p_click
    request = np.repeat(request_us, list_size)
    click_us = np.where(clicked, request + _delays_us(rng, len(item)), 0)
    score = _sigmoid(np.take_along_axis(logits, lists, axis=1).ravel())
    return _Log(
        user=rows,
        item=item,
        position=position,
        score=score,
        explored=explored.ravel(),
        request_us=request.astype(np.int64),
        clicked=clicked,
        click_us=click_us.astype(np.int64),
        affinity=world.noisy_affinity[rows, item],
        logpop=logpop[item],
    )


def _timestamps(micros: IntArray) -> pa.Array[Any]:
    base = int((START - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1))
    return pa.array(micros + base, pa.timestamp("us"))


def _tables(
    logs: list[_Log],
    exploration: float,
    seed: int,
    warmup_days: int,
    reference_days: int,
    days: int,
) -> Simulation:
    user = np.concatenate([log.user for log in logs])
    item = np.concatenate([log.item for log in logs])
    request_us = np.concatenate([log.request_us for log in logs])
    clicked = np.concatenate([log.clicked for log in logs])
    click_us = np.concatenate([log.click_us for log in logs])
    list_size = int(logs[0].position.max()) if len(logs[0].position) else 1
    predictions = pa.table(
        {
            "request_id": pa.array(np.arange(len(user)) // list_size, pa.int64()),
            "user_id": pa.array(user, pa.int64()),
            "item_id": pa.array(item, pa.int64()),
            "position": pa.array(np.concatenate([log.position for log in logs]), pa.int32()),
            "score": pa.array(np.concatenate([log.score for log in logs]), pa.float64()),
            "explored": pa.array(np.concatenate([log.explored for log in logs]), pa.bool_()),
            "ts": _timestamps(request_us),
        }
    )
    # The logs are as of the end of the last day: later clicks have not happened yet.
    happened = clicked & (click_us < days * _US_PER_DAY)
    order = np.argsort(click_us[happened], kind="stable")
    clicks = {
        "user_id": pa.array(user[happened][order], pa.int64()),
        "item_id": pa.array(item[happened][order], pa.int64()),
        "ts": _timestamps(click_us[happened][order]),
    }
    day = dt.timedelta(days=1)
    return Simulation(
        predictions=predictions,
        feedback=pa.table(clicks),
        interactions=pa.table(clicks),
        start=START,
        reference_start=START + warmup_days * day,
        retraining_start=START + (warmup_days + reference_days) * day,
        end=START + days * day,
        exploration=exploration,
        seed=seed,
    )


def write(simulation: Simulation, out: str | Path) -> Path:
    """Write the three logs as Parquet files in the folder ``out`` (created if missing)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(simulation.predictions, folder / "predictions.parquet")
    pq.write_table(simulation.feedback, folder / "feedback.parquet")
    pq.write_table(simulation.interactions, folder / "interactions.parquet")
    return folder
