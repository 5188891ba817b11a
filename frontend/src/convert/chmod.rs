//! `COPY --chmod` / `ADD --chmod`: an octal mode, or (docker/dockerfile 1.14+) a symbolic
//! one in chmod(1)'s grammar that BuildKit applies to each copied file itself. The frontend
//! only decides which of the two it is and rejects what neither accepts, with upstream's
//! words.

/// What a `--chmod` value asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Chmod {
    /// Octal bits (at most `07777`): the file op's numeric mode.
    Octal(u32),
    /// A symbolic mode (`u=rwX,go=rX`, `+x`, `g=u`): the file op's mode string.
    Symbolic(String),
}

/// Parses a non-empty `--chmod` value as upstream's `dispatchCopy` does: octal first, then
/// the symbolic grammar; a value that starts with a digit is octal or wrong.
pub(crate) fn parse(value: &str) -> Result<Chmod, String> {
    let non_octal = || {
        format!(
            "invalid chmod parameter: '{value}'. it should be octal string and between 0 and 07777"
        )
    };
    if value.starts_with(|c: char| c.is_ascii_digit()) {
        // Go's `strconv.ParseUint(s, 8, 32)`: octal digits only, no sign or prefix.
        if !value.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return Err(non_octal());
        }
        return match u32::from_str_radix(value, 8) {
            Ok(m) if m <= 0o7777 => Ok(Chmod::Octal(m)),
            _ => Err(non_octal()),
        };
    }
    if symbolic_ok(value) {
        Ok(Chmod::Symbolic(value.to_owned()))
    } else {
        Err("invalid syntax".to_owned())
    }
}

/// chmod(1)'s symbolic grammar, as BSD `setmode` reads it: clauses separated by `,`, each
/// `[ugoa]*` then one or more `op perms` with op in `+-=` and perms in `rwxXst` or a copy
/// source `u`/`g`/`o`. A trailing comma or a clause without an operator is an error.
fn symbolic_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && matches!(b[i], b'u' | b'g' | b'o' | b'a') {
            i += 1;
        }
        if i == b.len() {
            return false;
        }
        // One or more `op perms` groups.
        loop {
            if !matches!(b[i], b'+' | b'-' | b'=') {
                return false;
            }
            i += 1;
            while i < b.len()
                && matches!(
                    b[i],
                    b'r' | b'w' | b'x' | b'X' | b's' | b't' | b'u' | b'g' | b'o'
                )
            {
                i += 1;
            }
            if i == b.len() {
                return true;
            }
            if b[i] == b',' {
                i += 1;
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_and_symbolic_modes() {
        assert_eq!(parse("755"), Ok(Chmod::Octal(0o755)));
        assert_eq!(parse("0644"), Ok(Chmod::Octal(0o644)));
        assert_eq!(parse("7777"), Ok(Chmod::Octal(0o7777)));
        for ok in [
            "+x",
            "u=rwX,go=rX",
            "g=u",
            "a-w",
            "u+x-w",
            "=",
            "go=",
            "u=rwx,g+s,+t",
        ] {
            assert_eq!(parse(ok), Ok(Chmod::Symbolic(ok.to_owned())), "{ok}");
        }
    }

    #[test]
    fn invalid_modes_with_upstream_words() {
        let octal = |v: &str| {
            format!(
                "invalid chmod parameter: '{v}'. it should be octal string and between 0 and 07777"
            )
        };
        for bad in ["10000", "8", "755x", "0o755", "99999999999"] {
            assert_eq!(parse(bad), Err(octal(bad)), "{bad}");
        }
        for bad in ["x", "u", "u+x,", "u+x,,g+w", "uz+x", "+q", "-7", "u+x g"] {
            assert_eq!(parse(bad), Err("invalid syntax".to_owned()), "{bad}");
        }
    }
}
