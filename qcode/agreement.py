"""Intercoder agreement statistics: pure functions, no I/O.

Everything here works on plain Python values, so the project layer decides what a
"unit" is (a segment, a character, a document) and passes labels in. Formulas,
conventions and references: ``docs/agreement-formulas.md``.

Conventions shared by all functions:

- A value is any hashable label; ``None`` means missing. A float NaN is refused
  (use ``None``), so that a missing value is never silently counted as a category.
- Bad input raises ``InputError`` with a one-line message.
- A coefficient that is mathematically undefined (expected agreement of 1, or
  expected disagreement of 0: the coders used only one category between them)
  is returned as ``float("nan")``, never as 0 or 1. ``interpret_alpha`` explains it.
- Results are Python floats. Coefficients are computed with exact fractions where
  the inputs are counts, so relations between them hold to the last bit.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Real
from typing import Any, TypeGuard

from qcode.errors import InputError

__all__ = [
    "KRIPPENDORFF_RELIABLE",
    "KRIPPENDORFF_TENTATIVE",
    "LEVELS",
    "UNITIZED_VARIANTS",
    "AgreementResult",
    "UnitizedAlpha",
    "binary_alpha_from_counts",
    "bootstrap_alpha",
    "bootstrap_binary_alpha",
    "brennan_prediger_kappa",
    "cohen_kappa",
    "cohen_kappa_from_table",
    "fleiss_kappa",
    "interpret_alpha",
    "krippendorff_alpha",
    "percent_agreement",
    "scott_pi",
    "unitized_alpha",
]

LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")
UNITIZED_VARIANTS: tuple[str, ...] = ("u", "binary", "cu")

#: Krippendorff's (2004, 2019) conventional standards for alpha.
KRIPPENDORFF_RELIABLE = 0.800
KRIPPENDORFF_TENTATIVE = 0.667

_NAN = float("nan")
# Absorbs float noise when comparing a computed alpha with a threshold (0.8 - 1e-16 is 0.8).
_THRESHOLD_EPS = 1e-9


# ---------------------------------------------------------------------------
# Result containers and reading
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementResult:
    """One coefficient as the project layer reports it.

    ``value`` is NaN when the coefficient is undefined; ``ci_low``/``ci_high`` are
    the bootstrap interval when one was computed; ``reading`` is plain English
    (for alpha, ``interpret_alpha(value)``).
    """

    statistic: str
    value: float
    n_units: int
    ci_low: float | None = None
    ci_high: float | None = None
    reading: str = ""


@dataclass(frozen=True)
class UnitizedAlpha:
    """The result of ``unitized_alpha``.

    - ``variant``: ``"u"``, ``"binary"`` or ``"cu"``.
    - ``overall``: uα, |uα or cuα for all codes together.
    - ``per_code``: code -> value, in the order codes first appear (coders in the
      order given, each coder's segments by start). Empty for ``"u"``, which has
      no per-code form. For ``"binary"`` it is |uα of that code alone against
      everything else; for ``"cu"`` it is (k)cuα. A value is NaN when undefined.
    """

    variant: str
    overall: float
    per_code: dict[Hashable, float] = field(default_factory=dict)


def interpret_alpha(value: float) -> str:
    """Plain-English reading of an alpha value against Krippendorff's standards.

    ≥ 0.800 reliable; 0.667 to below 0.800 tentative conclusions only; below 0.667
    unreliable. NaN reads as undefined. The bands are conventions, not tests.
    """
    if math.isnan(value):
        return ("undefined: the coders used only one value between them, so agreement "
                "cannot be told apart from chance")
    if value >= KRIPPENDORFF_RELIABLE - _THRESHOLD_EPS:
        return "reliable: at or above 0.800, good enough to draw conclusions from"
    if value >= KRIPPENDORFF_TENTATIVE - _THRESHOLD_EPS:
        return ("tentative: between 0.667 and 0.800, good enough for tentative "
                "conclusions only")
    return ("unreliable: below 0.667, too low to draw conclusions from; discuss the "
            "disagreements and revise the codebook")


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------


def _check_label(value: object, where: str) -> None:
    if (isinstance(value, float) and math.isnan(value)) or (
            isinstance(value, Decimal) and value.is_nan()):
        raise InputError(f"{where}: a value is NaN; use None for a missing value")
    try:
        hash(value)
    except TypeError:
        raise InputError(f"{where}: the value {value!r} is not a hashable label") from None


def _is_whole(value: object) -> bool:
    """An integer that is not a bool (numpy integers count)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[float | Decimal]:
    """A real number that is not a bool (ints, floats, Fractions, Decimals, numpy)."""
    return isinstance(value, Real | Decimal) and not isinstance(value, bool)


def _check_sequence(seq: object, where: str, what: str) -> Sequence[object]:
    if isinstance(seq, str | bytes) or not isinstance(seq, Sequence):
        raise InputError(f"{where}: {what} must be a list or tuple of values, "
                         f"not {type(seq).__name__}")
    return seq


def _pairs(a: Sequence[Hashable | None], b: Sequence[Hashable | None],
           where: str) -> list[tuple[Hashable, Hashable]]:
    """The units both coders coded, as (value of a, value of b)."""
    _check_sequence(a, where, "the first coder's values")
    _check_sequence(b, where, "the second coder's values")
    if len(a) != len(b):
        raise InputError(f"{where}: the coders have {len(a)} and {len(b)} values; "
                         "both must give one value (or None) per unit")
    pairs: list[tuple[Hashable, Hashable]] = []
    for x, y in zip(a, b, strict=True):
        _check_label(x, where)
        _check_label(y, where)
        if x is not None and y is not None:
            pairs.append((x, y))
    if not pairs:
        raise InputError(f"{where}: no unit has a value from both coders")
    return pairs


def _chance_corrected(p_o: Fraction, p_e: Fraction) -> float:
    """(p_o - p_e) / (1 - p_e), NaN when p_e = 1 (then p_o = 1 too: 0/0)."""
    if p_e == 1:
        return _NAN
    return float((p_o - p_e) / (1 - p_e))


def _observed(pairs: list[tuple[Hashable, Hashable]]) -> Fraction:
    return Fraction(sum(1 for x, y in pairs if x == y), len(pairs))


# ---------------------------------------------------------------------------
# Two coders
# ---------------------------------------------------------------------------


def percent_agreement(a: Sequence[Hashable | None], b: Sequence[Hashable | None]) -> float:
    """Share of units (coded by both) on which the two coders gave the same value."""
    return float(_observed(_pairs(a, b, "percent agreement")))


def cohen_kappa(a: Sequence[Hashable | None], b: Sequence[Hashable | None]) -> float:
    """Cohen's (1960) kappa; chance agreement from each coder's own marginals.

    NaN when chance agreement is 1 (both coders used the same single category for
    every unit): kappa is 0/0 there.
    """
    pairs = _pairs(a, b, "Cohen's kappa")
    n = len(pairs)
    first = Counter(x for x, _ in pairs)
    second = Counter(y for _, y in pairs)
    p_e = Fraction(sum(count * second[k] for k, count in first.items()), n * n)
    return _chance_corrected(_observed(pairs), p_e)


def cohen_kappa_from_table(table: Sequence[Sequence[int]]) -> float:
    """Cohen's kappa from a square contingency table of unit counts.

    ``table[i][j]`` is the number of units the first coder put in category i and
    the second in category j. Equal to ``cohen_kappa`` on the units the table
    counts; NaN when chance agreement is 1.
    """
    where = "Cohen's kappa"
    _check_sequence(table, where, "the table")
    size = len(table)
    for i, row in enumerate(table, start=1):
        _check_sequence(row, where, f"row {i}")
        if len(row) != size:
            raise InputError(f"{where}: row {i} has {len(row)} cells; the table must be "
                             f"square ({size} × {size})")
        for cell in row:
            if not _is_whole(cell) or cell < 0:
                raise InputError(f"{where}: the table has the count {cell!r}; counts must "
                                 "be whole numbers ≥ 0")
    n = sum(int(cell) for row in table for cell in row)
    if n == 0:
        raise InputError(f"{where}: no unit has a value from both coders")
    agree = sum(int(table[i][i]) for i in range(size))
    rows = [sum(int(cell) for cell in row) for row in table]
    columns = [sum(int(row[j]) for row in table) for j in range(size)]
    p_e = Fraction(sum(r * c for r, c in zip(rows, columns, strict=True)), n * n)
    return _chance_corrected(Fraction(agree, n), p_e)


def scott_pi(a: Sequence[Hashable | None], b: Sequence[Hashable | None]) -> float:
    """Scott's (1955) pi; chance agreement from the two coders' pooled marginals.

    NaN when only one category occurs in the retained units.
    """
    pairs = _pairs(a, b, "Scott's pi")
    n = len(pairs)
    pooled = Counter(x for x, _ in pairs) + Counter(y for _, y in pairs)
    p_e = Fraction(sum(count * count for count in pooled.values()), 4 * n * n)
    return _chance_corrected(_observed(pairs), p_e)


def brennan_prediger_kappa(a: Sequence[Hashable | None], b: Sequence[Hashable | None],
                           n_categories: int) -> float:
    """Brennan & Prediger's (1981) kappa_n (Bennett et al.'s S): chance agreement 1/q.

    ``n_categories`` (q) is the number of categories the coders could choose from;
    it must be at least 2 and at least the number of distinct values given
    (counted over all non-missing values, including units the other coder missed).
    Never undefined.
    """
    where = "Brennan-Prediger kappa"
    pairs = _pairs(a, b, where)
    if not _is_whole(n_categories):
        raise InputError(f"{where}: n_categories must be a whole number, "
                         f"not {n_categories!r}")
    if n_categories < 2:
        raise InputError(f"{where}: n_categories is {n_categories}; it must be at least 2")
    seen = {v for v in [*a, *b] if v is not None}
    if n_categories < len(seen):
        raise InputError(f"{where}: n_categories is {n_categories} but the coders used "
                         f"{len(seen)} different values")
    return _chance_corrected(_observed(pairs), Fraction(1, int(n_categories)))


# ---------------------------------------------------------------------------
# Fleiss
# ---------------------------------------------------------------------------


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float:
    """Fleiss' (1971) kappa from a subjects × categories table of rater counts.

    ``counts[i][j]`` is how many raters put subject i in category j. Every subject
    must have the same number of raters (at least 2); the raters need not be the
    same people. NaN when all ratings fall in one category.
    """
    where = "Fleiss' kappa"
    _check_sequence(counts, where, "the table")
    if not counts:
        raise InputError(f"{where}: the table has no subjects")
    n_cat = -1
    raters = -1
    for i, row in enumerate(counts, start=1):
        _check_sequence(row, where, f"row {i}")
        if n_cat < 0:
            n_cat = len(row)
            if n_cat == 0:
                raise InputError(f"{where}: the table has no categories")
        elif len(row) != n_cat:
            raise InputError(f"{where}: subject {i} has {len(row)} categories but subject 1 "
                             f"has {n_cat}")
        for cell in row:
            if not _is_whole(cell) or cell < 0:
                raise InputError(f"{where}: subject {i} has the count {cell!r}; counts must "
                                 "be whole numbers ≥ 0")
        total = sum(int(cell) for cell in row)
        if raters < 0:
            raters = total
        elif total != raters:
            raise InputError(f"{where}: subject {i} has {total} ratings but subject 1 has "
                             f"{raters}; every subject needs the same number of raters")
    if raters < 2:
        raise InputError(f"{where}: each subject has {raters} rating(s); at least 2 are needed")
    n_subjects = len(counts)
    p_bar = Fraction(sum(sum(int(c) ** 2 for c in row) - raters for row in counts),
                     n_subjects * raters * (raters - 1))
    totals = [sum(int(row[j]) for row in counts) for j in range(n_cat)]
    p_e = Fraction(sum(t * t for t in totals), (n_subjects * raters) ** 2)
    return _chance_corrected(p_bar, p_e)


# ---------------------------------------------------------------------------
# Krippendorff's alpha
# ---------------------------------------------------------------------------


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise InputError(f"Krippendorff's alpha: unknown level {level!r}; use one of "
                         + ", ".join(LEVELS))


def _reliability_units(values: Sequence[Sequence[Hashable | None]], level: str,
                       where: str) -> tuple[list[Counter[int]], list[Hashable]]:
    """Check the coders × units matrix; return the pairable units and the value list.

    Each unit is a Counter of value indexes (into the returned list of distinct
    values); units with fewer than two values are dropped. For ordinal, interval
    and ratio data the values are sorted, so indexes follow the scale.
    """
    _check_level(level)
    _check_sequence(values, where, "the data")
    if not values:
        raise InputError(f"{where}: there are no coders")
    rows = [_check_sequence(row, where, f"coder {i}'s values")
            for i, row in enumerate(values, start=1)]
    n_units = len(rows[0])
    for i, row in enumerate(rows, start=1):
        if len(row) != n_units:
            raise InputError(f"{where}: coder {i} has {len(row)} values but coder 1 has "
                             f"{n_units}; give one value (or None) per unit")
        for v in row:
            _check_label(v, where)
            if v is None or level in ("nominal", "ordinal"):
                continue
            if not _is_number(v):
                raise InputError(f"{where}: {level} data must be numbers; got {v!r}")
            if not math.isfinite(float(v)):
                raise InputError(f"{where}: {level} data must be finite numbers; got {v!r}")
            if level == "ratio" and v < 0:
                raise InputError(f"{where}: ratio data must not be negative; got {v!r}")
    raw_units = [[row[u] for row in rows if row[u] is not None] for u in range(n_units)]
    raw_units = [unit for unit in raw_units if len(unit) >= 2]
    if not raw_units:
        raise InputError(f"{where}: no unit has values from two or more coders")
    distinct: list[Hashable] = list(dict.fromkeys(v for unit in raw_units for v in unit))
    if level != "nominal":
        ordered: list[Any] = distinct
        try:
            ordered.sort()
        except TypeError:
            raise InputError(f"{where}: {level} data must be values that can be put in "
                             "order; these cannot") from None
    index = {v: i for i, v in enumerate(distinct)}
    units = [Counter(index[v] for v in unit) for unit in raw_units]
    return units, distinct


def _unit_coincidences(unit: Counter[int]) -> list[tuple[int, int, Fraction]]:
    """A unit's contribution to the coincidence matrix: n_uc (n_uk - [c=k]) / (m_u - 1)."""
    m_u = sum(unit.values())
    return [(c, k, Fraction(n_c * (n_k - (c == k)), m_u - 1))
            for c, n_c in unit.items() for k, n_k in unit.items()
            if n_c * (n_k - (c == k))]


def _alpha_from_coincidences(o: list[list[float]], points: Sequence[float],
                             level: str) -> float:
    """alpha = 1 - (n - 1) Σ o_ck δ²_ck / Σ n_c n_k δ²_ck; NaN when the denominator is 0.

    ``points`` are the numeric values (interval, ratio) in index order; for ordinal
    data the indexes are ranks and δ² uses the marginals of ``o``.
    """
    size = len(o)
    marg = [math.fsum(row) for row in o]
    n = math.fsum(marg)
    delta = _delta_squared(points, marg, level)
    d_o = math.fsum(o[c][k] * delta[c][k] for c in range(size) for k in range(size) if c != k)
    d_e = math.fsum(marg[c] * marg[k] * delta[c][k]
                    for c in range(size) for k in range(size) if c != k)
    if d_e == 0:
        return _NAN
    return 1.0 - (n - 1.0) * d_o / d_e


def _delta_squared(points: Sequence[float], marg: Sequence[float],
                   level: str) -> list[list[float]]:
    size = len(marg)
    delta = [[0.0] * size for _ in range(size)]
    if level == "ordinal":
        cumulative = [0.0]
        for m in marg:
            cumulative.append(cumulative[-1] + m)
    for c in range(size):
        for k in range(size):
            if c == k:
                continue
            if level == "nominal":
                d = 1.0
            elif level == "ordinal":
                lo, hi = min(c, k), max(c, k)
                d = (cumulative[hi + 1] - cumulative[lo] - (marg[c] + marg[k]) / 2.0) ** 2
            elif level == "interval":
                d = (points[c] - points[k]) ** 2
            else:  # ratio; values are >= 0 and distinct, so the sum is > 0
                d = ((points[c] - points[k]) / (points[c] + points[k])) ** 2
            delta[c][k] = d
    return delta


def _points(distinct: Sequence[Hashable], level: str) -> list[float]:
    if level in ("interval", "ratio"):
        return [float(v) for v in distinct]  # type: ignore[arg-type]
    return [float(i) for i in range(len(distinct))]


def krippendorff_alpha(values: Sequence[Sequence[Hashable | None]],
                       level: str = "nominal") -> float:
    """Krippendorff's alpha for any number of coders, with missing values.

    ``values[i][j]`` is coder i's value for unit j, ``None`` if missing. Units with
    fewer than two values are not pairable and drop out. ``level`` is the metric:
    nominal, ordinal (ranks from the marginal frequencies of the pairable values),
    interval or ratio (numbers; ratio values must be ≥ 0), as in Krippendorff (2011).
    NaN when only one value occurs among the pairable values.
    """
    where = "Krippendorff's alpha"
    units, distinct = _reliability_units(values, level, where)
    size = len(distinct)
    exact = [[Fraction(0)] * size for _ in range(size)]
    # Units with the same multiset of values contribute the same cells: group them.
    groups = Counter(tuple(sorted(unit.items())) for unit in units)
    for key, times in groups.items():
        for c, k, w in _unit_coincidences(Counter(dict(key))):
            exact[c][k] += times * w
    o = [[float(cell) for cell in row] for row in exact]
    return _alpha_from_coincidences(o, _points(distinct, level), level)


def bootstrap_alpha(values: Sequence[Sequence[Hashable | None]], level: str = "nominal",
                    n_boot: int = 2000, seed: int = 0,
                    ci: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval for Krippendorff's alpha, resampling units.

    Procedure (deterministic for a given ``seed``):

    1. Keep the pairable units (two or more values), N of them.
    2. ``n_boot`` times: draw N units with replacement (``random.Random(seed)``,
       ``choices``), rebuild the coincidence matrix from the drawn units and
       compute alpha from it. Expected disagreement and, for ordinal data, the
       rank metric are recomputed from each resample.
    3. Drop resamples where alpha is undefined (only one value drawn).
    4. Sort the B remaining values; with t = floor(B (1 - ci) / 2), return the
       (t+1)-th smallest and the (t+1)-th largest. (nan, nan) if B = 0.

    This is a plain nonparametric unit bootstrap in the spirit of Hayes &
    Krippendorff (2007); it is not a re-implementation of their KALPHA macro,
    which (as we read its description) resamples from the coincidences with the
    expected disagreement held fixed.
    """
    where = "bootstrap alpha"
    _check_bootstrap(n_boot, seed, ci, where)
    units, distinct = _reliability_units(values, level, where)
    size = len(distinct)
    points = _points(distinct, level)
    contributions = [[(c, k, float(w)) for c, k, w in _unit_coincidences(unit)]
                     for unit in units]
    rng = random.Random(int(seed))
    population = range(len(units))
    replicates: list[float] = []
    for _ in range(int(n_boot)):
        o = [[0.0] * size for _ in range(size)]
        for u, times in Counter(rng.choices(population, k=len(units))).items():
            for c, k, w in contributions[u]:
                o[c][k] += times * w
        value = _alpha_from_coincidences(o, points, level)
        if not math.isnan(value):
            replicates.append(value)
    return _percentile_interval(replicates, float(ci))


def _check_bootstrap(n_boot: int, seed: int, ci: float, where: str) -> None:
    if not _is_whole(n_boot) or n_boot < 1:
        raise InputError(f"{where}: n_boot must be a whole number ≥ 1, not {n_boot!r}")
    if not _is_whole(seed):
        raise InputError(f"{where}: seed must be a whole number, not {seed!r}")
    if not _is_number(ci) or not 0 < float(ci) < 1:
        raise InputError(f"{where}: ci must be a number between 0 and 1, not {ci!r}")


def _percentile_interval(replicates: list[float], ci: float) -> tuple[float, float]:
    """The (t+1)-th smallest and largest of the replicates, t = floor(B (1 - ci) / 2)."""
    if not replicates:
        return (_NAN, _NAN)
    replicates.sort()
    tail = math.floor(len(replicates) * (1.0 - ci) / 2.0 + _THRESHOLD_EPS)
    return (replicates[tail], replicates[len(replicates) - 1 - tail])


# ---------------------------------------------------------------------------
# Present/absent data from counts
# ---------------------------------------------------------------------------


def _check_kind_counts(counts: Sequence[int], where: str) -> list[int]:
    """Check ``counts[k]`` (units marked by k of m coders, k = 0..m); return them as ints."""
    _check_sequence(counts, where, "the counts")
    if len(counts) < 3:
        raise InputError(f"{where}: give one count for each k = 0..m (units marked by k of "
                         f"m coders) with m ≥ 2; got {len(counts)} count(s)")
    for count in counts:
        if not _is_whole(count) or count < 0:
            raise InputError(f"{where}: the count {count!r} is not a whole number ≥ 0")
    out = [int(count) for count in counts]
    if not sum(out):
        raise InputError(f"{where}: no unit has values from two or more coders")
    return out


def _binary_sums(counts: Sequence[int]) -> tuple[int, int, int]:
    """(m-1) times the coincidences o_00, o_11 and o_01 (= o_10) of present/absent counts.

    A unit marked by k of m coders pairs k(k-1) present-present values, (m-k)(m-k-1)
    absent-absent ones and k(m-k) of each mixed kind, each pair weighted 1/(m-1).
    """
    m = len(counts) - 1
    absent = sum(n * (m - k) * (m - k - 1) for k, n in enumerate(counts))
    present = sum(n * k * (k - 1) for k, n in enumerate(counts))
    mixed = sum(n * k * (m - k) for k, n in enumerate(counts))
    return absent, present, mixed


def binary_alpha_from_counts(counts: Sequence[int]) -> float:
    """Krippendorff's alpha (nominal) for present/absent data given as counts of units.

    ``counts[k]`` is the number of units that exactly k of the m = ``len(counts) - 1``
    coders marked present (every coder gives a value for every unit). Exactly equal
    to ``krippendorff_alpha`` on the coders × units matrix of 0/1 values these counts
    describe, in time independent of the number of units. NaN when every value is
    the same.
    """
    counts = _check_kind_counts(counts, "Krippendorff's alpha")
    absent, present, mixed = _binary_sums(counts)
    scale = len(counts) - 2  # m - 1
    o = [[float(Fraction(absent, scale)), float(Fraction(mixed, scale))],
         [float(Fraction(mixed, scale)), float(Fraction(present, scale))]]
    return _alpha_from_coincidences(o, [0.0, 1.0], "nominal")


def bootstrap_binary_alpha(counts: Sequence[int], n_boot: int = 2000, seed: int = 0,
                           ci: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval for ``binary_alpha_from_counts``, resampling units.

    The same unit bootstrap as ``bootstrap_alpha``, drawn in another way: a resample
    of N units with replacement is fully described by how many of the drawn units
    are of each of the m + 1 kinds (marked by k = 0..m coders), and those numbers
    follow a multinomial distribution with probabilities ``counts[k] / N``. So each
    resample is one multinomial draw (``numpy.random.default_rng(seed)``), alpha is
    computed from it in closed form, resamples with alpha undefined are dropped and
    the percentile interval is taken as in ``bootstrap_alpha``. ``seed`` must be ≥ 0.
    """
    import numpy as np

    where = "bootstrap alpha"
    _check_bootstrap(n_boot, seed, ci, where)
    if seed < 0:
        raise InputError(f"{where}: seed must be ≥ 0, not {seed!r}")
    counts = _check_kind_counts(counts, where)
    m = len(counts) - 1
    total = sum(counts)
    rng = np.random.default_rng(int(seed))
    draws = rng.multinomial(total, np.array(counts, dtype=float) / total, size=int(n_boot))
    k = np.arange(m + 1)
    present = draws @ k  # values "present" in each resample (n_1)
    absent = total * m - present  # n_0
    mixed = draws @ (k * (m - k))  # (m - 1) o_01
    defined = (present > 0) & (absent > 0)
    # alpha = 1 - (n - 1) o_01 / (n_0 n_1), with n = N m values
    alpha = 1.0 - (total * m - 1.0) * mixed[defined] / (
        (m - 1.0) * absent[defined].astype(float) * present[defined])
    return _percentile_interval([float(a) for a in alpha], float(ci))


# ---------------------------------------------------------------------------
# Unitized alpha (Krippendorff 2019 ch. 12; Krippendorff, Mathet, Bouvry & Widlöcher 2016)
# ---------------------------------------------------------------------------

_Segment = tuple[int, int, Hashable]


def _check_unitizing(length: int, coders: Mapping[Hashable, Sequence[_Segment]],
                     variant: str) -> list[list[_Segment]]:
    where = "unitized alpha"
    if variant not in UNITIZED_VARIANTS:
        raise InputError(f"{where}: unknown variant {variant!r}; use one of "
                         + ", ".join(UNITIZED_VARIANTS))
    if not _is_whole(length) or length < 1:
        raise InputError(f"{where}: length must be a whole number ≥ 1, not {length!r}")
    if not isinstance(coders, Mapping):
        raise InputError(f"{where}: coders must map a coder id to a list of segments")
    if len(coders) < 2:
        raise InputError(f"{where}: {len(coders)} coder(s) given; at least 2 are needed")
    result: list[list[_Segment]] = []
    for coder, segments in coders.items():
        _check_sequence(segments, where, f"coder {coder!r}'s segments")
        checked: list[_Segment] = []
        for seg in segments:
            if isinstance(seg, str | bytes) or not isinstance(seg, Sequence) or len(seg) != 3:
                raise InputError(f"{where}: coder {coder!r} has the segment {seg!r}; a "
                                 "segment is (start, end, code)")
            start, end, code = seg
            if not (_is_whole(start) and _is_whole(end)):
                raise InputError(f"{where}: coder {coder!r} has the segment {seg!r}; start "
                                 "and end must be whole numbers")
            if not 0 <= start < end <= length:
                raise InputError(f"{where}: coder {coder!r} has the segment {seg!r}; it must "
                                 f"satisfy 0 ≤ start < end ≤ {length}")
            if code is None:
                raise InputError(f"{where}: coder {coder!r} has a segment without a code")
            _check_label(code, where)
            checked.append((int(start), int(end), code))
        checked.sort(key=lambda s: (s[0], s[1]))
        for prev, seg in itertools.pairwise(checked):
            if seg[0] < prev[1]:
                raise InputError(
                    f"{where}: coder {coder!r} has overlapping segments {prev} and {seg}",
                    hint="merge them first, or analyse overlapping codes separately: one "
                         "coder's segments must not overlap within one analysis")
        result.append(checked)
    return result


def _pieces(length: int, coders: list[list[_Segment]]) -> list[tuple[int, list[int]]]:
    """Cut the continuum where any segment starts or ends.

    Returns (piece length, per coder the index of the covering segment or -1 for gap).
    """
    cuts = {0, length}
    for segments in coders:
        for start, end, _ in segments:
            cuts.update((start, end))
    bounds = sorted(cuts)
    pointer = [0] * len(coders)
    pieces: list[tuple[int, list[int]]] = []
    for lo, hi in itertools.pairwise(bounds):
        covering: list[int] = []
        for i, segments in enumerate(coders):
            while pointer[i] < len(segments) and segments[pointer[i]][1] <= lo:
                pointer[i] += 1
            p = pointer[i]
            covering.append(p if p < len(segments) and segments[p][0] <= lo else -1)
        pieces.append((hi - lo, covering))
    return pieces


class _Gap:
    """The category of uncoded stretches."""

    def __repr__(self) -> str:
        return "<gap>"


_GAP = _Gap()
_RELEVANT = object()


def _u_alpha(length: int, coders: list[list[_Segment]], pieces: list[tuple[int, list[int]]],
             relabel: Mapping[Hashable, Hashable]) -> float:
    """uα with segment codes mapped through ``relabel`` (codes not in it become gap).

    Observed: l_ck = 1/(m-1) Σ over coder pairs i≠j of the length where i has c and j has k.
    Expected: e_ck = l··(l_c· l_·k - [c=k] W_c)/(l··² - W), W_c summing ℓ² over the
    segments of c and ℓ over the gap characters (a gap pairs character by character).
    All quantities are scaled by (m - 1) where needed to stay integral.
    """
    m = len(coders)
    total = m * length  # l··
    margin: Counter[Hashable] = Counter()  # l_c· (integers)
    weight: Counter[Hashable] = Counter()  # W_c
    for segments in coders:
        for start, end, code in segments:
            cat = relabel.get(code, _GAP)
            if cat is not _GAP:
                margin[cat] += end - start
                weight[cat] += (end - start) ** 2
    margin[_GAP] = total - sum(margin.values())
    weight[_GAP] = margin[_GAP]
    agree_scaled = 0  # (m - 1) Σ_c l_cc
    for d, covering in pieces:
        here = Counter(relabel.get(coders[i][s][2], _GAP) if s >= 0 else _GAP
                       for i, s in enumerate(covering))
        agree_scaled += d * sum(n * (n - 1) for n in here.values())
    w_all = sum(weight.values())
    expected_agree = Fraction(total * sum(margin[c] ** 2 - weight[c] for c in margin),
                              total * total - w_all)
    denominator = total - expected_agree
    if denominator == 0:
        return _NAN
    return float(1 - (total - Fraction(agree_scaled, m - 1)) / denominator)


def _cu_alpha(coders: list[list[_Segment]], pieces: list[tuple[int, list[int]]],
              codes: list[Hashable]) -> tuple[float, dict[Hashable, float]]:
    """cuα and (k)cuα on the valued × valued part of the coincidences.

    Each segment's pairable length λ = 1/(m-1) Σ_{j≠i} |segment ∩ coder j's coded text|;
    e*_ck = n*(l*_c· l*_·k - [c=k] Σ_{segments of c} λ²)/(n*² - Σ λ²). Everything is
    scaled by (m - 1), which alpha is invariant to.
    """
    lam: list[list[int]] = [[0] * len(segments) for segments in coders]
    diagonal: Counter[Hashable] = Counter()
    for d, covering in pieces:
        valued = [(i, s) for i, s in enumerate(covering) if s >= 0]
        if len(valued) < 2:
            continue
        for i, s in valued:
            lam[i][s] += d * (len(valued) - 1)
        here = Counter(coders[i][s][2] for i, s in valued)
        for code, n in here.items():
            diagonal[code] += d * n * (n - 1)
    margin: Counter[Hashable] = Counter()
    lam_sq: Counter[Hashable] = Counter()
    for i, segments in enumerate(coders):
        for s, (_, _, code) in enumerate(segments):
            margin[code] += lam[i][s]
            lam_sq[code] += lam[i][s] ** 2
    n_star = sum(margin.values())
    per_code: dict[Hashable, float] = dict.fromkeys(codes, _NAN)
    if n_star == 0:
        return _NAN, per_code
    scale = Fraction(n_star, n_star * n_star - sum(lam_sq.values()))
    expected_diag = {c: scale * (margin[c] ** 2 - lam_sq[c]) for c in margin}
    denominator = n_star - sum(expected_diag.values())
    overall = (_NAN if denominator == 0 else
               float(1 - (n_star - sum(diagonal.values())) / denominator))
    for code in codes:
        l_k = margin[code]
        e_k = scale * (l_k * n_star - lam_sq[code])
        e_kk = expected_diag.get(code, Fraction(0))
        if l_k == 0 or e_k == 0 or e_k == e_kk:
            continue
        observed_share = Fraction(l_k - diagonal[code], l_k)
        expected_share = (e_k - e_kk) / e_k
        per_code[code] = float(1 - observed_share / expected_share)
    return overall, per_code


def unitized_alpha(length: int, coders: Mapping[Hashable, Sequence[tuple[int, int, Hashable]]],
                   variant: str) -> UnitizedAlpha:
    """Krippendorff's alpha for a unitized continuum (a text of ``length`` characters).

    ``coders`` maps a coder id to that coder's segments ``(start, end, code)``,
    end exclusive, within [0, length). One coder's segments must not overlap (two
    touching segments stay two units). Text a coder left uncoded is a gap.

    - ``"u"``: uα, units and their codes together, gaps as a category.
    - ``"binary"``: |uα, coded versus uncoded text (all codes as one "relevant"
      category); per code, |uα of that code's segments against everything else.
    - ``"cu"``: cuα, agreement on codes where coded segments of different coders
      overlap; per code, (k)cuα.

    Returns an ``UnitizedAlpha``. Values are NaN when undefined (e.g. nobody coded
    anything, or no coded segments overlap for cuα).
    """
    checked = _check_unitizing(length, coders, variant)
    length = int(length)
    pieces = _pieces(length, checked)
    codes: list[Hashable] = list(dict.fromkeys(code for segs in checked for _, _, code in segs))
    if variant == "u":
        return UnitizedAlpha("u", _u_alpha(length, checked, pieces, {c: c for c in codes}))
    if variant == "binary":
        overall = _u_alpha(length, checked, pieces, dict.fromkeys(codes, _RELEVANT))
        per_code = {c: _u_alpha(length, checked, pieces, {c: _RELEVANT}) for c in codes}
        return UnitizedAlpha("binary", overall, per_code)
    overall, per_code = _cu_alpha(checked, pieces, codes)
    return UnitizedAlpha("cu", overall, per_code)
