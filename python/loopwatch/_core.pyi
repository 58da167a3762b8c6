"""Type stubs of the native module (checked against it by ``mypy.stubtest``)."""

from typing import Any

__all__ = [
    "PopularityMetricsState",
    "PopularitySource",
    "__version__",
    "default_threads",
    "hit_rate_by_popularity",
    "is_debug_build",
    "label_join",
    "popularity_metrics",
]
__version__: str

def is_debug_build() -> bool: ...
def default_threads() -> int: ...
def label_join(
    predictions: Any,
    feedback: Any,
    on: list[str],
    windows: list[str | int],
    time: str,
    feedback_time: str,
    watermark_parts: tuple[str, int, int] | None,
    attribution: str,
    value: str | None,
    output: str | None,
    threads: int | None,
    hash_mask: int | None = None,
    chunk_rows: int | None = None,
) -> Any: ...

class PopularitySource:
    def __new__(
        cls,
        interactions: Any,
        item: str,
        user: str | None,
        count: str,
        time: str | None = None,
        lookback: str | int | None = None,
    ) -> PopularitySource: ...
    @property
    def ignored_rows(self) -> int: ...
    @property
    def is_trailing(self) -> bool: ...
    @property
    def count(self) -> str: ...
    @property
    def n_items(self) -> int: ...
    @property
    def has_users(self) -> bool: ...

def popularity_metrics(
    recommendations: Any,
    pop: PopularitySource,
    list_id: list[str],
    item: str,
    position: str | None,
    k: int | None,
    time: str | None,
    every: str | int | None,
    by: list[str],
    catalog: Any,
    head_share: float,
    tail_ratio: float | None,
    max_count: int | None,
    compat: str | None,
    threads: int | None = None,
    chunk_rows: int | None = None,
) -> Any: ...

class PopularityMetricsState:
    def __new__(
        cls,
        pop: PopularitySource,
        list_id: list[str],
        item: str,
        position: str | None,
        k: int | None,
        time: str | None,
        every: str | int | None,
        by: list[str],
        catalog: Any,
        head_share: float,
        tail_ratio: float | None,
        max_count: int | None,
        compat: str | None,
    ) -> PopularityMetricsState: ...
    def update(
        self, recommendations: Any, threads: int | None = None, chunk_rows: int | None = None
    ) -> None: ...
    def merge(self, other: PopularityMetricsState) -> None: ...
    def finalize(self) -> Any: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> PopularityMetricsState: ...

def hit_rate_by_popularity(
    labeled: Any,
    pop: PopularitySource,
    label: str,
    item: str,
    quantiles: int | None,
    time: str | None,
    every: str | int | None,
    head_share: float,
) -> tuple[Any, float | None, float | None, float | None]: ...
