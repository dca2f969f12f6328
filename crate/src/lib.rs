//! CLIPSeg — image segmentation from text and image prompts — in `burn`, for native use and
//! WebAssembly. One core API ([`Segmenter`]) serves the CLI and the browser: encode an image
//! once, then decode any number of prompts against it.

pub mod config;
pub mod imaging;
pub mod labels;
pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod model_dir;
pub mod segmenter;
pub mod tokenizer;
pub mod visual_prompt;
pub mod weights;
#[cfg(target_arch = "wasm32")]
mod web;

pub use config::ClipSegConfig;
pub use segmenter::{EncodedImage, Segmenter};
pub use visual_prompt::Region;
pub use weights::WeightsSource;

/// Everything that can go wrong, each with a message meant for the person using the tool.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Weights(String),
    #[error("{0}")]
    Tokenizer(String),
    #[error("{0}")]
    Image(String),
    #[error("{0}")]
    Prompt(String),
    #[error("{0}")]
    Device(String),
    #[error("{0}")]
    Io(String),
}
