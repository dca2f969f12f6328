//! A whole dataset as the files of one format, for the CLI to write to disk and the browser to
//! zip: COCO (one JSON), YOLO segmentation (a label file per image and `data.yaml`) or CVAT's PNG
//! masks. Bytes only, like every writer here.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use super::coco::{Annotation, Dataset, Image, Segmentation, SegmentationKind};
use super::polygon::PolygonOptions;
use super::rle::Rle;
use super::{Result, error, png, yolo};

/// The formats a dataset can be exported to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// COCO instances JSON.
    #[default]
    Coco,
    /// Ultralytics YOLO segmentation labels.
    Yolo,
    /// CVAT's segmentation-mask PNGs.
    Png,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Coco, Format::Yolo, Format::Png];

    /// The name the CLI and the browser use: `"coco"`, `"yolo"` or `"png"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Coco => "coco",
            Format::Yolo => "yolo",
            Format::Png => "png",
        }
    }
}

impl FromStr for Format {
    type Err = crate::Error;

    fn from_str(name: &str) -> std::result::Result<Format, crate::Error> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| {
                crate::Error::usage(format!(
                    "unknown export format {name:?}: use coco, yolo or png"
                ))
            })
    }
}

/// What [`dataset_files`] writes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ExportOptions {
    pub format: Format,
    /// How COCO stores each mask (RLE by default: exact, holes and all).
    pub segmentation: SegmentationKind,
    /// How masks become polygons (COCO polygons and YOLO lines).
    pub polygon: PolygonOptions,
}

/// The files of `dataset` in `options.format`, as (relative path with `/`, bytes):
///
/// - coco: `instances.json`, every annotation re-written as `options.segmentation` (`area` and
///   `bbox` then describe what it stores); ids, images and categories as they are.
/// - yolo: `labels/<stem>.txt` per image (one line per annotation, class = the category's
///   position in `categories` from 0; holes filled, parts bridged; an image without annotations
///   gets an empty file) and `data.yaml` (images expected in `images/`, beside `labels/`).
/// - png: `SegmentationClass/<stem>.png` and `SegmentationObject/<stem>.png` per image (class =
///   the category's position + 1, instance ids in annotation order; later annotations cover
///   earlier ones) and `labelmap.txt`.
///
/// `<stem>` is the image's `file_name` without its extension, subfolders kept (`a/b.jpg` →
/// `labels/a/b.txt`). Two images with the same stem (compared case-insensitively, as a zip
/// unpacked on Windows or macOS would) are an error rather than one file silently overwriting the
/// other, and so is a `file_name` that would leave the output folder (`..`, an absolute path).
pub fn dataset_files(dataset: &Dataset, options: &ExportOptions) -> Result<Vec<(String, Vec<u8>)>> {
    match options.format {
        Format::Coco => Ok(vec![(
            "instances.json".to_string(),
            coco_with(dataset, options)?.to_json().into_bytes(),
        )]),
        Format::Yolo => yolo_files(dataset, options),
        Format::Png => png_files(dataset),
    }
}

fn coco_with(dataset: &Dataset, options: &ExportOptions) -> Result<Dataset> {
    let index = category_index(dataset);
    let images: HashMap<u64, &Image> = dataset.images.iter().map(|i| (i.id, i)).collect();
    let mut out = dataset.clone();
    for annotation in &mut out.annotations {
        class_of(&index, annotation)?;
        let image = images
            .get(&annotation.image_id)
            .ok_or_else(|| no_image(annotation.image_id))?;
        let rle = rle_of(image, annotation)?;
        // RLE to RLE needs no mask: the runs are carried over (as pycocotools would), and drawing
        // an image-sized mask per annotation would make many small objects slow.
        let (segmentation, rle) = match options.segmentation {
            SegmentationKind::Rle => (Segmentation::from_rle(&rle), rle),
            kind => Segmentation::encode(&rle.decode(), kind, &options.polygon)?,
        };
        annotation.segmentation = segmentation;
        annotation.area = rle.area() as f64;
        annotation.bbox = rle.bbox().map(|v| v as f64);
    }
    Ok(out)
}

/// Each image with its stem and its annotations (in file order), stems checked for collisions.
fn images_with_annotations(dataset: &Dataset) -> Result<Vec<(&Image, String, Vec<&Annotation>)>> {
    let mut by_image: HashMap<u64, Vec<&Annotation>> = HashMap::new();
    for annotation in &dataset.annotations {
        by_image
            .entry(annotation.image_id)
            .or_default()
            .push(annotation);
    }
    let known: HashSet<u64> = dataset.images.iter().map(|i| i.id).collect();
    if let Some(orphan) = by_image.keys().find(|id| !known.contains(id)) {
        return Err(no_image(*orphan));
    }
    let stems = stems(dataset.images.iter().map(|i| i.file_name.as_str()))?;
    Ok(dataset
        .images
        .iter()
        .zip(stems)
        .map(|(image, stem)| (image, stem, by_image.remove(&image.id).unwrap_or_default()))
        .collect())
}

/// The stem of each image file name, as the YOLO and PNG files are named (see
/// [`dataset_files`]); an error if one would leave the output folder or two collide. (The CLI
/// checks its images with this before labelling them.)
pub fn stems<'a>(file_names: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    let mut out = Vec::new();
    for file_name in file_names {
        let stem = stem(file_name)?;
        if let Some(other) = seen.insert(stem.to_lowercase(), file_name) {
            return Err(error(format!(
                "{other} and {file_name} would write the same label file ({stem}): rename one of them"
            )));
        }
        out.push(stem);
    }
    Ok(out)
}

fn no_image(id: u64) -> crate::Error {
    error(format!(
        "annotations refer to image {id}, which is not in the dataset"
    ))
}

/// The RLE of an annotation of `image` (found once per image, not searched for per annotation,
/// so a large dataset exports in linear time).
fn rle_of(image: &Image, annotation: &Annotation) -> Result<Rle> {
    annotation
        .segmentation
        .to_rle(image.width, image.height)
        .map_err(|e| error(format!("annotation {}: {e}", annotation.id)))
}

/// `file_name` without its extension, with `/` between folders.
fn stem(file_name: &str) -> Result<String> {
    let parts: Vec<&str> = file_name.split(['/', '\\']).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(error(format!(
            "image file name {file_name:?}: needs a relative path without empty, . or .. parts"
        )));
    }
    let (folders, name) = parts.split_at(parts.len() - 1);
    let name = match name[0].rsplit_once('.') {
        Some((base, _)) if !base.is_empty() => base,
        _ => name[0],
    };
    Ok(folders
        .iter()
        .copied()
        .chain([name])
        .collect::<Vec<_>>()
        .join("/"))
}

/// The position of each category id in `categories`.
fn category_index(dataset: &Dataset) -> HashMap<u64, usize> {
    dataset
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id, i))
        .collect()
}

fn class_of(index: &HashMap<u64, usize>, annotation: &Annotation) -> Result<usize> {
    index.get(&annotation.category_id).copied().ok_or_else(|| {
        error(format!(
            "annotation {} refers to category {}, which is not in the dataset",
            annotation.id, annotation.category_id
        ))
    })
}

fn names(dataset: &Dataset) -> Vec<&str> {
    dataset.categories.iter().map(|c| c.name.as_str()).collect()
}

fn yolo_files(dataset: &Dataset, options: &ExportOptions) -> Result<Vec<(String, Vec<u8>)>> {
    let index = category_index(dataset);
    let mut files = Vec::new();
    for (image, stem, annotations) in images_with_annotations(dataset)? {
        let mut text = String::new();
        for annotation in annotations {
            let class = class_of(&index, annotation)? as u32;
            // Traced on the object's box: many small objects on a large image stay cheap.
            let (crop, b) = rle_of(image, annotation)?.cropped_mask();
            let origin = [b[0], b[1]];
            // An empty mask has no polygon: nothing to write for it.
            if let Some(line) = yolo::crop_line(
                class,
                &crop,
                origin,
                image.width,
                image.height,
                &options.polygon,
            ) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        files.push((format!("labels/{stem}.txt"), text.into_bytes()));
    }
    let yaml = yolo::data_yaml(&names(dataset), "", "images", "images");
    files.push(("data.yaml".to_string(), yaml.into_bytes()));
    Ok(files)
}

fn png_files(dataset: &Dataset) -> Result<Vec<(String, Vec<u8>)>> {
    if dataset.categories.len() > 255 {
        return Err(error(format!(
            "{} categories do not fit an 8-bit class PNG (at most 255)",
            dataset.categories.len()
        )));
    }
    let index = category_index(dataset);
    let mut files = Vec::new();
    for (image, stem, annotations) in images_with_annotations(dataset)? {
        // Painted from the runs (as png::paint: later objects over earlier ones), which costs
        // each object's area rather than the image's.
        let pixels = image.width as usize * image.height as usize;
        let (mut classes, mut ids) = (vec![0u8; pixels], vec![0u32; pixels]);
        for (k, annotation) in annotations.iter().enumerate() {
            let class = class_of(&index, annotation)? as u8 + 1;
            for (x, y) in rle_of(image, annotation)?.pixels() {
                let at = y as usize * image.width as usize + x as usize;
                classes[at] = class;
                ids[at] = k as u32 + 1;
            }
        }
        files.extend(png::cvat_maps(
            &stem,
            image.width,
            image.height,
            &classes,
            &ids,
        )?);
    }
    files.push((
        "labelmap.txt".to_string(),
        png::labelmap_txt(&names(dataset)).into_bytes(),
    ));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::labels::Mask;
    use crate::labels::coco::Counts;
    use crate::labels::polygon;

    fn decode_png(bytes: &[u8]) -> image::DynamicImage {
        image::load_from_memory_with_format(bytes, image::ImageFormat::Png).unwrap()
    }

    /// Two categories; "sub/a.jpg" (12×9) has a ring (a hole) of "cat" and a box of "dog",
    /// "b.png" (6×4) has nothing.
    fn dataset() -> (Dataset, Mask, Mask) {
        let ring = Mask::from_fn(12, 9, |x, y| {
            let inside = (2..10).contains(&x) && (1..8).contains(&y);
            let hole = (5..7).contains(&x) && (3..6).contains(&y);
            inside && !hole
        });
        let dog = Mask::from_fn(12, 9, |x, y| x < 2 && y < 3);
        let mut d = Dataset::new(&["cat", "dog"]);
        let a = d.add_image("sub/a.jpg", 12, 9);
        d.add_image("b.png", 6, 4);
        let o = PolygonOptions::default();
        d.add_annotation(a, 1, &ring, SegmentationKind::Rle, &o)
            .unwrap();
        d.add_annotation(a, 2, &dog, SegmentationKind::Rle, &o)
            .unwrap();
        (d, ring, dog)
    }

    fn options(format: Format) -> ExportOptions {
        ExportOptions {
            format,
            ..ExportOptions::default()
        }
    }

    fn file<'a>(files: &'a [(String, Vec<u8>)], path: &str) -> &'a [u8] {
        &files
            .iter()
            .find(|(p, _)| p == path)
            .unwrap_or_else(|| {
                panic!(
                    "no {path} in {:?}",
                    files.iter().map(|f| &f.0).collect::<Vec<_>>()
                )
            })
            .1
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        let e = "voc".parse::<Format>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.message().contains("coco, yolo or png"), "{e}");
    }

    #[test]
    fn coco_is_compressed_rle_by_default_and_polygons_on_request() {
        let (d, ring, dog) = dataset();
        let files = dataset_files(&d, &options(Format::Coco)).unwrap();
        assert_eq!(files.len(), 1);
        let back = Dataset::from_json(std::str::from_utf8(file(&files, "instances.json")).unwrap())
            .unwrap();
        assert_eq!(back, d);
        assert!(back.annotations.iter().all(|a| matches!(
            a.segmentation,
            Segmentation::Rle {
                counts: Counts::Compressed(_),
                ..
            }
        )));

        let polygons = ExportOptions {
            segmentation: SegmentationKind::Polygons,
            ..options(Format::Coco)
        };
        let files = dataset_files(&d, &polygons).unwrap();
        let back = Dataset::from_json(std::str::from_utf8(file(&files, "instances.json")).unwrap())
            .unwrap();
        assert_eq!(back.images, d.images);
        assert_eq!(back.categories, d.categories);
        let ids: Vec<u64> = back.annotations.iter().map(|a| a.id).collect();
        assert_eq!(ids, [1, 2]);
        // The ring's hole is filled (polygons cannot hold it); area and bbox describe that.
        let filled = Mask::from_fn(12, 9, |x, y| (2..10).contains(&x) && (1..8).contains(&y));
        assert!(matches!(
            back.annotations[0].segmentation,
            Segmentation::Polygons(_)
        ));
        assert_eq!(back.annotation_mask(&back.annotations[0]).unwrap(), filled);
        assert_eq!(back.annotations[0].area, filled.area() as f64);
        assert_eq!(back.annotation_mask(&back.annotations[1]).unwrap(), dog);

        // Auto: RLE for the ring (it has a hole), a polygon for the box.
        let auto = ExportOptions {
            segmentation: SegmentationKind::Auto,
            ..options(Format::Coco)
        };
        let back = Dataset::from_json(
            std::str::from_utf8(&dataset_files(&d, &auto).unwrap()[0].1).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            back.annotations[0].segmentation,
            Segmentation::Rle { .. }
        ));
        assert_eq!(back.annotation_mask(&back.annotations[0]).unwrap(), ring);
        assert!(matches!(
            back.annotations[1].segmentation,
            Segmentation::Polygons(_)
        ));
    }

    #[test]
    fn yolo_writes_a_label_file_per_image_and_data_yaml() {
        let (d, ring, dog) = dataset();
        let files = dataset_files(&d, &options(Format::Yolo)).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(paths, ["labels/sub/a.txt", "labels/b.txt", "data.yaml"]);
        let text = std::str::from_utf8(file(&files, "labels/sub/a.txt")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let (class, cat) = yolo::parse_line(lines[0], 12, 9).unwrap();
        assert_eq!(class, 0);
        // Holes filled: the ring comes back as its outline.
        let mut filled = ring.clone();
        filled
            .union_with(&Mask::from_fn(12, 9, |x, y| {
                (5..7).contains(&x) && (3..6).contains(&y)
            }))
            .unwrap();
        assert_eq!(polygon::rasterize(&[cat], 12, 9), filled);
        let (class, dog_polygon) = yolo::parse_line(lines[1], 12, 9).unwrap();
        assert_eq!(class, 1);
        assert_eq!(polygon::rasterize(&[dog_polygon], 12, 9), dog);
        assert!(file(&files, "labels/b.txt").is_empty());
        let yaml = std::str::from_utf8(file(&files, "data.yaml")).unwrap();
        assert_eq!(
            yaml,
            "train: \"images\"\nval: \"images\"\nnames:\n  0: \"cat\"\n  1: \"dog\"\n"
        );
    }

    #[test]
    fn png_writes_class_and_instance_maps_and_the_labelmap() {
        let (d, ring, dog) = dataset();
        let files = dataset_files(&d, &options(Format::Png)).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "SegmentationClass/sub/a.png",
                "SegmentationObject/sub/a.png",
                "SegmentationClass/b.png",
                "SegmentationObject/b.png",
                "labelmap.txt"
            ]
        );
        let classes = decode_png(file(&files, "SegmentationClass/sub/a.png")).into_luma8();
        let objects = decode_png(file(&files, "SegmentationObject/sub/a.png")).into_luma8();
        assert_eq!(classes.dimensions(), (12, 9));
        for (x, y, p) in classes.enumerate_pixels() {
            let expected = if dog.get(x, y) {
                2
            } else if ring.get(x, y) {
                1
            } else {
                0
            };
            assert_eq!(p.0[0], expected, "class at ({x}, {y})");
            assert_eq!(
                objects.get_pixel(x, y).0[0],
                expected,
                "instance at ({x}, {y})"
            );
        }
        let empty = decode_png(file(&files, "SegmentationClass/b.png")).into_luma8();
        assert_eq!(empty.dimensions(), (6, 4));
        assert!(empty.pixels().all(|p| p.0[0] == 0));
        assert!(
            std::str::from_utf8(file(&files, "labelmap.txt"))
                .unwrap()
                .contains("\ncat:128,0,0::\ndog:0,128,0::\n")
        );
    }

    #[test]
    fn colliding_or_escaping_stems_are_errors() {
        assert_eq!(stem("a/b.c.jpg").unwrap(), "a/b.c");
        assert_eq!(stem("noext").unwrap(), "noext");
        assert_eq!(stem(".hidden").unwrap(), ".hidden");
        assert_eq!(stem("w\\x.png").unwrap(), "w/x");
        for bad in ["../x.jpg", "/abs.jpg", "a//b.jpg", "a/./b.jpg", ""] {
            assert_eq!(
                stem(bad).unwrap_err().kind(),
                ErrorKind::Annotations,
                "{bad:?}"
            );
        }
        let (mut d, _, _) = dataset();
        d.add_image("sub/A.png", 3, 3);
        for format in [Format::Yolo, Format::Png] {
            let e = dataset_files(&d, &options(format)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Annotations);
            assert!(
                e.message().contains("sub/a.jpg") && e.message().contains("sub/A.png"),
                "{e}"
            );
        }
        // One JSON file: the same stems do not matter there.
        assert!(dataset_files(&d, &options(Format::Coco)).is_ok());
    }

    #[test]
    fn unknown_categories_and_images_are_errors() {
        let (mut d, _, _) = dataset();
        d.annotations[1].category_id = 9;
        for format in Format::ALL {
            assert_eq!(
                dataset_files(&d, &options(format)).unwrap_err().kind(),
                ErrorKind::Annotations
            );
        }
        let (mut d, _, _) = dataset();
        d.annotations[0].image_id = 9;
        for format in Format::ALL {
            assert_eq!(
                dataset_files(&d, &options(format)).unwrap_err().kind(),
                ErrorKind::Annotations
            );
        }
    }
}
