"""loopwatch: natural labels, feedback-loop length and feedback-loop health from ML logs."""

from __future__ import annotations

import warnings

from . import _core
from ._join import label_join
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
    "DataError",
    "InputFileError",
    "LoopwatchError",
    "SchemaError",
    "__version__",
    "join_stats",
    "label_join",
]
