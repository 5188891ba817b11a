//! The ARG/ENV scope rules that the walks over a stage's instructions share: the order of
//! a stage's environment ([`Vars`]), the value a stage `ARG` gets ([`stage_arg`]) and the
//! names that never reach the environment ([`NON_ENV_ARGS`]).
//!
//! Four walks follow the stages with the variables each point sees, each for its own
//! output: `convert` (the build itself: the environment of `RUN` and the words it
//! expands), `lint` (`UndefinedVar` and the words its rules read), the outline subrequest
//! (which `ARG`s a target uses) and the template layer (the values `IF`/`FOR` see). They
//! start from different places (a base image's `ENV` or the Dockerfile alone) and differ
//! in what they report; the rules here are the ones they must agree on, as docker/dockerfile
//! 1.26's `dispatchArg`/`dispatchEnv` apply them (a stage built on a stage starts from
//! its environment, `ARG` values included). The global scope (platform args,
//! `TARGETSTAGE`, global `ARG`s) is computed once by the plan (`Plan::meta_args`); the
//! template layer, which runs before there is a plan, follows the same rule for it.

use crate::expand::Env;
use crate::options::BuildOptions;

/// Build args that configure BuildKit's SBOM scanning: an `ARG` of these names is declared
/// (it is no undefined variable) but its value never reaches the environment.
pub(crate) const NON_ENV_ARGS: &[&str] =
    &["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"];

/// Whether an `ARG` of this name puts its value in the environment.
pub(crate) fn is_env_arg(name: &str) -> bool {
    !NON_ENV_ARGS.contains(&name)
}

/// A stage's environment as BuildKit keeps it: an ordered list in which setting a name
/// again moves it to the end (so `RUN` sees the variables in the order they were last
/// set), and a name has one value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Vars(Vec<(String, String)>);

impl Vars {
    /// Sets `key` to `value`, moving it to the end.
    pub(crate) fn set(&mut self, key: &str, value: &str) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value.to_owned()));
    }

    /// Whether `key` is set (possibly to the empty string).
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// The variables in order.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, (String, String)> {
        self.0.iter()
    }
}

/// Each pair set in order: a repeated name keeps its last value, at its last place.
impl FromIterator<(String, String)> for Vars {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut vars = Vars::default();
        for (k, v) in pairs {
            vars.set(&k, &v);
        }
        vars
    }
}

impl Env for Vars {
    fn get(&self, name: &str) -> Option<&str> {
        Env::get(self.0.as_slice(), name)
    }
}

/// Where a stage `ARG`'s value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArgOrigin {
    /// A build arg of that name (taken as given, not expanded).
    BuildArg,
    /// The declaration's default.
    Default,
    /// Neither: the global (or predefined) `ARG` of that name, if there is one.
    Global,
}

/// The value a stage's `ARG NAME[=default]` gets, as `dispatchArg` gives it: a build arg
/// of that name, else the default as `expand` computes it (against the stage's
/// environment, which the caller keeps), else the value the global scope `globals` has
/// for it. `None` when none of them sets it (or `expand` gives no value).
pub(crate) fn stage_arg<W, E>(
    opts: &BuildOptions,
    name: &str,
    default: Option<W>,
    expand: impl FnOnce(W) -> Result<Option<String>, E>,
    globals: &[(String, String)],
) -> Result<(Option<String>, ArgOrigin), E> {
    Ok(match (opts.build_args.get(name), default) {
        (Some(v), _) => (Some(v.clone()), ArgOrigin::BuildArg),
        (None, Some(d)) => (expand(d)?, ArgOrigin::Default),
        (None, None) => (
            Env::get(globals, name).map(str::to_owned),
            ArgOrigin::Global,
        ),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn setting_a_name_again_moves_it_to_the_end() {
        let mut v = Vars::default();
        v.set("A", "1");
        v.set("B", "2");
        v.set("A", "3");
        let order: Vec<_> = v.iter().map(|(k, x)| format!("{k}={x}")).collect();
        assert_eq!(order, ["B=2", "A=3"]);
        assert_eq!(Env::get(&v, "A"), Some("3"));
        assert!(is_env_arg("A") && !is_env_arg("BUILDKIT_SBOM_SCAN_STAGE"));
    }

    #[test]
    fn a_build_arg_wins_then_the_default_then_the_global() {
        let mut opts = BuildOptions::new(crate::platform::Platform::linux_amd64());
        opts.build_args.insert("GIVEN".into(), "cli".into());
        let globals = vec![
            ("GIVEN".to_owned(), "g".to_owned()),
            ("G".to_owned(), "old".to_owned()),
            ("G".to_owned(), "global".to_owned()),
        ];
        let expand = |d: &str| Ok::<_, ()>(Some(format!("<{d}>")));
        let arg = |name, default| stage_arg(&opts, name, default, expand, &globals).unwrap();
        assert_eq!(
            arg("GIVEN", Some("d")),
            (Some("cli".into()), ArgOrigin::BuildArg)
        );
        assert_eq!(
            arg("G", Some("d")),
            (Some("<d>".into()), ArgOrigin::Default)
        );
        assert_eq!(arg("G", None), (Some("global".into()), ArgOrigin::Global));
        assert_eq!(arg("NONE", None), (None, ArgOrigin::Global));
        // A default that gives no value does not fall back to the global.
        let none = stage_arg(&opts, "G", Some("d"), |_| Ok::<_, ()>(None), &globals);
        assert_eq!(none, Ok((None, ArgOrigin::Default)));
        assert_eq!(
            stage_arg(&opts, "G", Some("d"), |_| Err("bad"), &globals),
            Err("bad")
        );
    }
}
