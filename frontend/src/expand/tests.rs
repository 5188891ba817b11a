//! Table-driven tests for word processing. The cases are our own; they pin
//! the behaviours of upstream's lexer that Dockerfiles depend on.

use super::*;

fn env() -> BTreeMap<String, String> {
    [
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("EMPTY", ""),
        ("KOREAN", "한국어"),
        ("SPACE", "abc  def"),
        ("LEAD", "  ab c"),
        ("TRAIL", "ab c   "),
        ("FILE", "archive.tar.gz"),
        ("EXT", "gz"),
        ("P", "/usr/local/bin/tool"),
        ("NL", "a\nb"),
        ("WIN", "C:\\Users\\me"),
        ("STARS", "a*b*c"),
        ("BR", "[a]x"),
        ("DOLLAR", "$0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Runs `cases` (input, expected value or `None` for an error) through `lexer`.
fn check(lexer: &Lexer, cases: &[(&str, Option<&str>)]) {
    let env = env();
    let mut failures = Vec::new();
    for &(input, want) in cases {
        let got = lexer.expand_word(input, &env).map(|e| e.value);
        let ok = match (&got, want) {
            (Ok(v), Some(w)) => v == w,
            (Err(_), None) => true,
            _ => false,
        };
        if !ok {
            failures.push(format!("{input:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{lexer:?}\n{}", failures.join("\n"));
}

#[test]
fn plain_variables_and_names() {
    check(
        &Lexer::default(),
        &[
            ("plain", Some("plain")),
            ("", Some("")),
            ("$PWD", Some("/home")),
            ("${PWD}", Some("/home")),
            ("x$PWD.y", Some("x/home.y")),
            ("$pwd", Some("")),
            ("$UNSET", Some("")),
            ("a${UNSET}b", Some("ab")),
            ("$PWD_", Some("")),
            ("${PWD}_", Some("/home_")),
            ("$_X", Some("")),
            ("$KOREAN!", Some("한국어!")),
            ("안$KOREAN", Some("안한국어")),
            ("$SHELL$PWD", Some("bash/home")),
            // `$` not followed by a name is literal.
            ("$", Some("$")),
            ("a$", Some("a$")),
            ("$ x", Some("$ x")),
            ("$/x", Some("$/x")),
            ("$.", Some("$.")),
            ("$%", Some("$%")),
            // Positional and special parameters are never set.
            ("$12ab", Some("ab")),
            ("${12}", Some("")),
            ("$0x", Some("x")),
            ("$007", Some("")),
            ("$@@", Some("@")),
            ("$-x", Some("x")),
            ("$$", Some("")),
            ("${#}", Some("")),
            ("${$}x", Some("x")),
            ("${!}", Some("")),
            ("${*:-star}", Some("star")),
            ("${1:-one}", Some("one")),
            ("${1:+one}", Some("")),
            ("${@:-at}", Some("at")),
            ("${?-q}", Some("q")),
            // A leading byte-order mark is dropped (Go's scanner does that).
            ("\u{feff}$SHELL", Some("bash")),
            ("a\u{feff}", Some("a\u{feff}")),
        ],
    );
}

#[test]
fn quotes() {
    check(
        &Lexer::default(),
        &[
            ("'$PWD'", Some("$PWD")),
            ("\"$PWD\"", Some("/home")),
            ("'a\"b'", Some("a\"b")),
            ("\"a'b\"", Some("a'b")),
            ("\"'$SHELL'\"", Some("'bash'")),
            ("'a\\b'", Some("a\\b")),
            ("'a\\'", Some("a\\")),
            ("ab''cd", Some("abcd")),
            ("\"\"", Some("")),
            ("x\"\"y''z", Some("xyz")),
            ("'${'", Some("${")),
            ("\"a b\"", Some("a b")),
            // Inside double quotes the escape only escapes `"`, `$` and itself.
            ("\"a\\b\"", Some("a\\b")),
            ("\"a\\\"b\"", Some("a\"b")),
            ("\"a\\$PWD\"", Some("a$PWD")),
            ("\"a\\\\b\"", Some("a\\b")),
            ("\"a\\\\$SHELL\"", Some("a\\bash")),
            ("\"a'\"'b\"'", Some("a'b\"")),
            ("\"${UNSET:-'x'}\"", Some("x")),
            ("\"$\"", Some("$")),
            ("\"안녕$KOREAN\"", Some("안녕한국어")),
            ("'abc", None),
            ("abc'", None),
            ("\"abc", None),
            ("\"abc\\\"", None),
            ("\"abc\\", None),
            ("'안녕", None),
        ],
    );
}

#[test]
fn backslash_escape() {
    check(
        &Lexer::default(),
        &[
            ("a\\ b", Some("a b")),
            ("a\\tb", Some("atb")),
            ("\\$PWD", Some("$PWD")),
            ("\\\\$PWD", Some("\\/home")),
            ("end\\", Some("end")),
            ("end\\\\", Some("end\\")),
            ("\\'x", Some("'x")),
            ("\\\"x", Some("\"x")),
            ("\\${PWD}", Some("${PWD}")),
            ("\\${}", Some("${}")),
            ("a`b", Some("a`b")),
            ("C:\\\\dir", Some("C:\\dir")),
            ("안녕\\$KOREAN", Some("안녕$KOREAN")),
        ],
    );
}

#[test]
fn backtick_escape() {
    check(
        &Lexer::new('`'),
        &[
            // Backslashes are ordinary characters: Windows paths survive.
            ("C:\\Users\\$UNSET", Some("C:\\Users\\")),
            ("C:\\Program Files\\app", Some("C:\\Program Files\\app")),
            ("$WIN\\bin", Some("C:\\Users\\me\\bin")),
            ("\\$PWD", Some("\\/home")),
            ("`$PWD", Some("$PWD")),
            ("a` b", Some("a b")),
            ("``", Some("`")),
            ("a`", Some("a")),
            ("\"a`\"b\"", Some("a\"b")),
            ("\"a\\b\"", Some("a\\b")),
            ("\"``\"", Some("`")),
            ("\"`$SHELL\"", Some("$SHELL")),
            ("\"`x\"", Some("`x")),
            ("'`'", Some("`")),
            ("${UNSET:-C:\\x}", Some("C:\\x")),
            ("${UNSET:-`}}", Some("}")),
            ("\"a\\\"", Some("a\\")),
        ],
    );
}

#[test]
fn defaults_alternatives_and_required() {
    check(
        &Lexer::default(),
        &[
            ("${UNSET:-d}", Some("d")),
            ("${EMPTY:-d}", Some("d")),
            ("${PWD:-d}", Some("/home")),
            ("${UNSET-d}", Some("d")),
            ("${EMPTY-d}", Some("")),
            ("${PWD-d}", Some("/home")),
            ("${UNSET:+a}", Some("")),
            ("${EMPTY:+a}", Some("")),
            ("${PWD:+a}", Some("a")),
            ("${UNSET+a}", Some("")),
            ("${EMPTY+a}", Some("a")),
            ("${PWD:?x}", Some("/home")),
            ("${PWD?x}", Some("/home")),
            ("${EMPTY?x}", Some("")),
            ("${EMPTY:?x}", None),
            ("${UNSET?x}", None),
            ("${UNSET:?}", None),
            ("x${UNSET:-}y", Some("xy")),
            ("he${UNSET:-000}xx", Some("he000xx")),
            // The word is processed too: nesting, quotes, escapes.
            ("${UNSET:-$PWD}", Some("/home")),
            ("${UNSET:-${X:-${SHELL}}}", Some("bash")),
            ("${UNSET:-${X:-deep}}", Some("deep")),
            ("${PWD:+[$SHELL]}", Some("[bash]")),
            ("${PWD:+${UNSET}}", Some("")),
            ("${PWD:+$PWD:}", Some("/home:")),
            ("${UNSET:-a b}", Some("a b")),
            ("${UNSET:-'}'}", Some("}")),
            ("${UNSET:-\\}}", Some("}")),
            ("${UNSET:-\"x y\"}", Some("x y")),
            ("${UNSET:-\\$PWD}", Some("$PWD")),
            ("${UNSET:-\\${PWD}z}", Some("${PWDz}")),
            ("${UNSET:-a}}", Some("a}")),
            ("${UNSET:-{x}", Some("{x")),
            ("${UNSET:-x:y}", Some("x:y")),
            ("${UNSET:-\\t}", Some("t")),
            ("${UNSET:-a ${X}", None),
            ("${UNSET:-안녕}", Some("안녕")),
            // `${-x}` has the special parameter `-` as its name.
            ("${--x}", Some("x")),
            // No name at all looks up "".
            ("${+x}", Some("")),
            ("${-}", Some("")),
        ],
    );
}

#[test]
fn prefix_and_suffix_patterns() {
    check(
        &Lexer::default(),
        &[
            ("${FILE#*.}", Some("tar.gz")),
            ("${FILE##*.}", Some("gz")),
            ("${FILE%.*}", Some("archive.tar")),
            ("${FILE%%.*}", Some("archive")),
            ("${FILE%.$EXT}", Some("archive.tar")),
            ("${FILE#nomatch}", Some("archive.tar.gz")),
            ("${FILE%nomatch}", Some("archive.tar.gz")),
            ("${FILE#arch}", Some("ive.tar.gz")),
            ("${FILE#?}", Some("rchive.tar.gz")),
            ("${FILE##??}", Some("chive.tar.gz")),
            ("${FILE%??}", Some("archive.tar.")),
            ("${FILE#*}", Some("archive.tar.gz")),
            ("${FILE##*}", Some("")),
            ("${FILE%*}", Some("archive.tar.gz")),
            ("${FILE%%*}", Some("")),
            ("${FILE#}", Some("archive.tar.gz")),
            ("${FILE##}", Some("archive.tar.gz")),
            ("${FILE#a*a}", Some("r.gz")),
            ("${FILE##a*a}", Some("r.gz")),
            ("${FILE#*a}", Some("rchive.tar.gz")),
            ("${FILE##*a}", Some("r.gz")),
            ("${P#/*/}", Some("local/bin/tool")),
            ("${P##*/}", Some("tool")),
            ("${P%/*}", Some("/usr/local/bin")),
            ("${P%%/*}", Some("")),
            ("${P%/bin/*}", Some("/usr/local")),
            ("${UNSET#x}", Some("")),
            ("${EMPTY%%*}", Some("")),
            ("${KOREAN#한}", Some("국어")),
            ("${KOREAN%?}", Some("한국")),
            // `\*`, `\?`, `\\` are literal; `[` is not special.
            ("${STARS#a\\*}", Some("b*c")),
            ("${STARS%\\**}", Some("a*b")),
            ("${STARS%%\\**}", Some("a")),
            ("${STARS#a\\?}", Some("a*b*c")),
            ("${BR#[a]}", Some("x")),
            ("${FILE#[a]}", Some("archive.tar.gz")),
            // Quotes are removed before the pattern is read, so '*' is a wildcard.
            ("${FILE##'*'}", Some("")),
            ("${FILE#\"arch\"}", Some("ive.tar.gz")),
            // A pattern that starts with the operator after quote removal is "longest".
            ("${FILE#'#'}", Some("archive.tar.gz")),
            // `*` and `?` do not match newlines.
            ("${NL##*}", Some("\nb")),
            ("${NL%%*}", Some("a\n")),
            ("${NL#??}", Some("a\nb")),
            ("${NL#?\n}", Some("b")),
            ("${FILE#\\a}", None),
            ("${UNSET#\\a}", None),
            ("${FILE%x\\y}", None),
            ("${FILE:#x}", None),
            ("${FILE:%x}", None),
        ],
    );
}

#[test]
fn replacement() {
    check(
        &Lexer::default(),
        &[
            ("${FILE/a/A}", Some("Archive.tar.gz")),
            ("${FILE//a/A}", Some("Archive.tAr.gz")),
            ("${FILE//./_}", Some("archive_tar_gz")),
            ("${FILE/.*/}", Some("archive")),
            ("${FILE/a*/x}", Some("x")),
            ("${FILE//?/x}", Some("xxxxxxxxxxxxxx")),
            ("${FILE/nomatch/x}", Some("archive.tar.gz")),
            ("${FILE/tar/$SHELL}", Some("archive.bash.gz")),
            ("${FILE/$EXT/zst}", Some("archive.tar.zst")),
            ("${P//\\//:}", Some(":usr:local:bin:tool")),
            ("${P/'/usr'/X}", Some("X/local/bin/tool")),
            ("${UNSET/a/b}", Some("")),
            ("${UNSET//*/b}", Some("b")),
            ("${SHELL///-}", Some("-b-a-s-h-")),
            ("${SHELL//*/x}", Some("x")),
            ("${SHELL//s*/x}", Some("bax")),
            ("${KOREAN//국/-}", Some("한-어")),
            ("${NL//?/x}", Some("x\nx")),
            ("${NL//*/x}", Some("x\nx")),
            // With `//` the replacement follows Go's template rules: `$0` is
            // the match, `$$` a dollar; a lone `$` stays.
            ("${SHELL//a/$DOLLAR$DOLLAR}", Some("baash")),
            ("${SHELL/a/$DOLLAR}", Some("b$0sh")),
            ("${SHELL//a/\\$}", Some("b\\$sh")),
            ("${FILE/\\./_}", None),
            ("${FILE/a}", None),
            ("${FILE//a}", None),
            ("${FILE/a/b", None),
        ],
    );
}

/// `(input, expected error)` for the error variants.
#[test]
fn error_kinds() {
    let env = env();
    let lexer = Lexer::default();
    let req = |n: &str, m: &str| ExpandError::Required {
        name: n.to_owned(),
        message: m.to_owned(),
    };
    let unsupported = |m: &str| ExpandError::UnsupportedModifier(m.to_owned());
    let cases = [
        ("${}", ExpandError::BadSubstitution),
        ("he${}xx", ExpandError::BadSubstitution),
        ("${:}", ExpandError::BadSubstitution),
        ("${:-x}", ExpandError::BadSubstitution),
        ("${{A}}", ExpandError::BadSubstitution),
        ("${", ExpandError::MissingBrace),
        ("${A", ExpandError::MissingBrace),
        ("${A:", ExpandError::MissingBrace),
        ("${A:-x", ExpandError::MissingBrace),
        ("${A:-${B}", ExpandError::MissingBrace),
        ("${A:-'x}", ExpandError::MissingBrace),
        ("${A/x/y", ExpandError::MissingBrace),
        ("${A/x", ExpandError::MissingSlash),
        ("${A:=x}", unsupported(":=")),
        ("${A=x}", unsupported("=")),
        ("${A.B}", unsupported(".")),
        ("${A:x}", unsupported(":x")),
        ("${#A}", unsupported("A")),
        ("${A:#x}", unsupported(":#")),
        // After `:` any character is taken as the operator, even `}`.
        ("${A:}", ExpandError::MissingBrace),
        ("${PWD:}}", unsupported(":}")),
        ("${PWD:/a/b}", unsupported(":/")),
        ("${UNSET:?need it}", req("UNSET", "need it")),
        ("${UNSET?}", req("UNSET", "is not allowed to be unset")),
        ("${EMPTY:?}", req("EMPTY", "is not allowed to be empty")),
        ("${1?}", req("1", "is not allowed to be unset")),
        ("${A:-${UNSET?boom}}", req("UNSET", "boom")),
        // An inner error that ran into the end is reported as the missing `}`.
        ("${A:-${UNSET?boom}", ExpandError::MissingBrace),
        ("'x", ExpandError::UnterminatedSingleQuote),
        ("\"x", ExpandError::UnterminatedDoubleQuote),
        (
            "${FILE#\\a}",
            ExpandError::InvalidPattern {
                pattern: "\\a".to_owned(),
                reason: "invalid escape '\\a'".to_owned(),
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(lexer.expand_word(input, &env), Err(want), "{input:?}");
    }
}

#[test]
fn error_messages() {
    let env = env();
    let msg = |w: &str| match Lexer::default().expand_word(w, &env) {
        Err(e) => e.to_string(),
        Ok(v) => panic!("{w:?} expanded to {v:?}"),
    };
    assert_eq!(msg("${"), "syntax error: missing '}'");
    assert_eq!(msg("${A/x"), "syntax error: missing '/' in ${}");
    assert_eq!(msg("${}"), "syntax error: bad substitution");
    assert_eq!(msg("${A:=x}"), "unsupported modifier (:=) in substitution");
    assert_eq!(msg("${UNSET?}"), "UNSET: is not allowed to be unset");
    assert_eq!(msg("${EMPTY:?set it}"), "EMPTY: set it");
    assert_eq!(
        msg("'x"),
        "unexpected end of statement while looking for matching single-quote"
    );
    assert_eq!(
        msg("${P%\\q}"),
        "invalid pattern (\\q) in substitution: invalid escape '\\q'"
    );
}

#[test]
fn skip_unset_env_keeps_references() {
    let lexer = Lexer {
        skip_unset_env: true,
        ..Lexer::default()
    };
    check(
        &lexer,
        &[
            ("$UNSET", Some("$UNSET")),
            ("${UNSET}", Some("${UNSET}")),
            ("${UNSET:-x}", Some("${UNSET:-x}")),
            ("${UNSET-'q'}", Some("${UNSET-q}")),
            ("${UNSET?x}", Some("${UNSET?x}")),
            ("${UNSET:?}", Some("${UNSET:?}")),
            ("${UNSET##*/}", Some("${UNSET##*/}")),
            ("${UNSET/a/b}", Some("${UNSET/a/b}")),
            ("${UNSET//a/b}", Some("${UNSET//a/b}")),
            ("${UNSET:Yz}", Some("${UNSET:Yz}")),
            ("$1", Some("$1")),
            ("$", Some("$")),
            ("$PWD", Some("/home")),
            ("${EMPTY:-d}", Some("d")),
            ("${EMPTY:?}", None),
            ("${PWD:Yz}", None),
            ("echo $UNSET \"$SHELL\"", Some("echo $UNSET bash")),
        ],
    );
}

#[test]
fn raw_quotes_and_raw_escapes() {
    let quotes = Lexer {
        raw_quotes: true,
        ..Lexer::default()
    };
    check(
        &quotes,
        &[
            ("'a'\"b\"", Some("'a'\"b\"")),
            ("\"$PWD\"", Some("\"/home\"")),
            ("'$PWD'", Some("'$PWD'")),
            ("a\\ b", Some("a b")),
            ("${UNSET:-'x'}", Some("'x'")),
        ],
    );
    let escapes = Lexer {
        raw_escapes: true,
        ..Lexer::default()
    };
    check(
        &escapes,
        &[
            ("a\\ b", Some("a\\ b")),
            ("\\$PWD", Some("\\$PWD")),
            ("a\\", Some("a\\")),
            ("\"\\$PWD\"", Some("\\$PWD")),
            // Before an ordinary character inside "…" the escape is doubled,
            // as upstream does.
            ("\"\\t\"", Some("\\\\t")),
            // `${A:-…}` words never keep escapes.
            ("${UNSET:-\\x}", Some("x")),
        ],
    );
    let both = Lexer {
        raw_quotes: true,
        raw_escapes: true,
        ..Lexer::default()
    };
    check(
        &both,
        &[
            ("'a'\\\"b", Some("'a'\\\"b")),
            ("\"a\\\"b\"", Some("\"a\\\"b\"")),
        ],
    );
}

#[test]
fn skip_process_quotes_treats_quotes_as_text() {
    let lexer = Lexer {
        skip_process_quotes: true,
        ..Lexer::default()
    };
    check(
        &lexer,
        &[
            ("'$PWD' \"$SHELL\"", Some("'/home' \"bash\"")),
            ("it's", Some("it's")),
            ("\\$PWD", Some("$PWD")),
            ("\"unterminated", Some("\"unterminated")),
            ("line1\nline2 $SHELL\n", Some("line1\nline2 bash\n")),
        ],
    );
}

#[test]
fn word_splitting() {
    let env = env();
    let lexer = Lexer::default();
    let cases: &[(&str, &[&str])] = &[
        ("a b  c", &["a", "b", "c"]),
        ("  lead", &["lead"]),
        ("trail  ", &["trail"]),
        ("", &[]),
        ("   ", &[]),
        ("a\tb\nc", &["a", "b", "c"]),
        ("a\\ b", &["a b"]),
        ("'a b' c", &["a b", "c"]),
        ("x\" y \"z", &["x y z"]),
        ("$SPACE", &["abc", "def"]),
        ("\"$SPACE\"", &["abc  def"]),
        ("x$LEAD", &["x", "ab", "c"]),
        ("x\"$LEAD\" y", &["x  ab c", "y"]),
        ("$TRAIL!", &["ab", "c", "!"]),
        ("\"$TRAIL\"!", &["ab c   !"]),
        ("\"\" a", &["a"]),
        ("''", &[]),
        ("80/tcp ${PORT:-443}/udp", &["80/tcp", "443/udp"]),
        ("${UNSET:-a b}", &["a", "b"]),
        // The result of any `$` expansion is split, even quoted default text.
        ("${UNSET:-\"a b\"}", &["a", "b"]),
        ("\"${UNSET:-a b}\"", &["a b"]),
        ("a\\\tb", &["a\tb"]),
        // Upstream loses "pre" here (a shared buffer is reset by the nested
        // `${…:-…}`); we keep it.
        ("pre${UNSET:-fix}ed", &["prefixed"]),
        ("cat << EOF", &["cat", "<< EOF"]),
        ("cat <<\tEOF x", &["cat", "<<\tEOF", "x"]),
        ("a<b < c", &["a<b", "<", "c"]),
    ];
    for &(input, want) in cases {
        let got = lexer.expand_words(input, &env);
        let want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(got, Ok(want), "{input:?}");
    }
    assert!(lexer.expand_words("'open", &env).is_err());
    assert!(lexer.expand_words("${A", &env).is_err());
}

#[test]
fn reports_used_and_unset_names() {
    let env = env();
    let got = Lexer::default().expand_word("$PWD ${UNSET:-$SHELL} $1 ${EMPTY} '$NOPE'", &env);
    let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    assert_eq!(
        got,
        Ok(Expanded {
            value: "/home bash   $NOPE".to_owned(),
            used: names(&["EMPTY", "PWD", "SHELL"]),
            unset: names(&["1", "UNSET"]),
        })
    );
    // Names are reported even when unset references are kept.
    let lexer = Lexer {
        skip_unset_env: true,
        ..Lexer::default()
    };
    let got = lexer.expand_word("${A:-$B}", &env).map(|e| e.unset);
    assert_eq!(got, Ok(names(&["A", "B"])));
}

#[test]
fn env_implementations() {
    let lexer = Lexer::default();
    let list = vec![
        ("A".to_owned(), "1".to_owned()),
        ("B".to_owned(), "b".to_owned()),
        ("A".to_owned(), "2".to_owned()),
    ];
    let value = |env: &dyn Env| lexer.expand_word("$A$B${C-c}", env).map(|e| e.value);
    assert_eq!(value(&list), Ok("2bc".to_owned()));
    assert_eq!(value(&list.as_slice()), Ok("2bc".to_owned()));
    let map: HashMap<String, String> = list.iter().cloned().collect();
    assert_eq!(value(&map), Ok("2bc".to_owned()));
    assert_eq!(value(&NoEnv), Ok("c".to_owned()));
}

#[test]
fn valid_names() {
    for name in ["A", "_", "_a1", "build_ARG2", "안녕", "Ärger"] {
        assert!(is_valid_name(name), "{name:?}");
    }
    for name in ["", "1a", "9", "a-b", "a b", "$a", "a.b", "x²"] {
        assert!(!is_valid_name(name), "{name:?}");
    }
}

/// Thousands of deterministic pseudo-random words over the special
/// characters: processing never panics, and the one-word and split forms
/// agree on whether the input is an error.
#[test]
fn never_panics_on_noise() {
    const ALPHABET: &[char] = &[
        '$', '{', '}', ':', '-', '+', '?', '#', '%', '/', '\\', '`', '\'', '"', 'a', 'b', '1', '_',
        ' ', '*', '[', ']', '\n', '<', '한',
    ];
    let mut state: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move || {
        // Knuth's MMIX LCG; the high bits are the good ones.
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let mut env = env();
    env.insert("a".to_owned(), "a*b [x] /\\ ".to_owned());
    env.insert("b".to_owned(), "$0 ${x} $$".to_owned());
    let mut lexers = vec![Lexer::default(), Lexer::new('`')];
    let raw = Lexer {
        raw_quotes: true,
        raw_escapes: true,
        skip_unset_env: true,
        ..Lexer::default()
    };
    lexers.push(raw);
    let noquotes = Lexer {
        skip_process_quotes: true,
        ..Lexer::new('`')
    };
    lexers.push(noquotes);

    let mut errors = 0;
    for _ in 0..5000 {
        let len = next() % 24;
        let word: String = (0..len)
            .map(|_| ALPHABET[next() % ALPHABET.len()])
            .collect();
        for lexer in &lexers {
            let one = lexer.expand_word(&word, &env);
            let many = lexer.expand_words(&word, &env);
            assert_eq!(one.is_err(), many.is_err(), "{lexer:?} {word:?}");
            if let Err(e) = one {
                errors += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    // Sanity: the generator exercises both outcomes.
    assert!(errors > 100 && errors < 19_000, "{errors}");
}

#[test]
fn long_inputs_stay_fast() {
    let env: BTreeMap<String, String> = [("V".to_owned(), "a".repeat(3000))].into_iter().collect();
    let pattern = "*a".repeat(200);
    let word = format!("${{V%%{pattern}b}}${{V//{pattern}/x}}");
    let got = Lexer::default()
        .expand_word(&word, &env)
        .map(|e| e.value.len());
    // `%%` finds nothing (no `b`); `//` replaces the whole run once.
    assert_eq!(got, Ok(3001));
}

#[test]
fn max_len_stops_growing_results_early() {
    let a = "x".repeat(2000);
    let env = vec![("A".to_owned(), a.clone())];
    let bounded = Lexer {
        max_len: 10_000,
        ..Lexer::default()
    };
    let too_long = Err(ExpandError::TooLong { limit: 10_000 });
    // Squaring (4 MB unbounded), in a quoted word, in a default and by repetition: each
    // stops at the bound.
    for word in [
        "${A//?/$A}",
        "\"${A//?/$A}\"",
        "${B:-${A//?/$A}}",
        "$A$A$A$A$A$A",
    ] {
        let got = bounded.expand_word(word, &env).map(|e| e.value.len());
        assert_eq!(got, too_long.clone(), "{word}");
    }
    // Within the bound nothing changes. The default bound is MAX_WORD_LEN (1 MiB): the
    // 4 MB square stops there, a 1 MiB word is still whole.
    assert_eq!(bounded.expand_word("$A$A", &env).unwrap().value.len(), 4000);
    let squared = Lexer::default().expand_word("${A//?/$A}", &env);
    assert_eq!(
        squared.map(|e| e.value.len()),
        Err(ExpandError::TooLong {
            limit: super::MAX_WORD_LEN
        })
    );
    let mib = vec![("M".to_owned(), "m".repeat(super::MAX_WORD_LEN))];
    let whole = Lexer::default().expand_word("$M", &mib).unwrap();
    assert_eq!(whole.value.len(), super::MAX_WORD_LEN);
    assert_eq!(
        ExpandError::TooLong { limit: 10_000 }.to_string(),
        "the expanded text is longer than 10000 bytes"
    );
}

#[test]
fn plain_words_take_the_short_way_to_the_same_result() {
    let words = [
        "",
        "/app",
        "busybox:local",
        "a b\tc\n d  ",
        "  ",
        "x=1,y=2",
        "ünïcode wörds",
        "a{b}c",
        "${A}",
        "$A b",
        "a\\ b",
        "'a b'",
        "\"a b\"",
        "<<EOF",
        "\u{feff}bom",
        "`a b",
    ];
    let env = env();
    for escape in ['\\', '`'] {
        for max_len in [MAX_WORD_LEN, 3] {
            let mut lexer = Lexer::new(escape);
            lexer.max_len = max_len;
            for word in words {
                let mut p = Processor::new(&lexer, word, &env);
                let slow = p.until(None, false).map(|(value, split)| {
                    let expanded = Expanded {
                        value,
                        used: p.used.clone(),
                        unset: p.unset.clone(),
                    };
                    (expanded, split)
                });
                let fast = lexer
                    .expand_word(word, &env)
                    .and_then(|e| Ok((e, lexer.expand_words(word, &env)?)));
                assert_eq!(fast, slow, "{word:?} escape {escape:?} max_len {max_len}");
            }
            // The short way was taken: "", "/app", "busybox:local", "a b…", "  ", "x=1,y=2",
            // "ünïcode wörds", "a{b}c", and the escape character the other lexer has.
            assert_eq!(words.iter().filter(|w| lexer.is_plain(w)).count(), 9);
        }
    }
}
