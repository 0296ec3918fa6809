//! A progress bar on stderr for bulk work, shown only on a terminal (quiet in pipes, cron and
//! CI) and only when there is enough work to watch.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pki_core::pki::Progress;

/// Counts keys and items and redraws one line at most ten times a second.
pub struct Bar {
    enabled: bool,
    keys: AtomicUsize,
    items: AtomicUsize,
    planned: Mutex<(usize, usize)>,
    last: Mutex<Instant>,
}

impl Bar {
    pub fn new() -> Bar {
        Bar {
            enabled: std::io::stderr().is_terminal(),
            keys: AtomicUsize::new(0),
            items: AtomicUsize::new(0),
            planned: Mutex::new((0, 0)),
            last: Mutex::new(Instant::now()),
        }
    }

    pub fn update(&self, p: Progress) {
        if !self.enabled {
            return;
        }
        match p {
            Progress::Planned { keys, items } => {
                *self.planned.lock().expect("not poisoned") = (keys, items)
            }
            Progress::Key => {
                self.keys.fetch_add(1, Ordering::Relaxed);
            }
            Progress::Item => {
                self.items.fetch_add(1, Ordering::Relaxed);
            }
        }
        let (keys, items) = *self.planned.lock().expect("not poisoned");
        if keys + items < 50 {
            return;
        }
        let mut last = self.last.lock().expect("not poisoned");
        if last.elapsed() < Duration::from_millis(100) {
            return;
        }
        *last = Instant::now();
        let (k, i) = (
            self.keys.load(Ordering::Relaxed),
            self.items.load(Ordering::Relaxed),
        );
        let done = (k + i) * 30 / (keys + items).max(1);
        let bar = format!("{}{}", "#".repeat(done), "-".repeat(30 - done.min(30)));
        let _ = write!(
            std::io::stderr(),
            "\r[{bar}] keys {k}/{keys}, certificates {i}/{items}"
        );
    }

    pub fn finish(&self) {
        if self.enabled
            && self
                .planned
                .lock()
                .map(|p| p.0 + p.1 >= 50)
                .unwrap_or(false)
        {
            let _ = writeln!(std::io::stderr(), "\r{:78}\r", "");
        }
    }
}
