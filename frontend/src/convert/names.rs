//! Progress names: `[stage-1 2/5] RUN make`, numbered and padded as BuildKit numbers them.

/// Numbering state for one stage's steps.
#[derive(Clone, Debug)]
pub struct StepNames {
    platform: Option<String>,
    label: String,
    index: usize,
    total: usize,
    onbuild: bool,
}

impl StepNames {
    /// Steps of a stage called `label` (empty when the build has one stage) with `total`
    /// numbered steps (FROM an image, RUN, COPY, ADD, WORKDIR).
    pub fn new(label: String, total: usize) -> StepNames {
        StepNames {
            platform: None,
            label,
            index: 0,
            total,
            onbuild: false,
        }
    }

    /// Counts `n` more steps: a stage's ONBUILD triggers are numbered like its own
    /// instructions (docker/dockerfile 1.19+).
    pub fn add_total(&mut self, n: usize) {
        self.total += n;
    }

    /// Steps named while set are an ONBUILD trigger's: `[2/3] ONBUILD COPY …`.
    pub fn set_onbuild(&mut self, on: bool) {
        self.onbuild = on;
    }

    /// Names carry `platform` first, as in a multi-platform build (`[linux/arm64 2/3] …`).
    pub fn set_platform(&mut self, platform: String) {
        self.platform = Some(platform);
    }

    /// The stage label (empty when the build has one stage).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Counts a step that shows no numbered name of its own (`FROM` a named context).
    pub fn skip(&mut self) {
        self.index += 1;
    }

    /// The next step's name for `text`.
    pub fn next(&mut self, text: &str) -> String {
        self.index += 1;
        self.current(text)
    }

    /// The current step's name for `text` again (a step made of two ops: `LINK COPY`).
    pub fn current(&self, text: &str) -> String {
        use std::fmt::Write as _;
        if self.total == 0 {
            return text.to_owned();
        }
        // One allocation: a step is named per op, thousands of times in a large build.
        let platform = self.platform.as_deref().map_or(0, |p| p.len() + 1);
        let mut name = String::with_capacity(
            platform + self.label.len() + text.len() + 2 * digits(self.total) + 13,
        );
        name.push('[');
        if let Some(p) = &self.platform {
            name.push_str(p);
            name.push(' ');
        }
        if !self.label.is_empty() {
            name.push_str(&self.label);
            name.push(' ');
        }
        let width = digits(self.total);
        // Writing to a String cannot fail.
        let _ = write!(name, "{:>width$}/{}] ", self.index, self.total);
        if self.onbuild {
            name.push_str("ONBUILD ");
        }
        name.push_str(text);
        name
    }
}

/// How many decimal digits `n` has.
fn digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Upper-cases the instruction keyword of an original line (`run x` → `RUN x`).
pub fn uppercase_cmd(text: &str) -> String {
    let text = text.trim();
    match text.split_once(char::is_whitespace) {
        Some((kw, rest)) => format!("{} {}", kw.to_uppercase(), rest),
        None => text.to_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_pads() {
        let mut n = StepNames::new("build".into(), 12);
        assert_eq!(n.next("FROM x"), "[build  1/12] FROM x");
        let mut n = StepNames::new(String::new(), 3);
        assert_eq!(n.next("RUN y"), "[1/3] RUN y");
        let mut n = StepNames::new(String::new(), 0);
        assert_eq!(n.next("FROM z"), "FROM z");
        let mut n = StepNames::new("build".into(), 2);
        n.set_platform("linux/arm64".into());
        assert_eq!(n.next("RUN y"), "[linux/arm64 build 1/2] RUN y");
        assert_eq!(uppercase_cmd("  run   echo a"), "RUN   echo a");
        let mut n = StepNames::new("s".into(), 1000);
        n.set_onbuild(true);
        assert_eq!(n.next("COPY a b"), "[s    1/1000] ONBUILD COPY a b");
    }

    #[test]
    fn digits_are_the_decimal_width() {
        for n in [0, 1, 9, 10, 99, 100, 999, 1000, 12345, usize::MAX] {
            assert_eq!(digits(n), n.to_string().len(), "{n}");
        }
    }
}
