//! `clipseg`: segment images from text or image prompts on the command line.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Whatever happens, the user sees one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown failure");
        eprintln!("error: internal failure: {message}");
    }));
    match std::panic::catch_unwind(cli::run) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(cli::exit_code(error.kind()))
        }
        Err(_) => ExitCode::from(101),
    }
}
