"""Equality the tests can believe: an object whose `__eq__` the solution wrote is never
equal to a value whose equality Python or its standard library defines.

A solution can return objects whose `__eq__` always says True (or raises what a
`pytest.raises` block waits for). Installed by the grader's pytest launcher before any
repository code runs, this makes `==`, `!=`, `in` and `not in` in the tests' `assert`
statements (through pytest's assertion rewriting) and unittest's equality assertions
compare such an object with a trusted value as unequal, without calling its methods.
Objects of the solution's own classes compared with each other keep their own `__eq__`
(the tests ask for that), and values of trusted types compare as they always do.

Trusted: an `__eq__`/`__ne__`/`__contains__` that is a slot of a built-in type, or a Python
function whose code lives in the interpreter's library folders (standard library and
installed packages: read-only in the sandbox).
"""

import ast
import sysconfig
import types

_LIBRARY_DIRS = tuple(sorted({path for name, path in sysconfig.get_paths().items()
                              if name in ("stdlib", "platstdlib", "purelib", "platlib")}))
_SLOT_TYPES = (types.WrapperDescriptorType, types.MethodWrapperType, types.MethodDescriptorType)
_CONTAINERS = (list, tuple, dict, set, frozenset)
_TRUSTED_CACHE = {}
_LIMIT = 200_000
"""Elements looked at per comparison; a structure larger than this counts as untrusted."""


def _trusted_slot(kind, name):
    for klass in kind.__mro__:
        if name in vars(klass):
            impl = vars(klass)[name]
            break
    else:
        return True
    if isinstance(impl, _SLOT_TYPES) or impl is None:
        return True
    if isinstance(impl, types.FunctionType):
        return impl.__code__.co_filename.startswith(_LIBRARY_DIRS)
    return False  # staticmethod, builtins such as operator.truth, callables of any kind


def trusted_type(kind):
    """Whether a type's equality and membership come from Python or its library."""
    known = _TRUSTED_CACHE.get(kind)
    if known is None:
        known = all(_trusted_slot(kind, name) for name in ("__eq__", "__ne__", "__contains__"))
        _TRUSTED_CACHE[kind] = known
    return known


def _children(value, kind):
    if issubclass(kind, dict):
        for key, item in dict.items(value):
            yield key
            yield item
    elif issubclass(kind, list):
        yield from list.__iter__(value)
    elif issubclass(kind, tuple):
        yield from tuple.__iter__(value)
    elif issubclass(kind, (set, frozenset)):
        yield from (set.__iter__ if issubclass(kind, set) else frozenset.__iter__)(value)


def deeply_trusted(value):
    """The value and everything in its built-in containers are of trusted types."""
    stack, seen, count = [value], set(), 0
    while stack:
        item = stack.pop()
        kind = type(item)
        if not trusted_type(kind):
            return False
        if issubclass(kind, _CONTAINERS) and id(item) not in seen:
            seen.add(id(item))
            count += 1
            if count > _LIMIT:
                return False
            stack.extend(_children(item, kind))
    return True


def strict_equal(left, right):
    """`left == right`, except that a value holding an object of the solution's own
    equality is not equal to a trusted value (and is not asked)."""
    left_ok, right_ok = deeply_trusted(left), deeply_trusted(right)
    if left_ok == right_ok:
        return left == right
    return _structurally_equal(left, right)


def _structurally_equal(left, right):
    """Compare built-in containers item by item, so an untrusted object inside one meets
    only strict_equal; a bare untrusted object is unequal to a trusted value."""
    left_kind, right_kind = type(left), type(right)
    if not (trusted_type(left_kind) and trusted_type(right_kind)):
        return False
    for family in ((list,), (tuple,), (set, frozenset), (dict,)):
        if issubclass(left_kind, family) and issubclass(right_kind, family):
            break
    else:
        return False
    if family[0] is dict:  # (key, value) pairs, compared as tuples
        left_items, right_items = list(dict.items(left)), list(dict.items(right))
    else:
        left_items, right_items = list(_children(left, left_kind)), \
            list(_children(right, right_kind))
    if len(left_items) != len(right_items):
        return False
    if family[0] in (list, tuple):
        return all(map(strict_equal, left_items, right_items))
    # sets and dicts: every entry must find a strictly equal partner
    unmatched = list(right_items)
    for item in left_items:
        for index, other in enumerate(unmatched):
            if strict_equal(item, other):
                del unmatched[index]
                break
        else:
            return False
    return True


def strict_count_equal(first, second):
    """assertCountEqual's question (same items, any order), with strict_equal."""
    try:
        first, second = list(first), list(second)
    except TypeError:
        return False
    if deeply_trusted(first) and deeply_trusted(second):
        return True  # unittest's own check decides
    return len(first) == len(second) and all(
        any(strict_equal(item, other) for other in second) for item in first) and all(
        any(strict_equal(other, item) for item in first) for other in second)


def strict_contains(container, item):
    """`item in container`, with strict_equal for built-in containers."""
    if deeply_trusted(container) and deeply_trusted(item):
        return item in container
    kind = type(container)
    if not trusted_type(kind):
        return False if deeply_trusted(item) else item in container
    if issubclass(kind, str) or issubclass(kind, bytes):
        return deeply_trusted(item) and item in container
    if issubclass(kind, dict):
        return any(strict_equal(key, item) for key in dict.keys(container))
    if issubclass(kind, _CONTAINERS):
        return any(strict_equal(member, item) for member in _children(container, kind))
    return item in container


class StrictOperand:
    """Wraps an operand of a test's `==`/`!=`/`in` comparison (see strict_asserts)."""

    __slots__ = ("value",)
    __hash__ = None

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        other = other.value if isinstance(other, StrictOperand) else other
        return strict_equal(self.value, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __contains__(self, item):
        item = item.value if isinstance(item, StrictOperand) else item
        return strict_contains(self.value, item)

    def __repr__(self):
        return repr(self.value)


def strict(value):
    """The operand itself when it is deeply trusted, else a StrictOperand around it."""
    return value if deeply_trusted(value) else StrictOperand(value)


HELPER = "__agentforge_strict__"


class _StrictAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        self.generic_visit(node)
        if isinstance(node.test, ast.Compare) and all(
                isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.test.ops):
            test = node.test
            test.left = self._wrap(test.left)
            test.comparators = [self._wrap(item) for item in test.comparators]
        return node

    @staticmethod
    def _wrap(expression):
        call = ast.Call(func=ast.Name(id=HELPER, ctx=ast.Load()), args=[expression],
                        keywords=[])
        return ast.copy_location(call, expression)


def strict_asserts(module):
    """Wrap the operands of every `assert a == b` (and !=, in, not in) of a module's AST,
    and bind the helper at the top of the module."""
    _StrictAsserts().visit(module)
    position = 0
    for position, statement in enumerate(module.body):  # noqa: B007
        is_docstring = position == 0 and isinstance(statement, ast.Expr) and \
            isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)
        is_future = isinstance(statement, ast.ImportFrom) and statement.module == "__future__"
        if not (is_docstring or is_future):
            break
    else:
        position = len(module.body)
    binding = ast.parse(f"from strict_compare import strict as {HELPER}").body[0]
    for node in ast.walk(binding):
        node.lineno = node.end_lineno = 1
        node.col_offset = node.end_col_offset = 0
    module.body.insert(position, binding)
    ast.fix_missing_locations(module)


def install():
    """Hook pytest's assertion rewriting and unittest's equality assertions."""
    import unittest
    from functools import wraps

    from _pytest.assertion import rewrite

    rewrite_module = rewrite.AssertionRewriter.run

    @wraps(rewrite_module)
    def run(self, module):
        strict_asserts(module)
        return rewrite_module(self, module)

    rewrite.AssertionRewriter.run = run
    case = unittest.TestCase

    def guard(name, holds, says):
        """Make TestCase.<name>(self, a, b, ...) fail first when holds(a, b) is False."""
        original = getattr(case, name)

        @wraps(original)
        def checked(self, first, second, *args, **kwargs):
            if not holds(first, second):
                raise self.failureException(
                    f"{first!r} {says} {second!r} (an object of the solution's own equality "
                    "compared with a trusted value)")
            return original(self, first, second, *args, **kwargs)

        setattr(case, name, checked)

    def mixed(first, second):
        return not (deeply_trusted(first) and deeply_trusted(second))

    for name in ("assertEqual", "assertListEqual", "assertTupleEqual", "assertDictEqual",
                 "assertSetEqual", "assertSequenceEqual", "assertMultiLineEqual",
                 "assertAlmostEqual"):
        guard(name, lambda a, b: not mixed(a, b) or strict_equal(a, b), "!=")
    for name in ("assertNotEqual", "assertNotAlmostEqual"):
        guard(name, lambda a, b: not mixed(a, b) or not strict_equal(a, b), "==")
    guard("assertIn", lambda a, b: not mixed(a, b) or strict_contains(b, a), "not in")
    guard("assertNotIn", lambda a, b: not mixed(a, b) or not strict_contains(b, a), "in")
    guard("assertCountEqual", strict_count_equal, "does not hold the same items as")
