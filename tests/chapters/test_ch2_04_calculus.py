"""2.4 calculus: numerical limits and tangent lines."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import LIMITS
from jaxlin.chapters.ch2_04_calculus import numerical_lim, numerical_limits, tangent_line


def f(x):
    return 3 * x ** 2 - 4 * x


def test_numerical_limits_approach_the_derivative():
    limits = numerical_limits(f, 1.0, [10.0 ** -i for i in range(1, 6)])
    np.testing.assert_allclose(limits, LIMITS, rtol=0, atol=1e-9)  # (f(1+h) − f(1))/h = 2 + 3h


def test_numerical_lim_rejects_zero_step():
    with pytest.raises(ValueError, match="nonzero"):
        numerical_lim(f, 1.0, 0.0)


@settings(max_examples=25, deadline=None)
@given(a=st.floats(-5, 5), b=st.floats(-5, 5), x0=st.floats(-3, 3))
def test_tangent_line_of_a_quadratic(a, b, x0):
    slope, intercept = tangent_line(lambda x: a * x ** 2 + b * x, x0)
    assert slope == pytest.approx(2 * a * x0 + b, rel=1e-5, abs=1e-4)
    assert intercept == pytest.approx(-a * x0 ** 2, rel=1e-5, abs=1e-4)  # f(x0) − f'(x0)·x0


def test_tangent_line_of_the_book_function():
    assert tangent_line(f, 1.0) == (2.0, -3.0)
