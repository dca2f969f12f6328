//! PNG masks in CVAT's "Segmentation mask" layout: `SegmentationClass/<stem>.png` (class index
//! per pixel, 0 = background), `SegmentationObject/<stem>.png` (instance id per pixel, 0 = none)
//! and `labelmap.txt`. Grayscale, lossless, never resampled: 8-bit, or 16-bit for instance ids
//! above 255. Bytes only; the caller writes the files (or the zip).

use std::io::Cursor;

use image::{ExtendedColorType, ImageEncoder, codecs::png::PngEncoder};

use super::mask::Mask;
use super::{Result, error};

fn check_len(width: u32, height: u32, len: usize) -> Result<()> {
    if len != width as usize * height as usize {
        return Err(error(format!(
            "a {width}×{height} PNG needs {} pixels, got {len}",
            width as usize * height as usize
        )));
    }
    Ok(())
}

/// An 8-bit grayscale PNG of `width × height` row-major values.
pub fn gray8(width: u32, height: u32, values: &[u8]) -> Result<Vec<u8>> {
    check_len(width, height, values.len())?;
    let mut out = Vec::new();
    PngEncoder::new(Cursor::new(&mut out))
        .write_image(values, width, height, ExtendedColorType::L8)
        .map_err(|e| error(format!("cannot encode the PNG: {e}")))?;
    Ok(out)
}

/// A 16-bit grayscale PNG.
pub fn gray16(width: u32, height: u32, values: &[u16]) -> Result<Vec<u8>> {
    check_len(width, height, values.len())?;
    // The encoder takes native-endian u16 samples as bytes and writes them big-endian.
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let mut out = Vec::new();
    PngEncoder::new(Cursor::new(&mut out))
        .write_image(&bytes, width, height, ExtendedColorType::L16)
        .map_err(|e| error(format!("cannot encode the PNG: {e}")))?;
    Ok(out)
}

/// The semantic PNG: a class index per pixel (0 = background, class `i` of the label map = `i`).
pub fn class_png(width: u32, height: u32, classes: &[u8]) -> Result<Vec<u8>> {
    gray8(width, height, classes)
}

/// The instance PNG: an id per pixel (0 = none): 8-bit when every id fits, else 16-bit.
pub fn instance_png(width: u32, height: u32, ids: &[u32]) -> Result<Vec<u8>> {
    let max = ids.iter().copied().max().unwrap_or(0);
    if max <= 255 {
        gray8(
            width,
            height,
            &ids.iter().map(|&v| v as u8).collect::<Vec<_>>(),
        )
    } else if max <= 65535 {
        gray16(
            width,
            height,
            &ids.iter().map(|&v| v as u16).collect::<Vec<_>>(),
        )
    } else {
        Err(error(format!("{max} instances do not fit a 16-bit PNG")))
    }
}

/// Paints objects into a class map and an instance map: object `k` (from 0) gets instance id
/// `k + 1`, and its class index (1-based: 0 is background) where its mask is set; later objects
/// cover earlier ones.
pub fn paint(width: u32, height: u32, objects: &[(u8, &Mask)]) -> Result<(Vec<u8>, Vec<u32>)> {
    let n = width as usize * height as usize;
    let (mut classes, mut ids) = (vec![0u8; n], vec![0u32; n]);
    for (k, (class, mask)) in objects.iter().enumerate() {
        if (mask.width(), mask.height()) != (width, height) {
            return Err(error("an object's mask and the image differ in size"));
        }
        for (i, &v) in mask.as_bytes().iter().enumerate() {
            if v != 0 {
                classes[i] = *class;
                ids[i] = k as u32 + 1;
            }
        }
    }
    Ok((classes, ids))
}

/// PASCAL VOC's colour map, which CVAT's label maps use by default.
pub fn voc_color(index: usize) -> [u8; 3] {
    let (mut c, mut rgb) = (index, [0u8; 3]);
    for j in 0..8 {
        for (ch, v) in rgb.iter_mut().enumerate() {
            *v |= (((c >> ch) & 1) as u8) << (7 - j);
        }
        c >>= 3;
    }
    rgb
}

/// CVAT's `labelmap.txt`: `background` first, then the classes (index 1, 2, … in the PNGs), each
/// `name:r,g,b::`. Colons in names (the separator) become underscores.
pub fn labelmap_txt<S: AsRef<str>>(names: &[S]) -> String {
    let mut s = String::from("# label:color_rgb:parts:actions\n");
    let all = std::iter::once("background").chain(names.iter().map(|n| n.as_ref()));
    for (i, name) in all.enumerate() {
        let [r, g, b] = voc_color(i);
        s.push_str(&format!(
            "{}:{r},{g},{b}::\n",
            name.replace([':', '\n'], "_")
        ));
    }
    s
}

/// The two PNGs of one image in CVAT's layout, as (path, bytes).
pub fn cvat_files(
    stem: &str,
    width: u32,
    height: u32,
    objects: &[(u8, &Mask)],
) -> Result<Vec<(String, Vec<u8>)>> {
    let (classes, ids) = paint(width, height, objects)?;
    cvat_maps(stem, width, height, &classes, &ids)
}

/// The two PNGs of one image in CVAT's layout from its painted maps (row-major class indices and
/// instance ids), as (path, bytes).
pub fn cvat_maps(
    stem: &str,
    width: u32,
    height: u32,
    classes: &[u8],
    ids: &[u32],
) -> Result<Vec<(String, Vec<u8>)>> {
    Ok(vec![
        (
            format!("SegmentationClass/{stem}.png"),
            class_png(width, height, classes)?,
        ),
        (
            format!("SegmentationObject/{stem}.png"),
            instance_png(width, height, ids)?,
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> image::DynamicImage {
        image::load_from_memory_with_format(bytes, image::ImageFormat::Png).unwrap()
    }

    #[test]
    fn eight_and_sixteen_bit_round_trip() {
        let v: Vec<u8> = (0..12).collect();
        let img = decode(&gray8(4, 3, &v).unwrap());
        assert_eq!(img.color(), image::ColorType::L8);
        assert_eq!(img.as_bytes(), &v[..]);
        let ids: Vec<u32> = vec![0, 1, 255, 256, 1000, 65535];
        let img = decode(&instance_png(3, 2, &ids).unwrap());
        assert_eq!(img.color(), image::ColorType::L16);
        let back: Vec<u32> = img
            .into_luma16()
            .into_raw()
            .into_iter()
            .map(u32::from)
            .collect();
        assert_eq!(back, ids);
        assert_eq!(
            decode(&instance_png(3, 2, &[0, 1, 2, 3, 4, 255]).unwrap()).color(),
            image::ColorType::L8
        );
        assert!(instance_png(1, 1, &[70000]).is_err());
        assert!(gray8(2, 2, &[0; 3]).is_err());
    }

    #[test]
    fn layout_and_labelmap() {
        let a = Mask::from_fn(3, 2, |x, _| x == 0);
        let b = Mask::from_fn(3, 2, |x, y| x <= 1 && y == 1);
        let files = cvat_files("img1", 3, 2, &[(1, &a), (2, &b)]).unwrap();
        assert_eq!(files[0].0, "SegmentationClass/img1.png");
        assert_eq!(files[1].0, "SegmentationObject/img1.png");
        assert_eq!(decode(&files[0].1).as_bytes(), &[1, 0, 0, 2, 2, 0]);
        assert_eq!(decode(&files[1].1).as_bytes(), &[1, 0, 0, 2, 2, 0]);
        assert_eq!(voc_color(1), [128, 0, 0]);
        assert_eq!(voc_color(15), [192, 128, 128]);
        assert_eq!(
            labelmap_txt(&["cat", "a:b"]),
            "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:128,0,0::\na_b:0,128,0::\n"
        );
    }
}
