//! The rule catalogue. Upstream BuildKit's rules keep upstream's names, descriptions, URLs
//! and message texts (`frontend/dockerfile/linter/ruleset.go`), so findings read the same
//! as `docker build --check`; Strata's own rules have no upstream page (`url: None`).
//! Upstream's rules are those of docker/dockerfile 1.26 (`linter/ruleset.go` at
//! `dockerfile/1.26.0`): 22, in upstream's order, one of them experimental.

/// One lint rule: what `# check=skip=` names and what a finding says it broke.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// The name (`JSONArgsRecommended`), as `# check=skip=` and BuildKit's warnings use it.
    pub name: &'static str,
    /// What the rule asks for in one sentence (BuildKit sends it as the warning's detail).
    pub description: &'static str,
    /// The rule's documentation page, for upstream rules (upstream gives
    /// `InvalidBaseImagePlatform` none).
    pub url: Option<&'static str>,
    /// Upstream marks it experimental: it runs only when `# check=experimental=<name>` or
    /// `experimental=all` asks for it, and `skip=` does not apply to it (as upstream's
    /// `Linter.Run`).
    pub experimental: bool,
}

macro_rules! rules {
    ($($id:ident = $name:literal, $desc:literal, $url:expr $(, $exp:ident)?;)*) => {
        $(
            #[doc = $desc]
            pub static $id: Rule = Rule {
                name: $name,
                description: $desc,
                url: $url,
                experimental: rules!(@exp $($exp)?),
            };
        )*
        /// Every rule, upstream's first, in a stable order.
        pub static ALL: &[&Rule] = &[$(&$id),*];
    };
    (@exp experimental) => { true };
    (@exp) => { false };
}

const fn doc(page: &'static str) -> Option<&'static str> {
    Some(page)
}

rules! {
    STAGE_NAME_CASING = "StageNameCasing", "Stage names should be lowercase",
        doc("https://docs.docker.com/go/dockerfile/rule/stage-name-casing/");
    FROM_AS_CASING = "FromAsCasing", "The 'as' keyword should match the case of the 'from' keyword",
        doc("https://docs.docker.com/go/dockerfile/rule/from-as-casing/");
    NO_EMPTY_CONTINUATION = "NoEmptyContinuation", "Empty continuation lines will become errors in a future release",
        doc("https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/");
    CONSISTENT_INSTRUCTION_CASING = "ConsistentInstructionCasing", "All commands within the Dockerfile should use the same casing (either upper or lower)",
        doc("https://docs.docker.com/go/dockerfile/rule/consistent-instruction-casing/");
    DUPLICATE_STAGE_NAME = "DuplicateStageName", "Stage names should be unique",
        doc("https://docs.docker.com/go/dockerfile/rule/duplicate-stage-name/");
    RESERVED_STAGE_NAME = "ReservedStageName", "Reserved words should not be used as stage names",
        doc("https://docs.docker.com/go/dockerfile/rule/reserved-stage-name/");
    JSON_ARGS_RECOMMENDED = "JSONArgsRecommended", "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
        doc("https://docs.docker.com/go/dockerfile/rule/json-args-recommended/");
    MAINTAINER_DEPRECATED = "MaintainerDeprecated", "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
        doc("https://docs.docker.com/go/dockerfile/rule/maintainer-deprecated/");
    UNDEFINED_ARG_IN_FROM = "UndefinedArgInFrom", "FROM command must use declared ARGs",
        doc("https://docs.docker.com/go/dockerfile/rule/undefined-arg-in-from/");
    WORKDIR_RELATIVE_PATH = "WorkdirRelativePath", "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes",
        doc("https://docs.docker.com/go/dockerfile/rule/workdir-relative-path/");
    UNDEFINED_VAR = "UndefinedVar", "Variables should be defined before their use",
        doc("https://docs.docker.com/go/dockerfile/rule/undefined-var/");
    MULTIPLE_INSTRUCTIONS_DISALLOWED = "MultipleInstructionsDisallowed", "Multiple instructions of the same type should not be used in the same stage",
        doc("https://docs.docker.com/go/dockerfile/rule/multiple-instructions-disallowed/");
    LEGACY_KEY_VALUE_FORMAT = "LegacyKeyValueFormat", "Legacy key/value format with whitespace separator should not be used",
        doc("https://docs.docker.com/go/dockerfile/rule/legacy-key-value-format/");
    INVALID_BASE_IMAGE_PLATFORM = "InvalidBaseImagePlatform", "Base image platform does not match expected target platform",
        None;
    REDUNDANT_TARGET_PLATFORM = "RedundantTargetPlatform", "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
        doc("https://docs.docker.com/go/dockerfile/rule/redundant-target-platform/");
    SECRETS_USED_IN_ARG_OR_ENV = "SecretsUsedInArgOrEnv", "Sensitive data should not be used in the ARG or ENV commands",
        doc("https://docs.docker.com/go/dockerfile/rule/secrets-used-in-arg-or-env/");
    INVALID_DEFAULT_ARG_IN_FROM = "InvalidDefaultArgInFrom", "Default value for global ARG results in an empty or invalid base image name",
        doc("https://docs.docker.com/go/dockerfile/rule/invalid-default-arg-in-from/");
    FROM_PLATFORM_FLAG_CONST_DISALLOWED = "FromPlatformFlagConstDisallowed", "FROM --platform flag should not use a constant value",
        doc("https://docs.docker.com/go/dockerfile/rule/from-platform-flag-const-disallowed/");
    COPY_IGNORED_FILE = "CopyIgnoredFile", "Attempting to Copy file that is excluded by .dockerignore",
        doc("https://docs.docker.com/go/dockerfile/rule/copy-ignored-file/");
    INVALID_DEFINITION_DESCRIPTION = "InvalidDefinitionDescription", "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.",
        doc("https://docs.docker.com/go/dockerfile/rule/invalid-definition-description/"), experimental;
    EXPOSE_PROTO_CASING = "ExposeProtoCasing", "Protocol in EXPOSE instruction should be lowercase",
        doc("https://docs.docker.com/go/dockerfile/rule/expose-proto-casing/");
    EXPOSE_INVALID_FORMAT = "ExposeInvalidFormat", "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release",
        doc("https://docs.docker.com/go/dockerfile/rule/expose-invalid-format/");
    UNREACHABLE_BLOCK = "UnreachableBlock", "An IF, ELSE IF or ELSE arm should be taken by some build: its condition should not be false whatever the build args and platform",
        None;
    EMPTY_BLOCK = "EmptyBlock", "An IF, ELSE or FOR block should contain instructions, and a FOR list should not be always empty",
        None;
    UNUSED_INCLUDE = "UnusedInclude", "The stages an INCLUDE defines should be used by the build",
        None;
    CMD_TOOL_NOT_INSTALLED = "CmdToolNotInstalled", "The executable the final image starts with should be installed or copied by the Dockerfile when the base image lacks it",
        None;
}

/// The rule called `name` (exact, as `# check=skip=` compares).
pub fn by_name(name: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for r in ALL {
            assert_eq!(by_name(r.name), Some(*r));
            assert_eq!(ALL.iter().filter(|o| o.name == r.name).count(), 1);
        }
        assert_eq!(by_name("jsonargsrecommended"), None);
        let upstream = ALL.iter().filter(|r| r.url.is_some()).count();
        // Every upstream rule has a page but InvalidBaseImagePlatform.
        assert_eq!(upstream + 1, 22);
        let experimental: Vec<&str> = ALL
            .iter()
            .filter(|r| r.experimental)
            .map(|r| r.name)
            .collect();
        assert_eq!(experimental, ["InvalidDefinitionDescription"]);
    }
}
