"""Recursive-descent parser for + - * / ( ) and unary minus over integers and decimals.

Grammar:
    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '/') factor)*
    factor := ('+' | '-') factor | NUMBER | '(' expr ')'
"""

from fractions import Fraction


class ParseError(ValueError):
    pass


def tokenize(text):
    tokens = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch.isdigit() or ch == ".":
            j = i
            while j < len(text) and (text[j].isdigit() or text[j] == "."):
                j += 1
            literal = text[i:j]
            if literal.count(".") > 1 or literal == ".":
                raise ParseError(f"bad number {literal!r} at {i}")
            tokens.append(("num", Fraction(literal)))
            i = j
        elif ch in "+-*/()":
            tokens.append(("op", ch))
            i += 1
        else:
            raise ParseError(f"unexpected character {ch!r} at {i}")
    return tokens


class _Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, op=None):
        tok = self.peek()
        if tok is None or (op is not None and tok != ("op", op)):
            got = "end of input" if tok is None else repr(tok[1])
            raise ParseError(f"expected {op or 'a token'}, got {got}")
        self.pos += 1
        return tok

    def expr(self):
        value = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self):
        value = self.factor()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            rhs = self.factor()
            if op == "*":
                value = value * rhs
            else:
                if rhs == 0:
                    raise ParseError("division by zero")
                value = value / rhs
        return value

    def factor(self):
        tok = self.peek()
        if tok in (("op", "+"), ("op", "-")):
            self.take()
            inner = self.factor()
            return inner if tok[1] == "+" else -inner
        if tok is not None and tok[0] == "num":
            self.take()
            return tok[1]
        if tok == ("op", "("):
            self.take("(")
            value = self.expr()
            self.take(")")
            return value
        raise ParseError("unexpected end of input" if tok is None else f"unexpected {tok[1]!r}")


def evaluate(text):
    """Evaluate an arithmetic expression; returns an int when exact, else a float."""
    parser = _Parser(tokenize(text))
    if parser.peek() is None:
        raise ParseError("empty expression")
    value = parser.expr()
    if parser.peek() is not None:
        raise ParseError(f"trailing input at token {parser.pos}")
    return int(value) if value.denominator == 1 else float(value)
