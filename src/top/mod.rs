//! `rpprof top`'s live view: [`model`] keeps the figures between refreshes, [`ui`] draws
//! them in the terminal.

pub mod model;
pub mod ui;
