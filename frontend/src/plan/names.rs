//! [`StageNames`]: the stages' names, indexed once, so that every `FROM`, `COPY --from`,
//! `RUN --mount=from=` and `--target` lookup costs the same at 10 stages as at 10,000 (a
//! scan of all names per lookup made a 5,000-stage fan-in quadratic).

use std::collections::HashMap;

/// The stages' names (stored lower-cased, as the parser keeps them), by position, with an
/// index by ASCII-lower-cased name. Duplicate names are allowed; lookups find the last.
pub(crate) struct StageNames<'a> {
    names: Vec<Option<&'a str>>,
    /// ASCII-lower-cased name -> the positions that have it, ascending.
    index: HashMap<String, Vec<usize>>,
}

impl<'a> StageNames<'a> {
    /// Indexes `names`, one per stage in order (`None` for an unnamed stage).
    pub(crate) fn new(names: Vec<Option<&'a str>>) -> StageNames<'a> {
        let mut index: HashMap<String, Vec<usize>> = HashMap::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            if let Some(n) = name {
                index.entry(n.to_ascii_lowercase()).or_default().push(i);
            }
        }
        StageNames { names, index }
    }

    /// Stage `i`'s name.
    pub(crate) fn name(&self, i: usize) -> Option<&'a str> {
        self.names.get(i).copied().flatten()
    }

    /// The last stage named `name`, ignoring ASCII case (`COPY --from`, `--target`): every
    /// position under the ASCII-lower-cased key is such a stage.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.positions(name)?.last().copied()
    }

    /// The last stage before `before` named exactly `name` (`FROM <stage>`).
    pub(crate) fn find_exact_before(&self, name: &str, before: usize) -> Option<usize> {
        let positions = self.positions(name)?;
        let end = positions.partition_point(|&j| j < before);
        positions[..end]
            .iter()
            .rev()
            .copied()
            .find(|&j| self.names[j] == Some(name))
    }

    fn positions(&self, name: &str) -> Option<&Vec<usize>> {
        self.index.get(&name.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_find_the_last_match() {
        let names = StageNames::new(vec![Some("a"), None, Some("b"), Some("a"), Some("é")]);
        assert_eq!(names.find("A"), Some(3));
        assert_eq!(names.find("b"), Some(2));
        assert_eq!(names.find("c"), None);
        assert_eq!(names.find("é"), Some(4));
        assert_eq!(names.find("É"), None, "only ASCII case is ignored");
        assert_eq!(names.find_exact_before("a", 3), Some(0));
        assert_eq!(names.find_exact_before("a", 4), Some(3));
        assert_eq!(names.find_exact_before("a", 0), None);
        assert_eq!(names.find_exact_before("A", 4), None, "FROM is exact");
        assert_eq!(names.name(1), None);
        assert_eq!(names.name(2), Some("b"));
    }
}
