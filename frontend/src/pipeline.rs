//! The whole translation as two pure steps around image resolution:
//! [`prepare`] (parse → includes → IF/FOR → instructions → plan) and [`convert()`] (plan + base images → LLB).
//! [`prepare_stages`] is the first half without a plan, for the `frontend.targets` subrequest.
//! Both the gateway edge and the CLI call these, so they cannot drift apart.

use std::sync::Arc;

use crate::convert::{self, BaseImages, Converted, DepsFiles, Inputs};
use crate::error::{Error, Result};
use crate::includes::{self, Loader, Sources};
use crate::instructions::{self, Lowered};
use crate::options::BuildOptions;
use crate::plan::{self, Plan};
use crate::syntax::{Dockerfile, Instruction, Severity};
use crate::template;

/// A Dockerfile parsed, checked and planned; what remains is resolving its base images.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The Dockerfile and every file it includes, for errors and source maps.
    pub sources: Sources,
    /// Its escape character.
    pub escape: char,
    /// Its stages.
    pub lowered: Lowered,
    /// The stage graph for this build.
    pub plan: Plan,
    /// The file as parsed, `INCLUDE`s spliced in, before `IF`/`FOR`: lint reads it
    /// instead of parsing the text again.
    pub parsed: Arc<Dockerfile>,
    /// What each `IF`/`FOR` head evaluated to, for lint's block rules.
    pub facts: Vec<template::BlockFact>,
    /// The parameterised stage instance `--target` named, if it named one: the `plan`'s
    /// target then.
    pub instance: Option<String>,
}

/// Parses, lowers and plans `text` (the file called `filename`), which includes nothing.
pub fn prepare(text: &str, filename: &str, opts: &BuildOptions) -> Result<Prepared> {
    prepare_with(text, filename, opts, &includes::NoFiles).map_err(|(e, _)| e)
}

/// Parses `text`, splices in the files it `INCLUDE`s (read through `loader`), then lowers
/// and plans. A failure comes with the files read so far, so its span can be shown in the
/// right one.
pub fn prepare_with(
    text: &str,
    filename: &str,
    opts: &BuildOptions,
    loader: &dyn Loader,
) -> Result<Prepared, (Error, Sources)> {
    let (sources, file) = includes::expand(text, filename, loader);
    let planned = file.and_then(|mut file| {
        first_error(&file)?;
        let parsed = Arc::new(file.clone());
        let templates = templates(&file);
        let mut facts = Vec::new();
        let instance = template::expand_recording(&mut file, opts, &mut facts)?;
        let lowered = instructions::lower(&file)?;
        if instance.is_none() {
            template_target(opts, &templates, &lowered)?;
        }
        let plan = match &instance {
            // `--target 'build(GOOS=linux)'` builds that instance of the stage.
            Some(target) => {
                let mut opts = opts.clone();
                // `TARGETSTAGE` names the target as the user gave it, not the instance.
                if let Some(given) = opts.target.clone() {
                    opts.build_args
                        .entry("TARGETSTAGE".to_owned())
                        .or_insert(given);
                }
                opts.target = Some(target.clone());
                plan::plan(&lowered, &opts, file.escape)?
            }
            None => plan::plan(&lowered, opts, file.escape)?,
        };
        Ok((file.escape, lowered, plan, parsed, facts, instance))
    });
    match planned {
        Ok((escape, lowered, plan, parsed, facts, instance)) => Ok(Prepared {
            sources,
            escape,
            lowered,
            plan,
            parsed,
            facts,
            instance,
        }),
        Err(e) => Err((e, sources)),
    }
}

/// The parameterised stages of `file` (before templates are expanded): each one's name and
/// signature, for [`template_target`].
pub(crate) fn templates(file: &Dockerfile) -> Vec<(String, String)> {
    file.instructions
        .iter()
        .filter(|i| i.keyword == "from")
        .filter_map(template::signature)
        .collect()
}

/// `--target build` where `build` is a parameterised stage: no stage has that name, only
/// its instances, so the plan would say no more than "could not be found". Say how to name
/// an instance instead (`templates`: from [`templates`]). The build and lint both ask.
pub(crate) fn template_target(
    opts: &BuildOptions,
    templates: &[(String, String)],
    lowered: &Lowered,
) -> Result<()> {
    let Some(t) = opts.target.as_deref() else {
        return Ok(());
    };
    let Some((name, shown)) = templates.iter().find(|(n, _)| n.eq_ignore_ascii_case(t)) else {
        return Ok(());
    };
    let named =
        |s: &instructions::Stage| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(t));
    if lowered.stages.iter().any(named) {
        return Ok(());
    }
    let params = shown
        .strip_prefix(name.as_str())
        .and_then(|p| p.strip_prefix('('))
        .and_then(|p| p.strip_suffix(')'))
        .unwrap_or_default();
    let required: Vec<String> = params
        .split(", ")
        .filter(|p| !p.is_empty() && !p.contains('='))
        .map(|p| format!("{p}=…"))
        .collect();
    Err(Error::Input(format!(
        "target stage {t:?} could not be found: {shown} is a parameterised stage, build one of \
         its instances by naming its parameters, e.g. --target '{name}({})'",
        required.join(", ")
    )))
}

/// A Dockerfile read for `frontend.targets`: its stages, parameterised ones as defined.
#[derive(Clone, Debug)]
pub struct Staged {
    /// The Dockerfile and every file it includes.
    pub sources: Sources,
    /// Every `FROM` after `INCLUDE`, `IF` and `FOR`, in build order; a parameterised
    /// stage's definition appears as written, not its instances.
    pub froms: Vec<Instruction>,
    /// The stages a build without `--target` has (parameterised stages instantiated where
    /// referenced), checked like any build's.
    pub lowered: Lowered,
}

/// Reads `text` for `frontend.targets`: includes, `IF`/`FOR` and lowering as [`prepare_with`]
/// (so a file a build would reject is rejected here too), but no plan: the list of stages
/// does not depend on `--target`, which is ignored.
pub fn prepare_stages(
    text: &str,
    filename: &str,
    opts: &BuildOptions,
    loader: &dyn Loader,
) -> Result<Staged, (Error, Sources)> {
    let (sources, file) = includes::expand(text, filename, loader);
    let mut opts = opts.clone();
    opts.target = None;
    let staged = file.and_then(|mut file| {
        first_error(&file)?;
        let mut view = file.clone();
        template::resolve_blocks(&mut view, &opts)?;
        let froms = view
            .instructions
            .into_iter()
            .filter(|i| i.keyword == "from")
            .collect();
        template::expand(&mut file, &opts)?;
        Ok((froms, instructions::lower(&file)?))
    });
    match staged {
        Ok((froms, lowered)) => Ok(Staged {
            sources,
            froms,
            lowered,
        }),
        Err(e) => Err((e, sources)),
    }
}

/// The parser's first error, which upstream's parser would have failed with.
fn first_error(file: &Dockerfile) -> Result<()> {
    match file
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
    {
        Some(d) => Err(Error::at(d.span, d.message.clone())),
        None => Ok(()),
    }
}

/// Converts a prepared build once its base images are known. `COPY --deps` copies only
/// its named paths here: its libraries need the source's files ([`convert_with_deps`]).
pub fn convert(
    p: &Prepared,
    opts: &BuildOptions,
    images: &BaseImages,
    excludes: Vec<String>,
) -> Result<Converted> {
    convert_with_deps(p, opts, images, excludes, &DepsFiles::new(), false)
}

/// Converts a prepared build with the files of its `COPY --deps` instructions found so
/// far; `complete` says there are no others (then one without its files is an error).
pub fn convert_with_deps(
    p: &Prepared,
    opts: &BuildOptions,
    images: &BaseImages,
    excludes: Vec<String>,
    deps: &DepsFiles,
    complete: bool,
) -> Result<Converted> {
    // The plan learns the triggers of the images (a no-op when `resolve_images` did it).
    let mut plan = p.plan.clone();
    plan.add_image_triggers(
        &p.lowered,
        opts,
        p.escape,
        |r, pf| image_triggers(images, r, pf),
        &images.keys().cloned().collect(),
    )?;
    convert::convert(
        &p.lowered,
        &plan,
        &Inputs {
            sources: p.sources.clone(),
            escape: p.escape,
            opts,
            images,
            excludes,
            deps,
            deps_complete: complete,
        },
    )
}

/// `.dockerignore` patterns as BuildKit reads them: `#` comments and blank lines skipped,
/// `!` kept, paths cleaned, a leading `/` dropped.
/// Resolves the images `p` needs, then the ONBUILD triggers of those images: a trigger's
/// `--from` may make another stage (and its base image) needed, as upstream's resolve loop
/// finds. `p.plan` ends up knowing every trigger's reads.
pub async fn resolve_images<R: crate::resolve::ImageResolver>(
    resolver: &R,
    p: &mut Prepared,
    opts: &BuildOptions,
) -> Result<BaseImages> {
    let mut images = BaseImages::new();
    loop {
        crate::resolve::resolve_missing(resolver, &p.plan, &mut images).await?;
        let have = images.keys().cloned().collect();
        let more = p.plan.add_image_triggers(
            &p.lowered,
            opts,
            p.escape,
            |r, pf| image_triggers(&images, r, pf),
            &have,
        )?;
        if !more {
            return Ok(images);
        }
    }
}

/// The ONBUILD triggers of a resolved image.
fn image_triggers(
    images: &BaseImages,
    reference: &str,
    platform: &crate::platform::Platform,
) -> Option<Vec<String>> {
    images
        .get(&(reference.to_owned(), platform.clone()))
        .and_then(|b| b.config.config.on_build.clone())
}

pub fn dockerignore_patterns(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (neg, p) = match l.strip_prefix('!') {
                Some(rest) => ("!", rest),
                None => ("", l),
            };
            let cleaned = crate::convert::paths::clean(p);
            let cleaned = cleaned.strip_prefix('/').unwrap_or(&cleaned).to_owned();
            format!("{neg}{}", if cleaned.is_empty() { "." } else { &cleaned })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::dockerignore_patterns;

    #[test]
    fn reads_dockerignore_like_buildkit() {
        let p = dockerignore_patterns("# c\n\n  target/ \n!/keep//me\n/abs\n");
        assert_eq!(p, ["target", "!keep/me", "abs"]);
    }
}

#[cfg(test)]
mod target_stage_tests {
    #![allow(clippy::unwrap_used)]

    use super::prepare;
    use crate::options::BuildOptions;
    use crate::platform::Platform;

    fn target_stage(text: &str, target: Option<&str>) -> String {
        let mut opts = BuildOptions::new(Platform::linux_amd64());
        opts.target = target.map(str::to_owned);
        let p = prepare(text, "Dockerfile", &opts).unwrap();
        let (_, v) = p
            .plan
            .meta_args
            .iter()
            .find(|(k, _)| k == "TARGETSTAGE")
            .unwrap();
        v.clone()
    }

    /// `--target build` on a parameterised stage names the way to build an instance.
    #[test]
    fn a_template_as_target_hints_at_its_instances() {
        let mut opts = BuildOptions::new(Platform::linux_amd64());
        opts.target = Some("build".to_owned());
        let text = "FROM scratch AS build(GOOS, GOARCH=amd64)\nFROM scratch\nCOPY --from=build(GOOS=linux) / /\n";
        let e = prepare(text, "Dockerfile", &opts).unwrap_err();
        assert_eq!(
            e.to_string(),
            "target stage \"build\" could not be found: build(GOOS, GOARCH=amd64) is a \
             parameterised stage, build one of its instances by naming its parameters, e.g. \
             --target 'build(GOOS=…)'"
        );
        // Any other unknown target keeps the plain message.
        opts.target = Some("nosuch".to_owned());
        let e = prepare(text, "Dockerfile", &opts).unwrap_err();
        assert_eq!(e.to_string(), "target stage \"nosuch\" could not be found");
    }

    #[test]
    fn targetstage_is_the_target_as_given_else_the_last_stage_else_default() {
        let text = "FROM scratch AS a\nFROM scratch AS b\n";
        assert_eq!(target_stage(text, Some("a")), "a");
        assert_eq!(target_stage(text, None), "b");
        assert_eq!(target_stage("FROM scratch\n", None), "default");
        let params = "FROM scratch AS build(GOOS)\nFROM scratch\n";
        assert_eq!(
            target_stage(params, Some("build(GOOS=linux)")),
            "build(GOOS=linux)"
        );
    }
}
