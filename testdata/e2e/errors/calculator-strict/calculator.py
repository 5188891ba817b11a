"""Strata demo app: evaluate an arithmetic expression (default: 2+3*4)."""

import sys

from calc import ParseError, evaluate

DEFAULT_EXPRESSION = "2+3*4"


def main(argv):
    expression = " ".join(argv[1:]) or DEFAULT_EXPRESSION
    try:
        result = evaluate(expression)
    except ParseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{expression} = {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
