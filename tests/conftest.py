"""Shared fixtures: the ``lw`` fixture fails a test loudly while the extension is not built."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

# Let the test modules import their helpers (reference.py, strategies.py) as plain modules.
_TESTS = str(Path(__file__).parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


@pytest.fixture(scope="session")
def lw() -> ModuleType:
    """``import loopwatch``; a missing build fails loudly rather than skipping tests."""
    try:
        import loopwatch
    except ImportError as exc:  # not built (`maturin develop --release`)
        pytest.fail(f"loopwatch is not importable — build it first: {exc}")
    return loopwatch
