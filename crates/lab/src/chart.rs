//! Line charts as PNG (plotters): one chart per question an experiment answers, with a title,
//! axis labels with units, a legend, and optionally a shaded window (a stall, a burst).
//!
//! Text is drawn with DejaVu Sans embedded in the binary (`assets/`, its license beside it),
//! so charts render the same on a machine without fontconfig or any installed font.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;

/// One line: a label for the legend and its `(x, y)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend entry.
    pub label: String,
    /// Points in x order.
    pub points: Vec<(f64, f64)>,
}

/// A chart to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title, the question the chart answers.
    pub title: String,
    /// X axis label with its unit, e.g. `time (s)`.
    pub x_label: String,
    /// Y axis label with its unit, e.g. `RSS (MiB)`.
    pub y_label: String,
    /// The lines, drawn in order with distinct colours.
    pub lines: Vec<Line>,
    /// An x range to shade, with its legend label (e.g. the stall window).
    pub shade: Option<(f64, f64, String)>,
}

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const WIDTH: u32 = 1000;
const HEIGHT: u32 = 560;

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font is known good; a failure here would show as missing text, never a
        // crash, so it is not worth an error path of its own.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// The range of `values` with a little margin, and never empty (a flat line still gets an axis).
fn range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    // plotters' tick arithmetic overflows on a degenerate range, so a flat series gets a
    // unit-sized one.
    let span = hi - lo;
    let pad = if span < 1e-6 {
        (hi.abs() * 0.1).max(1.0)
    } else {
        span * 0.05
    };
    (lo.min(0.0))..(hi + pad)
}

/// Draws `chart` to a PNG file at `path`.
pub fn render_png(chart: &Chart, path: &Path) -> Result<(), String> {
    register_font();
    let fail = |e: &dyn std::fmt::Display| format!("drawing {}: {e}", path.display());
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let xs = range(
        chart
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.0)),
    );
    let ys = range(
        chart
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1)),
    );
    let mut ctx = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(xs.clone(), ys.clone())
        .map_err(|e| fail(&e))?;
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|e| fail(&e))?;
    if let Some((from, to, label)) = &chart.shade {
        let shade = RGBColor(255, 190, 120).mix(0.35);
        ctx.draw_series(std::iter::once(Rectangle::new(
            [(*from, ys.start), (*to, ys.end)],
            shade.filled(),
        )))
        .map_err(|e| fail(&e))?
        .label(label.as_str())
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], shade.filled()));
    }
    for (i, line) in chart.lines.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        ctx.draw_series(LineSeries::new(
            line.points.iter().copied(),
            colour.stroke_width(2),
        ))
        .map_err(|e| fail(&e))?
        .label(line.label.as_str())
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
    }
    ctx.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(lines: Vec<Line>) -> Chart {
        Chart {
            title: "RSS under 4× overload".into(),
            x_label: "time (s)".into(),
            y_label: "RSS (MiB)".into(),
            lines,
            shade: Some((10.0, 19.0, "sink stalled".into())),
        }
    }

    fn out(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("streamsre-chart-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    #[test]
    fn draws_a_png_with_lines_text_and_a_shaded_window() {
        let rising: Vec<(f64, f64)> = (0..60).map(|t| (t as f64, 40.0 + t as f64 * 3.0)).collect();
        let flat: Vec<(f64, f64)> = (0..60).map(|t| (t as f64, 60.0)).collect();
        let path = out("two_lines.png");
        render_png(
            &chart(vec![
                Line {
                    label: "unbounded".into(),
                    points: rising,
                },
                Line {
                    label: "bounded".into(),
                    points: flat,
                },
            ]),
            &path,
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
        // IHDR: width and height, big-endian, at bytes 16..24.
        assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), WIDTH);
        assert_eq!(
            u32::from_be_bytes(bytes[20..24].try_into().unwrap()),
            HEIGHT
        );
        // A blank canvas compresses to almost nothing; lines, shading and text do not.
        let blank = out("blank.png");
        let root = BitMapBackend::new(&blank, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).unwrap();
        root.present().unwrap();
        drop(root);
        let blank_len = std::fs::metadata(&blank).unwrap().len() as usize;
        assert!(
            bytes.len() > blank_len * 4,
            "{} vs blank {blank_len}",
            bytes.len()
        );
    }

    #[test]
    fn empty_and_flat_data_still_draw() {
        render_png(&chart(vec![]), &out("empty.png")).unwrap();
        let one = vec![Line {
            label: "one".into(),
            points: vec![(0.0, 5.0)],
        }];
        render_png(&chart(one), &out("one.png")).unwrap();
    }

    #[test]
    fn an_unwritable_path_is_an_error_naming_it() {
        let err = render_png(&chart(vec![]), Path::new("/nonexistent-dir/x.png")).unwrap_err();
        assert!(err.contains("/nonexistent-dir/x.png"), "{err}");
    }

    #[test]
    fn ranges_have_room_and_start_at_zero() {
        assert_eq!(range([].into_iter()), 0.0..1.0);
        let r = range([10.0, 20.0].into_iter());
        assert_eq!(r.start, 0.0);
        assert!(r.end > 20.0);
        let flat = range([5.0, 5.0].into_iter());
        assert!(flat.end > flat.start);
    }
}
