//! Platforms (`os/arch[/variant]`): parsing, formatting, and the `TARGET*`/`BUILD*` args.

use std::fmt;

/// An OS/architecture pair, as `--platform` and image configs name it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    /// `linux`, `windows`, …
    pub os: String,
    /// `amd64`, `arm64`, …
    pub architecture: String,
    /// `v7` for `arm/v7`; empty when none.
    pub variant: String,
}

impl Platform {
    /// The platform the test bed and most CI runners have.
    pub fn linux_amd64() -> Platform {
        Platform {
            os: "linux".to_owned(),
            architecture: "amd64".to_owned(),
            variant: String::new(),
        }
    }

    /// Parses `os/arch[/variant]`, normalising common aliases (`x86_64`, `aarch64`).
    pub fn parse(s: &str) -> Option<Platform> {
        let parts: Vec<&str> = s.split('/').map(str::trim).collect();
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, ""),
            [os, arch, variant] => (*os, *arch, *variant),
            _ => return None,
        };
        if os.is_empty() || arch.is_empty() {
            return None;
        }
        let (arch, variant) = match (arch.to_ascii_lowercase().as_str(), variant) {
            ("x86_64" | "x86-64", v) => ("amd64".to_owned(), v.to_owned()),
            ("aarch64", v) => ("arm64".to_owned(), v.to_owned()),
            ("arm64", "v8") => ("arm64".to_owned(), String::new()),
            ("armhf", _) => ("arm".to_owned(), "v7".to_owned()),
            ("armel", _) => ("arm".to_owned(), "v6".to_owned()),
            ("arm", "") => ("arm".to_owned(), "v7".to_owned()),
            (a, v) => (a.to_owned(), v.to_owned()),
        };
        Some(Platform {
            os: os.to_ascii_lowercase(),
            architecture: arch,
            variant,
        })
    }

    /// The LLB form of this platform.
    pub fn to_pb(&self) -> strata_proto::pb::Platform {
        strata_proto::pb::Platform {
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: self.variant.clone(),
            ..Default::default()
        }
    }

    /// From the LLB form (worker platforms).
    pub fn from_pb(p: &strata_proto::pb::Platform) -> Platform {
        Platform {
            os: p.os.clone(),
            architecture: p.architecture.clone(),
            variant: p.variant.clone(),
        }
    }

    /// The predefined args for this platform with `prefix` `TARGET` or `BUILD`, in the
    /// order BuildKit defines them.
    pub fn args(&self, prefix: &str) -> Vec<(String, String)> {
        vec![
            (format!("{prefix}PLATFORM"), self.to_string()),
            (format!("{prefix}OS"), self.os.clone()),
            (format!("{prefix}ARCH"), self.architecture.clone()),
            (format!("{prefix}VARIANT"), self.variant.clone()),
        ]
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Platform;

    #[test]
    fn parses_and_normalises() {
        assert_eq!(
            Platform::parse("linux/amd64").unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(
            Platform::parse("linux/x86_64").unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(
            Platform::parse("linux/arm").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap().to_string(),
            "linux/arm64"
        );
        assert!(Platform::parse("linux").is_none());
        assert!(Platform::parse("/amd64").is_none());
    }
}
