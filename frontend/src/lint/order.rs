//! The order upstream's Dockerfile frontend reports findings in, for answers that must
//! equal its own byte for byte (`frontend.lint`'s `warnings` are in the order its linter
//! ran the checks; only the text printer sorts them). `strata lint` and build warnings
//! keep the positional order of [`super::Report::findings`].
//!
//! Upstream (`dockerfile2llb.toDispatchState`, docker/dockerfile 1.19–1.26) checks in
//! passes: the parser's empty continuation lines; then while parsing each instruction
//! (`MAINTAINER`, stage name casing, `as` casing, definition descriptions); stage names;
//! instruction casing; `FROM` with the global args' defaults; each stage's `FROM` variables
//! and `--platform`; base image platforms; then each stage's instructions in order, each
//! expanded first (`UndefinedVar`) and then dispatched (the other rules). Strata's own rules
//! come last.

use super::rules::*;
use super::Finding;

/// The pass of [`upstream_key`] in which upstream dispatches each stage's instructions.
pub const DISPATCH: u8 = 7;

/// The sort key that puts findings in upstream's order: (pass, instruction, rank within
/// it, position of the text at fault, rank at one position: an `EXPOSE` port's protocol
/// casing is checked before its format).
pub fn upstream_key(f: &Finding) -> (u8, u32, u8, u32, u8) {
    let r = f.rule.name;
    let is = |rule: &Rule| rule.name == r;
    let (pass, rank) = if is(&NO_EMPTY_CONTINUATION) {
        (0, 0)
    } else if is(&MAINTAINER_DEPRECATED) || is(&STAGE_NAME_CASING) {
        (1, 0)
    } else if is(&FROM_AS_CASING) {
        (1, 1)
    } else if is(&INVALID_DEFINITION_DESCRIPTION) {
        (1, 2)
    } else if is(&RESERVED_STAGE_NAME) {
        (2, 0)
    } else if is(&DUPLICATE_STAGE_NAME) {
        (2, 1)
    } else if is(&CONSISTENT_INSTRUCTION_CASING) {
        (3, 0)
    } else if is(&INVALID_DEFAULT_ARG_IN_FROM) {
        (4, 0)
    } else if is(&UNDEFINED_ARG_IN_FROM) {
        (5, 0)
    } else if is(&REDUNDANT_TARGET_PLATFORM) {
        (5, 1)
    } else if is(&FROM_PLATFORM_FLAG_CONST_DISALLOWED) {
        (5, 2)
    } else if is(&INVALID_BASE_IMAGE_PLATFORM) {
        (6, 0)
    } else if is(&UNDEFINED_VAR) {
        (7, 0)
    } else if is(&SECRETS_USED_IN_ARG_OR_ENV) && f.message.contains("(ARG ") {
        // `ARG` checks each key for secrets, then expands its default: by position.
        (7, 0)
    } else if is(&LEGACY_KEY_VALUE_FORMAT) {
        (7, 1)
    } else if is(&SECRETS_USED_IN_ARG_OR_ENV) {
        (7, 2)
    } else if is(&MULTIPLE_INSTRUCTIONS_DISALLOWED) {
        (7, 3)
    } else if is(&JSON_ARGS_RECOMMENDED) {
        (7, 4)
    } else if f.rule.url.is_some() {
        // The other dispatch checks (WORKDIR, EXPOSE, COPY/ADD sources).
        (7, 3)
    } else {
        (8, 0)
    };
    let tie = u8::from(is(&EXPOSE_INVALID_FORMAT));
    (pass, f.trigger, rank, f.at.start, tie)
}

/// Whether upstream checks `f` with the configuration of its instruction's `# check=`
/// comment: the parse-time rules, the `FROM` line rules and the dispatch pass do; the
/// passes over the whole file (empty continuation lines, stage names, casing, default
/// args, base image platforms) use the file's. Strata's own rules do (an extension).
pub fn uses_instruction_comments(f: &Finding) -> bool {
    matches!(upstream_key(f).0, 1 | 5 | DISPATCH | 8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Span;

    fn finding(rule: &'static Rule, message: &str, start: u32) -> Finding {
        let span = Span {
            start,
            end: start + 1,
        };
        Finding::new(rule, message, span, span)
    }

    #[test]
    fn passes_before_positions() {
        let later_casing = finding(&FROM_AS_CASING, "", 50);
        let earlier_var = finding(&UNDEFINED_VAR, "", 10);
        let own = finding(&UNREACHABLE_BLOCK, "", 0);
        assert!(upstream_key(&later_casing) < upstream_key(&earlier_var));
        assert!(upstream_key(&earlier_var) < upstream_key(&own));
        // ENV: expansion, then the legacy form, then secrets.
        let legacy = finding(&LEGACY_KEY_VALUE_FORMAT, "", 10);
        let secret = finding(&SECRETS_USED_IN_ARG_OR_ENV, "(ENV \"TOKEN\")", 10);
        assert!(upstream_key(&earlier_var) < upstream_key(&legacy));
        assert!(upstream_key(&legacy) < upstream_key(&secret));
        // MultipleInstructionsDisallowed is reported at the later instruction's turn.
        let mut multiple = finding(&MULTIPLE_INSTRUCTIONS_DISALLOWED, "", 5);
        multiple.trigger = 40;
        let json = finding(&JSON_ARGS_RECOMMENDED, "", 20);
        assert!(upstream_key(&json) < upstream_key(&multiple));
    }
}
