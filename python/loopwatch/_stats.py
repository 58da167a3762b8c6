"""Reading the ``loopwatch.stats`` counts back from a labeled table or Parquet file."""

from __future__ import annotations

import json
import os
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import SchemaError

STATS_KEY = b"loopwatch.stats"


def join_stats(table_or_path: Any) -> dict[str, Any]:
    """The counts of the ``label_join`` that made this table (or Parquet file).

    Keys: ``predictions`` (``total``, ``invalid``), ``events`` (``total``, ``credited``,
    ``orphan``, ``late``, ``after_watermark``, ``invalid``), ``labels`` (per window:
    ``positive``, ``negative``, ``pending`` — over valid predictions, so they add up to
    ``total - invalid``), plus ``attribution``, ``windows``, ``watermark`` (in ``time_unit``).
    """
    if isinstance(table_or_path, str | os.PathLike):
        schema = pq.read_schema(os.fspath(table_or_path))
    elif isinstance(table_or_path, pa.Table | pa.RecordBatch):
        schema = table_or_path.schema
    elif isinstance(table_or_path, pa.Schema):
        schema = table_or_path
    else:
        schema = pa.table(table_or_path).schema
    metadata = schema.metadata or {}
    if STATS_KEY not in metadata:
        raise SchemaError("join_stats: this table was not made by loopwatch.label_join")
    stats: dict[str, Any] = json.loads(metadata[STATS_KEY])
    return stats
