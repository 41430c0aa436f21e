//! The renderings of one run's figures: the Markdown report, its SVG
//! plots, and the JSON. They read the results through the analysis and
//! add only words, units and layout.

pub mod json;
pub mod markdown;
pub mod svg;
