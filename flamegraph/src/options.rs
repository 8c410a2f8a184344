//! How a profile is written, whatever the format: which value a one-value view shows, and
//! the SVG's own choices.

/// How a profile is written, beyond the format.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// The value kind shown, by index into the profile's kinds, for formats that show one
    /// value (SVG, folded, speedscope); `None` for the format's own choice (samples in SVG
    /// and folded, time in speedscope). pprof writes every kind and makes this one its
    /// default.
    pub value: Option<usize>,
    /// SVG choices.
    pub svg: SvgOptions,
}

/// Choices a user can make about the SVG.
#[derive(Clone, Debug, PartialEq)]
pub struct SvgOptions {
    /// The title; the profile's own title when `None`.
    pub title: Option<String>,
    /// Draw an icicle graph (roots at the top) instead of a flame graph.
    pub icicle: bool,
    /// Image width in pixels; [`DEFAULT_WIDTH`] when `None`.
    pub width: Option<usize>,
    /// Frames narrower than this many pixels are left out.
    pub min_width: f64,
}

/// The image width when none is given (inferno's default).
pub const DEFAULT_WIDTH: usize = 1200;

impl Default for SvgOptions {
    fn default() -> Self {
        SvgOptions {
            title: None,
            icicle: false,
            width: None,
            min_width: 1.2,
        }
    }
}

impl SvgOptions {
    /// The narrowest frame drawn, as a fraction of the image width.
    pub fn min_width_fraction(&self) -> f64 {
        self.min_width / self.width.unwrap_or(DEFAULT_WIDTH) as f64
    }
}
