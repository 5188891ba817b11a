//! The frontend process's own cost, for `make bench`: with the build arg `STRATA_STATS=1`,
//! one line on stderr (BuildKit's daemon log) when the request is served. Read from
//! `/proc`: CPU time summed over the process's threads (`schedstat`, nanoseconds) and the
//! peak resident set (`VmHWM`).
//!
//! The main thread's CPU time does not start at zero: a container's process is the task
//! the runtime's init (`runc init`, Go, ~20 ms of CPU on the test bed) ran in before it
//! exec'd us, and `schedstat` counts across `execve`. So [`ProcessStart`] reads it first
//! thing in `main`, and the line reports what was spent after that, and the inherited part
//! on its own.

use std::time::Instant;

/// When the frontend process began, for its cost line: taken first thing in `main`.
#[derive(Clone, Copy, Debug)]
pub struct ProcessStart {
    at: Instant,
    /// The main thread's CPU time inherited from before `main` (the container runtime's
    /// init in the same task, and our `execve`), in nanoseconds.
    inherited_cpu_ns: Option<u64>,
}

impl ProcessStart {
    /// Now, with the CPU time this thread has already used.
    pub fn now() -> ProcessStart {
        ProcessStart {
            at: Instant::now(),
            inherited_cpu_ns: thread_cpu_ns(),
        }
    }
}

/// Whether the request asked for the line (`--build-arg STRATA_STATS=1`).
pub(super) fn wanted(opts: &std::collections::BTreeMap<String, String>) -> bool {
    opts.get("build-arg:STRATA_STATS")
        .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
}

/// `strata: stats: wall_ms=… cpu_ms=… inherited_cpu_ms=… peak_rss_kb=…`, all since
/// `started` but the inherited CPU time; a figure `/proc` does not give is `?`.
pub(super) fn line(started: ProcessStart) -> String {
    let ms = |ns: u64| format!("{:.1}", ns as f64 / 1e6);
    let cpu = cpu_ns()
        .zip(started.inherited_cpu_ns)
        .map_or("?".to_owned(), |(all, before)| {
            ms(all.saturating_sub(before))
        });
    let inherited = started.inherited_cpu_ns.map_or("?".to_owned(), ms);
    let rss = peak_rss_kb().map_or("?".to_owned(), |kb| kb.to_string());
    format!(
        "strata: stats: wall_ms={:.1} cpu_ms={cpu} inherited_cpu_ms={inherited} peak_rss_kb={rss}",
        started.at.elapsed().as_secs_f64() * 1e3
    )
}

/// The calling thread's CPU time, in nanoseconds.
fn thread_cpu_ns() -> Option<u64> {
    schedstat_ns(std::path::Path::new("/proc/thread-self/schedstat"))
}

/// The first field of a `schedstat` file: time on a CPU, in nanoseconds.
fn schedstat_ns(path: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// CPU time of every live thread of this process, in nanoseconds.
fn cpu_ns() -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        total += schedstat_ns(&task.ok()?.path().join("schedstat"))?;
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
        let start = ProcessStart::now();
        let busy: u64 = (0..3_000_000u64).map(std::hint::black_box).sum();
        assert!(busy > 0);
        let line = line(start);
        assert!(line.starts_with("strata: stats: wall_ms="), "{line}");
        let field = |key: &str| -> f64 {
            let after = line.split(&format!(" {key}=")).nth(1).unwrap();
            after.split(' ').next().unwrap().parse().unwrap()
        };
        let (cpu, inherited, rss) = (
            field("cpu_ms"),
            field("inherited_cpu_ms"),
            field("peak_rss_kb"),
        );
        assert!(cpu > 0.0 && inherited >= 0.0 && rss > 0.0, "{line}");
    }

    #[test]
    fn only_a_true_build_arg_asks_for_it() {
        let opts = |v: &str| [("build-arg:STRATA_STATS".to_owned(), v.to_owned())].into();
        assert!(wanted(&opts("1")));
        assert!(!wanted(&opts("0")));
        assert!(!wanted(&Default::default()));
    }
}
