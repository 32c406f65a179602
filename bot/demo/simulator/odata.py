"""A small OData `$filter` parser and evaluator: the subset MDE documents, and `or`/`in`.

Grammar (precedence low → high):
    expr    := and_expr ("or" and_expr)*
    and     := unary ("and" unary)*
    unary   := "not" unary | primary
    primary := "(" expr ")" | func | lambda | comparison
    func    := ("startswith" | "endswith" | "contains") "(" field "," literal ")"
    lambda  := field "/any(" name ":" name op literal ")"
    compare := field (eq|ne|gt|ge|lt|le) literal | field "in" "(" literal ("," literal)* ")"

A tokenizer with one pass and a recursive-descent parser: linear in the input. Anything else is
an `ODataError`, as MDE answers 400 `ODataError` for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]


class ODataError(ValueError):
    """The filter cannot be parsed, or names a field that cannot be filtered."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+)?Z)
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<punct>[(),:])
    )""",
    re.VERBOSE,
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"startswith", "endswith", "contains"}
MAX_FILTER_LENGTH = 4000
MAX_DEPTH = 32  # nested parentheses and `not`s: deeper is refused, never a RecursionError


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    value: Any


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    end = len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ODataError(f"Syntax error at position {pos} in '{text}'")
        kind = match.lastgroup or ""
        raw = match.group(kind)
        value: Any = raw
        if kind == "string":
            value = raw[1:-1].replace("''", "'")
        elif kind == "number":
            value = float(raw) if "." in raw else int(raw)
        elif kind == "datetime":
            try:
                value = datetime.fromisoformat(raw if "T" in raw else raw[:-1] + "T00:00:00Z")
            except ValueError:
                raise ODataError(f"Invalid date literal '{raw}'") from None
        elif kind == "name" and raw in {"true", "false", "null"}:
            kind, value = "literal", {"true": True, "false": False, "null": None}[raw]
        tokens.append(_Tok(kind, raw, value))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Tok], fields: Collection[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.fields = fields
        self.depth = 0

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ODataError("The filter is nested too deeply")

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or (text is not None and tok.text != text):
            raise ODataError(f"Expected '{text or 'a term'}' at token {self.pos}")
        self.pos += 1
        return tok

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek() is not None:
            raise ODataError(f"Unexpected '{self.tokens[self.pos].text}'")
        return predicate

    def expr(self) -> Predicate:
        terms = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.text == "or":
            self.take()
            terms.append(self.and_expr())
        return terms[0] if len(terms) == 1 else (lambda row: any(t(row) for t in terms))

    def and_expr(self) -> Predicate:
        terms = [self.unary()]
        while (tok := self.peek()) is not None and tok.text == "and":
            self.take()
            terms.append(self.unary())
        return terms[0] if len(terms) == 1 else (lambda row: all(t(row) for t in terms))

    def unary(self) -> Predicate:
        tok = self.peek()
        if tok is not None and tok.text == "not":
            self.take()
            self.deeper()
            inner = self.unary()
            self.depth -= 1
            return lambda row: not inner(row)
        return self.primary()

    def field(self, name: str) -> str:
        if name not in self.fields:
            raise ODataError(f"Invalid filter: property '{name}' is not supported")
        return name

    def literal(self) -> Any:
        tok = self.take()
        if tok.kind not in {"string", "number", "datetime", "literal"}:
            raise ODataError(f"Expected a literal, found '{tok.text}'")
        return tok.value

    def primary(self) -> Predicate:
        tok = self.take()
        if tok.text == "(":
            self.deeper()
            inner = self.expr()
            self.depth -= 1
            self.take(")")
            return inner
        if tok.kind != "name":
            raise ODataError(f"Unexpected '{tok.text}'")
        if tok.text in _FUNCS and (nxt := self.peek()) is not None and nxt.text == "(":
            return self.function(tok.text)
        if tok.text.endswith("/any"):
            return self.lambda_any(tok.text.removesuffix("/any"))
        name = self.field(tok.text)
        op = self.take()
        if op.text == "in":
            self.take("(")
            values = [self.literal()]
            while (nxt := self.peek()) is not None and nxt.text == ",":
                self.take()
                values.append(self.literal())
            self.take(")")
            return lambda row: any(_compare(row.get(name), "eq", v) for v in values)
        if op.text not in _COMPARE:
            raise ODataError(f"Unknown operator '{op.text}'")
        value = self.literal()
        return lambda row: _compare(row.get(name), op.text, value)

    def function(self, func: str) -> Predicate:
        self.take("(")
        name = self.field(self.take().text)
        self.take(",")
        value = self.literal()
        self.take(")")
        if not isinstance(value, str):
            raise ODataError(f"{func} needs a string")
        needle = value.lower()

        def test(row: Mapping[str, Any]) -> bool:
            have = row.get(name)
            if not isinstance(have, str):
                return False
            have = have.lower()
            if func == "startswith":
                return have.startswith(needle)
            if func == "endswith":
                return have.endswith(needle)
            return needle in have

        return test

    def lambda_any(self, collection: str) -> Predicate:
        name = self.field(collection)
        self.take("(")
        var = self.take().text
        self.take(":")
        if self.take().text != var:
            raise ODataError("Lambda variable mismatch")
        op = self.take()
        if op.text not in _COMPARE:
            raise ODataError(f"Unknown operator '{op.text}'")
        value = self.literal()
        self.take(")")
        return lambda row: any(_compare(item, op.text, value) for item in row.get(name) or ())


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        if re.match(r"^\d{4}-\d{2}-\d{2}T", value):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                return value.lower()
        return value.lower()
    return value


def _compare(have: Any, op: str, want: Any) -> bool:
    have, want = _norm(have), _norm(want)
    if op == "eq":
        return bool(have == want)
    if op == "ne":
        return bool(have != want)
    if have is None or want is None:
        return False
    try:
        return bool(
            {"gt": have > want, "ge": have >= want, "lt": have < want, "le": have <= want}[op]
        )
    except TypeError:
        raise ODataError(f"Cannot compare {type(have).__name__} with a literal") from None


def parse_filter(text: str, fields: Collection[str]) -> Predicate:
    """Compile `text` into a predicate over rows keyed by MDE's camelCase field names."""
    if len(text) > MAX_FILTER_LENGTH:
        raise ODataError("The filter is too long")
    return _Parser(_tokenize(text), fields).parse()
