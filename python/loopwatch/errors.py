"""Exceptions raised by loopwatch. Every one names the argument or column at fault."""


class LoopwatchError(Exception):
    """Base class of every loopwatch error."""


class SchemaError(LoopwatchError, ValueError):
    """A column is missing, or its type cannot be used (float keys, naive vs aware times...)."""


class ConfigError(LoopwatchError, ValueError):
    """An argument is malformed: a bad duration, an unknown mode, a duplicate window..."""


class DataError(LoopwatchError, ValueError):
    """Values in the data cannot be used as asked (e.g. times overflowing a finer unit)."""


class InputFileError(LoopwatchError, OSError):
    """A Parquet input or output path is missing, unreadable or not Parquet."""
