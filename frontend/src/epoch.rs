//! `SOURCE_DATE_EPOCH`: reproducible image timestamps.
//!
//! BuildKit's Dockerfile frontend reads `SOURCE_DATE_EPOCH` (whole seconds since 1970, UTC)
//! from the build args or, since docker/dockerfile 1.26, a global `ARG` default and, when it
//! is set, writes that time as the image config's `created`, as the `created` of every
//! history entry the build adds (entries inherited from the base image keep theirs) and as
//! the mtime of the directories `WORKDIR` creates. The result's `source.date.epoch` metadata
//! hands it to the exporter (which clamps file times where it supports that): a build arg
//! reaches the exporter anyway, a global `ARG` only that way.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::image::Image;

/// The build arg that carries the epoch.
pub const BUILD_ARG: &str = "SOURCE_DATE_EPOCH";

/// The build's epoch in Unix seconds, as docker/dockerfile 1.26 finds it: the
/// `SOURCE_DATE_EPOCH` build arg when given (empty: none), else the global `ARG`'s value
/// (`meta_args`, where a build arg already overrode the default) when not empty. `None`
/// when neither is set.
///
/// Upstream 1.26 also accepts `context`, a named context or a source-only stage as the value
/// (the time is then read from that source's metadata); Strata takes whole seconds only and
/// says so rather than building with another time.
pub fn resolve(
    build_args: &BTreeMap<String, String>,
    meta_args: &[(String, String)],
) -> Result<Option<i64>> {
    let value = match build_args.get(BUILD_ARG) {
        Some(v) => v.as_str(),
        None => meta_args
            .iter()
            .rev()
            .find(|(k, _)| k == BUILD_ARG)
            .map_or("", |(_, v)| v.as_str()),
    };
    if value.is_empty() {
        return Ok(None);
    }
    value.parse::<i64>().map(Some).map_err(|_| {
        Error::Input(format!(
            "invalid {BUILD_ARG}: {value} (Strata takes a number of seconds; reading the time from the context, a named context or a stage is not supported)"
        ))
    })
}

/// The epoch from the build args as an RFC 3339 UTC time (Go's `time.Time` JSON form);
/// `None` when the arg is absent or empty.
#[cfg(test)]
fn from_build_args(args: &BTreeMap<String, String>) -> Result<Option<String>> {
    Ok(resolve(args, &[])?.map(rfc3339))
}

/// Stamps `created` on the image and on the history entries after the first
/// `inherited` (those the base image brought along).
pub fn stamp(image: &mut Image, inherited: usize, time: &str) {
    image.created = Some(time.to_owned());
    for h in image.history.iter_mut().skip(inherited) {
        h.created = Some(time.to_owned());
    }
}

/// `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → proleptic Gregorian (year, month, day), using 400-year eras.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn reads_the_build_arg() {
        let mut args = BTreeMap::new();
        assert_eq!(from_build_args(&args).ok(), Some(None));
        args.insert(BUILD_ARG.to_owned(), String::new());
        assert_eq!(from_build_args(&args).ok(), Some(None));
        args.insert(BUILD_ARG.to_owned(), "86400".to_owned());
        assert_eq!(
            from_build_args(&args).ok().flatten().as_deref(),
            Some("1970-01-02T00:00:00Z")
        );
        args.insert(BUILD_ARG.to_owned(), "yesterday".to_owned());
        assert!(from_build_args(&args).is_err());
    }
}
