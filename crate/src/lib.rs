//! CLIPSeg — image segmentation from text and image prompts — in `burn`, for native use and
//! WebAssembly. One core API ([`Segmenter`]) serves the CLI and the browser: encode an image
//! once, then decode any number of prompts against it.

pub mod config;
mod error;
pub mod imaging;
pub mod int8;
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
#[cfg(target_arch = "wasm32")]
mod web_labels;
/// `initThreadPool(n)` of the threaded browser module: the worker starts n rayon threads (Web
/// Workers sharing the module's memory) before its first session.
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
pub use wasm_bindgen_rayon::init_thread_pool;

pub use config::ClipSegConfig;
pub use error::{Error, ErrorKind};
pub use segmenter::{EncodedImage, PromptImage, Prompts, Segmenter, TextPrompt, VisualPrompt};
pub use visual_prompt::Region;
pub use weights::WeightsSource;
