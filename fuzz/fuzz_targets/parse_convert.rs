//! Any bytes through parse → instructions → plan → convert → marshal: a result, or an error
//! that points into the input. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
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
        pipeline::convert(&p, &opts, &images, Vec::new())
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
