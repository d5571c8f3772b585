//! The logs pane: the selected container's logs, followed live through the
//! Docker logs API (the loop's effects runner streams them in as events),
//! scrolled with the keys or the wheel, searched with `/`.

use std::collections::VecDeque;

use super::{App, Effect, LOG_TAIL, StatusLine, View};

/// Lines kept; older ones are dropped as new ones come.
pub const LOG_LINES: usize = 5000;

/// One container's logs as the pane shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct LogsView {
    pub id: String,
    pub name: String,
    pub lines: VecDeque<String>,
    /// First line shown; `None` follows the end.
    pub top: Option<usize>,
    /// Rows the pane showed last (set by the loop from the terminal size).
    pub rows: usize,
    /// The applied search (case-insensitive), highlighted in the lines.
    pub search: String,
    /// Line of the current match, for `n` / `N`.
    pub current: Option<usize>,
    /// Why the stream stopped, once it has.
    pub ended: Option<String>,
    /// The view to go back to.
    pub back: View,
}

impl LogsView {
    pub fn new(id: &str, name: &str) -> LogsView {
        LogsView {
            id: id.to_string(),
            name: name.to_string(),
            lines: VecDeque::new(),
            top: None,
            rows: 20,
            search: String::new(),
            current: None,
            ended: None,
            back: View::Main,
        }
    }

    /// Lines matching the search, by index.
    pub fn matches(&self) -> Vec<usize> {
        if self.search.is_empty() {
            return Vec::new();
        }
        let needle = self.search.to_lowercase();
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.to_lowercase().contains(&needle))
            .map(|(i, _)| i)
            .collect()
    }

    /// The first line shown for a pane of `rows` rows.
    pub fn first_shown(&self, rows: usize) -> usize {
        let last_top = self.lines.len().saturating_sub(rows);
        self.top.map_or(last_top, |t| t.min(last_top))
    }

    fn push(&mut self, lines: Vec<String>) {
        for l in lines {
            if self.lines.len() == LOG_LINES {
                self.lines.pop_front();
                // Indexes shift with the dropped line.
                self.top = self.top.map(|t| t.saturating_sub(1));
                self.current = self.current.and_then(|c| c.checked_sub(1));
            }
            self.lines.push_back(l);
        }
    }

    fn scroll(&mut self, delta: isize) {
        let rows = self.rows.max(1);
        let first = self.first_shown(rows) as isize;
        let last_top = self.lines.len().saturating_sub(rows) as isize;
        let next = (first + delta).clamp(0, last_top.max(0));
        // Back at the end: follow again.
        self.top = (next < last_top).then_some(next as usize);
    }

    /// Show the next (`forward`) or previous match, centred.
    fn jump(&mut self, forward: bool) -> Option<(usize, usize)> {
        let m = self.matches();
        if m.is_empty() {
            return None;
        }
        let from = self
            .current
            .unwrap_or_else(|| self.first_shown(self.rows.max(1)));
        let pos = if forward {
            m.iter()
                .position(|&i| i > from || self.current.is_none() && i >= from)
                .unwrap_or(0)
        } else {
            m.iter().rposition(|&i| i < from).unwrap_or(m.len() - 1)
        };
        let line = m[pos];
        self.current = Some(line);
        let rows = self.rows.max(1);
        let top = line.saturating_sub(rows / 2);
        self.top = (top < self.lines.len().saturating_sub(rows)).then_some(top);
        Some((pos + 1, m.len()))
    }
}

impl App {
    /// `l`: open the logs of the selected container (or of the selected
    /// replica's container).
    pub(super) fn open_logs(&mut self) {
        let Some(c) = self.selected_container() else {
            self.status = Some(StatusLine::error(
                "no container selected: choose one with the arrows (a --target replica has none)",
            ));
            return;
        };
        let (id, name) = (c.row.info.id.clone(), c.row.info.name.clone());
        let mut logs = LogsView::new(&id, &name);
        logs.back = self.view;
        self.logs = Some(logs);
        self.view = View::Logs;
        self.set_log_rows();
        self.effects.push(Effect::FollowLogs { id, tail: LOG_TAIL });
    }

    /// Leave the logs pane (the stream stops).
    pub(super) fn close_logs(&mut self) {
        self.view = self.logs.take().map_or(View::Main, |l| l.back);
        self.effects.push(Effect::StopLogs);
    }

    pub(super) fn log_lines(&mut self, id: &str, lines: Vec<String>) {
        if let Some(l) = self.logs.as_mut().filter(|l| l.id == id) {
            l.push(lines);
        }
    }

    pub(super) fn logs_ended(&mut self, id: &str, why: String) {
        if let Some(l) = self.logs.as_mut().filter(|l| l.id == id) {
            l.ended = Some(why);
        }
    }

    pub(super) fn scroll_logs(&mut self, delta: isize) {
        if let Some(l) = self.logs.as_mut() {
            l.scroll(delta);
        }
    }

    /// Rows the logs pane has at the current terminal size.
    pub(super) fn set_log_rows(&mut self) {
        let rows = (self.size.1 as usize).saturating_sub(4).max(1);
        if let Some(l) = self.logs.as_mut() {
            l.rows = rows;
        }
    }

    /// The logs' keys, outside a prompt.
    pub(super) fn logs_key(&mut self, code: ratatui::crossterm::event::KeyCode) {
        use ratatui::crossterm::event::KeyCode;
        self.set_log_rows();
        let Some(l) = self.logs.as_mut() else {
            return;
        };
        let page = l.rows.max(2) as isize - 1;
        match code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('l') => self.close_logs(),
            KeyCode::Up | KeyCode::Char('k') => l.scroll(-1),
            KeyCode::Down | KeyCode::Char('j') => l.scroll(1),
            KeyCode::PageUp => l.scroll(-page),
            KeyCode::PageDown | KeyCode::Char(' ') => l.scroll(page),
            KeyCode::Home | KeyCode::Char('g') => l.top = Some(0),
            KeyCode::End | KeyCode::Char('G') => l.top = None,
            KeyCode::Char('/') => {
                self.prompt = Some(super::Prompt::Search(l.search.clone()));
            }
            // Restart or stop while watching: the drain shows in the pane.
            // (N is the previous match here; scale from the other views.)
            KeyCode::Char('R') => self.ask_container_action(true),
            KeyCode::Char('X') => self.ask_container_action(false),
            KeyCode::Char('n') | KeyCode::Char('N') => {
                let forward = code == KeyCode::Char('n');
                let found = l.jump(forward);
                let search = l.search.clone();
                self.status = Some(match found {
                    Some((i, n)) => StatusLine::info(format!("match {i}/{n} of \"{search}\"")),
                    None if search.is_empty() => StatusLine::info("no search: / to search"),
                    None => StatusLine::error(format!("no line matches \"{search}\"")),
                });
            }
            _ => {}
        }
    }

    /// A search typed after `/` in the logs: jump to its first match.
    pub(super) fn search_logs(&mut self, text: String) {
        self.set_log_rows();
        let Some(l) = self.logs.as_mut() else {
            return;
        };
        l.search = text.trim().to_string();
        l.current = None;
        l.top = Some(0);
        let search = l.search.clone();
        self.status = if search.is_empty() {
            l.top = None;
            None
        } else {
            Some(match l.jump(true) {
                Some((i, n)) => StatusLine::info(format!("match {i}/{n} of \"{search}\"")),
                None => {
                    l.top = None;
                    StatusLine::error(format!("no line matches \"{search}\""))
                }
            })
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(n: usize) -> LogsView {
        let mut l = LogsView::new("id", "c");
        l.rows = 10;
        l.push((0..n).map(|i| format!("line {i}")).collect());
        l
    }

    #[test]
    fn follows_until_scrolled_and_again_at_the_end() {
        let mut l = view(100);
        assert_eq!(l.first_shown(10), 90);
        l.scroll(-5);
        assert_eq!(l.top, Some(85));
        l.push(vec!["new".into()]);
        assert_eq!(l.first_shown(10), 85, "scrolled back: stays put");
        l.scroll(100);
        assert_eq!(l.top, None, "back at the end: follows");
        assert_eq!(l.first_shown(10), 91);
    }

    #[test]
    fn search_jumps_between_matches_both_ways() {
        let mut l = view(100);
        l.search = "LINE 4".into(); // line 4 and lines 40-49
        assert_eq!(l.matches().len(), 11);
        l.top = Some(0);
        assert_eq!(l.jump(true), Some((1, 11)));
        assert_eq!(l.current, Some(4));
        assert_eq!(l.jump(true), Some((2, 11)));
        assert_eq!(l.current, Some(40));
        assert_eq!(l.jump(false), Some((1, 11)));
        assert_eq!(l.jump(false), Some((11, 11)), "wraps to the last");
        assert_eq!(l.current, Some(49));
        assert_eq!(l.top, Some(44), "centred");
    }

    #[test]
    fn dropping_old_lines_keeps_positions() {
        let mut l = view(LOG_LINES);
        l.top = Some(10);
        l.current = Some(12);
        l.push(vec!["a".into(), "b".into()]);
        assert_eq!(l.lines.len(), LOG_LINES);
        assert_eq!((l.top, l.current), (Some(8), Some(10)));
        assert_eq!(l.lines[10], "line 12");
    }
}
