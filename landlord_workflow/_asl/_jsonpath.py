"""JSONPath as Step Functions reads it (Jayway JsonPath semantics).

Everything AWS accepts: ``$`` and ``$$`` (the context object), dot and
bracket notation (``$.a``, ``$['a']``, ``$.[0]``), negative indexes,
wildcards, slices, index and property unions (``$.[*].['a','b']``),
recursive descent (``$..a``), filter expressions (``[?(@.x > 1 && @.y)]``)
and Jayway's trailing functions (``$.items.length()``). Paths compile once
(`compile_path`) and evaluate on plain JSON values.

A *definite* path (only names and single indexes) selects one value and
fails when nothing is there, with Jayway's own wording (``No results for
path: $['a']``, ``Missing property in path $['a']``) that AWS repeats in
its causes; an indefinite path returns a list, possibly empty.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Final

__all__ = [
    "MISSING",
    "JsonPath",
    "PathError",
    "PathSyntaxError",
    "compile_path",
    "compile_reference_path",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""What a path reads where nothing is."""


class PathSyntaxError(ValueError):
    """A path that does not parse."""


class PathError(Exception):
    """A definite path selected nothing; ``str()`` is Jayway's message."""


# Segment kinds
_KEY: Final = 0  # arg: str
_INDEX: Final = 1  # arg: int
_WILD: Final = 2
_SLICE: Final = 3  # arg: (start, stop, step)
_KEYS: Final = 4  # arg: tuple[str, ...] (union of properties)
_INDEXES: Final = 5  # arg: tuple[int, ...]
_FILTER: Final = 6  # arg: predicate(node, root) -> bool
_SCAN: Final = 7  # arg: the segment applied at every depth
_FUNCTION: Final = 8  # arg: name

_Segment = tuple[int, Any]

_NAME_END: Final = frozenset(".[( \t\n")


def _render_segment(segment: _Segment) -> str:
    kind, arg = segment
    if kind == _KEY:
        return f"['{arg}']"
    if kind == _INDEX:
        return f"[{arg}]"
    if kind == _WILD:
        return "[*]"
    if kind == _SLICE:
        start, stop, _ = arg
        return f"[{'' if start is None else start}:{'' if stop is None else stop}]"
    if kind == _KEYS:
        return "[" + ",".join(f"'{key}'" for key in arg) + "]"
    if kind == _INDEXES:
        return "[" + ",".join(str(i) for i in arg) + "]"
    if kind == _FILTER:
        return "[?]"
    if kind == _SCAN:
        return ".." + _render_segment(arg)
    return f".{arg}()"


class JsonPath:
    """A compiled JSONPath. ``root`` is ``"$"`` (the data), ``"$$"`` (context) or ``"@"``.

    Variable references (``$name.field`` in JSONPath states) compile with
    ``variable`` set to the variable's name.
    """

    __slots__ = (
        "definite",
        "insert_overhead",
        "root",
        "segments",
        "selects_part",
        "text",
        "variable",
    )

    def __init__(
        self, text: str, root: str, segments: tuple[_Segment, ...], variable: str | None = None
    ) -> None:
        self.text = text
        self.root = root
        self.segments = segments
        self.variable = variable
        self.definite = all(kind in (_KEY, _INDEX) for kind, _ in segments) or (
            # Jayway: a trailing property union merges into one object (definite).
            bool(segments)
            and segments[-1][0] == _KEYS
            and all(kind in (_KEY, _INDEX) for kind, _ in segments[:-1])
        )
        if segments and segments[-1][0] == _FUNCTION:
            self.definite = all(kind in (_KEY, _INDEX) for kind, _ in segments[:-1])
        # Whether what the path reads is a part of the value it reads from:
        # names, single indexes, and a trailing property union (a subset of
        # one object's members). Its JSON text is then never longer.
        self.selects_part = self.definite and (not segments or segments[-1][0] != _FUNCTION)
        # The most bytes placing a value at this path (a ResultPath) adds
        # besides the value: per name, its JSON text, a colon, a comma and the
        # braces of an object created for it.
        self.insert_overhead = sum(
            len(json.dumps(arg, ensure_ascii=False).encode()) + 4
            for kind, arg in segments
            if kind == _KEY
        )

    def __repr__(self) -> str:
        return f"JsonPath({self.text!r})"

    @property
    def is_root(self) -> bool:
        """Whether this is just ``$`` (or ``$$``, or a bare variable)."""
        return not self.segments

    @property
    def is_reference(self) -> bool:
        """Whether this is a Reference Path (names and single indexes only)."""
        return all(kind in (_KEY, _INDEX) for kind, _ in self.segments)

    def jayway(self) -> str:
        """The path as Jayway prints it in messages: ``$['a'][0]``."""
        return "$" + "".join(_render_segment(s) for s in self.segments)

    def read(self, value: Any) -> Any:
        """The value(s) this path selects in ``value``.

        Definite paths raise `PathError` when nothing is there;
        indefinite paths return a list.
        """
        segments = self.segments
        if self.definite:
            if not segments:
                return value
            node = value
            last = len(segments) - 1
            for position, (kind, arg) in enumerate(segments):
                if kind == _KEY:
                    if isinstance(node, Mapping):
                        if arg in node:
                            node = node[arg]
                            continue
                        if position == last:
                            raise PathError(f"No results for path: {self.jayway()}")
                        raise PathError(
                            "Missing property in path $"
                            + "".join(_render_segment(s) for s in segments[: position + 1])
                        )
                    raise PathError(self._not_an_object(position, node))
                if kind == _INDEX:
                    if isinstance(node, list) and -len(node) <= arg < len(node):
                        node = node[arg]
                        continue
                    if isinstance(node, list) or position == last:
                        raise PathError(f"No results for path: {self.jayway()}")
                    raise PathError(
                        f"Filter: {_render_segment(segments[position])} can only be applied "
                        f"to arrays. Current context is: {_java_string(node)}"
                    )
                if kind == _KEYS:
                    if not isinstance(node, Mapping):
                        raise PathError(self._not_an_object(position, node))
                    node = {key: node[key] for key in arg if key in node}
                    continue
                # trailing function
                node = _apply_function(arg, node, self.text)
            return node
        if segments[-1][0] == _FUNCTION:
            # Jayway applies a trailing function to the whole selection.
            return _apply_function(segments[-1][1], _walk(value, segments[:-1], value), self.text)
        return _walk(value, segments, value)

    def find(self, value: Any) -> Any:
        """Like `read`, but `MISSING` instead of an error."""
        try:
            return self.read(value)
        except PathError:
            return MISSING

    def _not_an_object(self, position: int, node: Any) -> str:
        where = "$" + "".join(_render_segment(s) for s in self.segments[:position])
        return (
            f"Expected to find an object with property "
            f"{_render_segment(self.segments[position])} in path {where} but found "
            f"'{_java_type(node)}'. This is not a json object according to the JsonProvider: "
            "'com.jayway.jsonpath.spi.json.JacksonJsonProvider'."
        )


def _java_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list):
        return "java.util.ArrayList"
    return "java.util.LinkedHashMap"


def _java_string(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _children(node: Any) -> list[Any]:
    if isinstance(node, Mapping):
        return list(node.values())
    if isinstance(node, list):
        return node
    return []


def _step(node: Any, segment: _Segment, root: Any, out: list[Any]) -> None:
    kind, arg = segment
    if kind == _KEY:
        if isinstance(node, Mapping) and arg in node:
            out.append(node[arg])
    elif kind == _INDEX:
        if isinstance(node, list) and -len(node) <= arg < len(node):
            out.append(node[arg])
    elif kind == _WILD:
        out.extend(_children(node))
    elif kind == _SLICE:
        if isinstance(node, list):
            out.extend(node[slice(*arg)])
    elif kind == _KEYS:
        if isinstance(node, Mapping):
            out.append({key: node[key] for key in arg if key in node})
    elif kind == _INDEXES:
        if isinstance(node, list):
            out.extend(node[i] for i in arg if -len(node) <= i < len(node))
    elif kind == _FILTER:
        if isinstance(node, list):
            out.extend(item for item in node if arg(item, root))
        elif isinstance(node, Mapping) and arg(node, root):
            out.append(node)
    elif kind == _SCAN:
        _scan(node, arg, root, out)
    else:
        value = _apply_function(arg, node, "")
        out.append(value)


def _scan(node: Any, segment: _Segment, root: Any, out: list[Any]) -> None:
    """Recursive descent: ``segment`` applied to ``node`` and every descendant (pre-order)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if segment[0] == _KEY and not isinstance(current, Mapping):
            pass
        else:
            _step(current, segment, root, out)
        children = _children(current)
        stack.extend(reversed(children))


def _walk(value: Any, segments: Sequence[_Segment], root: Any) -> list[Any]:
    nodes = [value]
    for segment in segments:
        found: list[Any] = []
        for node in nodes:
            _step(node, segment, root, found)
        nodes = found
    return nodes


# ------------------------------------------------------------------- functions


def _numbers(value: Any) -> list[float]:
    numbers = [v for v in value if _is_number(v)] if isinstance(value, list) else []
    if not numbers:
        raise PathError("Aggregation function attempted to calculate value using empty array")
    return numbers


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _apply_function(name: str, value: Any, text: str) -> Any:
    if name in {"length", "size"}:
        if isinstance(value, list | str | Mapping):
            return len(value)
        raise PathError(f"Invalid function: length() on {_java_string(value)}")
    if name == "keys":
        if isinstance(value, Mapping):
            return list(value.keys())
        raise PathError("Invalid function: keys() on a value that is not an object")
    if name in ("first", "last"):
        if isinstance(value, list) and value:
            return value[0] if name == "first" else value[-1]
        raise PathError(f"Invalid function: {name}() on a value that is not a non-empty array")
    numbers = _numbers(value)
    if name == "min":
        return float(min(numbers))
    if name == "max":
        return float(max(numbers))
    if name == "sum":
        return float(sum(numbers))
    if name == "avg":
        return sum(numbers) / len(numbers)
    if name == "stddev":
        mean = sum(numbers) / len(numbers)
        return math.sqrt(sum((n - mean) ** 2 for n in numbers) / len(numbers))
    raise PathError(f"Function with name: {name} does not exist.")


_FUNCTIONS: Final = frozenset(
    {"length", "size", "keys", "first", "last", "min", "max", "sum", "avg", "stddev"}
)


# --------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> PathSyntaxError:
        return PathSyntaxError(f"{message} at position {self.pos} in {self.text!r}")

    def peek(self, count: int = 1) -> str:
        return self.text[self.pos : self.pos + count]

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_space(self) -> None:
        while not self.at_end() and self.text[self.pos] in " \t\n\r":
            self.pos += 1

    def name(self, stop: str = "") -> str:
        start = self.pos
        while (
            not self.at_end()
            and self.text[self.pos] not in _NAME_END
            and (not stop or self.text[self.pos] not in stop)
        ):
            self.pos += 1
        if start == self.pos:
            raise self.error("expected a property name")
        return self.text[start : self.pos]

    def segments(self, stop: str = "") -> list[_Segment]:
        """Parse segments until the end (or a character in ``stop`` at top level)."""
        segments: list[_Segment] = []
        while not self.at_end():
            char = self.text[self.pos]
            if stop and char in stop:
                break
            if self.text.startswith("..", self.pos):
                self.pos += 2
                if self.peek() == "[":
                    inner = self.bracket()
                elif self.peek() == "*":
                    self.pos += 1
                    inner = (_WILD, None)
                else:
                    inner = (_KEY, self.name())
                segments.append((_SCAN, inner))
            elif char == ".":
                self.pos += 1
                if self.peek() == "[":
                    segments.append(self.bracket())
                elif self.peek() == "*":
                    self.pos += 1
                    segments.append((_WILD, None))
                else:
                    name = self.name(stop)
                    if self.peek(2) == "()":
                        if name not in _FUNCTIONS:
                            raise self.error(f"unknown function {name}()")
                        self.pos += 2
                        segments.append((_FUNCTION, name))
                    else:
                        segments.append((_KEY, name))
            elif char == "[":
                segments.append(self.bracket())
            elif char in " \t\n\r":
                if stop:
                    break
                if self.text[self.pos :].strip():
                    raise self.error(f"unexpected {char!r}")
                self.pos = len(self.text)  # trailing whitespace is ignored, as by Jayway
            elif segments and segments[-1][0] not in (_KEY, _FUNCTION):
                # Jayway reads a name right after a bracket ("[0]name") as a property.
                segments.append((_KEY, self.name(stop)))
            else:
                raise self.error(f"unexpected {char!r}")
        for index, (kind, _) in enumerate(segments):
            if kind == _FUNCTION and index != len(segments) - 1:
                raise self.error("a function must end the path")
        return segments

    def quoted(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        chars: list[str] = []
        while not self.at_end():
            char = self.text[self.pos]
            if char == "\\" and self.text[self.pos + 1 : self.pos + 2] == quote:
                # Jayway unescapes only the quote itself; other backslashes stay.
                chars.append(quote)
                self.pos += 2
                continue
            if char == quote:
                self.pos += 1
                return "".join(chars)
            chars.append(char)
            self.pos += 1
        raise self.error("unterminated string")

    def bracket(self) -> _Segment:
        self.pos += 1  # '['
        self.skip_space()
        char = self.peek()
        if char == "?":
            self.pos += 1
            self.skip_space()
            if self.peek() != "(":
                raise self.error("expected '(' after '?'")
            self.pos += 1
            predicate = _FilterParser(self).expression()
            self.skip_space()
            if self.peek() != ")":
                raise self.error("expected ')' closing the filter")
            self.pos += 1
            self.close()
            return (_FILTER, predicate)
        if char == "(":
            raise self.error("script expressions are not supported")
        if char == "*":
            self.pos += 1
            self.close()
            return (_WILD, None)
        if char and char in "'\"":
            keys = [self.quoted()]
            self.skip_space()
            while self.peek() == ",":
                self.pos += 1
                self.skip_space()
                if self.peek() not in ("'", '"'):
                    raise self.error("expected a quoted property name")
                keys.append(self.quoted())
                self.skip_space()
            self.close()
            return (_KEY, keys[0]) if len(keys) == 1 else (_KEYS, tuple(keys))
        end = self.text.find("]", self.pos)
        if end < 0:
            raise self.error("unclosed '['")
        inner = self.text[self.pos : end].replace(" ", "")
        self.pos = end + 1
        if re.fullmatch(r"-?\d+", inner):
            return (_INDEX, int(inner))
        if re.fullmatch(r"-?\d+(,-?\d+)+", inner):
            return (_INDEXES, tuple(int(part) for part in inner.split(",")))
        match = re.fullmatch(r"(-?\d*):(-?\d*)(?::(-?\d*))?", inner)
        if match is not None:
            start, stop, step = (int(part) if part else None for part in match.groups())
            if step == 0:
                raise self.error("slice step must not be 0")
            return (_SLICE, (start, stop, step))
        raise self.error(f"cannot read [{inner}]")

    def close(self) -> None:
        self.skip_space()
        if self.peek() != "]":
            raise self.error("expected ']'")
        self.pos += 1


# ------------------------------------------------------------- filter predicates

_Operand = Callable[[Any, Any], Any]  # (current, root) -> value or MISSING
_Predicate = Callable[[Any, Any], bool]

_NUMBER_RE: Final = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_OPERATORS: Final = (
    "===",
    "!==",
    "==",
    "!=",
    "<=",
    ">=",
    "=~",
    "<",
    ">",
    " in ",
    " nin ",
    " subsetof ",
    " anyof ",
    " noneof ",
    " size ",
    " empty ",
    " contains ",
)


def _equal(left: Any, right: Any) -> bool:
    if left is MISSING or right is MISSING:
        return False
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if type(left) is not type(right):
        return False
    return bool(left == right)


def _order(left: Any, right: Any) -> int | None:
    if (_is_number(left) and _is_number(right)) or (
        isinstance(left, str) and isinstance(right, str)
    ):
        return int(left > right) - int(left < right)
    return None


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("==", "==="):
        return _equal(left, right)
    if op in ("!=", "!=="):
        return not _equal(left, right)
    if left is MISSING or right is MISSING:
        return False
    if op in ("<", "<=", ">", ">="):
        order = _order(left, right)
        if order is None:
            return False
        return {"<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[op]
    if op == "=~":
        return (
            isinstance(left, str) and isinstance(right, re.Pattern) and bool(right.fullmatch(left))
        )
    if op == "in":
        return isinstance(right, list) and any(_equal(left, item) for item in right)
    if op == "nin":
        return isinstance(right, list) and not any(_equal(left, item) for item in right)
    if op == "subsetof":
        return (
            isinstance(left, list)
            and isinstance(right, list)
            and all(any(_equal(a, b) for b in right) for a in left)
        )
    if op == "anyof":
        return (
            isinstance(left, list)
            and isinstance(right, list)
            and any(any(_equal(a, b) for b in right) for a in left)
        )
    if op == "noneof":
        return (
            isinstance(left, list)
            and isinstance(right, list)
            and not any(any(_equal(a, b) for b in right) for a in left)
        )
    if op == "size":
        return isinstance(left, list | str) and _is_number(right) and len(left) == right
    if op == "empty":
        if not isinstance(right, bool):
            return False
        return isinstance(left, list | str) and (len(left) == 0) == right
    if op == "contains":
        if isinstance(left, str) and isinstance(right, str):
            return right in left
        return isinstance(left, list) and any(_equal(item, right) for item in left)
    return False


def _either(first: _Predicate, second: _Predicate) -> _Predicate:
    return lambda cur, root: first(cur, root) or second(cur, root)


def _both(first: _Predicate, second: _Predicate) -> _Predicate:
    return lambda cur, root: first(cur, root) and second(cur, root)


class _FilterParser:
    """``?( ... )`` expressions: ``||``, ``&&``, ``!``, parentheses, comparisons."""

    def __init__(self, parser: _Parser) -> None:
        self.p = parser

    def expression(self) -> _Predicate:
        left = self.conjunction()
        self.p.skip_space()
        while self.p.peek(2) == "||":
            self.p.pos += 2
            right = self.conjunction()
            left = _either(left, right)
            self.p.skip_space()
        return left

    def conjunction(self) -> _Predicate:
        left = self.unary()
        self.p.skip_space()
        while self.p.peek(2) == "&&":
            self.p.pos += 2
            right = self.unary()
            left = _both(left, right)
            self.p.skip_space()
        return left

    def unary(self) -> _Predicate:
        self.p.skip_space()
        if self.p.peek() == "!" and self.p.peek(2) != "!=":
            self.p.pos += 1
            inner = self.unary()
            return lambda cur, root: not inner(cur, root)
        if self.p.peek() == "(":
            self.p.pos += 1
            inner = self.expression()
            self.p.skip_space()
            if self.p.peek() != ")":
                raise self.p.error("expected ')'")
            self.p.pos += 1
            return inner
        return self.relation()

    def relation(self) -> _Predicate:
        left, left_is_path = self.operand()
        self.p.skip_space()
        text = self.p.text
        op = None
        for candidate in _OPERATORS:
            probe = candidate.strip()
            if candidate.startswith(" "):
                if re.match(rf"{probe}\b", text[self.p.pos :]):
                    op = probe
                    break
            elif text.startswith(probe, self.p.pos):
                op = probe
                break
        if op is None:
            if not left_is_path:
                raise self.p.error("expected a comparison")
            return lambda cur, root: left(cur, root) is not MISSING
        self.p.pos += len(op)
        self.p.skip_space()
        right, _ = self.operand(regex=op == "=~")
        return lambda cur, root: _compare(op, left(cur, root), right(cur, root))

    def operand(self, *, regex: bool = False) -> tuple[_Operand, bool]:
        p = self.p
        p.skip_space()
        char = p.peek()
        if char in ("@", "$"):
            start = p.pos
            root_kind = "@" if char == "@" else "$"
            p.pos += 1
            segments = tuple(p.segments(stop=" )=!<>&|,"))
            text = p.text[start : p.pos]
            path = JsonPath(text, root_kind, segments)

            def read_path(cur: Any, root: Any) -> Any:
                base = cur if root_kind == "@" else root
                if path.definite:
                    return path.find(base)
                return _walk(base, segments, root)

            return read_path, True
        if char in ("'", '"'):
            value: Any = p.quoted()
        elif char == "/" and regex:
            end = p.text.find("/", p.pos + 1)
            while end > 0 and p.text[end - 1] == "\\":
                end = p.text.find("/", end + 1)
            if end < 0:
                raise p.error("unterminated regular expression")
            pattern = p.text[p.pos + 1 : end]
            p.pos = end + 1
            flags = 0
            while p.peek() and p.peek() in "imsx":
                flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}[p.peek()]
                p.pos += 1
            try:
                value = re.compile(pattern, flags)
            except re.error as exc:
                raise p.error(f"invalid regular expression: {exc}") from None
        elif char in ("[", "{"):
            value = self.json_literal()
        else:
            match = _NUMBER_RE.match(p.text, p.pos)
            if match is not None:
                p.pos = match.end()
                number = match.group()
                value = float(number) if any(c in number for c in ".eE") else int(number)
            else:
                for word, literal in (("true", True), ("false", False), ("null", None)):
                    if re.match(rf"{word}\b", p.text[p.pos :]):
                        p.pos += len(word)
                        value = literal
                        break
                else:
                    word_match = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*").match(p.text, p.pos)
                    if word_match is None:
                        raise p.error("expected a value in the filter")
                    # An unquoted word compares as a string.
                    p.pos = word_match.end()
                    value = word_match.group()

        def constant(cur: Any, root: Any) -> Any:
            return value

        return constant, False

    def json_literal(self) -> Any:
        p = self.p
        decoder = json.JSONDecoder()
        text = p.text[p.pos :].replace("'", '"')
        try:
            value, end = decoder.raw_decode(text)
        except ValueError:
            raise p.error("invalid JSON literal in the filter") from None
        p.pos += end
        return value


# ------------------------------------------------------------------ entry points


@lru_cache(maxsize=4096)
def compile_path(text: str) -> JsonPath:
    """Compile a path: ``$...`` (data), ``$$...`` (context) or ``$name...`` (a variable)."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"{text!r} is not a JSONPath (it must start with '$')")
    parser = _Parser(text)
    variable: str | None = None
    if text.startswith("$$"):
        root = "$$"
        parser.pos = 2
    else:
        match = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)").match(text)
        if match is not None:
            variable = match.group(1)
            root = "var"
            parser.pos = match.end()
        else:
            root = "$"
            parser.pos = 1
    segments = tuple(parser.segments())
    return JsonPath(text, root, segments, variable)


def compile_reference_path(text: str) -> JsonPath:
    """Compile a Reference Path (``ResultPath``): ``$``, names and single indexes only."""
    path = compile_path(text)
    if path.root != "$":
        raise PathSyntaxError(f"{text!r} is not a reference path (it must start with '$')")
    if not path.is_reference:
        raise PathSyntaxError(f"{text!r} is not a reference path (it must select a single node)")
    return path
