"""Agreement statistics against published worked examples, relations and properties.

Where a published example is used, its data are written out here and the source
is named. Where no published value exists (unitized alpha on random data, the
per-code variants), the fast implementation is checked against a brute-force
reference in this file that builds the coincidences character by character.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcode.agreement import (
    AgreementResult,
    UnitizedAlpha,
    binary_alpha_from_counts,
    bootstrap_alpha,
    bootstrap_binary_alpha,
    brennan_prediger_kappa,
    cohen_kappa,
    cohen_kappa_from_table,
    fleiss_kappa,
    interpret_alpha,
    krippendorff_alpha,
    percent_agreement,
    scott_pi,
    unitized_alpha,
)
from qcode.errors import InputError

Pair = tuple[Hashable, Hashable]
Segments = Mapping[Hashable, Sequence[tuple[int, int, Hashable]]]


def from_table(cells: Sequence[tuple[int, Hashable, Hashable]]) -> tuple[list[Hashable],
                                                                         list[Hashable]]:
    """Expand (count, value of coder A, value of coder B) cells into two value lists."""
    a: list[Hashable] = []
    b: list[Hashable] = []
    for count, x, y in cells:
        a += [x] * count
        b += [y] * count
    return a, b


def counts_table(ratings: Sequence[Sequence[int]], categories: Sequence[int]) -> list[list[int]]:
    """Subjects × raters ratings -> subjects × categories counts (Fleiss' layout)."""
    return [[row.count(c) for c in categories] for row in ratings]


# ---------------------------------------------------------------------------
# Published examples: two coders
# ---------------------------------------------------------------------------

# Cohen (1960), p. 45: 200 units, 3 categories; p_o = .70, p_c = .41, kappa = .492.
# Cells as (count, judge A, judge B); transcription cross-checked with DKPro Statistics'
# Cohen1960Test. Kappa depends only on the diagonal and the marginals.
COHEN_1960 = [(88, 1, 1), (14, 1, 2), (18, 1, 3),
              (10, 2, 1), (40, 2, 2), (10, 2, 3),
              (2, 3, 1), (6, 3, 2), (12, 3, 3)]

# Artstein & Poesio (2008), p. 558 (STAT/IReq) and p. 568 (with Chck).
ARTSTEIN_POESIO_1 = [(20, "STAT", "STAT"), (20, "IReq", "STAT"),
                     (10, "STAT", "IReq"), (50, "IReq", "IReq")]
ARTSTEIN_POESIO_2 = [(46, "STAT", "STAT"), (6, "IReq", "STAT"), (32, "IReq", "IReq"),
                     (6, "IReq", "Chck"), (10, "Chck", "Chck")]

# Krippendorff (2004), p. 246 (after Zwick 1988): equal p_o = .46, pi .186 both,
# kappa .186 vs .258 because kappa rewards the coders' different marginals.
KRIPPENDORFF_2004_246A = [(12, "a", "a"), (9, "a", "b"), (9, "a", "c"),
                          (9, "b", "a"), (14, "b", "b"), (9, "b", "c"),
                          (9, "c", "a"), (9, "c", "b"), (20, "c", "c")]
KRIPPENDORFF_2004_246B = [(12, "a", "a"), (18, "a", "b"), (18, "a", "c"),
                          (14, "b", "b"), (18, "b", "c"), (20, "c", "c")]

# Brennan & Prediger (1981), p. 689 and p. 691 (proportions × 100), 3 categories:
# Cohen's kappa .27 / .29, kappa_n = .40 for both.
BRENNAN_PREDIGER_1 = [(50, 1, 1), (10, 2, 1), (10, 2, 2), (10, 2, 3), (20, 3, 1)]
BRENNAN_PREDIGER_2 = [(50, 1, 1), (10, 1, 3), (10, 2, 2), (10, 2, 3), (10, 3, 1), (10, 3, 2)]


def test_cohen_1960() -> None:
    a, b = from_table(COHEN_1960)
    assert percent_agreement(a, b) == pytest.approx(0.70)
    kappa = cohen_kappa(a, b)
    assert kappa == pytest.approx(0.29 / 0.59, abs=1e-15)  # (.70 - .41) / (1 - .41)
    assert round(kappa, 3) == 0.492


@pytest.mark.parametrize(
    ("cells", "q", "p_o", "s", "pi", "kappa"),
    [
        (ARTSTEIN_POESIO_1, 2, 0.70, 0.400, 0.341, 0.348),
        (ARTSTEIN_POESIO_2, 3, 0.88, 0.820, 0.7995, 0.8013),
        (KRIPPENDORFF_2004_246A, 3, 0.46, 0.190, 0.186, 0.186),
        (KRIPPENDORFF_2004_246B, 3, 0.46, 0.190, 0.186, 0.258),
    ],
    ids=["artstein-poesio-558", "artstein-poesio-568", "krippendorff2004-246a",
         "krippendorff2004-246b"],
)
def test_two_coder_textbook_examples(cells: list[tuple[int, str, str]], q: int, p_o: float,
                                     s: float, pi: float, kappa: float) -> None:
    a, b = from_table(cells)
    assert percent_agreement(a, b) == pytest.approx(p_o)
    assert brennan_prediger_kappa(a, b, q) == pytest.approx(s, abs=5e-4)
    assert scott_pi(a, b) == pytest.approx(pi, abs=5e-4)
    assert cohen_kappa(a, b) == pytest.approx(kappa, abs=5e-4)
    # and to the published digits, whatever their number
    digits = max(len(str(pi).split(".")[1]), 3)
    assert round(scott_pi(a, b), digits) == pi


def test_artstein_poesio_exact_values() -> None:
    a, b = from_table(ARTSTEIN_POESIO_1)
    # p_e(kappa) = .3*.4 + .7*.6 = .54; p_e(pi) = .35² + .65² = .545
    assert cohen_kappa(a, b) == pytest.approx((0.70 - 0.54) / 0.46, abs=1e-15)
    assert scott_pi(a, b) == pytest.approx((0.70 - 0.545) / 0.455, abs=1e-15)
    a, b = from_table(ARTSTEIN_POESIO_2)
    # p_e(kappa) = .46*.52 + .44*.32 + .10*.16 = .396; p_e(pi) = .49² + .38² + .13² = .4014
    assert cohen_kappa(a, b) == pytest.approx((0.88 - 0.396) / 0.604, abs=1e-15)
    assert scott_pi(a, b) == pytest.approx((0.88 - 0.4014) / 0.5986, abs=1e-15)


@pytest.mark.parametrize(("cells", "kappa"), [(BRENNAN_PREDIGER_1, 0.27),
                                              (BRENNAN_PREDIGER_2, 0.29)])
def test_brennan_prediger_1981(cells: list[tuple[int, int, int]], kappa: float) -> None:
    a, b = from_table(cells)
    assert percent_agreement(a, b) == pytest.approx(0.60)
    assert brennan_prediger_kappa(a, b, 3) == pytest.approx(0.40)  # (.6 - 1/3)/(1 - 1/3)
    assert cohen_kappa(a, b) == pytest.approx(kappa, abs=5e-3)
    # kappa_n depends on q alone: more (unused) categories, a higher value
    assert brennan_prediger_kappa(a, b, 5) == pytest.approx(0.50)


def test_nvivo_percentage_example() -> None:
    """NVivo help: 1000 characters, 50 coded by both, 150 by one, 800 by neither -> 85%."""
    a = [1] * 50 + [1] * 100 + [0] * 50 + [0] * 800
    b = [1] * 50 + [0] * 100 + [1] * 50 + [0] * 800
    assert percent_agreement(a, b) == pytest.approx(0.85)


# ---------------------------------------------------------------------------
# Published examples: Fleiss
# ---------------------------------------------------------------------------

# Fleiss (1971): 30 patients, 6 psychiatrists each, 5 diagnoses (1 depression,
# 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other); kappa = .430.
# Raw ratings as in R's irr::diagnoses (also statsmodels' tests), which gives 0.4302445.
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]

# The 10 subjects × 5 categories × 14 raters table of Wikipedia's "Fleiss' kappa"
# article (also statsmodels' test table); kappa = 0.210.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]


def test_fleiss_1971() -> None:
    table = counts_table(FLEISS_1971, [1, 2, 3, 4, 5])
    assert [sum(col) for col in zip(*table, strict=True)] == [26, 26, 30, 55, 43]
    kappa = fleiss_kappa(table)
    assert kappa == pytest.approx(0.4302445, abs=5e-8)
    assert round(kappa, 3) == 0.430


def test_fleiss_wikipedia_table() -> None:
    assert fleiss_kappa(WIKIPEDIA_FLEISS) == pytest.approx(0.210, abs=5e-4)


def test_alpha_and_fleiss_relation() -> None:
    """No missing data, m raters, N units: alpha = 1 - (1 - kappa_F)(mN - 1)/(mN)."""
    table = counts_table(FLEISS_1971, [1, 2, 3, 4, 5])
    kappa = fleiss_kappa(table)
    coders = [list(col) for col in zip(*FLEISS_1971, strict=True)]
    n = 6 * 30
    assert krippendorff_alpha(coders) == pytest.approx(1 - (1 - kappa) * (n - 1) / n,
                                                       abs=1e-12)


# ---------------------------------------------------------------------------
# Published examples: Krippendorff's alpha
# ---------------------------------------------------------------------------

_ = None
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the example of
# 4 observers × 12 units with missing values. Rows are observers A-D, columns units.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
]

# Two coders, ten units, binary: 6 agreements, alpha = .095 (Krippendorff 2004 p. 224;
# the same data open Krippendorff 2011).
KRIPPENDORFF_BINARY = [
    [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 1, 0, 0, 1, 0, 1, 0, 0],
]

# Krippendorff (2004) p. 227: two coders, 12 units, three categories; alpha = .734.
KRIPPENDORFF_2004_227 = [
    list("aabbbbbccccc"),
    list("abbbbbcccccc"),
]

# Hayes & Krippendorff (2007), p. 84: 5 observers, 40 units, ordinal 0-3; alpha = .7598.
HAYES_KRIPPENDORFF_2007_UNITS = [
    (1, 1, 2, _, 2), (1, 1, 0, 1, _), (2, 3, 3, 3, _), (_, 0, 0, _, 0), (0, 0, 0, _, 0),
    (0, 0, 0, _, 0), (1, 0, 2, _, 1), (1, _, 2, 0, _), (2, 2, 2, _, 2), (2, 1, 1, 1, _),
    (_, 1, 0, 0, _), (0, 0, 0, 0, _), (1, 2, 2, 2, _), (3, 3, 2, 2, 3), (1, 1, 1, _, 1),
    (1, 1, 1, _, 1), (2, 1, 2, _, 2), (1, 2, 3, 3, _), (1, 1, 0, 1, _), (0, 0, 0, _, 0),
    (0, 0, 1, 1, _), (0, 0, _, 0, 0), (2, 3, 3, 3, _), (0, 0, 0, 0, _), (1, 2, _, 2, 2),
    (0, 1, 1, 1, _), (0, 0, 0, 1, 0), (1, 2, 1, 2, _), (1, 1, 2, 2, _), (1, 1, 2, _, 2),
    (1, 1, 0, _, 0), (2, 1, 2, 1, _), (2, 2, _, 2, 2), (3, 2, 2, 2, _), (2, 2, 2, _, 2),
    (2, 2, 3, _, 2), (2, 2, 2, _, 2), (2, 2, _, 1, 2), (2, 2, 2, 2, _), (1, 1, 1, _, 1),
]
HAYES_KRIPPENDORFF_2007 = [list(col) for col in zip(*HAYES_KRIPPENDORFF_2007_UNITS,
                                                       strict=True)]


@pytest.mark.parametrize(("level", "published"), [("nominal", 0.743), ("ordinal", 0.815),
                                                  ("interval", 0.849), ("ratio", 0.797)])
def test_krippendorff_2011_four_levels(level: str, published: float) -> None:
    assert round(krippendorff_alpha(KRIPPENDORFF_2011, level), 3) == published


def test_krippendorff_2011_nominal_exact() -> None:
    # n = 40 pairable values (unit 12's lone 3 drops out); marginals 1:9, 2:13, 3:10,
    # 4:5, 5:3. Off-diagonal coincidences: unit 2 (2,2,3,2) gives 2·3·1/3 = 2, unit 6
    # (1,2,3,4) gives 12/3 = 4, unit 8 (1,1,2,1) gives 2: in all 8, so D_o = 8/40.
    n_c = [9, 13, 10, 5, 3]
    n = sum(n_c)
    expected = 1 - Fraction(sum(c * (c - 1) for c in n_c), n * (n - 1))
    alpha = 1 - Fraction(8, n) / expected
    assert float(alpha) == pytest.approx(krippendorff_alpha(KRIPPENDORFF_2011), abs=1e-15)


def test_krippendorff_binary_example() -> None:
    assert percent_agreement(*KRIPPENDORFF_BINARY) == pytest.approx(0.6)
    alpha = krippendorff_alpha(KRIPPENDORFF_BINARY)
    assert alpha == pytest.approx(1 - 19 * 4 / (14 * 6), abs=1e-15)  # 1 - (n-1) o_01/(n_0 n_1)
    assert round(alpha, 3) == 0.095


def test_krippendorff_2004_three_categories() -> None:
    assert round(krippendorff_alpha(KRIPPENDORFF_2004_227), 3) == 0.734


def test_hayes_krippendorff_2007_ordinal() -> None:
    assert krippendorff_alpha(HAYES_KRIPPENDORFF_2007, "ordinal") == pytest.approx(0.7598,
                                                                                   abs=5e-5)


def test_alpha_is_pi_corrected_for_sample_size() -> None:
    """Two coders, nominal, no missing values, N units: alpha = pi + (1 - pi)/(2N).

    From D_o = 1 - p_o and D_e = (1 - p_e(pi)) · 2N/(2N - 1).
    """
    for cells in (ARTSTEIN_POESIO_1, ARTSTEIN_POESIO_2, KRIPPENDORFF_2004_246B, COHEN_1960):
        a, b = from_table(cells)
        pi = scott_pi(a, b)
        assert krippendorff_alpha([a, b]) == pytest.approx(pi + (1 - pi) / (2 * len(a)),
                                                           abs=1e-12)


def test_fleiss_with_two_raters_is_scott_pi() -> None:
    a, b = from_table(ARTSTEIN_POESIO_2)
    categories = ["STAT", "IReq", "Chck"]
    table = [[(x == c) + (y == c) for c in categories] for x, y in zip(a, b, strict=True)]
    assert fleiss_kappa(table) == pytest.approx(scott_pi(a, b), abs=1e-15)


def test_kappa_equals_pi_with_equal_marginals() -> None:
    a, b = from_table(KRIPPENDORFF_2004_246A)  # both coders: a 30, b 32, c 38
    assert cohen_kappa(a, b) == pytest.approx(scott_pi(a, b), abs=1e-15)


# ---------------------------------------------------------------------------
# Degenerate cases and bad input
# ---------------------------------------------------------------------------


def test_one_shared_category_is_undefined() -> None:
    a = ["x"] * 5
    assert math.isnan(cohen_kappa(a, a))
    assert math.isnan(scott_pi(a, a))
    assert math.isnan(krippendorff_alpha([a, a]))
    assert math.isnan(krippendorff_alpha([[1, 1, 1], [1, 1, 1]], "interval"))
    assert math.isnan(fleiss_kappa([[3, 0], [3, 0]]))
    assert percent_agreement(a, a) == 1.0
    assert brennan_prediger_kappa(a, a, 2) == 1.0  # 1/q < 1: always defined


def test_one_coder_constant_other_not() -> None:
    """p_e < 1 as soon as the coders differ somewhere, so kappa is defined (here 0)."""
    assert cohen_kappa(["x", "x", "x", "x"], ["x", "x", "y", "y"]) == 0.0


def test_perfect_agreement_and_systematic_disagreement() -> None:
    a = ["x", "y", "x", "y"]
    b = ["y", "x", "y", "x"]
    assert cohen_kappa(a, a) == scott_pi(a, a) == krippendorff_alpha([a, a]) == 1.0
    assert cohen_kappa(a, b) == -1.0
    assert scott_pi(a, b) == -1.0
    assert krippendorff_alpha([a, b]) == pytest.approx(1 - 7 / 4)  # 1 - (n-1)·8/(4·4·2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cohen_kappa([1, 2], [1]), "2 and 1 values"),
        (lambda: scott_pi([1, None], [None, 2]), "no unit has a value from both"),
        (lambda: percent_agreement([], []), "no unit has a value from both"),
        (lambda: cohen_kappa("ab", "ab"), "list or tuple"),
        (lambda: cohen_kappa([float("nan")], [1]), "NaN"),
        (lambda: cohen_kappa([[1]], [[1]]), "not a hashable label"),
        (lambda: brennan_prediger_kappa([1, 2], [1, 2], 1), "at least 2"),
        (lambda: brennan_prediger_kappa([1, 2], [3, None], 2), "used 3 different values"),
        (lambda: brennan_prediger_kappa([1, 2], [1, 2], 2.0), "whole number"),
        (lambda: fleiss_kappa([]), "no subjects"),
        (lambda: fleiss_kappa([[2, 1], [1, 1]]), "subject 2 has 2 ratings"),
        (lambda: fleiss_kappa([[2, 1], [1, 1, 1]]), "3 categories"),
        (lambda: fleiss_kappa([[1, 0], [0, 1]]), "at least 2"),
        (lambda: fleiss_kappa([[3, -1], [1, 1]]), "whole numbers ≥ 0"),
        (lambda: fleiss_kappa([[1.5, 0.5]]), "whole numbers ≥ 0"),
        (lambda: krippendorff_alpha([[1, 2]], "nominal"), "two or more coders"),
        (lambda: krippendorff_alpha([[1, 2], [1]]), "coder 2 has 1 values"),
        (lambda: krippendorff_alpha([[1, 2], [1, 2]], "cardinal"), "unknown level"),
        (lambda: krippendorff_alpha([["a", "b"], ["a", "b"]], "interval"), "must be numbers"),
        (lambda: krippendorff_alpha([[1, -2], [1, 2]], "ratio"), "must not be negative"),
        (lambda: krippendorff_alpha([[1, "a"], [1, 2]], "ordinal"), "put in order"),
        (lambda: krippendorff_alpha([[1, float("inf")], [1, 2]], "interval"), "finite"),
        (lambda: krippendorff_alpha([]), "no coders"),
        (lambda: bootstrap_alpha([[1, 2], [1, 2]], ci=1.0), "between 0 and 1"),
        (lambda: bootstrap_alpha([[1, 2], [1, 2]], n_boot=0), "n_boot"),
    ],
)
def test_bad_input_is_an_input_error(call: object, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        call()  # type: ignore[operator]
    assert "\n" not in info.value.message


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

labels = st.sampled_from(["a", "b", "c", "d"])
pair_lists = st.lists(st.tuples(labels, labels), min_size=1, max_size=30)


def _split(pairs: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    return [x for x, _ in pairs], [y for _, y in pairs]


def _same(x: float, y: float) -> bool:
    return (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, abs=1e-12)


@given(st.lists(labels, min_size=2, max_size=30).filter(lambda v: len(set(v)) >= 2))
def test_perfect_agreement_gives_one(values: list[str]) -> None:
    assert cohen_kappa(values, values) == 1.0
    assert scott_pi(values, values) == 1.0
    assert brennan_prediger_kappa(values, values, 4) == 1.0
    assert krippendorff_alpha([values, values, values]) == 1.0
    assert krippendorff_alpha([[ord(v) for v in values]] * 2, "interval") == 1.0


@given(pair_lists)
def test_symmetric_in_coders(pairs: list[tuple[str, str]]) -> None:
    a, b = _split(pairs)
    assert percent_agreement(a, b) == percent_agreement(b, a)
    assert _same(cohen_kappa(a, b), cohen_kappa(b, a))
    assert _same(scott_pi(a, b), scott_pi(b, a))
    assert brennan_prediger_kappa(a, b, 4) == brennan_prediger_kappa(b, a, 4)
    assert _same(krippendorff_alpha([a, b]), krippendorff_alpha([b, a]))


@given(pair_lists, st.permutations(["p", "q", "r", "s"]))
def test_invariant_to_renaming_labels(pairs: list[tuple[str, str]], names: list[str]) -> None:
    rename = dict(zip("abcd", names, strict=True))
    a, b = _split(pairs)
    ra, rb = [rename[x] for x in a], [rename[y] for y in b]
    assert _same(cohen_kappa(a, b), cohen_kappa(ra, rb))
    assert _same(scott_pi(a, b), scott_pi(ra, rb))
    assert _same(krippendorff_alpha([a, b]), krippendorff_alpha([ra, rb]))


@given(pair_lists, st.lists(st.tuples(st.booleans(), labels), max_size=10), st.randoms())
def test_missing_values_drop_out(pairs: list[tuple[str, str]],
                                 half_missing: list[tuple[bool, str]],
                                 rnd: object) -> None:
    a, b = _split(pairs)
    a2, b2 = list(a), list(b)
    for first_missing, value in half_missing:  # units that only one coder coded
        pos = rnd.randrange(len(a2) + 1)  # type: ignore[attr-defined]
        a2.insert(pos, None if first_missing else value)
        b2.insert(pos, value if first_missing else None)
    for f in (percent_agreement, cohen_kappa, scott_pi):
        assert _same(f(a, b), f(a2, b2))
    assert _same(krippendorff_alpha([a, b]), krippendorff_alpha([a2, b2]))


@given(pair_lists)
def test_alpha_pi_relation_holds_generally(pairs: list[tuple[str, str]]) -> None:
    a, b = _split(pairs)
    pi = scott_pi(a, b)
    alpha = krippendorff_alpha([a, b])
    assert _same(alpha, pi + (1 - pi) / (2 * len(a)))


@given(st.lists(st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=3, max_size=3),
                min_size=2, max_size=12))
def test_alpha_levels_properties(units: list[list[int | None]]) -> None:
    coders = [list(col) for col in zip(*units, strict=True)]
    try:
        nominal = krippendorff_alpha(coders)
    except InputError:
        return  # no pairable unit
    reversed_coders = coders[::-1]
    for level in ("nominal", "ordinal", "interval", "ratio"):
        value = krippendorff_alpha(coders, level)
        assert _same(value, krippendorff_alpha(reversed_coders, level))
        assert math.isnan(value) == math.isnan(nominal)
    shifted = [[None if v is None else v + 10 for v in row] for row in coders]
    assert _same(krippendorff_alpha(coders, "interval"), krippendorff_alpha(shifted, "interval"))
    # ordinal alpha only uses the order of the values
    squared = [[None if v is None else v * v for v in row] for row in coders]
    assert _same(krippendorff_alpha(coders, "ordinal"), krippendorff_alpha(squared, "ordinal"))


# ---------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------


def test_bootstrap_is_deterministic_and_brackets_alpha() -> None:
    alpha = krippendorff_alpha(HAYES_KRIPPENDORFF_2007, "ordinal")
    low, high = bootstrap_alpha(HAYES_KRIPPENDORFF_2007, "ordinal", n_boot=1000, seed=7)
    assert (low, high) == bootstrap_alpha(HAYES_KRIPPENDORFF_2007, "ordinal", n_boot=1000,
                                          seed=7)
    assert low < alpha < high
    # A sanity band, not a published value: the interval is neither empty nor absurd.
    assert 0.55 < low < 0.74 and 0.78 < high < 0.95
    assert bootstrap_alpha(HAYES_KRIPPENDORFF_2007, "ordinal", n_boot=1000,
                           seed=8) != (low, high)


def test_bootstrap_narrows_with_confidence_level() -> None:
    low90, high90 = bootstrap_alpha(KRIPPENDORFF_2011, n_boot=500, seed=1, ci=0.90)
    low99, high99 = bootstrap_alpha(KRIPPENDORFF_2011, n_boot=500, seed=1, ci=0.99)
    assert low99 <= low90 <= high90 <= high99


def test_bootstrap_degenerate_cases() -> None:
    assert bootstrap_alpha([["a", "b", "c"], ["a", "b", "c"]], n_boot=50) == (1.0, 1.0)
    both = bootstrap_alpha([["a", "a"], ["a", "a"]], n_boot=20)
    assert all(math.isnan(v) for v in both)


# ---------------------------------------------------------------------------
# Present/absent data from counts
# ---------------------------------------------------------------------------


def _kind_counts(matrix: list[list[int]]) -> list[int]:
    """counts[k]: units marked 1 by exactly k of the coders."""
    counts = [0] * (len(matrix) + 1)
    for unit in zip(*matrix, strict=True):
        counts[sum(unit)] += 1
    return counts


binary_matrices = st.integers(2, 5).flatmap(lambda m: st.lists(
    st.lists(st.integers(0, 1), min_size=m, max_size=m), min_size=1, max_size=40))


@given(binary_matrices)
def test_binary_alpha_from_counts_is_exactly_krippendorff_alpha(units: list[list[int]]) -> None:
    matrix = [list(row) for row in zip(*units, strict=True)]  # coders x units
    general = krippendorff_alpha(matrix)
    fast = binary_alpha_from_counts(_kind_counts(matrix))
    assert (math.isnan(general) and math.isnan(fast)) or fast == general


def test_binary_alpha_from_counts_on_a_worked_example() -> None:
    # Krippendorff (2011), binary data, two observers: alpha = 0.095
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert binary_alpha_from_counts(_kind_counts([a, b])) == pytest.approx(0.095, abs=5e-4)
    assert math.isnan(binary_alpha_from_counts([3, 0, 0]))
    assert binary_alpha_from_counts([2, 0, 5]) == 1.0


@given(pair_lists)
def test_cohen_kappa_from_table_is_exactly_cohen_kappa(pairs: list[tuple[str, str]]) -> None:
    a, b = _split(pairs)
    categories = sorted(set(a) | set(b))
    table = [[sum(1 for x, y in pairs if (x, y) == (c, k)) for k in categories]
             for c in categories]
    general = cohen_kappa(a, b)
    fast = cohen_kappa_from_table(table)
    assert (math.isnan(general) and math.isnan(fast)) or fast == general


def test_binary_bootstrap_is_seeded_and_brackets_alpha() -> None:
    counts = [700, 40, 25, 35]  # three coders
    alpha = binary_alpha_from_counts(counts)
    low, high = bootstrap_binary_alpha(counts, n_boot=1000, seed=3)
    assert low < alpha < high
    assert bootstrap_binary_alpha(counts, n_boot=1000, seed=3) == (low, high)
    assert bootstrap_binary_alpha(counts, n_boot=1000, seed=4) != (low, high)
    low90, high90 = bootstrap_binary_alpha(counts, n_boot=1000, seed=3, ci=0.90)
    assert low <= low90 <= high90 <= high


def test_binary_bootstrap_matches_the_unit_bootstrap() -> None:
    # Two ways of drawing the same resamples: the limits agree within Monte-Carlo noise.
    counts = [300, 30, 20, 50]
    matrix: list[list[int | None]] = [[], [], []]
    for k, n in enumerate(counts):
        for _ in range(n):
            for j in range(3):
                matrix[j].append(int(j < k))
    fast = bootstrap_binary_alpha(counts, n_boot=2000, seed=1)
    general = bootstrap_alpha(matrix, n_boot=2000, seed=1)
    assert fast[0] == pytest.approx(general[0], abs=0.02)
    assert fast[1] == pytest.approx(general[1], abs=0.02)


def test_binary_bootstrap_degenerate_cases() -> None:
    assert bootstrap_binary_alpha([3, 0, 4], n_boot=50) == (1.0, 1.0)
    assert all(math.isnan(v) for v in bootstrap_binary_alpha([0, 0, 6], n_boot=20))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: binary_alpha_from_counts([4, 2]), "m ≥ 2"),
        (lambda: binary_alpha_from_counts([0, 0, 0]), "no unit"),
        (lambda: binary_alpha_from_counts([1, -1, 2]), "whole number"),
        (lambda: binary_alpha_from_counts([1.5, 1, 2]), "whole number"),
        (lambda: bootstrap_binary_alpha([4, 2, 1], seed=-1), "seed must be ≥ 0"),
        (lambda: bootstrap_binary_alpha([4, 2, 1], n_boot=0), "n_boot"),
        (lambda: bootstrap_binary_alpha([4, 2, 1], ci=0), "between 0 and 1"),
        (lambda: cohen_kappa_from_table([[1, 2], [3]]), "square"),
        (lambda: cohen_kappa_from_table([[0, 0], [0, 0]]), "no unit"),
        (lambda: cohen_kappa_from_table([[1, -2], [0, 1]]), "whole numbers"),
    ],
)
def test_bad_counts_are_input_errors(call: object, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        call()  # type: ignore[operator]
    assert "\n" not in info.value.message


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "start"), [
    (1.0, "reliable"), (0.8, "reliable"), (0.8 - 1e-12, "reliable"), (0.7999, "tentative"),
    (0.667, "tentative"), (0.6669, "unreliable"), (-0.3, "unreliable"),
    (float("nan"), "undefined"),
])
def test_interpret_alpha(value: float, start: str) -> None:
    assert interpret_alpha(value).startswith(start + ":")


def test_agreement_result_container() -> None:
    value = krippendorff_alpha(KRIPPENDORFF_2011)
    result = AgreementResult("krippendorff_alpha", value, 11, reading=interpret_alpha(value))
    assert result.reading.startswith("tentative")
    assert result.ci_low is None


# ---------------------------------------------------------------------------
# Unitized alpha
# ---------------------------------------------------------------------------


def _book(rows: list[tuple[int, int, str]]) -> list[tuple[int, int, Hashable]]:
    """Krippendorff's 1-based inclusive positions -> 0-based, end exclusive."""
    return [(start - 1, end, code) for start, end, code in rows]


# Krippendorff (2019), Content Analysis 4th ed., Fig. 12.11 (p. 340): three observers
# unitize a continuum of 60 and assign values 1-7; published uα = .510, |uα = .413,
# cuα = .724. Positions transcribed as in quallmer's tests (test-alpha_u.R).
# Note the adjacent segments (Alex 33-37/38-44, Suzan 33-37/38-41/42-44) stay separate.
BOOK_2019 = {
    "Alex": _book([(1, 7, "1"), (8, 13, "2"), (31, 32, "5"), (33, 37, "6"), (38, 44, "6"),
                   (45, 60, "7")]),
    "Paul": _book([(1, 7, "1"), (8, 13, "3"), (14, 21, "5"), (33, 44, "6")]),
    "Suzan": _book([(1, 7, "1"), (8, 13, "4"), (14, 21, "5"), (33, 37, "6"), (38, 41, "6"),
                    (42, 44, "6")]),
}


def test_unitized_book_example() -> None:
    u = unitized_alpha(60, BOOK_2019, "u")
    assert isinstance(u, UnitizedAlpha) and u.variant == "u" and u.per_code == {}
    assert round(u.overall, 3) == 0.510
    binary = unitized_alpha(60, BOOK_2019, "binary")
    # 0.41360 here; the book prints .413 (its intermediate values are rounded).
    assert binary.overall == pytest.approx(0.413, abs=1e-3)
    cu = unitized_alpha(60, BOOK_2019, "cu")
    assert round(cu.overall, 3) == 0.724


def test_unitized_book_example_per_code() -> None:
    cu = unitized_alpha(60, BOOK_2019, "cu").per_code
    assert list(cu) == ["1", "2", "5", "6", "7", "3", "4"]
    # 1, 5, 6: every coded overlap agrees; 2, 3, 4: each used by one observer only,
    # where the others used other codes; 7 never overlaps another observer's code.
    assert cu["1"] == cu["5"] == cu["6"] == 1.0
    assert cu["2"] == cu["3"] == cu["4"] == 0.0
    assert math.isnan(cu["7"])
    binary = unitized_alpha(60, BOOK_2019, "binary").per_code
    assert binary["1"] == binary["6"] == 1.0


class _Gap:
    def __repr__(self) -> str:
        return "GAP"


GAP = _Gap()


def brute_force(length: int, coders: Segments, variant: str) -> UnitizedAlpha:
    """Independent reference: coincidences built character by character.

    Every coder contributes one character-value per position. Observed coincidences
    pair the values of different coders at the same position (weight 1/(m-1)).
    Expected coincidences pair every character-value with every other one except
    those of the same unit (a coded segment; a gap character is its own unit),
    scaled to the m·L pairable values. For cu, only coded character-values that
    meet coded values of other coders count, each weighted by the share of other
    coders that coded the position.
    """
    m = len(coders)
    codes = list(dict.fromkeys(c for segs in coders.values() for _, _, c in sorted(segs)))
    label: list[list[tuple[Hashable, object]]] = []  # per coder, per position: (code, unit)
    for i, segs in enumerate(coders.values()):
        row: list[tuple[Hashable, object]] = [(GAP, ("gap", i, p)) for p in range(length)]
        for s, (start, end, code) in enumerate(segs):
            for p in range(start, end):
                row[p] = (code, ("seg", i, s))
        label.append(row)

    def u_alpha(relabel: Mapping[Hashable, Hashable]) -> float:
        values = []
        for i in range(m):
            for p in range(length):
                code, unit = label[i][p]
                cat = relabel.get(code, GAP)
                values.append((cat, unit if cat is not GAP else ("gap", i, p)))
        observed: Counter[tuple[Hashable, Hashable]] = Counter()
        for p in range(length):
            for i in range(m):
                for j in range(m):
                    if i != j:
                        ci = relabel.get(label[i][p][0], GAP)
                        cj = relabel.get(label[j][p][0], GAP)
                        observed[ci, cj] += Fraction(1, m - 1)
        pairs: Counter[tuple[Hashable, Hashable]] = Counter()
        for x in values:
            for y in values:
                if x[1] != y[1]:
                    pairs[x[0], y[0]] += 1
        total = m * length
        n_pairs = sum(pairs.values())
        cats = {c for c, _ in values}
        d_o = total - sum(observed[c, c] for c in cats)
        d_e = total - sum(Fraction(total * pairs[c, c], n_pairs) for c in cats)
        return float("nan") if d_e == 0 else float(1 - d_o / d_e)

    if variant == "u":
        return UnitizedAlpha("u", u_alpha({c: c for c in codes}))
    if variant == "binary":
        overall = u_alpha(dict.fromkeys(codes, "R"))
        return UnitizedAlpha("binary", overall, {c: u_alpha({c: "R"}) for c in codes})

    weighted = []  # (code, unit, weight)
    observed = Counter()
    for p in range(length):
        coded = [i for i in range(m) if label[i][p][0] is not GAP]
        for i in coded:
            code, unit = label[i][p]
            weighted.append((code, unit, Fraction(len(coded) - 1, m - 1)))
            for j in coded:
                if j != i:
                    observed[code, label[j][p][0]] += Fraction(1, m - 1)
    n_star = sum(w for _, _, w in weighted)
    pair_weight: Counter[tuple[Hashable, Hashable]] = Counter()
    for cx, ux, wx in weighted:
        for cy, uy, wy in weighted:
            if ux != uy:
                pair_weight[cx, cy] += wx * wy
    all_pairs = sum(pair_weight.values())
    per_code = dict.fromkeys(codes, float("nan"))
    if n_star == 0 or all_pairs == 0:
        return UnitizedAlpha("cu", float("nan"), per_code)
    expected = {key: n_star * w / all_pairs for key, w in pair_weight.items()}
    d_o = n_star - sum(observed[c, c] for c in codes)
    d_e = n_star - sum(expected.get((c, c), 0) for c in codes)
    overall = float("nan") if d_e == 0 else float(1 - d_o / d_e)
    for k in codes:
        l_k = sum(v for (c, _), v in observed.items() if c == k)
        e_k = sum(v for (c, _), v in expected.items() if c == k)
        l_kk, e_kk = observed[k, k], expected.get((k, k), 0)
        if l_k and e_k and e_k != e_kk:
            per_code[k] = float(1 - ((l_k - l_kk) / l_k) / ((e_k - e_kk) / e_k))
    return UnitizedAlpha("cu", overall, per_code)


def _same_result(x: UnitizedAlpha, y: UnitizedAlpha) -> bool:
    return (x.variant == y.variant and _same(x.overall, y.overall)
            and list(x.per_code) == list(y.per_code)
            and all(_same(x.per_code[c], y.per_code[c]) for c in x.per_code))


@pytest.mark.parametrize("variant", ["u", "binary", "cu"])
def test_unitized_book_example_matches_brute_force(variant: str) -> None:
    assert _same_result(unitized_alpha(60, BOOK_2019, variant),
                        brute_force(60, BOOK_2019, variant))


@st.composite
def unitizations(draw: st.DrawFn) -> tuple[int, dict[str, list[tuple[int, int, str]]]]:
    length = draw(st.integers(1, 14))
    n_coders = draw(st.integers(2, 4))
    coders: dict[str, list[tuple[int, int, str]]] = {}
    for i in range(n_coders):
        cuts = sorted(draw(st.sets(st.integers(1, length - 1), max_size=6))) if length > 1 else []
        bounds = [0, *cuts, length]
        segs = []
        for start, end in itertools.pairwise(bounds):
            code = draw(st.sampled_from(["a", "b", "c", None]))
            if code is not None:
                segs.append((start, end, code))
        coders[f"coder{i}"] = draw(st.permutations(segs))
    return length, coders


@settings(max_examples=60, deadline=None)
@given(unitizations(), st.sampled_from(["u", "binary", "cu"]))
def test_unitized_matches_brute_force(data: tuple[int, dict[str, list[tuple[int, int, str]]]],
                                      variant: str) -> None:
    length, coders = data
    assert _same_result(unitized_alpha(length, coders, variant),
                        brute_force(length, coders, variant))


@settings(max_examples=40, deadline=None)
@given(unitizations(), st.sampled_from(["u", "binary", "cu"]))
def test_unitized_symmetric_in_coders(data: tuple[int, dict[str, list[tuple[int, int, str]]]],
                                      variant: str) -> None:
    length, coders = data
    flipped = dict(reversed(list(coders.items())))
    x = unitized_alpha(length, coders, variant)
    y = unitized_alpha(length, flipped, variant)
    assert _same(x.overall, y.overall)
    assert all(_same(v, y.per_code[c]) for c, v in x.per_code.items())


@given(st.lists(st.lists(st.sampled_from(["a", "b", None]), min_size=2, max_size=2),
                min_size=1, max_size=15))
def test_unitized_with_one_character_units_is_nominal_alpha(
        chars: list[list[str | None]]) -> None:
    """All units one character long: uα is nominal alpha with the gap as a category."""
    coders = {i: [(p, p + 1, row[i]) for p, row in enumerate(chars) if row[i] is not None]
              for i in range(2)}
    values = [["gap" if row[i] is None else row[i] for row in chars] for i in range(2)]
    assert _same(unitized_alpha(len(chars), coders, "u").overall, krippendorff_alpha(values))


def test_unitized_degenerate_and_perfect() -> None:
    nobody = {"A": [], "B": []}
    for variant in ("u", "binary", "cu"):
        assert math.isnan(unitized_alpha(10, nobody, variant).overall)
    same = {"A": [(0, 3, "x"), (5, 9, "y")], "B": [(0, 3, "x"), (5, 9, "y")]}
    assert unitized_alpha(10, same, "u").overall == 1.0
    assert unitized_alpha(10, same, "binary").per_code == {"x": 1.0, "y": 1.0}
    assert unitized_alpha(10, same, "cu").overall == 1.0
    everything = {"A": [(0, 10, "x")], "B": [(0, 10, "x")]}
    assert math.isnan(unitized_alpha(10, everything, "u").overall)  # one unit each: 0/0
    one_code = {"A": [(0, 4, "x")], "B": [(2, 6, "x")]}
    assert math.isnan(unitized_alpha(10, one_code, "cu").overall)  # one value only


@pytest.mark.parametrize(
    ("length", "coders", "variant", "message"),
    [
        (10, {"A": [(0, 3, "x")], "B": []}, "k", "unknown variant"),
        (0, {"A": [], "B": []}, "u", "length must be"),
        (10, {"A": []}, "u", "at least 2"),
        (10, {"A": [(0, 11, "x")], "B": []}, "u", "0 ≤ start < end ≤ 10"),
        (10, {"A": [(3, 3, "x")], "B": []}, "u", "0 ≤ start < end"),
        (10, {"A": [(0, 5, "x"), (4, 6, "y")], "B": []}, "u", "overlapping"),
        (10, {"A": [(0, 5, None)], "B": []}, "u", "without a code"),
        (10, {"A": [(0, 5)], "B": []}, "u", "start, end, code"),
        (10, {"A": [(0.0, 5, "x")], "B": []}, "u", "whole numbers"),
    ],
)
def test_unitized_bad_input(length: int, coders: Segments, variant: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        unitized_alpha(length, coders, variant)
