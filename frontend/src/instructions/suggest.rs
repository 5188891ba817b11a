//! "Did you mean …?" for misspelt keywords.

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo
/// (fewer than 3 edits, as BuildKit suggests).
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&word, c), *c))
        .filter(|(d, _)| *d > 0 && *d < 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance in chars (what "did you mean" suggestions are measured by).
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_near_misses_only() {
        let kws = ["run", "copy", "from", "workdir"];
        assert_eq!(closest("RUNN", &kws), Some("run"));
        assert_eq!(closest("cpoy", &kws), Some("copy"));
        assert_eq!(closest("workdri", &kws), Some("workdir"));
        assert_eq!(closest("banana", &kws), None);
    }
}
