//! Pixels in and out: decoding any common image file to RGB, the processor's exact resize and
//! normalisation, and turning logits back into image-sized probabilities and masks.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, RgbImage};

use crate::Error;

/// ImageNet statistics the CLIPSeg processor normalises with.
pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];

const UNSUPPORTED: &str = "not an image this tool reads (PNG, JPEG, WebP, GIF or BMP)";

/// The most pixels [`decode_image`] reads: 100 MP, a 12000×8000 photo or a long panorama (the
/// model sees 352×352 of them; the browser scales anything over 4096 px a side down first).
pub const MAX_PIXELS: u64 = 100_000_000;

/// The most a decoder may allocate: [`MAX_PIXELS`] of 16-bit RGBA, and a little more.
const MAX_DECODE_BYTES: u64 = MAX_PIXELS * 8 + (64 << 20);

fn decode_error(error: ImageError) -> Error {
    match error {
        // A format `image` knows but this build does not decode (TIFF, AVIF…).
        ImageError::Unsupported(_) => Error::unsupported_image(format!("{UNSUPPORTED}: {error}")),
        ImageError::Limits(_) => Error::image(format!(
            "the image would need more memory to decode than is allowed ({error}): it is too large or damaged"
        )),
        _ => Error::image(format!("cannot decode the image: {error}")),
    }
}

/// Decodes PNG, JPEG, WebP, GIF (first frame) or BMP, applies the EXIF orientation, and converts
/// gray, alpha, 16-bit and CMYK images to 8-bit RGB (alpha is dropped, as PIL's `convert("RGB")`).
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage, Error> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::image(format!("cannot read the image: {e}")))?;
    if reader.format().is_none() {
        return Err(Error::unsupported_image(UNSUPPORTED));
    }
    // What a decoder may allocate beyond the pixels: a header can claim anything.
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    // A header is read before the pixels: a decompression bomb (a few bytes that claim
    // 40000×40000) is refused here, before anything its size is allocated.
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(Error::image(format!(
            "the image is {width}×{height} pixels ({} MP); at most {} MP are read: scale it down first",
            pixels / 1_000_000,
            MAX_PIXELS / 1_000_000
        )));
    }
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    if image.width() == 0 || image.height() == 0 {
        return Err(Error::image("the image is empty (0 pixels)"));
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
    resize_plane_map(src, src_w, src_h, dst_w, dst_h, |value| value)
}

/// [`resize_plane`] with `map` applied to each output value as it is made (no full-size
/// intermediate plane).
fn resize_plane_map<T>(
    src: &[f32],
    src_w: usize,
    src_h: usize,
    dst_w: usize,
    dst_h: usize,
    map: impl Fn(f32) -> T,
) -> Vec<T> {
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
            out.push(map(top * (1.0 - fy) + bottom * fy));
        }
    }
    out
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The logit above which `sigmoid(logit) > threshold`: masks compare logits with it, one log
/// instead of an exp per pixel (±infinity at thresholds 0 and 1).
fn logit_of(threshold: f32) -> f32 {
    (threshold / (1.0 - threshold)).ln()
}

/// The mask of one logits map (`side × side`, before sigmoid) on a `width × height` image:
/// resized as [`resize_plane`] does, 255 where sigmoid > `threshold`, else 0. What
/// `clipseg segment --mask` writes, what `clipseg label` and the browser's labelling page cut
/// instances from.
pub fn image_mask(logits: &[f32], side: usize, width: u32, height: u32, threshold: f32) -> Vec<u8> {
    let cut = logit_of(threshold);
    resize_plane_map(logits, side, side, width as usize, height as usize, |logit| if logit > cut { 255 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 24-bit BMP's 54-byte header claiming `width × height`, and no pixels.
    fn bmp_header(width: u32, height: u32) -> Vec<u8> {
        let row = (width as u64 * 3).div_ceil(4) * 4;
        let size = 54 + row * u64::from(height);
        let mut bytes = b"BM".to_vec();
        bytes.extend((size.min(u64::from(u32::MAX)) as u32).to_le_bytes());
        bytes.extend([0; 4]);
        bytes.extend(54u32.to_le_bytes());
        bytes.extend(40u32.to_le_bytes());
        bytes.extend(width.to_le_bytes());
        bytes.extend(height.to_le_bytes());
        bytes.extend(1u16.to_le_bytes());
        bytes.extend(24u16.to_le_bytes());
        bytes.extend([0; 24]);
        bytes
    }

    /// A 1×1 PNG whose IHDR then claims `width × height` (its CRC fixed, so only the size lies).
    fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        RgbImage::new(1, 1).write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
        bytes[16..20].copy_from_slice(&width.to_be_bytes());
        bytes[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = bytes[12..29].iter().fold(!0u32, |mut crc, &byte| {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
            crc
        });
        bytes[29..33].copy_from_slice(&(!crc).to_be_bytes());
        bytes
    }

    #[test]
    fn decompression_bombs_are_refused_from_their_header() {
        for (format, bomb) in [("bmp", bmp_header(40_000, 40_000)), ("png", png_claiming(40_000, 40_000))] {
            let started = std::time::Instant::now();
            let error = decode_image(&bomb).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Image, "{format}: {error}");
            assert!(error.message().contains("40000×40000") && error.message().contains("scale it down"), "{format}: {error}");
            assert!(started.elapsed().as_secs_f64() < 1.0, "{format}: refused before decoding");
        }
        // Just within the limit, the header is believed and the missing pixels are the error.
        let error = decode_image(&png_claiming(10_000, 10_000)).unwrap_err();
        assert!(!error.message().contains("MP are read"), "{error}");
    }

    /// Pillow 13's bilinear weights as float: `Image.fromarray(one_hot, mode="F").resize((out, 1),
    /// BILINEAR)` for each one-hot row of length `in` (float mode uses the normalised double
    /// weights that the 8-bit path then rounds to 22-bit fixed point). Row = output pixel.
    const PIL_7_TO_3: [[f32; 7]; 3] = [
        [3.5714287e-01, 4.2857143e-01, 2.1428572e-01, 0.0, 0.0, 0.0, 0.0],
        [0.0, 5.8823530e-02, 2.3529412e-01, 4.1176471e-01, 2.3529412e-01, 5.8823530e-02, 0.0],
        [0.0, 0.0, 0.0, 0.0, 2.1428572e-01, 4.2857143e-01, 3.5714287e-01],
    ];
    const PIL_3_TO_8: [[f32; 3]; 8] = [
        [1.0, 0.0, 0.0],
        [0.9375, 0.0625, 0.0],
        [0.5625, 0.4375, 0.0],
        [0.1875, 0.8125, 0.0],
        [0.0, 0.8125, 0.1875],
        [0.0, 0.4375, 0.5625],
        [0.0, 0.0625, 0.9375],
        [0.0, 0.0, 1.0],
    ];

    fn dense(in_size: usize, out_size: usize) -> Vec<Vec<f64>> {
        pil_coefficients(in_size, out_size)
            .into_iter()
            .map(|(start, weights)| {
                let mut row = vec![0.0; in_size];
                for (i, w) in weights.iter().enumerate() {
                    row[start + i] = *w as f64 / (1u64 << PRECISION_BITS) as f64;
                }
                row
            })
            .collect()
    }

    #[test]
    fn pil_coefficients_match_pillow() {
        let check = |actual: Vec<Vec<f64>>, expected: Vec<&[f32]>| {
            for (a, e) in actual.iter().zip(&expected) {
                for (a, e) in a.iter().zip(e.iter()) {
                    // 22-bit fixed point: within half a step (2^-23) plus float32 rounding.
                    assert!((a - *e as f64).abs() < 3e-7, "{a} vs {e}");
                }
            }
        };
        check(dense(7, 3), PIL_7_TO_3.iter().map(|r| &r[..]).collect());
        check(dense(3, 8), PIL_3_TO_8.iter().map(|r| &r[..]).collect());
    }

    #[test]
    fn resize_bilinear_matches_pillow_on_a_small_image() {
        // `Image.fromarray(pixels).resize((w, 1), BILINEAR)` in Pillow 13 (uint8 RGB).
        let pixels: [[u8; 3]; 5] = [[10, 200, 30], [250, 0, 128], [77, 77, 77], [0, 255, 1], [99, 1, 200]];
        let image = RgbImage::from_raw(5, 1, pixels.concat()).unwrap();
        let shrunk: [[u8; 3]; 3] = [[113, 114, 72], [98, 99, 71], [57, 110, 115]];
        let grown: [[u8; 3]; 8] =
            [[10, 200, 30], [115, 113, 73], [239, 5, 125], [131, 53, 93], [53, 133, 53], [5, 244, 6], [56, 112, 113], [99, 1, 200]];
        assert_eq!(resize_bilinear(&image, 3, 1).into_raw(), shrunk.concat());
        assert_eq!(resize_bilinear(&image, 8, 1).into_raw(), grown.concat());
    }

    fn fixture_image(file: &str) -> RgbImage {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images").join(file);
        decode_image(&std::fs::read(path).unwrap()).unwrap()
    }

    /// `images/chelsea_pil352.png` is Pillow's resize of the decoded `chelsea.png` (lossless): the
    /// same pixels in, so the resize must give the same bytes out.
    #[test]
    fn resize_bilinear_matches_pillow_bit_for_bit() {
        let resized = resize_bilinear(&fixture_image("chelsea.png"), 352, 352);
        assert_eq!(resized.into_raw(), fixture_image("chelsea_pil352.png").into_raw());
    }

    /// `rocket.jpg` decodes to slightly other pixels here than in Pillow (libjpeg-turbo), so its
    /// resize can only agree approximately: within a few levels, and on average under one.
    #[test]
    fn resize_bilinear_of_a_jpeg_is_close_to_pillow() {
        let resized = resize_bilinear(&fixture_image("rocket.jpg"), 352, 352).into_raw();
        let expected = fixture_image("rocket_pil352.png").into_raw();
        let diffs: Vec<u8> = resized.iter().zip(&expected).map(|(a, b)| a.abs_diff(*b)).collect();
        let mean = diffs.iter().map(|&d| d as f64).sum::<f64>() / diffs.len() as f64;
        let max = *diffs.iter().max().unwrap();
        assert!(mean < JPEG_MEAN_LEVELS && max <= JPEG_MAX_LEVELS, "mean {mean:.3}, max {max} levels");
    }

    const JPEG_MEAN_LEVELS: f64 = 0.5;
    const JPEG_MAX_LEVELS: u8 = 8;

    #[test]
    fn resize_plane_is_torch_bilinear() {
        // F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4), mode="bilinear",
        // align_corners=False): edges clamp, inner samples at quarter steps.
        let out = resize_plane(&[0.0, 1.0, 2.0, 3.0], 2, 2, 4, 4);
        let row0 = [0.0, 0.25, 0.75, 1.0];
        assert_eq!(out[..4], row0);
        assert_eq!(out[4..8], row0.map(|v| v + 0.5));
        assert_eq!(out[12..], row0.map(|v| v + 2.0));
    }

    #[test]
    fn image_mask_is_sigmoid_above_the_threshold_of_the_resized_logits() {
        let mut seed = 7u32;
        let logits: Vec<f32> = (0..49)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 24) as f32 * 12.0 - 6.0
            })
            .collect();
        let resized = resize_plane(&logits, 7, 7, 11, 5);
        for threshold in [0.0, 0.25, 0.5, 0.9, 1.0] {
            let expected: Vec<u8> = resized.iter().map(|&l| if sigmoid(l) > threshold { 255 } else { 0 }).collect();
            assert_eq!(image_mask(&logits, 7, 11, 5, threshold), expected, "threshold {threshold}");
        }
    }

    #[test]
    fn unknown_formats_are_unsupported_and_broken_files_are_image_errors() {
        use crate::ErrorKind;
        assert_eq!(decode_image(b"plain text, not a picture").unwrap_err().kind(), ErrorKind::UnsupportedImage);
        let png = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images/chelsea_mask.png")).unwrap();
        assert_eq!(decode_image(&png[..png.len() / 2]).unwrap_err().kind(), ErrorKind::Image);
    }
}
