"""The grader's strict equality (runner_files/strict_compare.py): objects whose `__eq__`
the solution wrote never equal trusted values; everything else compares as Python does."""

from __future__ import annotations

import ast
import collections
import decimal
import enum
import fractions
import importlib.util
import unittest
from pathlib import Path

import pytest

_PATH = Path(__file__).parents[2] / "agentforge/bench/runner_files/strict_compare.py"
_SPEC = importlib.util.spec_from_file_location("strict_compare", _PATH)
strict_compare = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(strict_compare)


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __hash__(self):
        return 3


class Point:
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return isinstance(other, Point) and other.x == self.x


class Loud(str):
    __eq__ = staticmethod(lambda *args: True)


class Color(enum.Enum):
    RED = 1


@pytest.mark.parametrize(("left", "right"), [
    (AlwaysEqual(), "message"), ("message", AlwaysEqual()), ([1, AlwaysEqual()], [1, 2]),
    ({"a": AlwaysEqual()}, {"a": 1}), ((AlwaysEqual(),), (3,)), ({AlwaysEqual()}, {3}),
    (Loud("x"), "y"), (AlwaysEqual(), None), ([[AlwaysEqual()]], [[0]]),
])
def test_an_object_of_the_solutions_equality_never_equals_a_trusted_value(left, right):
    assert not strict_compare.strict_equal(left, right)


@pytest.mark.parametrize(("left", "right", "equal"), [
    (1, 1.0, True), ([1, (2, "x")], [1, (2, "x")], True), ({"a": [1]}, {"a": [1]}, True),
    (collections.OrderedDict(a=1), {"a": 1}, True), (decimal.Decimal("0.5"), 0.5, True),
    (fractions.Fraction(1, 2), 0.5, True), (Color.RED, Color.RED, True),
    (collections.namedtuple("P", "x y")(1, 2), (1, 2), True), (Point(1), Point(1), True),
    ([Point(1)], [Point(1)], True), (Point(1), Point(2), False), ({1, 2}, frozenset({2, 1}), True),
    ([1, 2], [2, 1], False), ("a", b"a", False),
])
def test_other_values_compare_as_python_compares_them(left, right, equal):
    assert strict_compare.strict_equal(left, right) is equal


def test_membership_of_an_always_equal_object_is_strict():
    assert not strict_compare.strict_contains([1, 2], AlwaysEqual())
    assert not strict_compare.strict_contains([AlwaysEqual()], 5)
    assert strict_compare.strict_contains([Point(1)], Point(1))
    assert strict_compare.strict_contains("abc", "b")


def test_asserts_in_a_test_module_go_through_the_strict_helper():
    module = ast.parse('"""doc"""\nfrom __future__ import annotations\n'
                       'def test_x():\n    assert f() == 3\n    assert 1 in g()\n'
                       '    assert h() is None\n')
    strict_compare.strict_asserts(module)
    code = ast.unparse(module)
    assert "from strict_compare import strict as __agentforge_strict__" in code
    assert "__agentforge_strict__(f()) == __agentforge_strict__(3)" in code
    assert "__agentforge_strict__(1) in __agentforge_strict__(g())" in code
    assert "assert h() is None" in code
    namespace = {"f": AlwaysEqual, "g": lambda: [AlwaysEqual()], "h": lambda: None}
    namespace["strict_compare"] = strict_compare
    compiled = compile(module, "<test>", "exec")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(__import__("sys").modules, "strict_compare", strict_compare)
        exec(compiled, namespace)
        with pytest.raises(AssertionError):
            namespace["test_x"]()


def test_unittest_assertions_are_strict_once_installed():
    original = {name: getattr(unittest.TestCase, name) for name in dir(unittest.TestCase)
                if name.startswith("assert")}
    rewrite = pytest.importorskip("_pytest.assertion.rewrite").AssertionRewriter.run
    try:
        strict_compare.install()
        case = unittest.TestCase()
        with pytest.raises(AssertionError):
            case.assertEqual(AlwaysEqual(), "message")
        with pytest.raises(AssertionError):
            case.assertIn(AlwaysEqual(), [1])
        with pytest.raises(AssertionError):
            case.assertCountEqual([AlwaysEqual(), AlwaysEqual()], [1, 2])
        case.assertEqual([Point(1)], [Point(1)])
        case.assertCountEqual([Point(2), Point(1)], [Point(1), Point(2)])
        case.assertCountEqual([2, 1], [1, 2])
        case.assertNotEqual(Point(1), Point(2))
    finally:
        for name, method in original.items():
            setattr(unittest.TestCase, name, method)
        __import__("_pytest.assertion.rewrite").assertion.rewrite.AssertionRewriter.run = rewrite
