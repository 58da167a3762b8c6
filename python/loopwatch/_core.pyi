"""Type stubs of the native module (checked against it by ``mypy.stubtest``)."""

from typing import Any

__all__ = ["__version__", "default_threads", "is_debug_build", "label_join"]
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
