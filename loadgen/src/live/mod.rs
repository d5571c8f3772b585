//! `loadgen run --tui`: the run, live, in the terminal (like oha's and
//! k6's dashboards).
//!
//! - [`state`]: the [`Live`](state::Live) state and the one `Event` enum
//!   that changes it.
//! - [`render`]: `draw(&Live, &mut Frame)`, reading state only.
//! - this module: [`LiveView`], a consumer of the run's records. Its loop,
//!   on a thread of its own, turns records, a 4-per-second clock and keys
//!   into events and redraws on each clock tick. It draws on stderr (the
//!   report goes to stdout after the run). A [`TerminalGuard`] plus a
//!   panic hook put the terminal back however the view ends.

pub mod render;
pub mod state;

use std::io::{self, Stderr};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, event, execute, terminal};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::task::JoinHandle;

use crate::record::RecordRx;
use crate::run::{Consumer, ConsumerError, RunView};
use state::{Ask, Event, Live};

/// Frames per second.
const FRAME: Duration = Duration::from_millis(250);

/// Raw mode and the alternate screen (on stderr) for as long as it lives.
pub struct TerminalGuard;

fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(io::stderr(), terminal::LeaveAlternateScreen, cursor::Show);
}

impl TerminalGuard {
    pub fn new() -> io::Result<TerminalGuard> {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            hook(info);
        }));
        terminal::enable_raw_mode()?;
        if let Err(e) = execute!(io::stderr(), terminal::EnterAlternateScreen, cursor::Hide) {
            restore_terminal();
            return Err(e);
        }
        Ok(TerminalGuard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// The live view as a consumer of a run.
pub struct LiveView {
    /// The target, as the title bar shows it.
    pub target: String,
    /// Colours on (off for NO_COLOR / `--color never`).
    pub color: bool,
}

impl Consumer for LiveView {
    fn name(&self) -> &'static str {
        "live view"
    }

    fn start(self: Box<Self>, run: RunView, rx: RecordRx) -> JoinHandle<Result<(), ConsumerError>> {
        tokio::task::spawn_blocking(move || {
            let live = Live::new(&run, &self.target, self.color);
            show(live, &run, rx).map_err(ConsumerError::Terminal)
        })
    }
}

/// The view's loop: until the run's records end.
fn show(mut live: Live, run: &RunView, mut rx: RecordRx) -> io::Result<()> {
    let guard = TerminalGuard::new()?;
    let mut term = Terminal::new(CrosstermBackend::new(io::stderr()))?;
    let mut next_frame = Instant::now();
    loop {
        let ended = loop {
            match rx.try_recv() {
                Ok(r) => {
                    live.apply(Event::Record(r));
                }
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => break true,
            }
        };
        if ended || Instant::now() >= next_frame {
            live.apply(Event::Tick {
                elapsed: run.t0.elapsed(),
                gauges: run.gauges.read(),
            });
            if ended {
                live.apply(Event::Ended);
            }
            draw(&mut term, &live)?;
            next_frame += FRAME;
            if next_frame < Instant::now() {
                next_frame = Instant::now() + FRAME;
            }
        }
        if ended {
            break;
        }
        let wait = next_frame
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(50));
        if event::poll(wait)?
            && let event::Event::Key(k) = event::read()?
        {
            match live.apply(Event::Key(k)) {
                Ask::Nothing => {}
                Ask::Stop => {
                    run.stop.send_if_modified(|reason| {
                        reason.is_none() && {
                            *reason = Some("interrupted".into());
                            true
                        }
                    });
                    draw(&mut term, &live)?;
                }
                Ask::Quit => {
                    drop(guard);
                    eprintln!("loadgen: quit before in-flight requests finished; no report");
                    std::process::exit(130);
                }
            }
        }
    }
    drop(guard);
    Ok(())
}

fn draw(term: &mut Terminal<CrosstermBackend<Stderr>>, live: &Live) -> io::Result<()> {
    term.draw(|f| render::draw(live, f)).map(|_| ())
}
