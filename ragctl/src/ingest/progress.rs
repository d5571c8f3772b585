//! The progress bar on stderr (indicatif): files done of the total, files/s,
//! chunks/s from ragd's answers, ETA and failures so far. It consumes the
//! same [`Record`]s as the summary. Hidden when stderr is not a terminal or
//! with `--json`; notes (Ctrl-C...) are then plain lines on stderr.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::send::Record;
use super::summary::Summary;

/// A handle on the bar; clones draw the same bar.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
    visible: bool,
}

impl Progress {
    /// A bar drawn on stderr when `visible`.
    pub fn new(visible: bool) -> Progress {
        let bar = if visible {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.enable_steady_tick(Duration::from_millis(200));
            b
        } else {
            ProgressBar::hidden()
        };
        Progress { bar, visible }
    }

    /// A step before the send (listing), as a spinner.
    pub fn phase(&self, msg: &str) {
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            self.bar.set_style(style);
        }
        self.bar.set_message(msg.to_string());
    }

    /// Checking `files` files against the stored hashes, one [`tick`] each.
    ///
    /// [`tick`]: Progress::tick
    pub fn comparing(&self, files: u64) {
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {pos}/{len}") {
            self.bar.set_style(style);
        }
        self.bar.set_length(files);
        self.bar.set_position(0);
        self.bar
            .set_message("checking files against what ragd holds");
    }

    /// One file compared.
    pub fn tick(&self) {
        self.bar.inc(1);
    }

    /// From now on the bar counts files sent of `total`.
    pub fn start_sending(&self, total: u64) {
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files  {msg}  ETA {eta}",
        ) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_length(total);
        self.bar.reset();
        self.bar.set_message("starting");
    }

    /// One outcome of the send; `s` already counts it.
    pub fn record(&self, r: &Record, s: &Summary) {
        let files = match r {
            Record::Ingested { files, .. } => *files as u64,
            Record::Failed(_) => 1,
        };
        self.bar.inc(files);
        let secs = self.bar.elapsed().as_secs_f64().max(0.001);
        self.bar.set_message(format!(
            "{:.1} files/s  {:.0} chunks/s  {} failed",
            (s.ingested + s.send_failures) as f64 / secs,
            s.chunks as f64 / secs,
            s.failures.len()
        ));
    }

    /// A line above the bar (or on stderr when the bar is hidden).
    pub fn note(&self, msg: &str) {
        if self.visible {
            self.bar.println(msg);
        } else {
            eprintln!("ragctl: {msg}");
        }
    }

    /// Remove the bar before the summary is printed.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
