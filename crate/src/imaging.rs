//! Pixels in and out: decoding any common image file to RGB, the processor's exact resize and
//! normalisation, and turning logits back into image-sized probabilities and masks.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};

use crate::Error;

/// ImageNet statistics the CLIPSeg processor normalises with.
pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Decodes PNG, JPEG, WebP, GIF (first frame) or BMP, applies the EXIF orientation, and converts
/// gray, alpha, 16-bit and CMYK images to 8-bit RGB (alpha is dropped, as PIL's `convert("RGB")`).
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage, Error> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::Image(format!("cannot read the image: {e}")))?;
    if reader.format().is_none() {
        return Err(Error::Image(
            "not an image this tool reads (PNG, JPEG, WebP, GIF or BMP)".into(),
        ));
    }
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| Error::Image(format!("cannot decode the image: {e}")))?;
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder)
        .map_err(|e| Error::Image(format!("cannot decode the image: {e}")))?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    if image.width() == 0 || image.height() == 0 {
        return Err(Error::Image("the image is empty (0 pixels)".into()));
    }
    Ok(image.into_rgb8())
}

/// Pillow's `Image.resize(size, BILINEAR)` for 8-bit images, bit for bit: a triangle filter whose
/// support widens with the reduction factor (antialiasing), 22-bit fixed-point weights, the
/// horizontal pass first, each pass rounded to 8 bits. The CLIPSeg processor resizes this way.
pub fn resize_bilinear(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (in_w, in_h) = image.dimensions();
    let mut current = image.clone();
    if width != in_w {
        let coeffs = pil_coefficients(in_w as usize, width as usize);
        let mut out = RgbImage::new(width, in_h);
        for y in 0..in_h {
            for (x, (start, weights)) in coeffs.iter().enumerate() {
                let mut acc = [1i64 << (PRECISION_BITS - 1); 3];
                for (i, &w) in weights.iter().enumerate() {
                    let p = current.get_pixel(*start as u32 + i as u32, y).0;
                    for c in 0..3 {
                        acc[c] += p[c] as i64 * w as i64;
                    }
                }
                out.put_pixel(x as u32, y, image::Rgb(acc.map(clip8)));
            }
        }
        current = out;
    }
    if height != in_h {
        let coeffs = pil_coefficients(in_h as usize, height as usize);
        let cur_w = current.width();
        let mut out = RgbImage::new(cur_w, height);
        for (y, (start, weights)) in coeffs.iter().enumerate() {
            for x in 0..cur_w {
                let mut acc = [1i64 << (PRECISION_BITS - 1); 3];
                for (i, &w) in weights.iter().enumerate() {
                    let p = current.get_pixel(x, *start as u32 + i as u32).0;
                    for c in 0..3 {
                        acc[c] += p[c] as i64 * w as i64;
                    }
                }
                out.put_pixel(x, y as u32, image::Rgb(acc.map(clip8)));
            }
        }
        current = out;
    }
    current
}

/// Pillow's fixed-point precision for 8-bit resampling (`32 - 8 - 2`).
const PRECISION_BITS: u32 = 22;

fn clip8(value: i64) -> u8 {
    (value >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Per output pixel: first input index and fixed-point weights (Pillow's `precompute_coeffs`
/// with the bilinear filter, then `normalize_coeffs_8bpc`).
fn pil_coefficients(in_size: usize, out_size: usize) -> Vec<(usize, Vec<i32>)> {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale; // the bilinear filter's support is 1
    let triangle = |x: f64| {
        let x = x.abs();
        if x < 1.0 { 1.0 - x } else { 0.0 }
    };
    (0..out_size)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            // C's `(int)` truncates toward zero.
            let xmin = ((center - support + 0.5).trunc() as i64).max(0) as usize;
            let xmax = ((center + support + 0.5).trunc() as i64).min(in_size as i64) as usize;
            let raw: Vec<f64> =
                (xmin..xmax).map(|x| triangle((x as f64 - center + 0.5) / filter_scale)).collect();
            let total: f64 = raw.iter().sum();
            let fixed = raw
                .iter()
                .map(|&w| {
                    let w = if total != 0.0 { w / total } else { w };
                    let scaled = w * (1u64 << PRECISION_BITS) as f64;
                    (if scaled < 0.0 { scaled - 0.5 } else { scaled + 0.5 }).trunc() as i32
                })
                .collect();
            (xmin, fixed)
        })
        .collect()
}

/// RGB → planar float [3, H, W]: scaled to [0, 1], then `(x - mean) / std`.
pub fn normalize(image: &RgbImage) -> Vec<f32> {
    let (w, h) = image.dimensions();
    let plane = (w * h) as usize;
    let mut out = vec![0.0f32; 3 * plane];
    for (i, pixel) in image.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (pixel.0[c] as f32 / 255.0 - MEAN[c]) / STD[c];
        }
    }
    out
}

/// The processor: resize to `size`×`size` (aspect not kept) and normalise.
pub fn preprocess(image: &RgbImage, size: u32) -> Vec<f32> {
    if image.dimensions() == (size, size) {
        normalize(image)
    } else {
        normalize(&resize_bilinear(image, size, size))
    }
}

/// `torch.nn.functional.interpolate(mode="bilinear", align_corners=False)` (no antialiasing) of
/// one row-major `src_w`×`src_h` plane to `dst_w`×`dst_h`. Brings logits back to the image's size.
pub fn resize_plane(src: &[f32], src_w: usize, src_h: usize, dst_w: usize, dst_h: usize) -> Vec<f32> {
    // Per output coordinate: the two source taps and the weight of the second.
    let taps = |src_len: usize, dst_len: usize| -> Vec<(usize, usize, f32)> {
        let scale = src_len as f32 / dst_len as f32;
        (0..dst_len)
            .map(|o| {
                let at = ((o as f32 + 0.5) * scale - 0.5).max(0.0);
                let i0 = (at.floor() as usize).min(src_len - 1);
                let i1 = (i0 + 1).min(src_len - 1);
                (i0, i1, at - i0 as f32)
            })
            .collect()
    };
    let xs = taps(src_w, dst_w);
    let ys = taps(src_h, dst_h);
    let mut out = Vec::with_capacity(dst_w * dst_h);
    for &(y0, y1, fy) in &ys {
        for &(x0, x1, fx) in &xs {
            let at = |y: usize, x: usize| src[y * src_w + x];
            let top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx;
            let bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// A binary mask (0 or 255) where `sigmoid(logit) > threshold`.
pub fn mask_from_logits(logits: &[f32], threshold: f32) -> Vec<u8> {
    logits.iter().map(|&l| if sigmoid(l) > threshold { 255 } else { 0 }).collect()
}
