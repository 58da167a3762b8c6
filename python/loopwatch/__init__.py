"""loopwatch: natural labels, feedback-loop length and feedback-loop health from ML logs."""

from __future__ import annotations

import warnings

from . import _core
from ._join import label_join
from ._popularity import (
    HitRateByPopularity,
    Popularity,
    PopularityMetricsState,
    hit_rate_by_popularity,
    popularity_metrics,
)
from ._stats import join_stats
from .errors import ConfigError, DataError, InputFileError, LoopwatchError, SchemaError

__version__: str = _core.__version__

if _core.is_debug_build():
    warnings.warn(
        "loopwatch was built in debug mode and is much slower; build it with "
        "`maturin develop --release` for any timing",
        RuntimeWarning,
        stacklevel=2,
    )

__all__ = [
    "ConfigError",
    "HitRateByPopularity",
    "Popularity",
    "PopularityMetricsState",
    "DataError",
    "InputFileError",
    "LoopwatchError",
    "SchemaError",
    "__version__",
    "join_stats",
    "hit_rate_by_popularity",
    "label_join",
    "popularity_metrics",
]
