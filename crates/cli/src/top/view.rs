//! Rendering of `streamsre top`: one table of targets, one of the most lagging partitions.

use super::model::TargetView;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Paragraph, Row, Table};
use ratatui::Frame;

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}"))
}

/// Draws the whole screen.
pub fn render(frame: &mut Frame<'_>, views: &[TargetView], interval_ms: u128) {
    let [title, targets, partitions] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(views.len() as u16 + 3),
        Constraint::Min(4),
    ])
    .areas(frame.area());
    frame.render_widget(
        Paragraph::new(format!(
            "streamsre top · {} target(s) · refresh {interval_ms} ms · q to quit",
            views.len()
        ))
        .style(Style::new().add_modifier(Modifier::BOLD)),
        title,
    );

    let header = Row::new([
        "TARGET",
        "CONSUMED/s",
        "APPLIED/s",
        "DLQ/s",
        "LAG",
        "IN-FLIGHT",
        "P50 ms",
        "P99 ms",
        "RSS MiB",
        "BREAKER",
        "STATUS",
    ])
    .style(Style::new().fg(Color::Yellow));
    let rows = views.iter().map(|v| {
        let status = match (&v.error, v.not_ready.is_empty()) {
            (Some(e), _) => format!("DOWN: {e}"),
            (None, true) => "ready".to_string(),
            (None, false) => format!("NOT READY: {}", v.not_ready.join(",")),
        };
        let style = if v.error.is_some() || !v.not_ready.is_empty() {
            Style::new().fg(Color::Red)
        } else {
            Style::new()
        };
        Row::new([
            v.target.clone(),
            format!("{:.0}", v.consumed_per_s),
            format!("{:.0}", v.applied_per_s),
            format!("{:.0}", v.dlq_per_s),
            format!("{:.0}", v.lag),
            format!("{:.0}", v.in_flight),
            ms(v.p50_ms),
            ms(v.p99_ms),
            format!("{:.1}", v.rss_mib),
            v.breaker.to_string(),
            status,
        ])
        .style(style)
    });
    let widths = [
        Constraint::Length(22),
        Constraint::Length(11),
        Constraint::Length(10),
        Constraint::Length(7),
        Constraint::Length(9),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Min(10),
    ];
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(Block::bordered().title(" consumers ")),
        targets,
    );

    let header = Row::new(["TARGET", "TOPIC", "PARTITION", "LAG", "COMMITTED"])
        .style(Style::new().fg(Color::Yellow));
    let rows = views.iter().flat_map(|v| {
        v.partitions.iter().map(move |p| {
            Row::new([
                v.target.clone(),
                p.topic.clone(),
                p.partition.to_string(),
                format!("{:.0}", p.lag),
                p.committed.map_or("-".into(), |c| format!("{c:.0}")),
            ])
        })
    });
    let widths = [
        Constraint::Length(22),
        Constraint::Length(30),
        Constraint::Length(10),
        Constraint::Length(12),
        Constraint::Length(14),
    ];
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(Block::bordered().title(" partitions (most lagging first) ")),
        partitions,
    );
}

/// Renders `views` into an off-screen buffer and returns it as text lines.
pub fn to_text(views: &[TargetView], width: u16, height: u16, interval_ms: u128) -> String {
    let backend = ratatui::backend::TestBackend::new(width, height);
    let mut terminal = ratatui::Terminal::new(backend).expect("an in-memory terminal");
    terminal
        .draw(|f| render(f, views, interval_ms))
        .expect("drawing to memory");
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::model::{Scrape, TargetView};
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_screen_shows_targets_rates_and_partitions() {
        let before = Scrape::parse("events_consumed_total 0\n");
        let now = Scrape::parse(
            "events_consumed_total 500\nconsumer_lag{topic=\"events.main\",partition=\"7\"} 1234\n\
             consumer_lag_all_partitions 1234\ninflight_workers 64\ndependency_up{dependency=\"postgres\"} 0\n",
        );
        let views = vec![
            TargetView::compute(
                "127.0.0.1:2112",
                &now,
                Some(&before),
                Duration::from_secs(1),
            ),
            TargetView::unreachable("127.0.0.1:2999", "connection refused".into()),
        ];
        let text = to_text(&views, 140, 20, 1000);
        for needle in [
            "streamsre top",
            "127.0.0.1:2112",
            "500",
            "1234",
            "64",
            "NOT READY: postgres",
            "DOWN: connection refused",
            "events.main",
            "7",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }
}
