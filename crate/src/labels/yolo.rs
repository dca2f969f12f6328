//! YOLO segmentation labels (Ultralytics): one `.txt` per image, one line per object,
//! `class x1 y1 … xn yn` with coordinates normalised by the image's width and height, classes
//! from 0, at least 3 points. One polygon per line: an object in several parts is joined into one
//! ring by zero-width bridges (as Ultralytics' `merge_multi_segment`); holes cannot be
//! represented (they are filled).

use super::mask::Mask;
use super::polygon::{self, Polygon, PolygonOptions};
use super::{Result, error};

/// Joins the parts of one object into a single ring: each part is connected to the next through
/// their closest points, and the walk comes back along the same bridges, so the bridges add no
/// area. (One part is returned as it is.)
pub fn merge_parts(parts: &[Polygon]) -> Polygon {
    let parts: Vec<&Polygon> = parts.iter().filter(|p| !p.is_empty()).collect();
    match parts.len() {
        0 => return Vec::new(),
        1 => return parts[0].clone(),
        _ => {}
    }
    let n = parts.len();
    // links[i] = (exit vertex of part i, entry vertex of part i + 1): the closest pair.
    let links: Vec<(usize, usize)> = (0..n - 1)
        .map(|i| {
            let (a, b) = (parts[i], parts[i + 1]);
            let mut best = (f64::INFINITY, 0, 0);
            for (ia, pa) in a.iter().enumerate() {
                for (ib, pb) in b.iter().enumerate() {
                    let d = (pa[0] - pb[0]).powi(2) + (pa[1] - pb[1]).powi(2);
                    if d < best.0 {
                        best = (d, ia, ib);
                    }
                }
            }
            (best.1, best.2)
        })
        .collect();
    // `steps` edges along part `p` from vertex `from`, both ends included.
    fn walk(p: &Polygon, from: usize, steps: usize, out: &mut Polygon) {
        for s in 0..=steps {
            out.push(p[(from + s) % p.len()]);
        }
    }
    let forward = |len: usize, from: usize, to: usize| (to + len - from) % len;
    let mut out = Vec::new();
    // Going: part 0 all the way round from its exit, then each middle part from its entry to its
    // exit, then the last part all the way round from its entry.
    walk(parts[0], links[0].0, parts[0].len(), &mut out);
    for i in 1..n - 1 {
        let p = parts[i];
        walk(
            p,
            links[i - 1].1,
            forward(p.len(), links[i - 1].1, links[i].0),
            &mut out,
        );
    }
    let last = parts[n - 1];
    walk(last, links[n - 2].1, last.len(), &mut out);
    // Returning: each middle part on from its exit round to its entry (all the way when they
    // are the same vertex); the closing edge is the bridge back to part 0.
    for i in (1..n - 1).rev() {
        let p = parts[i];
        let (entry, exit) = (links[i - 1].1, links[i].0);
        let steps = if entry == exit {
            p.len()
        } else {
            forward(p.len(), exit, entry)
        };
        walk(p, exit, steps, &mut out);
    }
    // Parts that touch make repeated points: drop them, and a repeated closing point.
    out.dedup();
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

/// One label line for a polygon in COCO pixel coordinates; `None` under 3 points.
pub fn line(class: u32, polygon: &Polygon, width: u32, height: u32) -> Option<String> {
    if polygon.len() < 3 {
        return None;
    }
    let mut s = class.to_string();
    for p in polygon {
        let x = (p[0] / width as f64).clamp(0.0, 1.0);
        let y = (p[1] / height as f64).clamp(0.0, 1.0);
        s.push_str(&format!(" {} {}", fmt6(x), fmt6(y)));
    }
    Some(s)
}

/// Six decimals without trailing zeros.
fn fmt6(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The label line of one object's mask: its outer borders, bridged into one polygon. `None`
/// when the mask is empty.
pub fn mask_line(class: u32, mask: &Mask, options: &PolygonOptions) -> Option<String> {
    let parts = polygon::mask_to_polygons(mask, options);
    line(class, &merge_parts(&parts), mask.width(), mask.height())
}

/// One line per instance: each 8-connected component of `mask` with at least `min_area` pixels
/// (traced on its own box, holes filled), in raster order.
pub fn instance_lines(
    class: u32,
    mask: &Mask,
    min_area: u64,
    options: &PolygonOptions,
) -> Vec<String> {
    let components = mask.components().filter_min_area(min_area);
    (1..=components.count())
        .filter_map(|l| {
            let (crop, b) = components.cropped_mask(l);
            crop_line(
                class,
                &crop,
                [b[0], b[1]],
                mask.width(),
                mask.height(),
                options,
            )
        })
        .collect()
}

/// The label line of one object given as `crop`, its mask cut to its box, placed at `origin` on a
/// `width × height` image (tracing the box only, however large the image).
pub(crate) fn crop_line(
    class: u32,
    crop: &Mask,
    origin: [u32; 2],
    width: u32,
    height: u32,
    options: &PolygonOptions,
) -> Option<String> {
    let origin = [origin[0] as f64, origin[1] as f64];
    let rings = polygon::rings_at(crop, origin, [width as f64, height as f64], options);
    let parts = polygon::outer_polygons(rings);
    line(class, &merge_parts(&parts), width, height)
}

/// Reads one label line back: the class and the polygon in pixel coordinates.
pub fn parse_line(text: &str, width: u32, height: u32) -> Result<(u32, Polygon)> {
    let mut it = text.split_whitespace();
    let class = it
        .next()
        .and_then(|c| c.parse::<u32>().ok())
        .ok_or_else(|| {
            error(format!(
                "a YOLO line must start with a class index: {text:?}"
            ))
        })?;
    let values: Vec<f64> = it
        .map(|v| {
            v.parse::<f64>()
                .map_err(|_| error(format!("not a number in a YOLO line: {v:?}")))
        })
        .collect::<Result<_>>()?;
    if !values.len().is_multiple_of(2) || values.len() < 6 {
        return Err(error(format!(
            "a YOLO segment needs at least 3 x y pairs: {text:?}"
        )));
    }
    let poly = values
        .chunks(2)
        .map(|c| [c[0] * width as f64, c[1] * height as f64])
        .collect();
    Ok((class, poly))
}

/// Ultralytics' `data.yaml`: the dataset root, the train/val image folders, and the class names
/// (index from 0) as JSON strings, which YAML reads as double-quoted scalars. An empty `path` is
/// left out: Ultralytics then takes the folder of the `data.yaml` itself as the root (a relative
/// `path` would be read against its own datasets folder or the working directory).
pub fn data_yaml<S: AsRef<str>>(names: &[S], path: &str, train: &str, val: &str) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("strings serialise");
    let mut y = String::new();
    if !path.is_empty() {
        y.push_str(&format!("path: {}\n", q(path)));
    }
    y.push_str(&format!("train: {}\nval: {}\nnames:\n", q(train), q(val)));
    for (i, n) in names.iter().enumerate() {
        y.push_str(&format!("  {i}: {}\n", q(n.as_ref())));
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_normalised_with_classes_from_zero() {
        let m = Mask::from_fn(10, 5, |x, y| (2..6).contains(&x) && (1..4).contains(&y));
        let l = mask_line(0, &m, &PolygonOptions::default()).unwrap();
        let (class, poly) = parse_line(&l, 10, 5).unwrap();
        assert_eq!(class, 0);
        assert!(l.starts_with("0 "));
        assert_eq!(poly.len(), 4);
        assert_eq!(polygon::rasterize(&[poly], 10, 5), m);
        for v in l.split(' ').skip(1) {
            let v: f64 = v.parse().unwrap();
            assert!((0.0..=1.0).contains(&v));
        }
        assert!(mask_line(0, &Mask::new(4, 4), &PolygonOptions::default()).is_none());
        assert!(parse_line("0 0.1 0.2 0.3 0.4", 10, 10).is_err());
        let two = Mask::from_fn(10, 5, |x, y| (x < 2 || x > 6) && y < 3);
        let lines = instance_lines(4, &two, 1, &PolygonOptions::default());
        assert_eq!(lines.len(), 2);
        let (_, left) = parse_line(&lines[0], 10, 5).unwrap();
        assert_eq!(
            polygon::rasterize(&[left], 10, 5),
            Mask::from_fn(10, 5, |x, y| x < 2 && y < 3)
        );
        assert_eq!(
            instance_lines(4, &two, 7, &PolygonOptions::default()).len(),
            1
        );
    }

    #[test]
    fn parts_are_bridged_into_one_ring_without_adding_area() {
        let m = Mask::from_fn(20, 10, |x, y| {
            ((1..5).contains(&x) && (1..5).contains(&y))
                || ((10..14).contains(&x) && (2..6).contains(&y))
                || ((15..19).contains(&x) && (6..9).contains(&y))
        });
        let parts = polygon::mask_to_polygons(&m, &PolygonOptions { tolerance: 0.0 });
        assert_eq!(parts.len(), 3);
        let ring = merge_parts(&parts);
        assert_eq!(
            ring.len(),
            parts.iter().map(|p| p.len()).sum::<usize>() + 2 * 2
        );
        assert_eq!(polygon::rasterize(std::slice::from_ref(&ring), 20, 10), m);
        let l = line(3, &ring, 20, 10).unwrap();
        assert_eq!(l.split(' ').count(), 1 + 2 * ring.len());
    }

    #[test]
    fn data_yaml_quotes_names() {
        let y = data_yaml(&["cat", "say \"hi\""], ".", "images/train", "images/val");
        assert_eq!(
            y,
            "path: \".\"\ntrain: \"images/train\"\nval: \"images/val\"\nnames:\n  0: \"cat\"\n  1: \"say \\\"hi\\\"\"\n"
        );
        assert!(data_yaml(&["cat"], "", "images", "images").starts_with("train: \"images\"\n"));
    }
}
