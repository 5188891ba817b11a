//! Any bytes through parse → includes → IF/FOR/parameterised stages → instructions → plan
//! → convert → marshal: a result, or an error that points into the input. Never a panic.
//! `COPY --deps` instructions are converted twice, as the gateway edge does: first
//! without their files, then with (made-up) files for every one of them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata::convert::DepsFiles;
use strata::deps::DepFile;
use strata::options::BuildOptions;
use strata::platform::Platform;
use strata::{pipeline, resolve, syntax};

fuzz_target!(|data: &[u8]| {
    let file = syntax::parse_bytes(data);
    let text = String::from_utf8_lossy(data);
    for ins in &file.instructions {
        assert!(ins.span.start <= ins.span.end);
    }
    let opts = BuildOptions::new(Platform::linux_amd64());
    let outcome = pipeline::prepare(&text, "Dockerfile", &opts).and_then(|p| {
        let images = resolve::offline_images(&p.plan);
        let first = pipeline::convert(&p, &opts, &images, Vec::new())?;
        if first.deps_requests.is_empty() {
            return Ok(first);
        }
        let files: DepsFiles = first
            .deps_requests
            .iter()
            .map(|r| {
                let lib = DepFile {
                    dest: "/lib/libc.so.6".to_owned(),
                    src: "/usr/lib/libc.so.6".to_owned(),
                    symlink: false,
                };
                (r.key, vec![lib])
            })
            .collect();
        pipeline::convert_with_deps(&p, &opts, &images, Vec::new(), &files, true)
    });
    match outcome {
        Ok(c) => {
            let _ = strata_proto::llb::marshal(&c.state);
        }
        Err(e) => {
            let span = e.span().expect("every error from the input has a place");
            assert!(span.end as usize <= text.len());
        }
    }
});
