//! The COCO instances format: a dataset model (serde), a writer that turns masks into
//! annotations, a reader that turns annotations back into masks (RLE as compressed string or
//! counts list, or polygons), and a merge of several datasets.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::mask::Mask;
use super::polygon::{self, PolygonOptions};
use super::rle::Rle;
use super::{Result, error};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<serde_json::Value>,
    #[serde(default)]
    pub images: Vec<Image>,
    #[serde(default)]
    pub annotations: Vec<Annotation>,
    #[serde(default)]
    pub categories: Vec<Category>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub id: u64,
    pub file_name: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub id: u64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supercategory: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    pub id: u64,
    pub image_id: u64,
    pub category_id: u64,
    #[serde(default = "no_segmentation")]
    pub segmentation: Segmentation,
    #[serde(default)]
    pub area: f64,
    #[serde(default)]
    pub bbox: [f64; 4],
    #[serde(default)]
    pub iscrowd: u8,
}

fn no_segmentation() -> Segmentation {
    Segmentation::Polygons(Vec::new())
}

/// An annotation's shape: polygons (flat `[x1, y1, …]` lists, unioned) or an RLE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Segmentation {
    Polygons(Vec<Vec<f64>>),
    Rle { size: [u32; 2], counts: Counts },
}

/// RLE counts: pycocotools' compressed string (what this writer emits) or the plain list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Counts {
    Compressed(String),
    Uncompressed(Vec<u32>),
}

/// How the writer stores a mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SegmentationKind {
    /// RLE (compressed string): exact, holes and all. The safe default.
    #[default]
    Rle,
    /// Polygons of the outer borders: holes are filled (COCO polygons cannot hold them).
    Polygons,
    /// Polygons when the mask has no hole, RLE when it has one.
    Auto,
}

impl Segmentation {
    pub fn from_rle(rle: &Rle) -> Segmentation {
        Segmentation::Rle {
            size: [rle.height, rle.width],
            counts: Counts::Compressed(rle.to_compressed()),
        }
    }

    /// How a mask is stored as `kind`, with the RLE of what that stores (for polygons, their
    /// rasterisation: what a reader gets back, so `area` and `bbox` describe it).
    pub fn encode(
        mask: &Mask,
        kind: SegmentationKind,
        options: &PolygonOptions,
    ) -> Result<(Segmentation, Rle)> {
        let use_polygons = match kind {
            SegmentationKind::Rle => false,
            SegmentationKind::Polygons => true,
            SegmentationKind::Auto => !polygon::has_holes(mask),
        };
        if use_polygons {
            let polys = polygon::mask_to_polygons(mask, options);
            let segmentation = Segmentation::Polygons(polys.iter().map(polygon::flatten).collect());
            let rle = segmentation.to_rle(mask.width(), mask.height())?;
            Ok((segmentation, rle))
        } else {
            let rle = Rle::encode(mask);
            Ok((Segmentation::from_rle(&rle), rle))
        }
    }

    /// The RLE this segmentation encodes on a `width × height` image (pycocotools'
    /// `annToRLE`: polygons rasterised with `frPoly` and unioned).
    pub fn to_rle(&self, width: u32, height: u32) -> Result<Rle> {
        match self {
            Segmentation::Rle { size, counts } => {
                if *size != [height, width] {
                    return Err(error(format!(
                        "an RLE of size [h, w] = {size:?} on an image of {width}×{height} (size is [height, width])"
                    )));
                }
                match counts {
                    Counts::Compressed(s) => Rle::from_compressed(height, width, s),
                    Counts::Uncompressed(c) => Rle::from_counts(height, width, c.clone()),
                }
            }
            Segmentation::Polygons(polys) => {
                let mut rles = Vec::with_capacity(polys.len());
                for p in polys {
                    if p.len() % 2 != 0 || p.len() < 6 {
                        return Err(error(format!(
                            "a polygon of {} numbers: a polygon needs an even number, at least 6 (3 points){}",
                            p.len(),
                            if p.len() == 4 {
                                "; pycocotools would read 4 numbers as a box"
                            } else {
                                ""
                            }
                        )));
                    }
                    check_polygon_points(p, width, height)?;
                    rles.push(polygon::fr_poly(p, height, width));
                }
                if rles.is_empty() {
                    return Ok(Rle::empty(height, width));
                }
                Rle::union(&rles)
            }
        }
    }
}

/// Refuses a polygon point more than an image's size beyond the image's edges. Rasterising
/// traces the outline point by point, so one coordinate of 1e50 (clamped to 2^31) would take
/// billions of steps and gigabytes; real outlines stay on or near their image.
fn check_polygon_points(polygon: &[f64], width: u32, height: u32) -> Result<()> {
    let band = |side: u32| {
        let side = f64::from(side.max(1));
        -side..=2.0 * side
    };
    let (xs, ys) = (band(width), band(height));
    for point in polygon.chunks_exact(2) {
        let (x, y) = (point[0], point[1]);
        if !xs.contains(&x) || !ys.contains(&y) {
            return Err(error(format!(
                "a polygon point ({x}, {y}) lies more than the image's size outside the {width}×{height} image"
            )));
        }
    }
    Ok(())
}

impl Dataset {
    /// An empty dataset with these categories, ids from 1 in this order.
    pub fn new<S: AsRef<str>>(categories: &[S]) -> Dataset {
        Dataset {
            categories: categories
                .iter()
                .enumerate()
                .map(|(i, n)| Category {
                    id: i as u64 + 1,
                    name: n.as_ref().to_string(),
                    supercategory: None,
                })
                .collect(),
            ..Dataset::default()
        }
    }

    /// Adds an image (ids from 1) and returns its id.
    pub fn add_image(&mut self, file_name: &str, width: u32, height: u32) -> u64 {
        let id = self.images.iter().map(|i| i.id).max().unwrap_or(0) + 1;
        self.images.push(Image {
            id,
            file_name: file_name.to_string(),
            width,
            height,
        });
        id
    }

    fn image(&self, id: u64) -> Result<&Image> {
        self.images
            .iter()
            .find(|i| i.id == id)
            .ok_or_else(|| error(format!("no image with id {id}")))
    }

    fn next_annotation_id(&self) -> u64 {
        self.annotations.iter().map(|a| a.id).max().unwrap_or(0) + 1
    }

    /// Checks that `image_id` and `category_id` exist and that `mask` has the image's size.
    fn check_target(&self, image_id: u64, category_id: u64, mask: &Mask) -> Result<()> {
        let image = self.image(image_id)?;
        if (image.width, image.height) != (mask.width(), mask.height()) {
            return Err(error(format!(
                "a {}×{} mask for the {}×{} image {}",
                mask.width(),
                mask.height(),
                image.width,
                image.height,
                image.file_name
            )));
        }
        if !self.categories.iter().any(|c| c.id == category_id) {
            return Err(error(format!("no category with id {category_id}")));
        }
        Ok(())
    }

    /// Adds one object (`iscrowd: 0`); `area` and `bbox` describe the mask the annotation encodes
    /// (for polygons, their rasterisation), so a reader gets them back. Returns the id.
    pub fn add_annotation(
        &mut self,
        image_id: u64,
        category_id: u64,
        mask: &Mask,
        kind: SegmentationKind,
        options: &PolygonOptions,
    ) -> Result<u64> {
        self.check_target(image_id, category_id, mask)?;
        if mask.is_empty() {
            return Err(error("an empty mask is not an object"));
        }
        let (segmentation, rle) = Segmentation::encode(mask, kind, options)?;
        Ok(self.push_annotation(image_id, category_id, segmentation, &rle))
    }

    fn push_annotation(
        &mut self,
        image_id: u64,
        category_id: u64,
        segmentation: Segmentation,
        rle: &Rle,
    ) -> u64 {
        let id = self.next_annotation_id();
        let b = rle.bbox();
        self.annotations.push(Annotation {
            id,
            image_id,
            category_id,
            segmentation,
            area: rle.area() as f64,
            bbox: b.map(|v| v as f64),
            iscrowd: 0,
        });
        id
    }

    /// Adds each 8-connected component of `mask` with at least `min_area` pixels as its own
    /// object; returns their ids. (RLE from one pass over the labels, however many objects.)
    pub fn add_instances(
        &mut self,
        image_id: u64,
        category_id: u64,
        mask: &Mask,
        min_area: u64,
        kind: SegmentationKind,
        options: &PolygonOptions,
    ) -> Result<Vec<u64>> {
        self.check_target(image_id, category_id, mask)?;
        let components = mask.components().filter_min_area(min_area);
        if kind == SegmentationKind::Rle {
            return Ok(components
                .rles()
                .iter()
                .map(|rle| {
                    self.push_annotation(image_id, category_id, Segmentation::from_rle(rle), rle)
                })
                .collect());
        }
        // Polygons are traced on each component's box, not the whole image.
        let (w, h) = (mask.width(), mask.height());
        let mut ids = Vec::new();
        for l in 1..=components.count() {
            let (crop, b) = components.cropped_mask(l);
            let (segmentation, rle) = if kind == SegmentationKind::Auto && polygon::has_holes(&crop)
            {
                let full = components.mask(l);
                let rle = Rle::encode(&full);
                (Segmentation::from_rle(&rle), rle)
            } else {
                let rings = polygon::rings_at(
                    &crop,
                    [b[0] as f64, b[1] as f64],
                    [w as f64, h as f64],
                    options,
                );
                let polys = polygon::outer_polygons(rings);
                let seg = Segmentation::Polygons(polys.iter().map(polygon::flatten).collect());
                let rle = seg.to_rle(w, h)?;
                (seg, rle)
            };
            ids.push(self.push_annotation(image_id, category_id, segmentation, &rle));
        }
        Ok(ids)
    }

    /// The dataset as COCO JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a dataset always serialises")
    }

    /// Reads COCO JSON and checks what the masks depend on: each annotation's image and category
    /// exist, RLE sizes match their image, polygons have at least 3 points.
    pub fn from_json(text: &str) -> Result<Dataset> {
        let d: Dataset = serde_json::from_str(text)
            .map_err(|e| error(format!("not a COCO instances file: {e}")))?;
        d.validate()?;
        Ok(d)
    }

    fn validate(&self) -> Result<()> {
        let images: HashMap<u64, &Image> = self.images.iter().map(|i| (i.id, i)).collect();
        let categories: HashSet<u64> = self.categories.iter().map(|c| c.id).collect();
        for a in &self.annotations {
            let image = images.get(&a.image_id).ok_or_else(|| {
                error(format!(
                    "annotation {} refers to image {}, which is not in the file",
                    a.id, a.image_id
                ))
            })?;
            if !categories.contains(&a.category_id) {
                return Err(error(format!(
                    "annotation {} refers to category {}, which is not in the file",
                    a.id, a.category_id
                )));
            }
            if let Segmentation::Rle { size, .. } = &a.segmentation
                && *size != [image.height, image.width]
            {
                return Err(error(format!(
                    "annotation {}: RLE size {size:?} is not [height, width] = [{}, {}] of {}",
                    a.id, image.height, image.width, image.file_name
                )));
            }
            if let Segmentation::Polygons(polys) = &a.segmentation
                && let Some(p) = polys.iter().find(|p| p.len() % 2 != 0 || p.len() < 6)
            {
                return Err(error(format!(
                    "annotation {}: a polygon of {} numbers (needs an even number, at least 6)",
                    a.id,
                    p.len()
                )));
            }
        }
        Ok(())
    }

    /// The RLE of an annotation on its image.
    pub fn annotation_rle(&self, annotation: &Annotation) -> Result<Rle> {
        let image = self.image(annotation.image_id)?;
        annotation
            .segmentation
            .to_rle(image.width, image.height)
            .map_err(|e| error(format!("annotation {}: {e}", annotation.id)))
    }

    /// The mask of an annotation on its image.
    pub fn annotation_mask(&self, annotation: &Annotation) -> Result<Mask> {
        Ok(self.annotation_rle(annotation)?.decode())
    }

    /// Merges datasets into one: images matched by `file_name` (their sizes must agree),
    /// categories by name (ids from 1 in first-seen order), annotations kept and renumbered; every
    /// id unique. (Linear in the number of images and annotations: shards of a large run merge
    /// at once.)
    pub fn merge(datasets: &[Dataset]) -> Result<Dataset> {
        let mut out = Dataset::default();
        let mut image_ids: HashMap<String, usize> = HashMap::new(); // file_name → index in out
        let mut category_ids: HashMap<String, u64> = HashMap::new();
        for d in datasets {
            d.validate()?;
            let mut image_map = HashMap::new();
            for im in &d.images {
                let id = match image_ids.get(&im.file_name) {
                    Some(&at) => {
                        let o = &out.images[at];
                        if (o.width, o.height) != (im.width, im.height) {
                            return Err(error(format!(
                                "{} is {}×{} in one dataset and {}×{} in another",
                                im.file_name, o.width, o.height, im.width, im.height
                            )));
                        }
                        o.id
                    }
                    None => {
                        let id = out.images.len() as u64 + 1;
                        image_ids.insert(im.file_name.clone(), out.images.len());
                        out.images.push(Image { id, ..im.clone() });
                        id
                    }
                };
                image_map.insert(im.id, id);
            }
            let mut category_map = HashMap::new();
            for c in &d.categories {
                let next = out.categories.len() as u64 + 1;
                let id = *category_ids.entry(c.name.clone()).or_insert(next);
                if id == next {
                    out.categories.push(Category { id, ..c.clone() });
                }
                category_map.insert(c.id, id);
            }
            for a in &d.annotations {
                out.annotations.push(Annotation {
                    id: out.annotations.len() as u64 + 1,
                    image_id: image_map[&a.image_id],
                    category_id: category_map[&a.category_id],
                    ..a.clone()
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_mask() -> Mask {
        Mask::from_fn(12, 9, |x, y| {
            let inside = (2..10).contains(&x) && (1..8).contains(&y);
            let hole = (5..7).contains(&x) && (3..6).contains(&y);
            inside && !hole
        })
    }

    /// Points up to an image's size outside it rasterise (clipped); farther ones are refused
    /// instead of tracing billions of outline steps (a fuzzer's 1.2e52).
    #[test]
    fn polygon_points_far_outside_the_image_are_refused() {
        let near = Segmentation::Polygons(vec![vec![-4.0, -3.0, 9.0, 0.5, 4.0, 7.5]]);
        assert!(near.to_rle(5, 4).unwrap().area() > 0);
        for far in [1.2e52, -5.5, 10.5] {
            let polygon = Segmentation::Polygons(vec![vec![0.5, 0.5, 4.0, 0.5, far, 3.5]]);
            let message = polygon.to_rle(5, 4).unwrap_err().to_string();
            assert!(message.contains("outside the 5×4 image"), "{far}: {message}");
        }
    }

    #[test]
    fn writes_rle_and_reads_it_back() {
        let mut d = Dataset::new(&["cat", "dog"]);
        let img = d.add_image("a.png", 12, 9);
        let m = ring_mask();
        let id = d
            .add_annotation(
                img,
                2,
                &m,
                SegmentationKind::Rle,
                &PolygonOptions::default(),
            )
            .unwrap();
        let json = d.to_json();
        assert!(json.contains("\"size\":[9,12]"), "{json}");
        assert!(json.contains("\"iscrowd\":0"));
        let back = Dataset::from_json(&json).unwrap();
        assert_eq!(back, d);
        let a = back.annotations.iter().find(|a| a.id == id).unwrap();
        assert_eq!(back.annotation_mask(a).unwrap(), m);
        assert_eq!(a.area, m.area() as f64);
        assert_eq!(a.bbox, [2.0, 1.0, 8.0, 7.0]);
        assert_eq!(
            back.categories[1],
            Category {
                id: 2,
                name: "dog".into(),
                supercategory: None
            }
        );
    }

    #[test]
    fn auto_uses_rle_for_holes_and_polygons_otherwise() {
        let mut d = Dataset::new(&["x"]);
        let img = d.add_image("a.png", 12, 9);
        let o = PolygonOptions::default();
        d.add_annotation(img, 1, &ring_mask(), SegmentationKind::Auto, &o)
            .unwrap();
        let solid = Mask::from_fn(12, 9, |x, y| (2..10).contains(&x) && (1..8).contains(&y));
        d.add_annotation(img, 1, &solid, SegmentationKind::Auto, &o)
            .unwrap();
        assert!(matches!(
            d.annotations[0].segmentation,
            Segmentation::Rle { .. }
        ));
        let Segmentation::Polygons(p) = &d.annotations[1].segmentation else {
            panic!()
        };
        assert!(p.iter().all(|p| p.len() >= 6 && p.len() % 2 == 0));
        assert_eq!(d.annotation_mask(&d.annotations[1]).unwrap(), solid);
        assert!(
            d.add_annotation(img, 1, &Mask::new(12, 9), SegmentationKind::Rle, &o)
                .is_err()
        );
        assert!(
            d.add_annotation(img, 7, &solid, SegmentationKind::Rle, &o)
                .is_err()
        );
    }

    #[test]
    fn reads_uncompressed_counts_and_rejects_bad_input() {
        let json = r#"{"images":[{"id":7,"file_name":"b.jpg","width":3,"height":2}],
            "categories":[{"id":1,"name":"x"}],
            "annotations":[{"id":1,"image_id":7,"category_id":1,"iscrowd":1,
              "segmentation":{"size":[2,3],"counts":[1,4,1]},"area":4,"bbox":[0,0,3,2]}]}"#;
        let d = Dataset::from_json(json).unwrap();
        let m = d.annotation_mask(&d.annotations[0]).unwrap();
        assert_eq!(m.as_bytes(), &[0, 1, 1, 1, 1, 0]);
        assert!(Dataset::from_json(&json.replace("[2,3]", "[3,2]")).is_err());
        assert!(Dataset::from_json(&json.replace("\"image_id\":7", "\"image_id\":8")).is_err());
        let box4 = json.replace(r#"{"size":[2,3],"counts":[1,4,1]}"#, "[[0,0,1,1]]");
        assert!(Dataset::from_json(&box4).is_err());
        assert!(Dataset::from_json("{\"images\": 3}").is_err());
    }

    #[test]
    fn merge_keeps_ids_unique() {
        let o = PolygonOptions::default();
        let m = ring_mask();
        let mut a = Dataset::new(&["cat"]);
        let ia = a.add_image("a.png", 12, 9);
        a.add_annotation(ia, 1, &m, SegmentationKind::Rle, &o)
            .unwrap();
        let mut b = Dataset::new(&["dog", "cat"]);
        let ib1 = b.add_image("b.png", 12, 9);
        let ib2 = b.add_image("a.png", 12, 9);
        b.add_annotation(ib1, 1, &m, SegmentationKind::Rle, &o)
            .unwrap();
        b.add_annotation(ib2, 2, &m, SegmentationKind::Rle, &o)
            .unwrap();
        let merged = Dataset::merge(&[a, b]).unwrap();
        assert_eq!(merged.images.len(), 2);
        assert_eq!(
            merged
                .categories
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["cat", "dog"]
        );
        let ids: Vec<u64> = merged.annotations.iter().map(|a| a.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        // b's "a.png" is a's image 1; b's "cat" (id 2 there) is category 1 here.
        assert_eq!(
            (
                merged.annotations[2].image_id,
                merged.annotations[2].category_id
            ),
            (1, 1)
        );
        assert_eq!(
            (
                merged.annotations[1].image_id,
                merged.annotations[1].category_id
            ),
            (2, 2)
        );
        let mut c = Dataset::new(&["cat"]);
        c.add_image("a.png", 5, 5);
        assert!(Dataset::merge(&[merged, c]).is_err());
    }
}
