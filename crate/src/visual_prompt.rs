//! The paper's best engineered visual prompt (Table 2): crop to the object with 10% context, pad
//! to square, background darkened (×0.1) and blurred — all in normalised pixel space, so "dark"
//! is the ImageNet mean and padding is the mean colour. The exact recipe (shared with
//! `scripts/make_fixtures.py`, which produces the reference):
//! 1. the prompt image's processor output P [3, S, S];
//! 2. the object mask at S×S (a box maps outward: ⌊x0·S/W⌋ … ⌈x1·S/W⌉);
//! 3. Q = P on the object, 0.1 · blur(P) elsewhere (15-tap Gaussian, σ = 3, reflect-101 borders);
//! 4. crop Q to the mask's bounding box widened by a tenth of its size on each side;
//! 5. pad to a square with zeros, centred; 6. bilinear resize back to S×S.

use image::RgbImage;

use crate::imaging::{preprocess, resize_plane};
use crate::Error;

/// The object in a visual-prompt image, in that image's pixels.
#[derive(Debug, Clone, PartialEq)]
pub enum Region {
    /// `[x0, y0, x1, y1]`: left, top, right, bottom edges in pixels (x1 > x0, y1 > y0).
    Box([f32; 4]),
    /// A mask of the image's size, row-major, `true` on the object.
    Mask { width: u32, height: u32, data: Vec<bool> },
}

const BACKGROUND_FACTOR: f32 = 0.1;
const BLUR_TAPS: usize = 15;
const BLUR_SIGMA: f64 = 3.0;

/// Half-open pixel ranges on the S×S grid.
struct Bounds {
    x: (usize, usize),
    y: (usize, usize),
}

impl Region {
    /// The object mask at `size`×`size` (row-major) for an `image_w`×`image_h` image.
    fn mask(&self, image_w: u32, image_h: u32, size: usize) -> Result<Vec<bool>, Error> {
        let mask = match self {
            Region::Box(corners) => {
                let [x0, y0, x1, y1] = *corners;
                if corners.iter().any(|v| !v.is_finite()) {
                    return Err(Error::Prompt("the box has a coordinate that is not a number".into()));
                }
                if x1 <= x0 || y1 <= y0 {
                    return Err(Error::Prompt(format!(
                        "the box {x0},{y0},{x1},{y1} has no area (need x1 > x0 and y1 > y0)"
                    )));
                }
                if x0 < 0.0 || y0 < 0.0 || x1 > image_w as f32 || y1 > image_h as f32 {
                    return Err(Error::Prompt(format!(
                        "the box {x0},{y0},{x1},{y1} is outside the {image_w}×{image_h} image"
                    )));
                }
                let s = size as f64;
                let outward = |lo: f32, hi: f32, extent: u32| {
                    let scale = s / extent as f64;
                    let a = (lo as f64 * scale).floor() as usize;
                    let b = ((hi as f64 * scale).ceil() as usize).min(size);
                    (a, b)
                };
                let (cx0, cx1) = outward(x0, x1, image_w);
                let (cy0, cy1) = outward(y0, y1, image_h);
                (0..size * size)
                    .map(|i| (cx0..cx1).contains(&(i % size)) && (cy0..cy1).contains(&(i / size)))
                    .collect::<Vec<bool>>()
            }
            Region::Mask { width, height, data } => {
                if (*width, *height) != (image_w, image_h) || data.len() != (image_w * image_h) as usize {
                    return Err(Error::Prompt(format!(
                        "the mask is {width}×{height} but the image is {image_w}×{image_h}"
                    )));
                }
                let (w, h) = (*width as usize, *height as usize);
                // Nearest-neighbour sampling at the model's resolution.
                (0..size * size)
                    .map(|i| {
                        let sx = ((i % size) * w / size).min(w - 1);
                        let sy = ((i / size) * h / size).min(h - 1);
                        data[sy * w + sx]
                    })
                    .collect()
            }
        };
        if !mask.iter().any(|&m| m) {
            return Err(Error::Prompt("the region covers no pixel of the model's input".into()));
        }
        Ok(mask)
    }
}

/// Bounding box of the mask, widened by a tenth of its width/height per side, within the grid.
fn context_bounds(mask: &[bool], size: usize) -> Bounds {
    let (mut x0, mut x1, mut y0, mut y1) = (size, 0, size, 0);
    for (i, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
        let (x, y) = (i % size, i / size);
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x + 1), y0.min(y), y1.max(y + 1));
    }
    let (dx, dy) = ((x1 - x0) / 10, (y1 - y0) / 10);
    Bounds { x: (x0.saturating_sub(dx), (x1 + dx).min(size)), y: (y0.saturating_sub(dy), (y1 + dy).min(size)) }
}

/// Separable Gaussian blur of one `size`×`size` plane, horizontal pass first, reflect-101 borders.
fn blur(plane: &[f32], size: usize) -> Vec<f32> {
    let half = (BLUR_TAPS / 2) as isize;
    let raw: Vec<f64> = (0..BLUR_TAPS)
        .map(|i| (-((i as f64 - half as f64).powi(2)) / (2.0 * BLUR_SIGMA * BLUR_SIGMA)).exp())
        .collect();
    let total: f64 = raw.iter().sum();
    let kernel: Vec<f32> = raw.iter().map(|k| (k / total) as f32).collect();
    let reflect = |i: isize| -> usize {
        let n = size as isize;
        let i = if i < 0 { -i } else { i };
        (if i >= n { 2 * (n - 1) - i } else { i }) as usize
    };
    let pass = |src: &[f32], horizontal: bool| -> Vec<f32> {
        let mut out = vec![0.0f32; size * size];
        for y in 0..size {
            for x in 0..size {
                out[y * size + x] = kernel.iter().enumerate().fold(0.0, |acc, (k, w)| {
                    let offset = k as isize - half;
                    let value = if horizontal {
                        src[y * size + reflect(x as isize + offset)]
                    } else {
                        src[reflect(y as isize + offset) * size + x]
                    };
                    acc + w * value
                });
            }
        }
        out
    };
    pass(&pass(plane, true), false)
}

/// Normalised pixels [3, size, size] of the engineered prompt for `region` of `image`.
pub fn engineered_prompt(image: &RgbImage, region: &Region, size: usize) -> Result<Vec<f32>, Error> {
    let mask = region.mask(image.width(), image.height(), size)?;
    let bounds = context_bounds(&mask, size);
    let (crop_w, crop_h) = (bounds.x.1 - bounds.x.0, bounds.y.1 - bounds.y.0);
    let side = crop_w.max(crop_h);
    let (pad_x, pad_y) = ((side - crop_w) / 2, (side - crop_h) / 2);
    let pixels = preprocess(image, size as u32);
    let mut out = Vec::with_capacity(3 * size * size);
    for plane in pixels.chunks(size * size) {
        let blurred = blur(plane, size);
        // Zero (the mean colour) wherever the padding shows.
        let mut square = vec![0.0f32; side * side];
        for y in bounds.y.0..bounds.y.1 {
            for x in bounds.x.0..bounds.x.1 {
                let i = y * size + x;
                let value = if mask[i] { plane[i] } else { BACKGROUND_FACTOR * blurred[i] };
                square[(y - bounds.y.0 + pad_y) * side + (x - bounds.x.0 + pad_x)] = value;
            }
        }
        out.extend(resize_plane(&square, side, side, size, size));
    }
    Ok(out)
}
