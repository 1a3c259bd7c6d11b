"""Checks of tabular data read from CSV files (the Kaggle house prices, D2L 4.10), before encoding.

Each raises ``ValueError`` naming the file, the column, the line and the value: a number
written "8,450", a column of numbers in one file but of words in the other, a word among
numbers, or a number that float32 (the features' type) cannot hold would otherwise be
encoded silently wrong (a category per distinct number, or a column of zeros).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

FLOAT32_MAX = float(np.finfo(np.float32).max)
THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")     # 8,450 or 1,234,567.5


def short(names: Sequence[Any], limit: int = 12) -> str:
    """``[a, b, ...]`` of the first ``limit`` names, and how many more."""
    names = [str(n) for n in names]
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return "[" + ", ".join(names[:limit]) + more + "]"


def check_columns(expected: Sequence[str], found: Iterable[str], source: str) -> None:
    """Raise ``ValueError`` naming the missing and the unexpected columns if the sets differ."""
    found = list(found)
    missing = [c for c in expected if c not in set(found)]
    extra = [c for c in found if c not in set(expected)]
    if missing or extra:
        raise ValueError(f"{source} does not have the training feature set: missing columns "
                         f"{short(missing) if missing else 'none'}, unexpected columns "
                         f"{short(extra) if extra else 'none'}")


def same_features(first: pd.DataFrame, second: pd.DataFrame, first_source: str, second_source: str) -> None:
    """Raise ``ValueError`` naming the columns only one of the two frames has, and which."""
    only_first = [c for c in first.columns if c not in set(second.columns)]
    only_second = [c for c in second.columns if c not in set(first.columns)]
    if only_first or only_second:
        raise ValueError(f"{first_source} and {second_source} have different feature columns: only in "
                         f"{first_source}: {short(only_first) if only_first else 'none'}; only in "
                         f"{second_source}: {short(only_second) if only_second else 'none'}")


def _text_in(column: pd.Series) -> tuple[int, int, int | None]:
    """(numbers, texts, line of the first text) among a column's non-missing values."""
    values = column.dropna()
    if pd.api.types.is_numeric_dtype(values):
        return len(values), 0, None
    text = pd.to_numeric(values, errors="coerce").isna()
    first = int(values.index[text.to_numpy()][0]) + 2 if text.any() else None   # line 1: the header
    return int((~text).sum()), int(text.sum()), first


def _thousands(source: str, column: str, values: pd.Series) -> None:
    """Refuse a number written with a thousands separator ("8,450"), as text it would be a category."""
    if pd.api.types.is_numeric_dtype(values):
        return
    text = values.dropna().astype(str)
    hits = text[text.str.fullmatch(THOUSANDS)]
    if len(hits):
        raise ValueError(f"{source}, line {int(hits.index[0]) + 2}: column {column!r} holds {hits.iloc[0]!r}, "
                         f"a number with a thousands separator: write it {hits.iloc[0].replace(',', '')}")


def check_numeric_columns(frames: Mapping[str, pd.DataFrame]) -> None:
    """A column of numbers must not hold text: a number written "8,450", a column of numbers
    with a few words in it, or numbers in one file and only words in another raise
    ``ValueError`` naming the file, line, column and value (one-hot encoding it instead
    would turn every distinct number into a feature)."""
    for column in next(iter(frames.values())).columns:
        for source, frame in frames.items():
            _thousands(source, column, frame[column])
        counts = {source: _text_in(frame[column]) for source, frame in frames.items()}
        numbers = sum(n for n, _, _ in counts.values())
        texts = sum(t for _, t, _ in counts.values())
        numeric_in = [s for s, (n, t, _) in counts.items() if n and not t]
        if 0 < texts < numbers or (numeric_in and texts):
            source, (some, _, line) = next((s, c) for s, c in counts.items() if c[1])
            value = frames[source][column].loc[line - 2]
            holds = (f"numbers but also the text {value!r}" if some else
                     f"only text (first {value!r}) where {numeric_in[0]} holds numbers")
            raise ValueError(f"{source}, line {line}: column {column!r} holds {holds}: correct it, or "
                             f"leave it empty (NA) for a missing value")


def check_float32_range(frames: Mapping[str, pd.DataFrame]) -> None:
    """Every number of a numeric column lies within float32's range (the features' type):
    an ``inf`` or a 1e308 would make the column's standard deviation infinite and its
    standardized values all zero. ``ValueError`` naming the file, line, column and value."""
    for source, frame in frames.items():
        for column in frame.select_dtypes(include="number").columns:
            x = frame[column].to_numpy(np.float64)
            bad = np.isinf(x) | (np.abs(x) > FLOAT32_MAX)
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"{source}, line {i + 2}: column {column!r} holds {float(x[i])!r}, beyond "
                                 f"float32's range (±{FLOAT32_MAX:.2g}): correct it, or leave it empty "
                                 f"(NA) for a missing value")


__all__ = ["check_columns", "check_float32_range", "check_numeric_columns", "same_features", "short"]
