import unittest

from calc import ParseError, evaluate


class EvaluateTest(unittest.TestCase):
    def test_precedence(self):
        self.assertEqual(evaluate("2+3*4"), 14)

    def test_parentheses(self):
        self.assertEqual(evaluate("(2+3)*4"), 20)

    def test_unary_and_division(self):
        self.assertEqual(evaluate("-6/4"), -1.5)
        self.assertEqual(evaluate("- -3"), 3)

    def test_decimals(self):
        self.assertEqual(evaluate("0.1+0.2"), 0.3)

    def test_errors(self):
        for bad in ["", "2+", "1/0", "2**3", "__import__('os')", "(1"]:
            with self.assertRaises(ParseError, msg=bad):
                evaluate(bad)


if __name__ == "__main__":
    unittest.main()
