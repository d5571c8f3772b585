//! Which row is selected, and what it stands for.
//!
//! The rows are the visible containers (in the table's order) followed by
//! the replicas; arrows and `j`/`k` move through both, `Tab` jumps between
//! the two tables. A selection is kept by identity (container id, replica
//! URL), so re-sorting or a new reading never moves it to another row; when
//! its row goes, the row now at its place is selected.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::{App, ContainerView, ReplicaView, View};
use crate::tui::layout;

/// A selected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected {
    /// A container, by id.
    Container(String),
    /// A replica, by URL.
    Replica(String),
}

impl App {
    /// Every selectable row, in screen order.
    pub fn rows(&self) -> Vec<Selected> {
        let containers = if self.docker_error.is_none() {
            self.visible_containers()
        } else {
            Vec::new()
        };
        containers
            .into_iter()
            .map(|c| Selected::Container(c.row.info.id.clone()))
            .chain(
                self.replicas
                    .iter()
                    .map(|r| Selected::Replica(r.row.url.clone())),
            )
            .collect()
    }

    /// Index of the selection among [`App::rows`].
    pub fn selected_index(&self) -> Option<usize> {
        let sel = self.selected.as_ref()?;
        self.rows().iter().position(|r| r == sel)
    }

    /// Move the selection by `delta` rows (the first row when none).
    pub(super) fn move_selection(&mut self, delta: isize) {
        let rows = self.rows();
        if rows.is_empty() {
            self.selected = None;
            return;
        }
        let next = match self.selected_index() {
            None => 0,
            Some(i) => (i as isize + delta).clamp(0, rows.len() as isize - 1) as usize,
        };
        self.selected = Some(rows[next].clone());
    }

    /// `Tab`: the first replica from a container, the first container from
    /// a replica.
    pub(super) fn switch_table(&mut self) {
        let rows = self.rows();
        let on_container = matches!(self.selected, Some(Selected::Container(_)));
        self.selected = rows
            .iter()
            .find(|r| matches!(r, Selected::Replica(_)) == on_container)
            .or(rows.first())
            .cloned();
    }

    /// The selected container, or the container of the selected replica
    /// (a replica found in Docker is named after its container).
    pub fn selected_container(&self) -> Option<&ContainerView> {
        match self.selected.as_ref()? {
            Selected::Container(id) => self.containers.get(id),
            Selected::Replica(url) => {
                let r = self.replicas.iter().find(|r| &r.row.url == url)?;
                self.containers
                    .values()
                    .find(|c| c.row.info.name == r.row.name)
            }
        }
    }

    /// The selected replica, or the replica running in the selected container.
    pub fn selected_replica(&self) -> Option<&ReplicaView> {
        match self.selected.as_ref()? {
            Selected::Replica(url) => self.replicas.iter().find(|r| &r.row.url == url),
            Selected::Container(id) => {
                let c = self.containers.get(id)?;
                self.replicas.iter().find(|r| r.row.name == c.row.info.name)
            }
        }
    }

    /// A click selects the row under it; the wheel moves the selection (or
    /// scrolls the logs).
    pub(super) fn mouse(&mut self, m: MouseEvent) {
        match m.kind {
            MouseEventKind::ScrollDown if self.view == View::Logs => self.scroll_logs(3),
            MouseEventKind::ScrollUp if self.view == View::Logs => self.scroll_logs(-3),
            MouseEventKind::ScrollDown => self.move_selection(1),
            MouseEventKind::ScrollUp => self.move_selection(-1),
            MouseEventKind::Down(MouseButton::Left) if self.view == View::Main => {
                if let Some(row) = self.row_at(m.column, m.row) {
                    self.selected = Some(row);
                }
            }
            _ => {}
        }
    }

    /// The row drawn at a screen position of the main view, if any.
    fn row_at(&self, column: u16, row: u16) -> Option<Selected> {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let areas = layout::main(area, self.replicas.len());
        let rows = self.rows();
        let n_containers = rows
            .iter()
            .filter(|r| matches!(r, Selected::Container(_)))
            .count();
        let selected = self.selected_index();
        let hit = |table: Rect, len: usize, first: usize, sel: Option<usize>| {
            let i = layout::row_at(table, len, sel, column, row)?;
            rows.get(first + i).cloned()
        };
        hit(
            areas.containers,
            n_containers,
            0,
            selected.filter(|i| *i < n_containers),
        )
        .or_else(|| {
            hit(
                areas.replicas,
                rows.len() - n_containers,
                n_containers,
                selected
                    .filter(|i| *i >= n_containers)
                    .map(|i| i - n_containers),
            )
        })
    }
}
