//! The progress bar of `gatehouse diff`, drawn by `indicatif` on stderr.
//!
//! When it is drawn is decided by the caller (stderr a terminal, `CI` unset,
//! no `--no-progress`) and by [`FIRST_DRAW_AFTER`]: a short run shows no bar
//! at all. Once shown it is redrawn at most ten times a second and cleared
//! at the end, leaving stderr as it was.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::audit::impact::Progress;

/// How long a run goes before its bar first appears.
const FIRST_DRAW_AFTER: Duration = Duration::from_millis(100);

/// Redraws a second, at most.
const REDRAWS_PER_SECOND: u8 = 10;

/// `  42% [############------------------] 420000 lines  3.1s` when the
/// corpus size is known, else `420000 lines  3.1s`.
const WITH_SIZE: &str = "{percent:>4}% [{bar:30}] {lines} lines  {secs}";
const WITHOUT_SIZE: &str = "{lines} lines  {secs}";

/// A progress display for one corpus read.
pub(super) struct Meter {
    bar: ProgressBar,
    /// Lines read, for the `{lines}` key (the bar's position is in bytes).
    lines: Arc<AtomicU64>,
    /// Whether the bar may be drawn at all.
    draw: bool,
    started: Instant,
}

impl Meter {
    /// A meter for a corpus of `total_bytes` (when known); drawn on stderr
    /// only if `draw`.
    pub(super) fn new(total_bytes: Option<u64>, draw: bool) -> Meter {
        let lines = Arc::new(AtomicU64::new(0));
        let total = total_bytes.filter(|&t| t > 0);
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        bar.set_style(style(total.is_some(), Arc::clone(&lines)));
        Meter {
            bar,
            lines,
            draw,
            started: Instant::now(),
        }
    }

    /// Records how far the read has come; shows the bar once it is due.
    pub(super) fn update(&mut self, p: Progress) {
        self.lines.store(p.lines, Ordering::Relaxed);
        if self.draw && self.bar.is_hidden() && self.started.elapsed() >= FIRST_DRAW_AFTER {
            self.draw = false;
            self.bar
                .set_draw_target(ProgressDrawTarget::stderr_with_hz(REDRAWS_PER_SECOND));
        }
        self.bar.set_position(p.bytes);
    }

    /// Removes the bar, if it was drawn.
    pub(super) fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

/// The bar's layout: `#` for done, `-` for to do, then the lines read and
/// the seconds elapsed.
fn style(size_known: bool, lines: Arc<AtomicU64>) -> ProgressStyle {
    let template = if size_known { WITH_SIZE } else { WITHOUT_SIZE };
    // Both templates are constants, parsed by the test below.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#-")
        .with_key(
            "lines",
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", lines.load(Ordering::Relaxed));
            },
        )
        .with_key("secs", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.1}s", s.elapsed().as_secs_f64());
        })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use indicatif::TermLike;

    use super::*;

    /// A terminal that keeps what is written to it.
    #[derive(Debug, Default, Clone)]
    struct Screen(Arc<Mutex<String>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(&format!("{s}\n"))
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn drawn(total_bytes: Option<u64>) -> String {
        let screen = Screen::default();
        let meter = Meter::new(total_bytes, false);
        meter
            .bar
            .set_draw_target(ProgressDrawTarget::term_like(Box::new(screen.clone())));
        meter.lines.store(420_000, Ordering::Relaxed);
        meter.bar.set_position(50);
        meter.bar.tick();
        screen.0.lock().unwrap().clone()
    }

    #[test]
    fn the_bar_shows_percent_when_the_size_is_known() {
        let text = drawn(Some(200));
        assert!(
            text.starts_with("  25% [#######-----------------------] 420000 lines  0."),
            "{text:?}"
        );
        let text = drawn(None);
        assert!(text.starts_with("420000 lines  0."), "{text:?}");
    }

    #[test]
    fn a_meter_that_may_not_draw_never_shows_a_bar() {
        let mut meter = Meter::new(Some(100), false);
        meter.started -= Duration::from_secs(1);
        meter.update(Progress {
            lines: 1,
            bytes: 10,
        });
        assert!(meter.bar.is_hidden());
    }
}
