//! The stage library: Dockerfile fragments a platform team ships inside its frontend image
//! (`/usr/share/strata/lib/`), which any Dockerfile built with that image can
//! `INCLUDE @name`. They come from the frontend's own filesystem, never from the user's
//! build context, so they are versioned with the frontend image.
//!
//! [`WithLibrary`] is the [`Loader`] edge for them: it reads `@` paths from the library
//! directory and hands every other path to the loader of the user's files.

use std::path::Path;

use crate::includes::Loader;

/// Where the frontend image carries its stage library.
pub const LIBRARY_DIR: &str = "/usr/share/strata/lib";

/// A loader that reads `@name` from the stage library at `dir` and everything else
/// through `files`.
pub struct WithLibrary<'a, L: Loader + ?Sized> {
    /// The library directory.
    pub dir: &'a Path,
    /// The loader of the user's own included files.
    pub files: &'a L,
}

impl<L: Loader + ?Sized> Loader for WithLibrary<'_, L> {
    fn load(&self, path: &str) -> Result<String, String> {
        match path.strip_prefix('@') {
            Some(name) => read(self.dir, name),
            None => self.files.load(path),
        }
    }
}

/// `name` in the library, else `name.Dockerfile`: `@go-service` finds `go-service` or
/// `go-service.Dockerfile`. (`includes` has already kept `name` inside the library.)
fn read(dir: &Path, name: &str) -> Result<String, String> {
    let mut candidates = vec![name.to_owned()];
    if !name.ends_with(".Dockerfile") {
        candidates.push(format!("{name}.Dockerfile"));
    }
    for candidate in &candidates {
        let path = dir.join(candidate);
        match std::fs::read(&path) {
            Ok(bytes) => return Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Err(format!(
        "the stage library {} has no {}",
        dir.display(),
        candidates.join(" or ")
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::includes::{expand, NoFiles};

    #[test]
    fn reads_library_names_with_or_without_the_suffix_and_user_files_elsewhere() {
        let dir = std::env::temp_dir().join(format!("strata-lib-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("py")).unwrap();
        std::fs::write(dir.join("go-service.Dockerfile"), "RUN go\n").unwrap();
        std::fs::write(dir.join("py/app"), "RUN py\n").unwrap();
        let user: BTreeMap<String, String> =
            [("local.df".to_owned(), "RUN local\n".to_owned())].into();
        let loader = WithLibrary {
            dir: &dir,
            files: &user,
        };
        assert_eq!(loader.load("@go-service").unwrap(), "RUN go\n");
        assert_eq!(loader.load("@go-service.Dockerfile").unwrap(), "RUN go\n");
        assert_eq!(loader.load("@py/app").unwrap(), "RUN py\n");
        assert_eq!(loader.load("local.df").unwrap(), "RUN local\n");
        // A library name is never looked for among the user's files, nor the reverse.
        assert!(loader.load("go-service.Dockerfile").is_err());
        let e = loader.load("@local.df").unwrap_err();
        assert_eq!(
            e,
            format!(
                "the stage library {} has no local.df or local.df.Dockerfile",
                dir.display()
            )
        );
        let (sources, r) = expand(
            "FROM x\nINCLUDE @go-service\nINCLUDE local.df\n",
            "Dockerfile",
            &loader,
        );
        assert_eq!(r.unwrap().instructions.len(), 3);
        assert_eq!(sources.files().nth(1).unwrap().filename, "@go-service");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_library_names_the_directory() {
        let loader = WithLibrary {
            dir: Path::new("/nonexistent/strata-lib"),
            files: &NoFiles,
        };
        let (_, r) = expand("FROM x\nINCLUDE @base\n", "Dockerfile", &loader);
        assert_eq!(
            r.unwrap_err().to_string(),
            "INCLUDE @base: cannot read the file: the stage library /nonexistent/strata-lib has no base or base.Dockerfile"
        );
    }
}
