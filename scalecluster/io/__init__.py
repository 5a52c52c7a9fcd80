"""Reading data and writing results (Parquet)."""

from ._parquet import read_parquet, to_parquet

__all__ = ["read_parquet", "to_parquet"]
