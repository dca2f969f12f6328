//! The labelling formats against pycocotools: fixtures/labels/pycocotools.json, made by
//! scripts/make_label_fixtures.py. Strings, areas and boxes compare exactly; polygon round trips
//! by IoU.

use clipseg::labels::coco::{Dataset, Segmentation, SegmentationKind};
use clipseg::labels::{Mask, PolygonOptions, Rle, polygon, yolo};
use serde_json::Value;

fn fixtures() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/labels/pycocotools.json"
    );
    serde_json::from_str(
        &std::fs::read_to_string(path).expect("run scripts/make_label_fixtures.py"),
    )
    .unwrap()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn from_runs(width: u32, height: u32, runs: &[u32]) -> Mask {
    let mut data = Vec::with_capacity((width * height) as usize);
    for (i, &r) in runs.iter().enumerate() {
        data.extend(std::iter::repeat_n((i % 2) as u8, r as usize));
    }
    Mask::from_bytes(width, height, data).unwrap()
}

fn size(case: &Value) -> (u32, u32) {
    (
        case["width"].as_u64().unwrap() as u32,
        case["height"].as_u64().unwrap() as u32,
    )
}

/// Random masks with holes and several parts: encode → the same counts string, area and box as
/// pycocotools; the uncompressed counts; decode; 8-connected components.
#[test]
fn rle_matches_pycocotools() {
    let f = fixtures();
    let cases = f["masks"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for (i, case) in cases.iter().enumerate() {
        let (w, h) = size(case);
        let mask = from_runs(w, h, &u32s(&case["runs"]));
        let rle = Rle::encode(&mask);
        assert_eq!(
            rle.to_compressed(),
            case["counts"].as_str().unwrap(),
            "mask {i}: counts string"
        );
        assert_eq!(rle.counts, u32s(&case["uncompressed"]), "mask {i}: counts");
        assert_eq!(rle.area(), case["area"].as_u64().unwrap(), "mask {i}: area");
        assert_eq!(
            mask.area(),
            case["area"].as_u64().unwrap(),
            "mask {i}: mask area"
        );
        assert_eq!(
            rle.bbox().to_vec(),
            u32s(&case["bbox"]),
            "mask {i}: RLE bbox"
        );
        assert_eq!(
            mask.bbox().to_vec(),
            u32s(&case["bbox"]),
            "mask {i}: mask bbox"
        );
        let read = Rle::from_compressed(h, w, case["counts"].as_str().unwrap()).unwrap();
        assert_eq!(read, rle, "mask {i}: decoded string");
        assert_eq!(read.decode(), mask, "mask {i}: decoded mask");
        assert_eq!(
            Rle::from_counts(h, w, u32s(&case["uncompressed"])).unwrap(),
            rle
        );
        let comps = mask.components();
        let areas: Vec<u64> = case["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_u64().unwrap())
            .collect();
        assert_eq!(comps.areas(), &areas[..], "mask {i}: components");
        // Each component's RLE, from the one-pass encoder, is the RLE of its mask.
        for (l, r) in comps.rles().iter().enumerate() {
            assert_eq!(
                *r,
                Rle::encode(&comps.mask(l as u32 + 1)),
                "mask {i}: component {}",
                l + 1
            );
        }
    }
}

#[test]
fn decodes_pycocotools_strings() {
    let f = fixtures();
    for (i, case) in f["strings"].as_array().unwrap().iter().enumerate() {
        let (w, h) = size(case);
        let rle = Rle::from_compressed(h, w, case["counts"].as_str().unwrap()).unwrap();
        assert_eq!(rle.area(), case["area"].as_u64().unwrap(), "string {i}");
        assert_eq!(rle.bbox().to_vec(), u32s(&case["bbox"]), "string {i}");
        assert_eq!(
            rle.decode(),
            from_runs(w, h, &u32s(&case["runs"])),
            "string {i}"
        );
        assert_eq!(rle.to_compressed(), case["counts"].as_str().unwrap());
    }
}

/// `fr_poly` is `frPyObjects` on polygons, each, and merged per object.
#[test]
fn polygon_rasterisation_matches_pycocotools() {
    let f = fixtures();
    for (i, case) in f["polygons"].as_array().unwrap().iter().enumerate() {
        let (w, h) = size(case);
        let polys: Vec<Vec<f64>> = serde_json::from_value(case["polygons"].clone()).unwrap();
        for (p, expected) in polys.iter().zip(case["each_counts"].as_array().unwrap()) {
            assert_eq!(
                polygon::fr_poly(p, h, w).to_compressed(),
                expected.as_str().unwrap(),
                "object {i}"
            );
        }
        let rle = Segmentation::Polygons(polys).to_rle(w, h).unwrap();
        assert_eq!(
            rle.to_compressed(),
            case["counts"].as_str().unwrap(),
            "object {i}: merged"
        );
        assert_eq!(rle.area(), case["area"].as_u64().unwrap());
        assert_eq!(rle.bbox().to_vec(), u32s(&case["bbox"]));
    }
}

/// Mask → polygons → pycocotools' rasterisation keeps the masks (holes filled); the polygons
/// have at least 3 points.
#[test]
fn polygon_round_trip_iou() {
    let f = fixtures();
    let (mut worst, mut total, mut n) = (1.0f64, 0.0, 0);
    for (i, case) in f["masks"].as_array().unwrap().iter().enumerate() {
        let (w, h) = size(case);
        let mask = from_runs(w, h, &u32s(&case["runs"]));
        // Compare each instance with its holes filled (polygons cannot hold them).
        for inst in mask.instances(30) {
            let polys = polygon::mask_to_polygons(&inst, &PolygonOptions::default());
            assert!(polys.iter().all(|p| p.len() >= 3), "mask {i}");
            let filled = polygon::rasterize(
                &polygon::mask_to_polygons(&inst, &PolygonOptions { tolerance: 0.0 }),
                w,
                h,
            );
            // Exact polygons keep every pixel of the instance.
            assert_eq!(
                filled.subtract(&inst).unwrap().area() + inst.area(),
                filled.area()
            );
            assert_eq!(
                inst.subtract(&filled).unwrap().area(),
                0,
                "mask {i}: exact polygons lose pixels"
            );
            let iou = filled.iou(&polygon::rasterize(&polys, w, h)).unwrap();
            worst = worst.min(iou);
            total += iou;
            n += 1;
            assert!(
                iou > 0.85,
                "mask {i}: IoU {iou} for an instance of {} pixels",
                inst.area()
            );
            if !polygon::has_holes(&inst) {
                assert_eq!(
                    filled, inst,
                    "mask {i}: no holes, exact polygons rasterise back exactly?"
                );
            }
        }
    }
    let mean = total / n as f64;
    eprintln!(
        "polygon round trip (tolerance 0.5): {n} instances, mean IoU {mean:.4}, worst {worst:.4}"
    );
    assert!(mean > 0.95);
}

/// What the writer exports, the reader imports unchanged: every annotation's mask, area and box.
#[test]
fn coco_export_import_is_the_identity() {
    let f = fixtures();
    let mut d = Dataset::new(&["thing", "stuff"]);
    let mut expected = Vec::new();
    for (i, case) in f["masks"].as_array().unwrap().iter().enumerate() {
        let (w, h) = size(case);
        let mask = from_runs(w, h, &u32s(&case["runs"]));
        let img = d.add_image(&format!("img{i}.png"), w, h);
        let kind = [
            SegmentationKind::Rle,
            SegmentationKind::Auto,
            SegmentationKind::Polygons,
        ][i % 3];
        let ids = d
            .add_instances(
                img,
                1 + (i as u64 % 2),
                &mask,
                1,
                kind,
                &PolygonOptions::default(),
            )
            .unwrap();
        assert_eq!(ids.len(), mask.components().count() as usize);
        for id in ids {
            let a = d.annotations.iter().find(|a| a.id == id).unwrap();
            expected.push((id, d.annotation_mask(a).unwrap()));
            if kind == SegmentationKind::Rle {
                assert!(matches!(a.segmentation, Segmentation::Rle { .. }));
            }
        }
    }
    let json = d.to_json();
    let back = Dataset::from_json(&json).unwrap();
    assert_eq!(back, d);
    assert_eq!(back.to_json(), json);
    for (id, mask) in expected {
        let a = back.annotations.iter().find(|a| a.id == id).unwrap();
        let m = back.annotation_mask(a).unwrap();
        assert_eq!(m, mask);
        assert_eq!(a.area, m.area() as f64);
        assert_eq!(a.bbox, m.bbox().map(|v| v as f64));
        assert_eq!(a.iscrowd, 0);
    }
    // Ids are unique.
    let mut ids: Vec<u64> = back.annotations.iter().map(|a| a.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), back.annotations.len());
}

/// YOLO lines of the fixture masks: normalised, ≥ 3 points, one line per object even when it has
/// several parts, and the line rasterises back to the object (holes filled).
#[test]
fn yolo_lines() {
    let f = fixtures();
    for (i, case) in f["masks"].as_array().unwrap().iter().enumerate() {
        let (w, h) = size(case);
        let mask = from_runs(w, h, &u32s(&case["runs"]));
        if mask.is_empty() {
            assert!(yolo::mask_line(0, &mask, &PolygonOptions::default()).is_none());
            continue;
        }
        // The whole mask as one object, parts bridged.
        let exact = PolygonOptions { tolerance: 0.0 };
        let line = yolo::mask_line(2, &mask, &exact).unwrap();
        assert!(!line.contains('\n'));
        let (class, poly) = yolo::parse_line(&line, w, h).unwrap();
        assert_eq!(class, 2);
        assert!(poly.len() >= 3);
        let parts = polygon::rasterize(&polygon::mask_to_polygons(&mask, &exact), w, h);
        let back = polygon::rasterize(&[poly], w, h);
        let iou = parts.iou(&back).unwrap();
        // Six decimals of normalised coordinates move points by < 0.001 px on these sizes; thin
        // bridges may cross other parts (even-odd), so compare by IoU.
        assert!(iou > 0.9, "mask {i}: YOLO IoU {iou}");
    }
}

#[test]
#[ignore = "timing; run with --release --ignored --nocapture"]
fn timing_4000x3000() {
    let (w, h) = (4000u32, 3000u32);
    let mask = Mask::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f64 - 2000.0, y as f64 - 1500.0);
        let r = (dx * dx + dy * dy).sqrt();
        (r < 1400.0 && r > 300.0 && (x / 97 + y / 89) % 5 != 0) || (x * 7 + y * 13) % 1009 < 3
    });
    let t = std::time::Instant::now();
    let rle = Rle::encode(&mask);
    let t_rle = t.elapsed();
    let t = std::time::Instant::now();
    let comps = mask.components();
    let t_cc = t.elapsed();
    let big = comps.clone().filter_min_area(50).count();
    let t = std::time::Instant::now();
    let rles = comps.rles();
    let t_rles = t.elapsed();
    let t = std::time::Instant::now();
    let s = rle.to_compressed();
    let t_str = t.elapsed();
    let t = std::time::Instant::now();
    let polys = polygon::mask_to_polygons(&mask, &PolygonOptions::default());
    let t_poly = t.elapsed();
    eprintln!(
        "4000×3000: RLE encode {t_rle:?} ({} runs, string {} B in {t_str:?}); components {t_cc:?} ({} of them, {big} ≥ 50 px); \
         all their RLEs {t_rles:?}; polygons {t_poly:?} ({} rings)",
        rle.counts.len(),
        s.len(),
        comps.count(),
        polys.len()
    );
    assert_eq!(rles.len(), comps.count() as usize);
}
