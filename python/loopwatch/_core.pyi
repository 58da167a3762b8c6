"""Type stubs of the native module (checked against it by ``mypy.stubtest``)."""

from typing import Any, final

__all__ = [
    "DelayProfileState",
    "LabelMetricsState",
    "PopularityMetricsState",
    "PopularitySource",
    "__version__",
    "default_threads",
    "hit_rate_by_popularity",
    "is_debug_build",
    "label_join",
    "label_metrics",
    "popularity_metrics",
    "window_tradeoff",
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
    memory_limit: int | None = None,
    tmp_dir: str | None = None,
    progress: bool = False,
    hash_mask: int | None = None,
    chunk_rows: int | None = None,
) -> Any: ...
def label_metrics(
    labeled: Any,
    label: str,
    score: str | None,
    time: str,
    every: str | int | None,
    by: list[str],
    threads: int | None = None,
) -> Any: ...

@final
class LabelMetricsState:
    def __new__(
        cls, label: str, score: str | None, time: str, every: str | int | None, by: list[str]
    ) -> LabelMetricsState: ...
    def update(self, table: Any, threads: int | None = None) -> None: ...
    def merge(self, other: LabelMetricsState) -> None: ...
    def finalize(self, threads: int | None = None) -> Any: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> LabelMetricsState: ...

@final
class DelayProfileState:
    def __new__(cls, delay: str, by: list[str]) -> DelayProfileState: ...
    def update(self, table: Any, threads: int | None = None) -> None: ...
    def merge(self, other: DelayProfileState) -> None: ...
    def finalize(self) -> tuple[Any, Any]: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> DelayProfileState: ...

def window_tradeoff(
    labeled: Any,
    delay: str,
    time: str,
    reference: tuple[str, str | int],
    windows: list[tuple[str, str | int]],
    watermark_parts: tuple[str, int, int],
    target_recall: float,
    by: list[str],
    threads: int | None = None,
) -> Any: ...

@final
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

@final
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
