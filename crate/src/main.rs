//! `clipseg`: segment images from text or image prompts on the command line.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    keep_freed_memory();
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

/// The model frees and allocates its intermediate tensors every layer (a decode of 8 prompts,
/// blocks of up to 32 MB). glibc unmaps a freed block over its mmap threshold and trims the top
/// of the heap, so the next layer's block was fresh memory that the kernel zeroes page by page
/// on first touch: a fifth of that decode. Fixed thresholds keep freed memory for reuse.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // The largest threshold glibc accepts on 64-bit; larger blocks are still mapped.
    const MMAP_THRESHOLD: i32 = 32 << 20;
    const TRIM_THRESHOLD: i32 = 1 << 30;
    // SAFETY: mallopt only sets allocator parameters, here before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}
