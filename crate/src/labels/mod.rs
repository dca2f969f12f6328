//! Labelling formats: binary masks and their instances (8-connected components), COCO RLE
//! (exactly pycocotools' encoding and compressed strings), mask ↔ polygon, the COCO / YOLO /
//! PNG writers, the COCO reader, and a whole dataset's files in one format ([`export`]). Pure
//! Rust without burn or file I/O, so the browser's export worker (wasm) and the CLI run the same
//! code; every writer returns text or bytes.
//!
//! Coordinates follow COCO: pixel `(x, y)` covers `[x, x + 1] × [y, y + 1]`, so its centre is at
//! `(x + 0.5, y + 0.5)` — the convention pycocotools rasterises polygons with.

pub mod coco;
pub mod export;
pub mod mask;
pub mod png;
pub mod polygon;
pub mod rle;
pub mod yolo;

pub use coco::{Annotation, Category, Dataset, Image, Segmentation, SegmentationKind};
pub use export::{ExportOptions, Format, dataset_files};
pub use mask::{Components, Mask};
pub use polygon::{Polygon, PolygonOptions, Ring};
pub use rle::Rle;

/// Every error of this module is made here: kind `annotations` (a label file, RLE, polygon or mask
/// that is invalid), with a message that says what is wrong for the person using the tool.
pub(crate) fn error(message: impl Into<String>) -> crate::Error {
    crate::Error::annotations(message)
}

pub(crate) type Result<T> = std::result::Result<T, crate::Error>;
