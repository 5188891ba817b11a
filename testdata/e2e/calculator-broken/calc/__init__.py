"""A tiny, safe arithmetic evaluator (no eval)."""

from calc.parser import ParseError, evaluate

__all__ = ["ParseError", "evaluate"]
