//! Mask → polygons and polygons → mask.
//!
//! Borders come from imageproc's `find_contours` (Suzuki–Abe: outer borders and hole borders,
//! each with its parent). Those run through the centres of the border pixels, which pycocotools
//! rasterises half a pixel too small, so each border is moved half a pixel outwards (away from
//! the foreground) onto the pixel edges: a rectilinear shape then rasterises back exactly. The
//! result is simplified with Douglas–Peucker.
//!
//! **COCO polygons cannot represent holes**: pycocotools unions all polygons of an object, so a
//! hole polygon would be filled. [`mask_to_polygons`] therefore returns the outer borders only
//! (holes filled, parts inside a hole dropped as already covered); [`rings`] returns every border
//! with its kind for drawing; [`has_holes`] tells whether a mask needs RLE to be exact.
//!
//! [`fr_poly`] is pycocotools' `rleFrPoly`, bit for bit.

use image::{GrayImage, Luma};
use imageproc::contours::{BorderType, find_contours};

use super::mask::Mask;
use super::rle::Rle;

/// A closed polygon in COCO coordinates (pixel `(x, y)` spans `[x, x + 1] × [y, y + 1]`); the
/// last point is not repeated.
pub type Polygon = Vec<[f64; 2]>;

/// How borders become polygons.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PolygonOptions {
    /// Douglas–Peucker tolerance in pixels; 0 keeps every corner (only collinear points go).
    pub tolerance: f64,
}

impl Default for PolygonOptions {
    /// 0.5 px: a round trip through pycocotools keeps the IoU above 0.95 for objects of a few
    /// hundred pixels and above 0.99 for large ones, with a fraction of the points.
    fn default() -> Self {
        PolygonOptions { tolerance: 0.5 }
    }
}

/// One border of a mask.
#[derive(Clone, Debug, PartialEq)]
pub struct Ring {
    pub points: Polygon,
    /// A hole border (background enclosed by foreground) rather than an outer one.
    pub hole: bool,
    /// Index in the same list of the border that encloses this one.
    pub parent: Option<usize>,
}

/// Every border of the mask, outer and hole, on the pixel edges and simplified. (Traced inside
/// the foreground's box, so a small object on a large image costs little.)
pub fn rings(mask: &Mask, options: &PolygonOptions) -> Vec<Ring> {
    if mask.is_empty() {
        return Vec::new();
    }
    let [bx, by, bw, bh] = mask.bbox();
    let crop = mask.crop(bx, by, bw, bh);
    rings_at(
        &crop,
        [bx as f64, by as f64],
        [mask.width() as f64, mask.height() as f64],
        options,
    )
}

/// The borders of `mask` placed at `origin` on an image of `size` (clamped to it).
pub(crate) fn rings_at(
    mask: &Mask,
    origin: [f64; 2],
    size: [f64; 2],
    options: &PolygonOptions,
) -> Vec<Ring> {
    let (w, h) = (mask.width(), mask.height());
    if w == 0 || h == 0 {
        return Vec::new();
    }
    // A one-pixel background frame: Suzuki–Abe assumes it (imageproc misses outer borders that
    // start in column 0 without it).
    let mut padded = GrayImage::new(w + 2, h + 2);
    for (i, &v) in mask.as_bytes().iter().enumerate() {
        if v != 0 {
            let (x, y) = (i as u32 % w, i as u32 / w);
            padded.put_pixel(x + 1, y + 1, Luma([255]));
        }
    }
    let contours = find_contours::<i32>(&padded);
    contours
        .into_iter()
        .map(|c| {
            let hole = c.border_type == BorderType::Hole;
            // Padded pixel (px, py) is mask pixel (px − 1, py − 1), centred at (px − 0.5, py − 0.5).
            let centres: Vec<[f64; 2]> = c
                .points
                .iter()
                .map(|p| [p.x as f64 - 0.5 + origin[0], p.y as f64 - 0.5 + origin[1]])
                .collect();
            let mut ring = offset_ring(&centres, hole, 0.5);
            for p in &mut ring {
                p[0] = p[0].clamp(0.0, size[0]);
                p[1] = p[1].clamp(0.0, size[1]);
            }
            let simplified = simplify_closed(&ring, options.tolerance);
            let points = if simplified.len() >= 3 {
                simplified
            } else {
                ring
            };
            let points = points
                .into_iter()
                .map(|[x, y]| [round2(x), round2(y)])
                .collect();
            Ring {
                points,
                hole,
                parent: c.parent,
            }
        })
        .collect()
}

/// The polygons COCO and YOLO can hold: the outer borders, holes filled (see the module docs),
/// each with at least 3 points.
pub fn mask_to_polygons(mask: &Mask, options: &PolygonOptions) -> Vec<Polygon> {
    outer_polygons(rings(mask, options))
}

pub(crate) fn outer_polygons(all: Vec<Ring>) -> Vec<Polygon> {
    (0..all.len())
        .filter(|&i| !all[i].hole && all[i].parent.is_none())
        .map(|i| all[i].points.clone())
        .filter(|p| p.len() >= 3)
        .collect()
}

/// Whether the mask has a hole (background enclosed by foreground), which polygons lose.
pub fn has_holes(mask: &Mask) -> bool {
    // A hole is a 4-connected background component that does not touch the image border.
    let (w, h) = (mask.width() as usize, mask.height() as usize);
    let inv = Mask::from_fn(w as u32 + 2, h as u32 + 2, |x, y| {
        x == 0 || y == 0 || x as usize == w + 1 || y as usize == h + 1 || !mask.get(x - 1, y - 1)
    });
    // 8-connected components of the padded background would join through diagonal foreground
    // gaps; holes of an 8-connected foreground are 4-connected, so flood-fill 4-connected.
    let (pw, ph) = (w + 2, h + 2);
    let mut seen = vec![false; pw * ph];
    let mut stack = vec![0usize];
    seen[0] = true;
    while let Some(i) = stack.pop() {
        let (x, y) = (i % pw, i / pw);
        let mut visit = |j: usize| {
            if !seen[j] && inv.as_bytes()[j] != 0 {
                seen[j] = true;
                stack.push(j);
            }
        };
        if x > 0 {
            visit(i - 1);
        }
        if x + 1 < pw {
            visit(i + 1);
        }
        if y > 0 {
            visit(i - pw);
        }
        if y + 1 < ph {
            visit(i + pw);
        }
    }
    inv.as_bytes()
        .iter()
        .zip(&seen)
        .any(|(&b, &s)| b != 0 && !s)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Twice the signed area (shoelace); positive when the interior is to the left of the direction
/// of travel in the algebraic sense (normal `(−ty, tx)`).
fn signed_area2(points: &[[f64; 2]]) -> f64 {
    let n = points.len();
    (0..n)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

/// Moves a closed border through pixel centres by `d` away from the foreground (outwards for an
/// outer border, into the hole for a hole border): mitred joins, square caps at one-pixel spikes
/// and bevelled sharp convex corners, so every border pixel stays covered.
fn offset_ring(points: &[[f64; 2]], hole: bool, d: f64) -> Vec<[f64; 2]> {
    let mut p: Vec<[f64; 2]> = Vec::with_capacity(points.len());
    for &q in points {
        if p.last() != Some(&q) {
            p.push(q);
        }
    }
    while p.len() > 1 && p.first() == p.last() {
        p.pop();
    }
    if p.len() == 1 {
        let [x, y] = p[0];
        return vec![
            [x - d, y - d],
            [x + d, y - d],
            [x + d, y + d],
            [x - d, y + d],
        ];
    }
    let area = signed_area2(&p);
    // The outward normal of a direction t is (ty, −tx) when the interior is on the left.
    let orient = if area < 0.0 { -1.0 } else { 1.0 };
    let sigma = if hole { -1.0 } else { 1.0 };
    let normal = |t: [f64; 2]| [orient * sigma * t[1], -orient * sigma * t[0]];
    let unit = |a: [f64; 2], b: [f64; 2]| {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt();
        [dx / len, dy / len]
    };
    let n = p.len();
    let mut out = Vec::with_capacity(n + 8);
    for i in 0..n {
        let (prev, cur, next) = (p[(i + n - 1) % n], p[i], p[(i + 1) % n]);
        let (t1, t2) = (unit(prev, cur), unit(cur, next));
        let (n1, n2) = (normal(t1), normal(t2));
        let c = n1[0] * n2[0] + n1[1] * n2[1];
        // Turning towards the offset side: the two offset lines meet (a mitre inside).
        let towards = t2[0] * n1[0] + t2[1] * n1[1] > 1e-9;
        if towards || c > -0.3 {
            let k = d / (1.0 + c).max(0.2);
            out.push([cur[0] + k * (n1[0] + n2[0]), cur[1] + k * (n1[1] + n2[1])]);
        } else {
            // Sharp convex corner or a spike: a square cap around the pixel.
            out.push([cur[0] + d * (n1[0] + t1[0]), cur[1] + d * (n1[1] + t1[1])]);
            out.push([cur[0] + d * (n2[0] - t2[0]), cur[1] + d * (n2[1] - t2[1])]);
        }
    }
    out
}

/// Douglas–Peucker on a closed ring (iterative: no recursion depth to overflow the wasm stack);
/// with `tolerance` 0 only collinear points go.
pub fn simplify_closed(ring: &[[f64; 2]], tolerance: f64) -> Vec<[f64; 2]> {
    let n = ring.len();
    if n < 4 {
        return ring.to_vec();
    }
    let eps = tolerance.max(1e-9);
    // Split at point 0 and the point farthest from it; simplify both open chains.
    let far = (1..n)
        .max_by(|&a, &b| dist2(ring[0], ring[a]).total_cmp(&dist2(ring[0], ring[b])))
        .unwrap();
    let mut keep = vec![false; n + 1];
    keep[0] = true;
    keep[far] = true;
    keep[n] = true;
    let at = |i: usize| ring[i % n];
    let mut stack = vec![(0usize, far), (far, n)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (pa, pb) = (at(a), at(b));
        let (mut dmax, mut imax) = (-1.0, a);
        for i in a + 1..b {
            let dd = seg_dist(at(i), pa, pb);
            if dd > dmax {
                dmax = dd;
                imax = i;
            }
        }
        if dmax > eps {
            keep[imax] = true;
            stack.push((a, imax));
            stack.push((imax, b));
        }
    }
    (0..n).filter(|&i| keep[i]).map(|i| ring[i]).collect()
}

fn dist2(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// Distance from `p` to the segment `a`–`b`.
fn seg_dist(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    if len2 == 0.0 {
        return dist2(p, a).sqrt();
    }
    let t = (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0);
    dist2(p, [a[0] + t * dx, a[1] + t * dy]).sqrt()
}

/// A polygon as COCO's flat `[x1, y1, x2, y2, …]`.
pub fn flatten(polygon: &Polygon) -> Vec<f64> {
    polygon.iter().flat_map(|p| [p[0], p[1]]).collect()
}

/// pycocotools' `rleFrPoly` (what `frPyObjects` does with a polygon), bit for bit: the polygon
/// `xy = [x1, y1, …]` scan-converted on a 5× grid; a pixel is inside when its centre is.
pub fn fr_poly(xy: &[f64], height: u32, width: u32) -> Rle {
    let (h, w) = (height as i64, width as i64);
    let k = xy.len() / 2;
    if k == 0 {
        return Rle::empty(height, width);
    }
    let scale = 5.0f64;
    let mut x: Vec<i32> = (0..k).map(|j| (scale * xy[2 * j] + 0.5) as i32).collect();
    let mut y: Vec<i32> = (0..k)
        .map(|j| (scale * xy[2 * j + 1] + 0.5) as i32)
        .collect();
    x.push(x[0]);
    y.push(y[0]);
    let mut u: Vec<i32> = Vec::new();
    let mut v: Vec<i32> = Vec::new();
    for j in 0..k {
        let (mut xs, mut xe, mut ys, mut ye) = (x[j], x[j + 1], y[j], y[j + 1]);
        let dx = (xe - xs).abs();
        let dy = (ys - ye).abs();
        let flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
        if flip {
            std::mem::swap(&mut xs, &mut xe);
            std::mem::swap(&mut ys, &mut ye);
        }
        let s = if dx >= dy {
            (ye - ys) as f64 / dx as f64
        } else {
            (xe - xs) as f64 / dy as f64
        };
        if dx >= dy {
            for d in 0..=dx {
                let t = if flip { dx - d } else { d };
                u.push(t + xs);
                v.push((ys as f64 + s * t as f64 + 0.5) as i32);
            }
        } else {
            for d in 0..=dy {
                let t = if flip { dy - d } else { d };
                v.push(t + ys);
                u.push((xs as f64 + s * t as f64 + 0.5) as i32);
            }
        }
    }
    // Points where the boundary crosses a pixel column's centre, downsampled.
    let mut a: Vec<u64> = Vec::new();
    for j in 1..u.len() {
        if u[j] == u[j - 1] {
            continue;
        }
        let xd = if u[j] < u[j - 1] { u[j] } else { u[j] - 1 } as f64;
        let xd = (xd + 0.5) / scale - 0.5;
        if xd.floor() != xd || xd < 0.0 || xd > (w - 1) as f64 {
            continue;
        }
        let yd = if v[j] < v[j - 1] { v[j] } else { v[j - 1] } as f64;
        let mut yd = (yd + 0.5) / scale - 0.5;
        if yd < 0.0 {
            yd = 0.0;
        } else if yd > h as f64 {
            yd = h as f64;
        }
        let yd = yd.ceil();
        a.push((xd as i64 * h + yd as i64) as u64);
    }
    a.push((h * w) as u64);
    a.sort_unstable();
    let mut prev = 0u64;
    for t in a.iter_mut() {
        let cur = *t;
        *t -= prev;
        prev = cur;
    }
    let mut b: Vec<u32> = vec![a[0] as u32];
    let mut j = 1;
    while j < a.len() {
        if a[j] > 0 {
            b.push(a[j] as u32);
            j += 1;
        } else {
            j += 1;
            if j < a.len() {
                *b.last_mut().unwrap() += a[j] as u32;
                j += 1;
            }
        }
    }
    Rle::from_parts(height, width, b)
}

/// The union of polygons rasterised as pycocotools does (`frPyObjects` then `merge`).
pub fn rasterize(polygons: &[Polygon], width: u32, height: u32) -> Mask {
    let mut mask = Mask::new(width, height);
    for p in polygons {
        mask.union_with(&fr_poly(&flatten(p), height, width).decode())
            .expect("same size");
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::mask::tests::parse;

    #[test]
    fn square_lands_on_pixel_edges_and_round_trips() {
        let m = Mask::from_fn(10, 8, |x, y| (2..6).contains(&x) && (1..4).contains(&y));
        let polys = mask_to_polygons(&m, &PolygonOptions::default());
        assert_eq!(polys.len(), 1);
        let mut pts = polys[0].clone();
        pts.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(pts, vec![[2.0, 1.0], [2.0, 4.0], [6.0, 1.0], [6.0, 4.0]]);
        assert_eq!(rasterize(&polys, 10, 8), m);
    }

    #[test]
    fn rectilinear_shapes_round_trip_exactly_without_simplification() {
        let m = parse(&[
            "#.........", //
            "###...#...", //
            "..#..###..", //
            "..#...#..#", //
            "######...#",
        ]);
        let exact = PolygonOptions { tolerance: 0.0 };
        let polys = mask_to_polygons(&m, &exact);
        for p in &polys {
            assert!(p.len() >= 3);
        }
        // The plus sign has diagonal borders, so compare by IoU; the rest exactly.
        let back = rasterize(&polys, 10, 5);
        assert!(m.iou(&back).unwrap() > 0.9, "{:?}", back);
        let l = parse(&["#..", "###", "..#"]);
        assert_eq!(rasterize(&mask_to_polygons(&l, &exact), 3, 3), l);
        let single = parse(&["...", ".#.", "..."]);
        assert_eq!(rasterize(&mask_to_polygons(&single, &exact), 3, 3), single);
        let line = parse(&["....", "####", "...."]);
        assert_eq!(rasterize(&mask_to_polygons(&line, &exact), 4, 3), line);
        let edge = parse(&["##", "##"]);
        assert_eq!(rasterize(&mask_to_polygons(&edge, &exact), 2, 2), edge);
    }

    #[test]
    fn holes_are_reported_and_filled_by_polygons() {
        let ring = parse(&["#####", "#...#", "#.#.#", "#...#", "#####"]);
        assert!(has_holes(&ring));
        assert!(!has_holes(&parse(&["##", "#."])));
        // Background that reaches the border through a diagonal gap is still a hole for an
        // 8-connected foreground only when enclosed 4-wise.
        assert!(!has_holes(&parse(&["#.#", ".#.", "..."])));
        let r = rings(&ring, &PolygonOptions { tolerance: 0.0 });
        assert_eq!(r.iter().filter(|r| r.hole).count(), 1);
        assert_eq!(r.iter().filter(|r| !r.hole).count(), 2);
        // Polygons: the outer border only; the island in the hole is covered by it.
        let polys = mask_to_polygons(&ring, &PolygonOptions { tolerance: 0.0 });
        assert_eq!(polys.len(), 1);
        assert_eq!(rasterize(&polys, 5, 5), Mask::from_fn(5, 5, |_, _| true));
        // The hole ring, rasterised, is the hole (plus the island it encloses).
        let hole = r.iter().find(|r| r.hole).unwrap();
        let back = rasterize(std::slice::from_ref(&hole.points), 5, 5);
        assert_eq!(back, parse(&[".....", ".###.", ".###.", ".###.", "....."]));
    }

    #[test]
    fn fr_poly_basics() {
        // A 4×4 square on the pixel edges covers the 16 pixels (exact values: the fixtures test).
        let r = fr_poly(&[0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0], 4, 4);
        assert_eq!(r.area(), 16);
        let r = fr_poly(&[1.0, 1.0, 3.0, 1.0, 3.0, 3.0], 4, 4);
        assert!(r.area() > 0 && r.area() < 4);
    }
}
