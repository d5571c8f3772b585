//! Keys, per view and prompt. A prompt (filter, search, scale count,
//! confirmation) takes every key until it is answered; `Ctrl-C` always
//! quits.

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{App, Effect, Prompt, StatusLine, View};

impl App {
    pub(super) fn key(&mut self, k: KeyEvent) {
        if k.kind == KeyEventKind::Release {
            return;
        }
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            self.quit = true;
            return;
        }
        if let Some(p) = self.prompt.take() {
            self.prompt_key(p, k.code);
            return;
        }
        if self.show_help {
            // any key closes the help; q still quits
            self.show_help = false;
            if k.code == KeyCode::Char('q') {
                self.quit = true;
            }
            return;
        }
        match self.view {
            View::Logs => self.logs_key(k.code),
            View::Detail => self.detail_key(k.code),
            View::Main => self.main_key(k.code),
        }
    }

    /// A key while a prompt is open (it was taken out of `self.prompt`;
    /// putting it back keeps it open).
    fn prompt_key(&mut self, p: Prompt, code: KeyCode) {
        match (p, code) {
            (Prompt::Confirm(action), KeyCode::Char('y' | 'Y')) => self.confirmed(action, true),
            (Prompt::Confirm(action), _) => self.confirmed(action, false),
            (Prompt::Filter(input), KeyCode::Enter) => self.filter = input.trim().to_string(),
            (Prompt::Search(input), KeyCode::Enter) => self.search_logs(input),
            (
                Prompt::ScaleTo {
                    service,
                    project,
                    current,
                    input,
                },
                KeyCode::Enter,
            ) => self.scale_entered(service, project, current, &input),
            (Prompt::ScaleTo { .. }, KeyCode::Esc) => {
                self.status = Some(StatusLine::info("cancelled: scale"));
            }
            (_, KeyCode::Esc) => {}
            (mut p, code) => {
                let input = match &mut p {
                    Prompt::Filter(s) | Prompt::Search(s) => s,
                    Prompt::ScaleTo { input, .. } => input,
                    Prompt::Confirm(_) => unreachable!("answered above"),
                };
                match code {
                    KeyCode::Backspace => {
                        input.pop();
                    }
                    KeyCode::Char(c) => input.push(c),
                    _ => {}
                }
                self.prompt = Some(p);
            }
        }
    }

    fn main_key(&mut self, code: KeyCode) {
        match code {
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            KeyCode::Char('?') | KeyCode::Char('h') | KeyCode::F(1) => self.show_help = true,
            KeyCode::Char('s') => self.sort = self.sort.next(),
            KeyCode::Char('r') => self.reverse = !self.reverse,
            KeyCode::Char('/') => self.prompt = Some(Prompt::Filter(self.filter.clone())),
            KeyCode::Char('c') => {
                self.filter.clear();
                self.project = None;
            }
            KeyCode::Char('p') => self.project = self.next_project(),
            KeyCode::Char('+') | KeyCode::Char('=') => {
                self.refresh = (self.refresh * 2).min(Duration::from_secs(10));
            }
            KeyCode::Char('-') => {
                self.refresh = (self.refresh / 2).max(Duration::from_millis(250));
            }
            KeyCode::Enter => self.open_detail(),
            _ => self.common_key(code),
        }
    }

    fn detail_key(&mut self, code: KeyCode) {
        match code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter => self.view = View::Main,
            KeyCode::Char('?') | KeyCode::Char('h') | KeyCode::F(1) => self.show_help = true,
            KeyCode::Up | KeyCode::Down | KeyCode::Char('j' | 'k') | KeyCode::Tab => {
                self.common_key(code);
                self.open_detail();
            }
            _ => self.common_key(code),
        }
    }

    /// Selection, logs and actions: the same in the main and detail views.
    fn common_key(&mut self, code: KeyCode) {
        let page = (self.size.1 as isize / 2).max(5);
        match code {
            KeyCode::Up | KeyCode::Char('k') => self.move_selection(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_selection(1),
            KeyCode::PageUp => self.move_selection(-page),
            KeyCode::PageDown => self.move_selection(page),
            KeyCode::Home => self.move_selection(isize::MIN / 2),
            KeyCode::End => self.move_selection(isize::MAX / 2),
            KeyCode::Tab => self.switch_table(),
            KeyCode::Char('l') => self.open_logs(),
            KeyCode::Char('R') => self.ask_container_action(true),
            KeyCode::Char('X') => self.ask_container_action(false),
            KeyCode::Char('N') => self.ask_scale(),
            _ => {}
        }
    }

    /// `Enter`: the detail of the selection; its container's limits are
    /// read again each time (a restart changes its start time).
    fn open_detail(&mut self) {
        if self.selected.is_none() {
            self.move_selection(0);
        }
        if self.selected.is_none() {
            self.status = Some(StatusLine::info(
                "nothing to show: no container or replica yet",
            ));
            return;
        }
        self.view = View::Detail;
        if let Some(c) = self.selected_container() {
            self.effects.push(Effect::Limits(c.row.info.id.clone()));
        }
    }
}
