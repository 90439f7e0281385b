//! Bytes moving: on a terminal a bar (or, with no known total, a counter) with the rate;
//! otherwise a plain line every few seconds and one at the end.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub struct Bytes {
    what: String,
    bar: Option<ProgressBar>,
    total: Option<u64>,
    started: Instant,
    last_line: Instant,
    done: u64,
}

impl Bytes {
    pub fn new(what: &str, total: Option<u64>) -> Bytes {
        let bar = std::io::stderr().is_terminal().then(|| {
            let (bar, template) = match total {
                Some(total) => (
                    ProgressBar::new(total),
                    "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {eta}",
                ),
                None => (ProgressBar::no_length(), "{spinner} {msg} {binary_bytes} {binary_bytes_per_sec} ({elapsed})"),
            };
            bar.set_draw_target(ProgressDrawTarget::stderr());
            bar.set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
            bar.set_message(what.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let now = Instant::now();
        Bytes { what: what.into(), bar, total, started: now, last_line: now, done: 0 }
    }

    pub fn set(&mut self, done: u64) {
        self.done = done;
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None if self.last_line.elapsed() >= PLAIN_EVERY => {
                self.last_line = Instant::now();
                eprintln!("{}", self.line());
            }
            None => {}
        }
    }

    fn line(&self) -> String {
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = HumanBytes((self.done as f64 / seconds) as u64);
        match self.total {
            Some(total) => format!("{}: {} of {} ({rate}/s)", self.what, HumanBytes(self.done), HumanBytes(total)),
            None => format!("{}: {} ({rate}/s)", self.what, HumanBytes(self.done)),
        }
    }

    /// Clears the bar and prints the final line.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!("{} in {:.1} s", self.line(), self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
