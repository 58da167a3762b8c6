"""loopwatch: natural labels, feedback-loop length and feedback-loop health from ML logs."""

from __future__ import annotations

import warnings

from . import _core, simulate
from ._delays import DelayProfile, DelayProfileState, delay_profile, window_tradeoff
from ._join import label_join
from ._metrics import LabelMetricsState, label_metrics, position_curve
from ._popularity import (
    HitRateByPopularity,
    Popularity,
    PopularityMetricsState,
    hit_rate_by_popularity,
    popularity_metrics,
)
from ._report import report
from ._stats import join_stats
from ._trend import TrendReport, trend
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
    "DataError",
    "DelayProfile",
    "DelayProfileState",
    "HitRateByPopularity",
    "InputFileError",
    "LabelMetricsState",
    "LoopwatchError",
    "Popularity",
    "PopularityMetricsState",
    "SchemaError",
    "TrendReport",
    "__version__",
    "delay_profile",
    "hit_rate_by_popularity",
    "join_stats",
    "label_join",
    "label_metrics",
    "popularity_metrics",
    "position_curve",
    "report",
    "simulate",
    "trend",
    "window_tradeoff",
]
