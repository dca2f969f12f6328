//! Progress on stderr for the long commands (indicatif, as `fetch`'s download bar through hf-hub):
//! drawn only when stderr is a terminal, so logs and pipes get the final summary alone.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// `label ███████░░░░ 37/120 images · 4.2/s · 20 s left`.
pub fn items(total: u64, done_before: u64, verb: &'static str, unit: &'static str) -> ProgressBar {
    let style = ProgressStyle::with_template(&format!(
        "{verb} {{bar:30.cyan/blue}} {{pos}}/{{len}} {unit} · {{rate}} · {{left}} left"
    ))
    .expect("a valid template")
    .with_key("rate", |state: &ProgressState, out: &mut dyn std::fmt::Write| {
        let _ = write!(out, "{:.1}/s", state.per_sec());
    })
    .with_key("left", |state: &ProgressState, out: &mut dyn std::fmt::Write| {
        let _ = write!(out, "{}", duration(state.eta().as_secs_f64()));
    })
    .progress_chars("█▉▊▋▌▍▎▏░");
    // Resumed items are already counted but not part of this run's speed.
    let bar = ProgressBar::new(total).with_style(style);
    bar.set_position(done_before);
    bar.reset_eta();
    bar
}

/// A spinner with the current step (`convert: writing the f16 copy… 3 s`) for work whose parts
/// cannot be counted.
pub fn steps(verb: &'static str) -> ProgressBar {
    let style = ProgressStyle::with_template(&format!("{{spinner:.cyan}} {verb}: {{msg}}… {{elapsed}}"))
        .expect("a valid template");
    let bar = ProgressBar::new_spinner().with_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A line of its own (a skipped image) above the bar; printed whether or not the bar is drawn.
pub fn note(bar: &ProgressBar, text: &str) {
    bar.suspend(|| eprintln!("{text}"));
}

/// `42 s`, `17 min`, `3 h 05 min`.
fn duration(seconds: f64) -> String {
    let seconds = seconds.round() as u64;
    match seconds {
        0..100 => format!("{seconds} s"),
        100..6000 => format!("{} min", (seconds + 30) / 60),
        _ => format!("{} h {:02} min", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(4.4), "4 s");
        assert_eq!(duration(99.0), "99 s");
        assert_eq!(duration(1000.0), "17 min");
        assert_eq!(duration(11_100.0), "3 h 05 min");
    }
}
