//! The condition language of `IF` / `ELSE IF`: parsed into a small tree first, then
//! evaluated with short-circuiting, so `defined(A) && ${A} == "x"` never looks `A` up when
//! it is not defined.
//!
//! ```text
//! cond    := or
//! or      := and ( "||" and )*
//! and     := unary ( "&&" unary )*
//! unary   := "!" unary | primary
//! primary := "(" cond ")" | "defined" "(" NAME ")" | word ( "==" | "!=" ) word
//! ```
//!
//! A `word` is any run of characters up to whitespace, `(`, `)`, `==`, `!=`, `&&` or `||`
//! outside quotes and outside `${…}`; it is expanded like an `ARG` value (quotes removed,
//! `$VAR`/`${VAR:-x}` expanded).

use crate::expand::{is_valid_name, Env, ExpandError, Expanded, Lexer};

/// How deep parentheses and `!` may nest: a bound on hostile input, far beyond real use.
const MAX_NESTING: usize = 64;

/// A parsed condition. Kept as a tree so evaluation can short-circuit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// `a || b`.
    Or(Box<Cond>, Box<Cond>),
    /// `a && b`.
    And(Box<Cond>, Box<Cond>),
    /// `!a`.
    Not(Box<Cond>),
    /// `defined(NAME)`: whether the variable has a value at this point.
    Defined(String),
    /// `word == word` (`equal`) or `word != word`, on the expanded words.
    Compare {
        /// The left word as written.
        left: String,
        /// The right word as written.
        right: String,
        /// `true` for `==`.
        equal: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    Not,
    And,
    Or,
    Eq,
    Ne,
    Word(String),
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let two = |i: usize| -> Option<(char, char)> { Some((*chars.get(i)?, *chars.get(i + 1)?)) };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let op = match two(i) {
            Some(('=', '=')) => Some(Tok::Eq),
            Some(('!', '=')) => Some(Tok::Ne),
            Some(('&', '&')) => Some(Tok::And),
            Some(('|', '|')) => Some(Tok::Or),
            _ => None,
        };
        if let Some(op) = op {
            toks.push(op);
            i += 2;
            continue;
        }
        match c {
            '(' => {
                toks.push(Tok::Open);
                i += 1;
                continue;
            }
            ')' => {
                toks.push(Tok::Close);
                i += 1;
                continue;
            }
            '!' => {
                toks.push(Tok::Not);
                i += 1;
                continue;
            }
            _ => {}
        }
        // A word: up to an operator, outside quotes and `${…}`.
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut braces = 0usize;
        while i < chars.len() {
            let c = chars[i];
            if let Some(q) = quote {
                word.push(c);
                if c == '\\' && q == '"' {
                    if let Some(&n) = chars.get(i + 1) {
                        word.push(n);
                        i += 1;
                    }
                } else if c == q {
                    quote = None;
                }
                i += 1;
                continue;
            }
            if braces == 0
                && (c.is_whitespace()
                    || c == '('
                    || c == ')'
                    || matches!(
                        two(i),
                        Some(('=', '=') | ('!', '=') | ('&', '&') | ('|', '|'))
                    ))
            {
                break;
            }
            match c {
                '\'' | '"' => quote = Some(c),
                '\\' => {
                    word.push(c);
                    i += 1;
                    if let Some(&n) = chars.get(i) {
                        word.push(n);
                        i += 1;
                    }
                    continue;
                }
                '$' if chars.get(i + 1) == Some(&'{') => {
                    word.push_str("${");
                    braces += 1;
                    i += 2;
                    continue;
                }
                '}' if braces > 0 => braces -= 1,
                _ => {}
            }
            word.push(c);
            i += 1;
        }
        if quote.is_some() {
            return Err(format!("unterminated quote in condition: {word}"));
        }
        if braces > 0 {
            return Err(format!("missing '}}' in condition: {word}"));
        }
        toks.push(Tok::Word(word));
    }
    Ok(toks)
}

/// Parses a condition (the text after `IF` / `ELSE IF`); the error says what is wrong.
pub fn parse(text: &str) -> Result<Cond, String> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Err("IF needs a condition".to_owned());
    }
    let mut p = Parser { toks, pos: 0 };
    let c = p.or(0)?;
    match p.toks.get(p.pos) {
        None => Ok(c),
        Some(t) => Err(format!("unexpected {} in condition", describe(t))),
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Open => "'('".to_owned(),
        Tok::Close => "')'".to_owned(),
        Tok::Not => "'!'".to_owned(),
        Tok::And => "'&&'".to_owned(),
        Tok::Or => "'||'".to_owned(),
        Tok::Eq => "'=='".to_owned(),
        Tok::Ne => "'!='".to_owned(),
        Tok::Word(w) => format!("{w:?}"),
    }
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn or(&mut self, depth: usize) -> Result<Cond, String> {
        let mut left = self.and(depth)?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            left = Cond::Or(Box::new(left), Box::new(self.and(depth)?));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Cond, String> {
        let mut left = self.unary(depth)?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            left = Cond::And(Box::new(left), Box::new(self.unary(depth)?));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Cond, String> {
        if depth > MAX_NESTING {
            return Err(format!("condition nests deeper than {MAX_NESTING} levels"));
        }
        match self.next() {
            Some(Tok::Not) => Ok(Cond::Not(Box::new(self.unary(depth + 1)?))),
            Some(Tok::Open) => {
                let c = self.or(depth + 1)?;
                match self.next() {
                    Some(Tok::Close) => Ok(c),
                    _ => Err("missing ')' in condition".to_owned()),
                }
            }
            Some(Tok::Word(w)) if w == "defined" && self.peek() == Some(&Tok::Open) => {
                self.pos += 1;
                let name = match self.next() {
                    Some(Tok::Word(n)) if is_valid_name(&n) => n,
                    _ => return Err("defined() takes one variable name".to_owned()),
                };
                match self.next() {
                    Some(Tok::Close) => Ok(Cond::Defined(name)),
                    _ => Err("defined() takes one variable name".to_owned()),
                }
            }
            Some(Tok::Word(left)) => {
                let equal = match self.next() {
                    Some(Tok::Eq) => true,
                    Some(Tok::Ne) => false,
                    _ => return Err(format!("expected == or != after {left:?}")),
                };
                match self.next() {
                    Some(Tok::Word(right)) => Ok(Cond::Compare { left, right, equal }),
                    _ => Err(format!(
                        "expected a word after {}",
                        if equal { "==" } else { "!=" }
                    )),
                }
            }
            Some(t) => Err(format!("unexpected {} in condition", describe(&t))),
            None => Err("the condition ends too early".to_owned()),
        }
    }
}

impl Cond {
    /// Evaluates the condition against `env`. A variable that is not set is an error
    /// (unless never looked up because a `defined()` guard short-circuited). Every word
    /// it expands spends its length from `lexer.max_len` (the template layer's budget).
    pub fn eval(&self, lexer: &mut Lexer, env: &dyn Env) -> Result<bool, String> {
        Ok(match self {
            Cond::Or(a, b) => a.eval(lexer, env)? || b.eval(lexer, env)?,
            Cond::And(a, b) => a.eval(lexer, env)? && b.eval(lexer, env)?,
            Cond::Not(a) => !a.eval(lexer, env)?,
            Cond::Defined(name) => env.get(name).is_some(),
            Cond::Compare { left, right, equal } => {
                (word(lexer, left, env)? == word(lexer, right, env)?) == *equal
            }
        })
    }
}

impl Cond {
    /// The condition's value for every build, if no input can change it: `varies(name)`
    /// says whether a variable's value (or whether it is set at all) depends on build args
    /// or the platform. `None` when it may (three-valued: `a && b` is false as soon as one
    /// side is known false). Never fails: a condition `eval` would reject is `None`.
    /// Every word it expands spends its length from `lexer.max_len`.
    pub fn eval_known(
        &self,
        lexer: &mut Lexer,
        env: &dyn Env,
        varies: &dyn Fn(&str) -> bool,
    ) -> Option<bool> {
        match self {
            Cond::Or(a, b) => match (
                a.eval_known(lexer, env, varies),
                b.eval_known(lexer, env, varies),
            ) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            Cond::And(a, b) => match (
                a.eval_known(lexer, env, varies),
                b.eval_known(lexer, env, varies),
            ) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Cond::Not(a) => a.eval_known(lexer, env, varies).map(|v| !v),
            Cond::Defined(name) => (!varies(name)).then(|| env.get(name).is_some()),
            Cond::Compare { left, right, equal } => {
                let l = spend(lexer, lexer.expand_word(left, env)).ok()?;
                let r = spend(lexer, lexer.expand_word(right, env)).ok()?;
                let unknown = l.used.iter().chain(&r.used).any(|n| varies(n));
                // An unset name is an error for `eval`: no value to promise.
                if unknown || !l.unset.is_empty() || !r.unset.is_empty() {
                    return None;
                }
                Some((l.value == r.value) == *equal)
            }
        }
    }
}

/// An expansion's result, its length spent from `lexer.max_len`.
fn spend(lexer: &mut Lexer, got: Result<Expanded, ExpandError>) -> Result<Expanded, ExpandError> {
    let e = got?;
    lexer.max_len = lexer.max_len.saturating_sub(e.value.len());
    Ok(e)
}

fn word(lexer: &mut Lexer, text: &str, env: &dyn Env) -> Result<String, String> {
    let e = spend(lexer, lexer.expand_word(text, env)).map_err(|e| format!("{text}: {e}"))?;
    if let Some(name) = e.unset.iter().next() {
        return Err(format!(
            "unknown variable {name} in condition (declare it with ARG, or guard it with defined({name}))"
        ));
    }
    Ok(e.value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn eval(text: &str) -> Result<bool, String> {
        let env = vec![
            ("MODE".to_owned(), "debug".to_owned()),
            ("ARCH".to_owned(), "arm64".to_owned()),
            ("EMPTY".to_owned(), String::new()),
        ];
        parse(text)?.eval(&mut Lexer::default(), &env)
    }

    #[test]
    fn compares_expanded_words() {
        assert_eq!(eval("${MODE} == \"debug\""), Ok(true));
        assert_eq!(eval("$MODE == debug"), Ok(true));
        assert_eq!(eval("${MODE}==\"debug\""), Ok(true));
        assert_eq!(eval("${ARCH} != amd64"), Ok(true));
        assert_eq!(eval("${EMPTY} == ''"), Ok(true));
        assert_eq!(eval("\"a b\" == 'a b'"), Ok(true));
        assert!(eval("${NOPE:-x} == x").is_err());
    }

    #[test]
    fn operators_have_the_usual_precedence_and_short_circuit() {
        assert_eq!(eval("a == a || a == b && b == c"), Ok(true));
        assert_eq!(eval("(a == a || a == b) && b == c"), Ok(false));
        assert_eq!(eval("!(a == b)"), Ok(true));
        assert_eq!(eval("! a == b"), Ok(true));
        assert_eq!(eval("defined(MODE) && !defined(NOPE)"), Ok(true));
        assert_eq!(eval("defined(EMPTY)"), Ok(true));
        assert_eq!(eval("defined(NOPE) && ${NOPE} == x"), Ok(false));
        assert_eq!(eval("!defined(NOPE) || ${NOPE} == x"), Ok(true));
    }

    #[test]
    fn unknown_variables_are_errors() {
        let e = eval("${NOPE} == x").unwrap_err();
        assert!(e.contains("unknown variable NOPE"), "{e}");
        assert!(eval("defined(NOPE) || ${NOPE} == x").is_err());
    }

    #[test]
    fn malformed_conditions_are_errors() {
        for bad in [
            "",
            "a",
            "a ==",
            "== a",
            "(a == a",
            "a == a)",
            "defined()",
            "defined(a b)",
            "defined(1x)",
            "a == a &&",
            "\"a == a",
            "${A == a",
            "a == b c == d",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let deep = format!("{}a == a{}", "(".repeat(500), ")".repeat(500));
        assert!(parse(&deep).is_err());
        let nots = format!("{}a == a", "!".repeat(500));
        assert!(parse(&nots).is_err());
    }
}
