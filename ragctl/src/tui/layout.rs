//! Where things are on the main screen: shared by drawing and by mouse
//! hit-testing, so a click lands on the row that was drawn there.

use ratatui::layout::{Constraint, Layout, Rect};

/// The main screen's parts, top to bottom.
pub struct MainAreas {
    pub title: Rect,
    pub host: Rect,
    pub containers: Rect,
    pub replicas: Rect,
    pub history: Rect,
    pub footer: Rect,
}

/// The main screen's layout for `area` with `n_replicas` replica rows.
pub fn main(area: Rect, n_replicas: usize) -> MainAreas {
    let n = n_replicas.max(1).min(u16::MAX as usize - 3) as u16;
    let [title, host, containers, replicas, history, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Min(5),
        Constraint::Length(n + 3),
        Constraint::Length(5),
        Constraint::Length(1),
    ])
    .areas(area);
    MainAreas {
        title,
        host,
        containers,
        replicas,
        history,
        footer,
    }
}

/// Rows a bordered table with a header line shows in `area`.
pub fn visible_rows(area: Rect) -> usize {
    area.height.saturating_sub(3) as usize
}

/// The first row a bordered table with a header shows, so that the
/// `selected` row (of `len`) is on screen: as few rows scrolled as needed.
pub fn offset(area: Rect, len: usize, selected: Option<usize>) -> usize {
    let shown = visible_rows(area).max(1);
    match selected {
        Some(i) if i >= shown => (i + 1 - shown).min(len.saturating_sub(shown)),
        _ => 0,
    }
}

/// The table row (index among `len`) drawn at screen position
/// (`column`, `row`) of a bordered table with a header in `area`.
pub fn row_at(
    area: Rect,
    len: usize,
    selected: Option<usize>,
    column: u16,
    row: u16,
) -> Option<usize> {
    let inside = column > area.x
        && column + 1 < area.x + area.width
        && row >= area.y + 2
        && row + 1 < area.y + area.height;
    if !inside {
        return None;
    }
    let i = offset(area, len, selected) + (row - area.y - 2) as usize;
    (i < len).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_keep_the_selection_visible_and_clicks_find_rows() {
        let area = Rect::new(0, 10, 80, 8); // 5 rows shown
        assert_eq!(offset(area, 20, None), 0);
        assert_eq!(offset(area, 20, Some(4)), 0);
        assert_eq!(offset(area, 20, Some(5)), 1);
        assert_eq!(offset(area, 20, Some(19)), 15);
        // Header at y 11, first row at y 12.
        assert_eq!(row_at(area, 20, None, 5, 11), None);
        assert_eq!(row_at(area, 20, None, 5, 12), Some(0));
        assert_eq!(row_at(area, 20, Some(19), 5, 16), Some(19));
        assert_eq!(row_at(area, 3, None, 5, 16), None, "below the last row");
        assert_eq!(row_at(area, 20, None, 0, 12), None, "on the border");
    }
}
