//! The logs pane (`l`): the selected container's logs, followed live, with
//! the search's matches highlighted (reversed, so they show without colour)
//! and the current match marked `▶`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{bold, draw_footer};
use crate::tui::state::App;

pub(super) fn draw(app: &App, f: &mut Frame, area: Rect) {
    let [title, pane, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let Some(l) = &app.logs else {
        return;
    };
    let rows = pane.height.saturating_sub(2) as usize;
    let first = l.first_shown(rows);
    let state = match (&l.ended, l.top) {
        (Some(why), _) => format!("ended: {why}"),
        (None, None) => "following".into(),
        (None, Some(_)) => "paused (G or End follows)".into(),
    };
    f.render_widget(
        Line::from(vec![
            Span::styled(
                " ragctl top ",
                bold()
                    .fg(Color::Black)
                    .bg(Color::Cyan)
                    .add_modifier(Modifier::REVERSED),
            ),
            Span::styled(format!(" logs: {} ", l.name), bold()),
            Span::raw(format!("· {state} · {} lines ", l.lines.len())),
            Span::styled(
                " Esc back · / search · n N next/prev · ↑↓ PgUp PgDn g G · R restart · X stop",
                Style::new().fg(Color::DarkGray),
            ),
        ]),
        title,
    );
    let needle = l.search.to_lowercase();
    let lines: Vec<Line> = l
        .lines
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, text)| highlight(text, &needle, l.current == Some(i)))
        .collect();
    let shown = if l.lines.is_empty() {
        "no lines yet".to_string()
    } else {
        format!(
            "{}-{} of {}",
            first + 1,
            (first + rows).min(l.lines.len()),
            l.lines.len()
        )
    };
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(format!(" {} ({}) ", l.name, &l.id[..l.id.len().min(12)]))
                .title_bottom(format!(" {shown} ")),
        ),
        pane,
    );
    draw_footer(app, f, footer);
}

/// One line with every (case-insensitive) occurrence of `needle` reversed.
fn highlight(text: &str, needle: &str, current: bool) -> Line<'static> {
    let mark = if current { "▶" } else { " " };
    let mut spans = vec![Span::styled(mark, bold().fg(Color::Yellow))];
    let lower = text.to_lowercase();
    // Lowercasing can change byte lengths outside ASCII: match on the
    // original only when the lengths agree.
    if needle.is_empty() || lower.len() != text.len() {
        spans.push(Span::raw(text.to_string()));
        return Line::from(spans);
    }
    let hit = Style::new()
        .fg(Color::Yellow)
        .add_modifier(Modifier::REVERSED | Modifier::BOLD);
    let mut at = 0;
    while let Some(i) = lower[at..].find(needle) {
        let start = at + i;
        let end = start + needle.len();
        if !(text.is_char_boundary(start) && text.is_char_boundary(end)) {
            break;
        }
        spans.push(Span::raw(text[at..start].to_string()));
        spans.push(Span::styled(text[start..end].to_string(), hit));
        at = end;
    }
    spans.push(Span::raw(text[at..].to_string()));
    Line::from(spans)
}
