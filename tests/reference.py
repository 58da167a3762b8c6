"""A slow, obviously-correct reference of ``label_join`` (SPEC §2).

Works on lists of dict rows (``pyarrow.Table.to_pylist()``) whose time columns hold plain
integers in one common unit: the caller converts timestamps beforehand. ``windows`` maps each
label name (the ``<w>`` of ``label_<w>``) to its integer width in that same unit.

Everything is a direct O(n*m) loop over the SPEC text; nothing is sorted, indexed or cached, so
that each rule can be checked by reading it. Decisions where the SPEC is silent (fixed by the
project, and documented on ``loopwatch.label_join``):

* a row is *valid* when every key column and its time are non-null;
* ``watermark=None``: ``A`` is the greatest time of the valid feedback events; when there is no
  valid event ``A`` does not exist, nothing is credited and every label of a valid prediction is
  pending;
* every feedback row lands in exactly one class: invalid, after_watermark, orphan, late or
  credited (an event credited to several predictions under ``"all"`` counts once);
* ``value_sum`` is SQL ``SUM`` over the credited events: nulls are skipped, and the sum is null
  when no credited event has a non-null value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ATTRIBUTIONS = ("last", "first", "all")


def _key(row: Mapping[str, Any], on: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row[c] for c in on)


def _is_valid(row: Mapping[str, Any], on: Sequence[str], time: str) -> bool:
    return all(row[c] is not None for c in on) and row[time] is not None


def reference_label_join(
    pred_rows: Sequence[Mapping[str, Any]],
    fb_rows: Sequence[Mapping[str, Any]],
    *,
    on: Sequence[str],
    windows: Mapping[str, int],
    time: str = "ts",
    feedback_time: str | None = None,
    watermark: int | None = None,
    attribution: str = "last",
    value: str | None = None,
    time_unit: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return ``(out_rows, stats)`` as SPEC §2 defines them.

    ``out_rows``: one dict per prediction, in input order, holding the prediction's own columns
    followed by ``label_<name>`` for each window, ``feedback_count``, ``first_feedback_delay``
    (an int in the common unit, or None) and, when ``value`` is given, ``value_sum``.
    ``stats``: the dict ``lw.join_stats`` must return. ``time_unit`` is copied into it as is.
    """
    if attribution not in ATTRIBUTIONS:
        raise ValueError(f"attribution: expected one of {ATTRIBUTIONS}, got {attribution!r}")
    if not windows:
        raise ValueError("windows: expected at least one window")
    on = list(on)
    feedback_time = time if feedback_time is None else feedback_time
    w_max = max(windows.values())

    # Valid predictions: (input index, key, t_p).
    preds: list[tuple[int, tuple[Any, ...], int]] = []
    for i, row in enumerate(pred_rows):
        if _is_valid(row, on, time):
            preds.append((i, _key(row, on), row[time]))

    # Valid events: (input index, key, t_f, value).
    events: list[tuple[int, tuple[Any, ...], int, Any]] = []
    n_invalid_events = 0
    for j, row in enumerate(fb_rows):
        if _is_valid(row, on, feedback_time):
            events.append((j, _key(row, on), row[feedback_time], row[value] if value else None))
        else:
            n_invalid_events += 1

    # The as-of time A.
    if watermark is not None:
        a: int | None = watermark
    elif events:
        a = max(t_f for (_, _, t_f, _) in events)
    else:
        a = None  # no valid event: A does not exist, nothing can close a window

    # Crediting: credits[i] = list of (t_f, value) credited to prediction i.
    credits: dict[int, list[tuple[int, Any]]] = {i: [] for (i, _, _) in preds}
    n_after = n_orphan = n_late = n_credited = 0
    for _j, key, t_f, val in events:
        if a is None or t_f > a:
            # (a is None is impossible here: A is the max of the events when not given.)
            n_after += 1
            continue
        # Predictions of the same key at or before t_f.
        before = [(i, t_p) for (i, k, t_p) in preds if k == key and t_p <= t_f]
        if not before:
            n_orphan += 1
            continue
        # Predictions whose window [t_p, t_p + W_max] holds t_f.
        inside = [(i, t_p) for (i, t_p) in before if t_f - t_p <= w_max]
        if attribution == "last":
            # The greatest t_p <= t_f; ties: the later row in input order. No fall-back.
            best_i, best_t = before[0]
            for i, t_p in before:
                if (t_p, i) > (best_t, best_i):
                    best_i, best_t = i, t_p
            targets = [best_i] if t_f - best_t <= w_max else []
        elif attribution == "first":
            # The earliest t_p whose window holds t_f; ties: the earlier row in input order.
            targets = []
            if inside:
                best_i, best_t = inside[0]
                for i, t_p in inside:
                    if (t_p, i) < (best_t, best_i):
                        best_i, best_t = i, t_p
                targets = [best_i]
        else:  # "all"
            targets = [i for (i, _) in inside]
        if not targets:
            n_late += 1
            continue
        n_credited += 1
        for i in targets:
            credits[i].append((t_f, val))

    # Output rows.
    t_p_of = {i: t_p for (i, _, t_p) in preds}
    key_of = {i: k for (i, k, _) in preds}
    out_rows: list[dict[str, Any]] = []
    labels_stats = {name: {"positive": 0, "negative": 0, "pending": 0} for name in windows}
    for i, row in enumerate(pred_rows):
        out = dict(row)
        if i not in t_p_of:
            # Invalid prediction: null labels, nothing credited, never matched.
            for name in windows:
                out[f"label_{name}"] = None
            out["feedback_count"] = 0
            out["first_feedback_delay"] = None
            if value:
                out["value_sum"] = None
            out_rows.append(out)
            continue
        t_p = t_p_of[i]
        key = key_of[i]
        mine = credits[i]
        delays = [t_f - t_p for (t_f, _) in mine]
        # "last" only: a later valid prediction of the same key (later t_p, or equal t_p and
        # later row) at t_next <= A closes every window of this one.
        successor_closes = False
        if attribution == "last" and a is not None:
            for i2, k2, t2 in preds:
                if k2 == key and (t2, i2) > (t_p, i) and t2 <= a:
                    successor_closes = True
        for name, w in windows.items():
            if any(d <= w for d in delays):
                label: int | None = 1
                labels_stats[name]["positive"] += 1
            elif (a is not None and a >= t_p + w) or successor_closes:
                label = 0
                labels_stats[name]["negative"] += 1
            else:
                label = None
                labels_stats[name]["pending"] += 1
            out[f"label_{name}"] = label
        out["feedback_count"] = len(mine)
        out["first_feedback_delay"] = min(delays) if delays else None
        if value:
            vals = [v for (_, v) in mine if v is not None]
            out["value_sum"] = float(sum(vals)) if vals else None
        out_rows.append(out)

    stats: dict[str, Any] = {
        "version": 1,
        "attribution": attribution,
        "windows": list(windows),
        "watermark": a,
        "time_unit": time_unit,
        "predictions": {"total": len(pred_rows), "invalid": len(pred_rows) - len(preds)},
        "events": {
            "total": len(fb_rows),
            "credited": n_credited,
            "orphan": n_orphan,
            "late": n_late,
            "after_watermark": n_after,
            "invalid": n_invalid_events,
        },
        "labels": labels_stats,
    }
    return out_rows, stats
