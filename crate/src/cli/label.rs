//! `clipseg label`: a folder of images to a labelled dataset (COCO, YOLO or PNG masks), one
//! instance per connected component of each class's mask; shardable across the tasks of an array
//! job and resumable after a stop. `clipseg merge`: the shards' COCO files into one.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use clipseg::imaging::{decode_image, image_mask};
use clipseg::labels::{
    Annotation, Dataset, ExportOptions, Format, Image, Mask, PolygonOptions, SegmentationKind, dataset_files, export,
};
use clipseg::{Error, Prompts, Segmenter, TextPrompt};
use serde::Serialize;

use super::journal::{Journal, Labelled, journal_path};
use super::shard::{self, Shard};
use super::files::{image_files, resolved};
use super::progress;
use super::{Backend, DEFAULT_THRESHOLD, check_threshold, device, read_f32};

/// Components smaller than this are thresholding specks rather than objects: below a 4×4 square
/// at image size (one cell of the 352² logits grid covers about 3×3 pixels of a 1000-pixel-wide
/// image).
const DEFAULT_MIN_AREA: u64 = 16;

#[derive(Args)]
pub struct LabelArgs {
    /// Model directory (as for `segment`).
    #[arg(long)]
    model: PathBuf,
    /// The folder of images, read recursively (PNG, JPEG, WebP, GIF, BMP by extension).
    #[arg(long)]
    images: PathBuf,
    /// A class as NAME or NAME=PROMPT (the prompt defaults to the name); repeat for several.
    /// Category ids from 1 in this order. PROMPT may hold several phrasings separated by ';'
    /// ("flag=a flag;the stars and stripes"), whose text conditionals are averaged.
    #[arg(long = "class", required = true, value_name = "NAME[=PROMPT]")]
    classes: Vec<String>,
    /// Where to write: a JSON file (coco), or a folder (yolo, png).
    #[arg(long)]
    out: PathBuf,
    /// coco (instances JSON, compressed RLE), yolo (labels/<stem>.txt + data.yaml) or png (CVAT
    /// segmentation masks).
    #[arg(long, default_value = "coco")]
    format: String,
    /// Probability above which a pixel is in a class's mask (as `segment --mask`).
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    threshold: f32,
    /// Smallest instance kept, in pixels (8-connected components); 1 keeps every component.
    #[arg(long, value_name = "PIXELS", default_value_t = DEFAULT_MIN_AREA)]
    min_area: u64,
    /// Label only shard I of N (0-based): the images whose sorted position modulo N is I.
    /// Without it a Slurm array task's or a Kubernetes indexed Job's index is used.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// The number of shards where the environment gives only the index (JOB_COMPLETION_INDEX).
    #[arg(long, value_name = "N")]
    shards: Option<usize>,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    backend: Backend,
}

#[derive(Args)]
pub struct MergeArgs {
    /// COCO files to merge (e.g. the shards of a `label` run).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The merged COCO file.
    #[arg(long)]
    out: PathBuf,
}

/// A class to label: its category name and the phrasings of the prompt that finds it.
#[derive(Debug, PartialEq, Serialize)]
struct Class {
    name: String,
    phrasings: Vec<String>,
}

/// `NAME` or `NAME=PROMPT` per class, PROMPT's phrasings separated by ';'; names unique, no part
/// empty.
fn parse_classes(specs: &[String]) -> Result<Vec<Class>, Error> {
    let mut classes: Vec<Class> = Vec::with_capacity(specs.len());
    for spec in specs {
        let (name, prompt) = spec.split_once('=').unwrap_or((spec, spec));
        let name = name.trim();
        let phrasings: Vec<String> = prompt.split(';').map(|p| p.trim().to_string()).collect();
        if name.is_empty() || phrasings.iter().any(String::is_empty) {
            return Err(Error::usage(format!(
                "--class {spec:?}: give NAME or NAME=PROMPT (phrasings separated by ';'), no part empty"
            )));
        }
        if classes.iter().any(|c| c.name == name) {
            return Err(Error::usage(format!("--class {name:?} is given twice")));
        }
        classes.push(Class { name: name.to_string(), phrasings });
    }
    Ok(classes)
}

/// What a journal must match to be resumed: everything that changes the labels.
#[derive(Serialize)]
struct RunHeader<'a> {
    clipseg_label: u32,
    model: PathBuf,
    images: &'a Path,
    classes: &'a [Class],
    threshold: f32,
    min_area: u64,
    shard: String,
}

pub fn label(args: LabelArgs) -> Result<(), Error> {
    let started = Instant::now();
    // Every argument is checked before the slow model load.
    let classes = parse_classes(&args.classes)?;
    let format: Format = args.format.parse()?;
    check_threshold(args.threshold)?;
    let shard = shard::resolve(args.shard.as_deref(), args.shards, |name| std::env::var(name).ok())?;
    match (format, std::fs::metadata(&args.out)) {
        (Format::Coco, Ok(meta)) if meta.is_dir() => {
            return Err(Error::usage(format!("--out {} is a folder: coco writes one JSON file", args.out.display())));
        }
        (Format::Yolo | Format::Png, Ok(meta)) if !meta.is_dir() => {
            return Err(Error::usage(format!("--out {} is a file: {} writes a folder", args.out.display(), format.as_str())));
        }
        _ => {}
    }
    let root = args
        .images
        .canonicalize()
        .map_err(|e| Error::io(format!("cannot read --images {}: {e}", args.images.display())))?;
    if !root.is_dir() {
        return Err(Error::io(format!("--images {} is not a folder", args.images.display())));
    }
    let files: Vec<String> = image_files(&root, &[resolved(&args.out)])?
        .into_iter()
        .enumerate()
        .filter(|(position, _)| shard.includes(*position))
        .map(|(_, file)| file)
        .collect();
    if format != Format::Coco {
        // Label files are named by stem: a.jpg and a.png would overwrite each other's.
        export::stems(files.iter().map(String::as_str))?;
    }

    let header = RunHeader {
        clipseg_label: 1,
        model: std::path::absolute(&args.model).unwrap_or_else(|_| args.model.clone()),
        images: &root,
        classes: &classes,
        threshold: args.threshold,
        min_area: args.min_area,
        shard: shard.to_string(),
    };
    let header = serde_json::to_string(&header).expect("the run header serialises");
    let (mut journal, earlier) = Journal::open(&journal_path(&args.out), &header)?;
    // An image that has gone since the stop is left out; an image is labelled once.
    let wanted: HashSet<&str> = files.iter().map(String::as_str).collect();
    let mut records: Vec<Labelled> = Vec::with_capacity(files.len());
    let mut finished: HashSet<String> = HashSet::new();
    for record in earlier {
        if wanted.contains(record.file_name.as_str()) && finished.insert(record.file_name.clone()) {
            records.push(record);
        }
    }
    let resumed = records.len();
    if resumed > 0 {
        eprintln!("resuming: {resumed} images already labelled in {}", journal_path(&args.out).display());
    }

    let segmenter = Segmenter::from_dir(&args.model, &device(args.backend)?)?;
    let prompts = Prompts {
        texts: classes.iter().map(|c| TextPrompt::new(c.phrasings.clone())).collect(),
        ..Prompts::default()
    };
    let names: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
    let progress = progress::items(files.len() as u64, resumed as u64, "label", "images");
    let mut skipped = 0;
    for file_name in files.iter().filter(|f| !finished.contains(*f)) {
        let shown = args.images.join(file_name);
        let picture = match std::fs::read(&shown).map_err(|e| e.to_string()).and_then(|bytes| {
            decode_image(&bytes).map_err(|e| e.message().to_string())
        }) {
            Ok(picture) => picture,
            Err(reason) => {
                progress::note(&progress, &format!("skipped {}: {reason}", shown.display()));
                skipped += 1;
                progress.inc(1);
                continue;
            }
        };
        let record = label_image(&segmenter, &prompts, &names, file_name, picture, args.threshold, args.min_area)?;
        journal.append(&record)?;
        records.push(record);
        progress.inc(1);
    }
    progress.finish_and_clear();

    let dataset = assemble(&names, records);
    write_dataset(&dataset, format, &args.out)?;
    journal.finish()?;
    let sharded = if shard == Shard::ALL { String::new() } else { format!(" (shard {shard})") };
    let resumed = if resumed > 0 { format!(" ({resumed} resumed)") } else { String::new() };
    eprintln!(
        "labelled {} images{resumed}{sharded}, skipped {skipped}, {} instances, {:.1} s → {}",
        dataset.images.len(),
        dataset.annotations.len(),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

/// One image: one encode, every class decoded in one batch, each class's mask exactly as
/// `segment --mask` makes it, split into its components of at least `min_area` pixels.
fn label_image(
    segmenter: &Segmenter,
    prompts: &Prompts,
    names: &[&str],
    file_name: &str,
    picture: image::RgbImage,
    threshold: f32,
    min_area: u64,
) -> Result<Labelled, Error> {
    let encoded = segmenter.encode_image(picture);
    let logits = segmenter.segment(&encoded, prompts)?;
    let [_, side, _] = logits.dims();
    let values = read_f32(logits)?;
    let (width, height) = (encoded.width(), encoded.height());
    let mut dataset = Dataset::new(names);
    let image = dataset.add_image(file_name, width, height);
    for (class, map) in values.chunks(side * side).enumerate() {
        let mask = Mask::from_bytes(width, height, image_mask(map, side, width, height, threshold))?;
        dataset.add_instances(image, class as u64 + 1, &mask, min_area, SegmentationKind::Rle, &PolygonOptions::default())?;
    }
    Ok(Labelled { file_name: file_name.to_string(), width, height, annotations: dataset.annotations })
}

/// The labelled images as one dataset, in canonical order.
fn assemble(names: &[&str], records: Vec<Labelled>) -> Dataset {
    let mut dataset = Dataset::new(names);
    for (index, record) in records.into_iter().enumerate() {
        let image_id = index as u64 + 1;
        dataset.images.push(Image { id: image_id, file_name: record.file_name, width: record.width, height: record.height });
        for annotation in record.annotations {
            let id = dataset.annotations.len() as u64 + 1;
            dataset.annotations.push(Annotation { id, image_id, ..annotation });
        }
    }
    canonical(dataset)
}

/// Images sorted by `file_name` with ids 1, 2, … in that order; annotations grouped by image in
/// that order (each image's in their own order) with ids 1, 2, …. The same labels then make the
/// same bytes whether they come from one run or from merged shards.
fn canonical(mut dataset: Dataset) -> Dataset {
    dataset.images.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    let new_ids: HashMap<u64, u64> =
        dataset.images.iter().enumerate().map(|(index, image)| (image.id, index as u64 + 1)).collect();
    for image in &mut dataset.images {
        image.id = new_ids[&image.id];
    }
    for annotation in &mut dataset.annotations {
        annotation.image_id = new_ids[&annotation.image_id];
    }
    dataset.annotations.sort_by_key(|a| a.image_id);
    for (index, annotation) in dataset.annotations.iter_mut().enumerate() {
        annotation.id = index as u64 + 1;
    }
    dataset
}

/// Writes the dataset's files: COCO's one JSON at `out` itself, YOLO's and PNG's into the folder
/// `out`.
fn write_dataset(dataset: &Dataset, format: Format, out: &Path) -> Result<(), Error> {
    let files = dataset_files(dataset, &ExportOptions { format, ..ExportOptions::default() })?;
    if format == Format::Coco {
        let (_, json) = files.into_iter().next().expect("COCO is one file");
        return write_atomically(out, &json);
    }
    for (relative, bytes) in files {
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, bytes).map_err(|e| Error::io(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

/// Writes a temporary file beside `path` and renames it over `path`: a reader never sees half a
/// file, and a stop leaves the previous one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let fail = |e: std::io::Error| Error::io(format!("cannot write {}: {e}", path.display()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        std::io::Write::write_all(&mut file, bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        fail(e)
    })
}

pub fn merge(args: MergeArgs) -> Result<(), Error> {
    let mut datasets = Vec::with_capacity(args.inputs.len());
    for path in &args.inputs {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(format!("cannot read {}: {e}", path.display())))?;
        datasets.push(Dataset::from_json(&text).map_err(|e| e.context(path.display()))?);
    }
    let merged = canonical(Dataset::merge(&datasets)?);
    write_atomically(&args.out, merged.to_json().as_bytes())?;
    eprintln!(
        "merged {} files: {} images, {} annotations, {} categories → {}",
        args.inputs.len(),
        merged.images.len(),
        merged.annotations.len(),
        merged.categories.len(),
        args.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clipseg::ErrorKind;

    #[test]
    fn classes_are_name_or_name_equals_prompt() {
        let specs = ["cat", "dog=a photo of a dog", " car = a red car ", "flag=a flag; the stars and stripes"].map(String::from);
        let classes = parse_classes(&specs).unwrap();
        let pairs: Vec<(&str, Vec<&str>)> =
            classes.iter().map(|c| (c.name.as_str(), c.phrasings.iter().map(String::as_str).collect())).collect();
        assert_eq!(
            pairs,
            [
                ("cat", vec!["cat"]),
                ("dog", vec!["a photo of a dog"]),
                ("car", vec!["a red car"]),
                ("flag", vec!["a flag", "the stars and stripes"])
            ]
        );
        for bad in [vec!["=a cat"], vec!["cat="], vec![" "], vec!["cat", "cat=a cat"], vec!["cat=a cat;"]] {
            let specs: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
            assert_eq!(parse_classes(&specs).unwrap_err().kind(), ErrorKind::Usage, "{bad:?}");
        }
    }

    #[test]
    fn canonical_order_does_not_depend_on_the_input_order() {
        let record = |name: &str, objects: u64| Labelled {
            file_name: name.into(),
            width: 4,
            height: 4,
            annotations: (0..objects)
                .map(|k| {
                    let mut one = Dataset::new(&["x"]);
                    let image = one.add_image(name, 4, 4);
                    let mask = Mask::from_fn(4, 4, |x, y| x == k as u32 && y == 0);
                    one.add_annotation(image, 1, &mask, SegmentationKind::Rle, &PolygonOptions::default()).unwrap();
                    Annotation { id: k + 1, ..one.annotations.remove(0) }
                })
                .collect(),
        };
        let a = assemble(&["x"], vec![record("b.png", 2), record("a/c.png", 1), record("a.png", 0)]);
        let b = assemble(&["x"], vec![record("a.png", 0), record("a/c.png", 1), record("b.png", 2)]);
        assert_eq!(a.to_json(), b.to_json());
        let names: Vec<&str> = a.images.iter().map(|i| i.file_name.as_str()).collect();
        assert_eq!(names, ["a.png", "a/c.png", "b.png"]);
        let ids: Vec<(u64, u64)> = a.annotations.iter().map(|a| (a.id, a.image_id)).collect();
        assert_eq!(ids, [(1, 2), (2, 3), (3, 3)]);
        // Merging the halves gives the same dataset.
        let first = assemble(&["x"], vec![record("b.png", 2)]);
        let second = assemble(&["x"], vec![record("a.png", 0), record("a/c.png", 1)]);
        assert_eq!(canonical(Dataset::merge(&[first, second]).unwrap()).to_json(), a.to_json());
    }
}
