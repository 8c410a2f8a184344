//! The terminal side of `rpprof top`: raw mode and the alternate screen on the terminal
//! (restored however the view ends), a refresh every second, keys, and the drawing, with
//! ratatui on crossterm.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::crossterm::{cursor, execute};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};
use ratatui::{Frame, Terminal};
use session::TopSlice;

use super::model::{SortBy, TopModel};

/// How often the view refreshes.
pub const REFRESH: Duration = Duration::from_secs(1);

/// What the heading says besides the figures.
pub struct Heading {
    /// What is watched: the program, or the agent's address.
    pub title: String,
    /// A second line: where the program's output goes, or which agent.
    pub note: String,
}

/// Why the view ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The user pressed `q` (or Esc, or Ctrl-C).
    Quit,
    /// `stop` was set (the program ended).
    Stopped,
}

/// Restores the terminal when dropped, also on a panic.
struct TerminalGuard {
    tty: File,
}

impl TerminalGuard {
    fn enter(mut tty: File) -> io::Result<TerminalGuard> {
        terminal::enable_raw_mode()?;
        execute!(tty, EnterAlternateScreen, cursor::Hide)?;
        Ok(TerminalGuard { tty })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = execute!(self.tty, LeaveAlternateScreen, cursor::Show);
        let _ = terminal::disable_raw_mode();
    }
}

/// Shows the view on `tty` until the user quits or `stop` is set; `next_slice` is asked
/// for the figures every [`REFRESH`].
pub fn run(
    tty: File,
    heading: &Heading,
    stop: &AtomicBool,
    mut next_slice: impl FnMut() -> Result<TopSlice, String>,
) -> io::Result<(Ended, TopModel)> {
    let guard = TerminalGuard::enter(tty.try_clone()?)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(tty))?;
    let mut model = TopModel::new();
    let mut problem: Option<String> = None;
    let started = Instant::now();
    let mut last_update = Instant::now();
    let mut next_refresh = Instant::now() + REFRESH;
    terminal.draw(|f| draw(f, &model, heading, started, problem.as_deref()))?;
    let ended = loop {
        if stop.load(Ordering::Acquire) {
            break Ended::Stopped;
        }
        let now = Instant::now();
        if now >= next_refresh {
            match next_slice() {
                Ok(slice) => {
                    model.update(slice, now.duration_since(last_update).as_nanos() as u64);
                    problem = None;
                }
                Err(err) => problem = Some(err),
            }
            last_update = now;
            next_refresh += REFRESH;
            if next_refresh < now {
                next_refresh = now + REFRESH;
            }
            terminal.draw(|f| draw(f, &model, heading, started, problem.as_deref()))?;
        }
        let wait = next_refresh
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        if !event::poll(wait)? {
            continue;
        }
        match event::read()? {
            Event::Key(key) if key.kind != KeyEventKind::Release => {
                let ctrl_c =
                    key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
                match key.code {
                    _ if ctrl_c => break Ended::Quit,
                    KeyCode::Char('q') | KeyCode::Esc => break Ended::Quit,
                    KeyCode::Char('1') => model.sort = SortBy::SelfNow,
                    KeyCode::Char('2') => model.sort = SortBy::TotalNow,
                    KeyCode::Char('3') => model.sort = SortBy::SelfAll,
                    KeyCode::Char('4') => model.sort = SortBy::TotalAll,
                    KeyCode::Char('t') => model.next_filter(),
                    KeyCode::Char('a') => model.filter = None,
                    _ => continue,
                }
            }
            Event::Resize(..) => {}
            _ => continue,
        }
        terminal.draw(|f| draw(f, &model, heading, started, problem.as_deref()))?;
    };
    drop(terminal);
    drop(guard);
    Ok((ended, model))
}

fn draw(
    f: &mut Frame,
    model: &TopModel,
    heading: &Heading,
    started: Instant,
    problem: Option<&str>,
) {
    let threads = model.threads();
    let thread_rows = (threads.len() as u16 + 3).min(f.area().height / 3).max(4);
    let [head, thread_area, function_area] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(thread_rows),
        Constraint::Min(4),
    ])
    .areas(f.area());
    let latest = model.latest();
    let mut first = format!(
        "rpprof top: {}  |  {} mode, {} Hz  |  {} samples  |  {:.0} s",
        heading.title,
        latest.mode,
        latest.rate_hz,
        model.samples,
        started.elapsed().as_secs_f64()
    );
    if let Some(problem) = problem {
        first.push_str(&format!("  |  {problem}"));
    }
    let lines = vec![
        Line::from(first),
        Line::from(heading.note.clone()),
        Line::from(
            "q quit  1-4 sort: self now, total now, self all, total all  t next thread  a all threads",
        )
        .style(Style::default().add_modifier(Modifier::DIM)),
    ];
    f.render_widget(Paragraph::new(lines), head);

    let bold = Style::default().add_modifier(Modifier::BOLD);
    let rows = threads.iter().map(|t| {
        let row = Row::new(vec![
            t.label.clone(),
            t.state.clone(),
            format!("{:.1}", t.cpu_pct),
            format!("{:.2}", t.cpu_s),
        ]);
        if t.selected {
            row.style(Style::default().add_modifier(Modifier::REVERSED))
        } else {
            row
        }
    });
    let widest = threads.iter().map(|t| t.label.len()).max().unwrap_or(0);
    let table = Table::new(
        rows,
        [
            Constraint::Length((widest as u16).clamp(6, 60) + 2),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(9),
        ],
    )
    .header(Row::new(vec!["Thread", "State", "CPU%", "CPU s"]).style(bold))
    .block(Block::default().borders(Borders::TOP).title(" Threads "));
    f.render_widget(table, thread_area);

    let mark = |column: SortBy, name: &str| {
        if model.sort == column {
            format!("{name}*")
        } else {
            name.to_owned()
        }
    };
    let header = Row::new(vec![
        mark(SortBy::SelfNow, "%Own"),
        mark(SortBy::TotalNow, "%Total"),
        mark(SortBy::SelfAll, "OwnTime"),
        mark(SortBy::TotalAll, "TotalTime"),
        "Function".to_owned(),
    ])
    .style(bold);
    let rows = model.functions().into_iter().map(|r| {
        Row::new(vec![
            format!("{:.1}", r.self_pct),
            format!("{:.1}", r.total_pct),
            format!("{:.2}s", r.self_s),
            format!("{:.2}s", r.total_s),
            r.function,
        ])
    });
    let title = match model.filter_label() {
        Some(thread) => format!(" Functions of {thread} "),
        None => " Functions, all threads ".to_owned(),
    };
    let table = Table::new(
        rows,
        [
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Min(20),
        ],
    )
    .header(header)
    .block(Block::default().borders(Borders::TOP).title(title));
    f.render_widget(table, function_area);
}
