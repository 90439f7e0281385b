//! What a long wait shows: on a terminal, live spinners for the phase and each pod (indicatif);
//! otherwise one plain line whenever something changes.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    live: Option<Spinners>,
    last_lines: BTreeMap<String, String>,
}

struct Spinners {
    multi: MultiProgress,
    phase: ProgressBar,
    pods: BTreeMap<String, ProgressBar>,
}

impl Progress {
    /// Spinners display only when stderr is a terminal.
    pub fn new() -> Self {
        let live = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let phase = multi.add(spinner());
            Spinners { multi, phase, pods: BTreeMap::new() }
        });
        Progress { live, last_lines: BTreeMap::new() }
    }

    /// A plain-lines display, whatever stderr is.
    pub fn plain() -> Self {
        Progress { live: None, last_lines: BTreeMap::new() }
    }

    pub fn phase(&mut self, message: &str) {
        self.line("phase", message.to_string());
    }

    pub fn pod(&mut self, pod: &str, state: &str) {
        let text = format!("pod {pod}: {state}");
        match &mut self.live {
            Some(live) => {
                let bar = live.pods.entry(pod.to_string()).or_insert_with(|| live.multi.add(spinner()));
                bar.set_message(text);
            }
            None => self.line(pod, text),
        }
    }

    fn line(&mut self, key: &str, text: String) {
        match &self.live {
            Some(live) if key == "phase" => live.phase.set_message(text),
            _ => {
                if self.last_lines.get(key) != Some(&text) {
                    eprintln!("{text}");
                    self.last_lines.insert(key.to_string(), text);
                }
            }
        }
    }

    /// Clears the live display; plain lines stay.
    pub fn finish(&mut self) {
        if let Some(live) = self.live.take() {
            live.phase.finish_and_clear();
            for bar in live.pods.values() {
                bar.finish_and_clear();
            }
        }
    }
}

impl crate::engine::Sink for Progress {
    fn phase(&mut self, message: &str) {
        Progress::phase(self, message)
    }

    fn pod(&mut self, pod: &str, state: &str) {
        Progress::pod(self, pod, state)
    }

    fn finish(&mut self) {
        Progress::finish(self)
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
