//! The browser binding of the labelling library ([`crate::labels`]): the page's export worker
//! (`www/export-worker.js`) runs the same masks, components, RLE and dataset writers as the CLI.
//!
//! Errors are JS `Error`s with a `kind` (see `web.rs`); a bad label file is `annotations`.

use js_sys::{Array, Object, Reflect, Uint8Array, Uint32Array};
use wasm_bindgen::prelude::*;

use crate::Error;
use crate::imaging::image_mask;
use crate::labels::coco::Counts;
use crate::labels::export::{ExportOptions, Format, dataset_files};
use crate::labels::{Dataset, Mask, PolygonOptions, Rle, Segmentation, SegmentationKind};
use crate::web::js_error;

fn set(object: &Object, key: &str, value: impl Into<JsValue>) {
    // Setting a property on a plain new object cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), &value.into());
}

/// The class mask of one logits map (`size × size`) at the image's `width × height`, exactly as
/// `clipseg segment --mask` computes it (bilinear resize, then `sigmoid > threshold`), as its
/// 8-connected components: `{ count, components: Uint32Array (the region of each pixel, 0 =
/// background: the mask is where it is not 0), areas: Uint32Array, boxes: Uint32Array }`, where
/// region `l`'s area is `areas[l]` and its COCO box `[x, y, w, h]` is `boxes[4l..4l + 4]`.
#[wasm_bindgen(js_name = classMask)]
pub fn class_mask(logits: &[f32], size: u32, width: u32, height: u32, threshold: f32) -> Result<Object, JsValue> {
    let side = size as usize;
    if logits.len() != side * side {
        return Err(js_error(Error::usage(format!("{} logits are not a {size}×{size} map", logits.len()))));
    }
    if width == 0 || height == 0 {
        return Err(js_error(Error::usage(format!("an image of {width}×{height} pixels"))));
    }
    let mask = Mask::from_bytes(width, height, image_mask(logits, side, width, height, threshold)).map_err(js_error)?;
    let components = mask.components();
    let count = components.count();
    let areas: Vec<u32> = std::iter::once(0).chain(components.areas().iter().map(|&a| a as u32)).collect();
    let boxes: Vec<u32> = std::iter::once([0; 4]).chain(components.bboxes().iter().copied()).flatten().collect();
    let result = Object::new();
    set(&result, "count", count);
    set(&result, "components", Uint32Array::from(components.labels()));
    set(&result, "areas", Uint32Array::from(&areas[..]));
    set(&result, "boxes", Uint32Array::from(&boxes[..]));
    Ok(result)
}

/// A mask (one byte per pixel, row-major, nonzero = object) as COCO's compressed RLE counts.
#[wasm_bindgen(js_name = encodeRle)]
pub fn encode_rle(mask: Vec<u8>, width: u32, height: u32) -> Result<String, JsValue> {
    let mask = Mask::from_bytes(width, height, mask).map_err(js_error)?;
    Ok(Rle::encode(&mask).to_compressed())
}

/// Compressed RLE counts back to a mask (one byte per pixel, row-major, 0 or 1).
#[wasm_bindgen(js_name = decodeRle)]
pub fn decode_rle(counts: &str, width: u32, height: u32) -> Result<Vec<u8>, JsValue> {
    let rle = Rle::from_compressed(height, width, counts).map_err(js_error)?;
    Ok(rle.decode().into_bytes())
}

/// A mask kept as the crop of its box (`w × h` bytes at `(x, y)`, nonzero = object) on a
/// `width × height` image, as the image's compressed RLE counts.
#[wasm_bindgen(js_name = encodeRleCrop)]
pub fn encode_rle_crop(crop: Vec<u8>, x: u32, y: u32, w: u32, h: u32, width: u32, height: u32) -> Result<String, JsValue> {
    let crop = Mask::from_bytes(w, h, crop).map_err(js_error)?;
    Ok(Rle::encode_placed(&crop, x, y, width, height).map_err(js_error)?.to_compressed())
}

/// Compressed RLE counts back to the crop of the mask's box: `{ x, y, w, h, data }` (`data`
/// one byte per pixel of the box, 0/1; all zero sizes for an empty mask).
#[wasm_bindgen(js_name = decodeRleCrop)]
pub fn decode_rle_crop(counts: &str, width: u32, height: u32) -> Result<Object, JsValue> {
    let rle = Rle::from_compressed(height, width, counts).map_err(js_error)?;
    let (crop, [x, y, w, h]) = rle.cropped_mask();
    let result = Object::new();
    set(&result, "x", x);
    set(&result, "y", y);
    set(&result, "w", w);
    set(&result, "h", h);
    set(&result, "data", Uint8Array::from(crop.as_bytes()));
    Ok(result)
}

/// Reads COCO JSON (RLE as strings or count lists, or polygons) and returns it as JSON with
/// every segmentation a compressed RLE (polygons rasterised as pycocotools does) and each
/// annotation's area and box computed from its mask: the one form the page keeps.
#[wasm_bindgen(js_name = importCoco)]
pub fn import_coco(text: &str) -> Result<String, JsValue> {
    let dataset = Dataset::from_json(text).map_err(js_error)?;
    Ok(normalised(dataset).map_err(js_error)?.to_json())
}

/// The files of the page's dataset (COCO JSON with compressed RLE segmentations, area and box
/// optional) in `format` ("coco", "yolo" or "png"), COCO segmentations as `segmentation`
/// ("rle", "polygons" or "auto"): an array of `[path, Uint8Array]`.
#[wasm_bindgen(js_name = exportFiles)]
pub fn export_files(dataset_json: &str, format: &str, segmentation: &str) -> Result<Array, JsValue> {
    let format: Format = format.parse().map_err(js_error)?;
    let segmentation = match segmentation {
        "rle" => SegmentationKind::Rle,
        "polygons" => SegmentationKind::Polygons,
        "auto" => SegmentationKind::Auto,
        other => {
            return Err(js_error(Error::usage(format!(
                "unknown segmentation \"{other}\" (expected rle, polygons or auto)"
            ))));
        }
    };
    let dataset = normalised(Dataset::from_json(dataset_json).map_err(js_error)?).map_err(js_error)?;
    let options = ExportOptions { format, segmentation, polygon: PolygonOptions::default() };
    let files = dataset_files(&dataset, &options).map_err(js_error)?;
    Ok(files
        .into_iter()
        .map(|(path, bytes)| Array::of2(&JsValue::from_str(&path), &Uint8Array::from(&bytes[..])))
        .collect())
}

/// Every segmentation as a compressed RLE, with the area and box of its mask.
fn normalised(mut dataset: Dataset) -> Result<Dataset, Error> {
    let rles = dataset.annotations.iter().map(|a| dataset.annotation_rle(a)).collect::<Result<Vec<_>, _>>()?;
    for (annotation, rle) in dataset.annotations.iter_mut().zip(rles) {
        annotation.area = rle.area() as f64;
        annotation.bbox = rle.bbox().map(f64::from);
        if !matches!(annotation.segmentation, Segmentation::Rle { counts: Counts::Compressed(_), .. }) {
            annotation.segmentation = Segmentation::from_rle(&rle);
        }
    }
    Ok(dataset)
}
