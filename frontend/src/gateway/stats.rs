//! The frontend process's own cost, for `make bench`: with the build arg `STRATA_STATS=1`,
//! one line on stderr (BuildKit's daemon log) when the request is served. Read from
//! `/proc`: CPU time summed over the process's threads (`schedstat`, nanoseconds) and the
//! peak resident set (`VmHWM`).

use std::time::Instant;

/// Whether the request asked for the line (`--build-arg STRATA_STATS=1`).
pub(super) fn wanted(opts: &std::collections::BTreeMap<String, String>) -> bool {
    opts.get("build-arg:STRATA_STATS")
        .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
}

/// `strata: stats: wall_ms=… cpu_ms=… peak_rss_kb=…`; a figure `/proc` does not give
/// is `?`.
pub(super) fn line(started: Instant) -> String {
    let cpu = cpu_ns().map_or("?".to_owned(), |ns| format!("{:.1}", ns as f64 / 1e6));
    let rss = peak_rss_kb().map_or("?".to_owned(), |kb| kb.to_string());
    format!(
        "strata: stats: wall_ms={:.1} cpu_ms={cpu} peak_rss_kb={rss}",
        started.elapsed().as_secs_f64() * 1e3
    )
}

/// CPU time of every live thread of this process, in nanoseconds.
fn cpu_ns() -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let text = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// The peak resident set size, in KiB.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_line_has_every_figure() {
        let _busy: Vec<u64> = (0..100_000).collect();
        let line = line(Instant::now());
        assert!(line.starts_with("strata: stats: wall_ms="), "{line}");
        let cpu: f64 = line
            .split("cpu_ms=")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let rss: u64 = line.split("peak_rss_kb=").nth(1).unwrap().parse().unwrap();
        assert!(cpu > 0.0 && rss > 0, "{line}");
    }

    #[test]
    fn only_a_true_build_arg_asks_for_it() {
        let opts = |v: &str| [("build-arg:STRATA_STATS".to_owned(), v.to_owned())].into();
        assert!(wanted(&opts("1")));
        assert!(!wanted(&opts("0")));
        assert!(!wanted(&Default::default()));
    }
}
