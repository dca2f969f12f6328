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

use crate::config::INPUT_SIZE;
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
    /// A mask region from a grayscale mask image: pixels of luma 128 or more are the object.
    pub fn from_luma(mask: &image::GrayImage) -> Self {
        let data = mask.pixels().map(|p| p.0[0] >= 128).collect();
        Region::Mask { width: mask.width(), height: mask.height(), data }
    }

    /// A mask region from one byte per pixel (row-major), nonzero on the object.
    pub fn from_bytes(width: u32, height: u32, bytes: &[u8]) -> Self {
        Region::Mask { width, height, data: bytes.iter().map(|&b| b != 0).collect() }
    }

    /// Checks that the region fits an `image_w`×`image_h` picture and covers part of the
    /// model's input.
    pub fn validate(&self, image_w: u32, image_h: u32) -> Result<(), Error> {
        self.mask(image_w, image_h, INPUT_SIZE).map(drop)
    }

    /// The object mask at `size`×`size` (row-major) for an `image_w`×`image_h` image.
    fn mask(&self, image_w: u32, image_h: u32, size: usize) -> Result<Vec<bool>, Error> {
        let mask = match self {
            Region::Box(corners) => {
                let [x0, y0, x1, y1] = *corners;
                if corners.iter().any(|v| !v.is_finite()) {
                    return Err(Error::prompt("the box has a coordinate that is not a number"));
                }
                if x1 <= x0 || y1 <= y0 {
                    return Err(Error::prompt(format!(
                        "the box {x0},{y0},{x1},{y1} has no area (need x1 > x0 and y1 > y0)"
                    )));
                }
                if x0 < 0.0 || y0 < 0.0 || x1 > image_w as f32 || y1 > image_h as f32 {
                    return Err(Error::prompt(format!(
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
                if *width == 0 || *height == 0 {
                    return Err(Error::prompt(format!("the mask is {width}×{height}: it has no pixel")));
                }
                if data.len() != *width as usize * *height as usize {
                    return Err(Error::prompt(format!(
                        "the mask has {} values, not {width}×{height}",
                        data.len()
                    )));
                }
                if (*width, *height) != (image_w, image_h) {
                    return Err(Error::prompt(format!(
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
            return Err(Error::prompt("the region covers no pixel of the model's input"));
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
    // Reflect-101 repeated until the index lands on the plane: planes narrower than the kernel
    // (the model's 352 never is) reflect more than once, and a single pixel reflects onto itself.
    let reflect = |i: isize| -> usize {
        let period = 2 * (size as isize - 1);
        if period == 0 {
            return 0;
        }
        let i = i.rem_euclid(period);
        (if i >= size as isize { period - i } else { i }) as usize
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The grid cells of a mask, as (columns, rows) ranges of its bounding box, and its count.
    fn extent(mask: &[bool], size: usize) -> ((usize, usize), (usize, usize), usize) {
        let b = context_bounds_without_context(mask, size);
        (b.x, b.y, mask.iter().filter(|m| **m).count())
    }

    fn context_bounds_without_context(mask: &[bool], size: usize) -> Bounds {
        let cells: Vec<(usize, usize)> = (0..size * size).filter(|&i| mask[i]).map(|i| (i % size, i / size)).collect();
        let xs = cells.iter().map(|c| c.0);
        let ys = cells.iter().map(|c| c.1);
        Bounds { x: (xs.clone().min().unwrap(), xs.max().unwrap() + 1), y: (ys.clone().min().unwrap(), ys.max().unwrap() + 1) }
    }

    #[test]
    fn a_box_maps_outward_onto_the_grid() {
        // 100×50 image on a 10×10 grid: x scales by 1/10, y by 1/5.
        // x: ⌊15/10⌋ = 1 … ⌈35/10⌉ = 4; y: ⌊5/5⌋ = 1 … ⌈26/5⌉ = 6.
        let mask = Region::Box([15.0, 5.0, 35.0, 26.0]).mask(100, 50, 10).unwrap();
        assert_eq!(extent(&mask, 10), ((1, 4), (1, 6), 3 * 5));
        // Edges exactly on grid lines do not grow; the far edge is clamped to the grid.
        let mask = Region::Box([0.0, 0.0, 100.0, 50.0]).mask(100, 50, 10).unwrap();
        assert!(mask.iter().all(|m| *m));
        let mask = Region::Box([20.0, 10.0, 30.0, 20.0]).mask(100, 50, 10).unwrap();
        assert_eq!(extent(&mask, 10), ((2, 3), (2, 4), 2));
    }

    #[test]
    fn a_mask_is_sampled_by_nearest_neighbour() {
        // 20×10 mask on a 10×10 grid: cell (x, y) reads pixel (2x, y).
        let (w, h) = (20u32, 10u32);
        let data: Vec<bool> = (0..w * h).map(|i| (i % w == 6 || i % w == 7) && i / w >= 3).collect();
        let mask = Region::Mask { width: w, height: h, data }.mask(w, h, 10).unwrap();
        assert_eq!(extent(&mask, 10), ((3, 4), (3, 10), 7));
        // Odd pixels are skipped: a mask on column 7 only is invisible at this grid.
        let data: Vec<bool> = (0..w * h).map(|i| i % w == 7).collect();
        let error = Region::Mask { width: w, height: h, data }.mask(w, h, 10).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Prompt);
        // From bytes and from luma: nonzero and ≥ 128 are the object.
        assert_eq!(Region::from_bytes(2, 1, &[0, 3]), Region::Mask { width: 2, height: 1, data: vec![false, true] });
        let luma = image::GrayImage::from_raw(3, 1, vec![127, 128, 255]).unwrap();
        assert_eq!(Region::from_luma(&luma), Region::Mask { width: 3, height: 1, data: vec![false, true, true] });
    }

    #[test]
    fn bad_regions_are_prompt_errors() {
        let cases = [
            Region::Box([f32::NAN, 0.0, 1.0, 1.0]),
            Region::Box([5.0, 0.0, 5.0, 1.0]),
            Region::Box([0.0, 0.0, 101.0, 1.0]),
            Region::Mask { width: 100, height: 50, data: vec![true; 10] },
            Region::Mask { width: 50, height: 100, data: vec![true; 5000] },
            Region::Mask { width: 100, height: 50, data: vec![false; 5000] },
        ];
        for region in cases {
            let error = region.validate(100, 50).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Prompt, "{region:?}: {error}");
        }
    }

    #[test]
    fn blur_reflects_planes_narrower_than_its_kernel() {
        // A constant plane stays constant however often the 15 taps reflect off its borders.
        for size in 1..=8 {
            let blurred = blur(&vec![2.0; size * size], size);
            assert!(blurred.iter().all(|v| (v - 2.0).abs() < 1e-5), "size {size}: {blurred:?}");
        }
        // A 0 1 2 ramp on 3 pixels reflects as … 2 1 [0 1 2] 1 0 …: symmetric about the middle
        // pixel, which stays 1 while the ends move by the same amount in opposite directions.
        let plane: Vec<f32> = (0..9).map(|i| (i % 3) as f32).collect();
        let blurred = blur(&plane, 3);
        assert!((blurred[1] - 1.0).abs() < 1e-5, "{blurred:?}");
        assert!((blurred[0] + blurred[2] - 2.0).abs() < 1e-5 && blurred.iter().all(|v| (0.0..=2.0).contains(v)), "{blurred:?}");
    }

    #[test]
    fn context_widens_by_a_tenth_per_side_within_the_grid() {
        let size = 100;
        let mut mask = vec![false; size * size];
        // Object: columns 20..40 (w = 20), rows 50..100 (h = 50, touching the bottom).
        for y in 50..100 {
            for x in 20..40 {
                mask[y * size + x] = true;
            }
        }
        let bounds = context_bounds(&mask, size);
        assert_eq!(bounds.x, (18, 42));
        assert_eq!(bounds.y, (45, 100));
        // Widths under 10 get no context (integer tenth); at the left edge it is clamped.
        let mut mask = vec![false; size * size];
        for x in 0..9 {
            mask[10 * size + x] = true;
        }
        let bounds = context_bounds(&mask, size);
        assert_eq!((bounds.x, bounds.y), ((0, 9), (10, 11)));
    }
}
