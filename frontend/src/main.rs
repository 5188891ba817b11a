//! The `strata` binary: a BuildKit gateway frontend when BuildKit starts it, a CLI otherwise.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
use strata::{cli, gateway};

fn main() -> ExitCode {
    let gateway = gateway::is_gateway();
    // Before anything else (an environment lookup aside): the frontend's cost line counts
    // from here (`gateway/stats.rs`). The CLI has no such line and does not read it.
    let started = gateway.then(gateway::ProcessStart::now);
    // A frontend serves one request, mostly waiting on BuildKit: one thread does it all
    // (no cross-thread wake-ups, one malloc arena). The CLI may run CHECK-free work
    // concurrently, so it keeps two workers.
    let runtime = if gateway {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("strata: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(started) = started {
        let code = runtime.block_on(serve(started));
        // Exit right away: tokio's stdin reader sits on a blocking thread and BuildKit closes
        // the pipe only after we exit, so returning from main would hang the build.
        std::process::exit(code);
    }
    // `strata lint` and `strata policy check` exit 0, 1 or 2 (their `Output::code`).
    match runtime.block_on(cli::run(cli::Cli::parse())) {
        Ok(out) => {
            // `print!` panics when the reader has gone (`strata llb … | head`); a closed
            // pipe is the reader's choice, not an error of ours.
            let _ = std::io::stdout().lock().write_all(out.stdout.as_bytes());
            let _ = std::io::stderr().lock().write_all(out.stderr.as_bytes());
            ExitCode::from(out.code)
        }
        Err(e) => {
            eprintln!("strata: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Serves one build over stdin/stdout. Diagnostics go to stderr (the daemon's log).
async fn serve(started: gateway::ProcessStart) -> i32 {
    match gateway::serve_stdio(started).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("strata: {e:#}");
            1
        }
    }
}
