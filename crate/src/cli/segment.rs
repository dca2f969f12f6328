//! `clipseg segment`: one image, several, or folders of them, each encoded once and decoded
//! against every prompt in one batch; logits as .npy and binary masks as PNG.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use clipseg::imaging::image_mask;
use clipseg::{Error, PromptImage, Prompts, Region, Segmenter, VisualPrompt};
use npyz::WriterBuilder;

use super::files::{image_files, resolved};
use super::{Backend, DEFAULT_THRESHOLD, check_threshold, device, progress, read_f32, read_image};

#[derive(Args)]
pub struct SegmentArgs {
    /// Model directory (config.json, model.safetensors or pytorch_model.bin, tokenizer.json).
    #[arg(long)]
    model: PathBuf,
    /// The image to segment, or a folder of images (read recursively: PNG, JPEG, WebP, GIF, BMP);
    /// repeat for several. With more than one image, --mask and --logits name folders.
    #[arg(long = "image", required = true, value_name = "PATH")]
    images: Vec<PathBuf>,
    /// A text prompt; repeat for several (decoded in one batch).
    #[arg(long = "prompt")]
    prompts: Vec<String>,
    /// An example image of what to segment (with --box or --visual-mask and without this, the
    /// visual prompt is on --image itself).
    #[arg(long)]
    visual_prompt: Option<PathBuf>,
    /// The object in the visual-prompt image, X0,Y0,X1,Y1 in its pixels; without it (and
    /// without --visual-mask) the whole image is the prompt.
    #[arg(long = "box", value_parser = parse_box)]
    region: Option<[f32; 4]>,
    /// The object in the visual-prompt image as a mask image of the same size (luma >= 128 is
    /// the object); not with --box.
    #[arg(long)]
    visual_mask: Option<PathBuf>,
    /// Mix the visual prompt into every text prompt: (1 - W) * text + W * visual, one output
    /// per text prompt (needs text and visual prompts; W within 0 and 1).
    #[arg(long, value_name = "W")]
    mix: Option<f32>,
    /// Write the logits (before sigmoid) as float32 .npy, shape [outputs, L, L] (L = the
    /// model's logits size, 352 for the published checkpoints); with several images a folder of
    /// NAME.npy, one per image.
    #[arg(long)]
    logits: Option<PathBuf>,
    /// Write binary PNG masks at the image's size; with several prompts, NAME_0.png, NAME_1.png…
    /// (in prompt order, text first); with several images a folder of them, named after each
    /// image (its path under a folder given as --image).
    #[arg(long)]
    mask: Option<PathBuf>,
    /// Probability above which a pixel is in the mask.
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    threshold: f32,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    backend: Backend,
}

fn parse_box(text: &str) -> Result<[f32; 4], String> {
    let values: Vec<f32> = text
        .split(',')
        .map(|v| v.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("expected X0,Y0,X1,Y1 as four numbers, got {text:?}"))?;
    values
        .try_into()
        .map_err(|_| format!("expected X0,Y0,X1,Y1 as four numbers, got {text:?}"))
}

/// One image to segment and the name its outputs get (without extension), relative to the output
/// folders when there are several images.
struct Job {
    image: PathBuf,
    name: PathBuf,
}

pub fn segment(args: SegmentArgs) -> Result<(), Error> {
    let SegmentArgs { model, images, prompts, visual_prompt, region, visual_mask, mix, logits, mask, threshold, backend } = args;
    if logits.is_none() && mask.is_none() {
        return Err(Error::usage("nothing to write: give --logits and/or --mask"));
    }
    check_threshold(threshold)?;
    let several = images.len() > 1 || images.iter().any(|path| path.is_dir());
    if several && visual_prompt.is_none() && (region.is_some() || visual_mask.is_some()) {
        return Err(Error::usage(
            "with several images, --box and --visual-mask need --visual-prompt: the example image they mark",
        ));
    }
    // Read and check every input before the slow model load, so mistakes show at once.
    let picture = match &visual_prompt {
        Some(path) => PromptImage::Other(Arc::new(read_image(path)?)),
        None => PromptImage::Query,
    };
    let region = match (region, &visual_mask) {
        (Some(_), Some(_)) => return Err(Error::prompt("give --box or --visual-mask, not both")),
        (Some(corners), None) => Some(Region::Box(corners)),
        (None, Some(path)) => Some(read_mask(path)?),
        (None, None) => None,
    };
    let visual = (visual_prompt.is_some() || region.is_some()).then_some(VisualPrompt { image: picture, region });
    let prompts = Prompts { texts: prompts.into_iter().map(Into::into).collect(), visual, mix };

    if !several {
        let query = Arc::new(read_image(&images[0])?);
        prompts.validate(&query)?;
        let segmenter = Segmenter::from_dir(&model, &device(backend)?)?;
        return write_outputs(&segmenter, &prompts, query, logits.as_deref(), mask.as_deref(), threshold);
    }

    // Several images: the visual prompt (if any) is on its own image, so any image validates it.
    if let Some(VisualPrompt { image: PromptImage::Other(example), .. }) = &prompts.visual {
        prompts.validate(example)?;
    } else {
        prompts.validate(&image::RgbImage::new(1, 1))?;
    }
    for folder in logits.iter().chain(&mask) {
        if folder.is_file() {
            return Err(Error::usage(format!("{} is a file: with several images it names a folder", folder.display())));
        }
    }
    let leave_out: Vec<PathBuf> = logits.iter().chain(&mask).map(|p| resolved(p)).collect();
    let jobs = jobs(&images, &leave_out)?;
    if jobs.is_empty() {
        return Err(Error::usage("no images: the folders given as --image hold no PNG, JPEG, WebP, GIF or BMP files"));
    }
    let segmenter = Segmenter::from_dir(&model, &device(backend)?)?;
    let bar = progress::items(jobs.len() as u64, 0, "segment", "images");
    let mut unreadable = 0;
    for job in &jobs {
        let query = match read_image(&job.image) {
            Ok(picture) => Arc::new(picture),
            Err(error) => {
                progress::note(&bar, &format!("skipped {error}"));
                unreadable += 1;
                bar.inc(1);
                continue;
            }
        };
        let logits_file = logits.as_ref().map(|folder| with_suffix(&folder.join(&job.name), "npy"));
        let mask_file = mask.as_ref().map(|folder| with_suffix(&folder.join(&job.name), "png"));
        for file in logits_file.iter().chain(&mask_file) {
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::io(format!("cannot create the folder {}: {e}", parent.display())))?;
            }
        }
        write_outputs(&segmenter, &prompts, query, logits_file.as_deref(), mask_file.as_deref(), threshold)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let written = jobs.len() - unreadable;
    let outputs: Vec<String> = logits.iter().chain(&mask).map(|p| p.display().to_string()).collect();
    eprintln!("segmented {written} images → {}", outputs.join(", "));
    if unreadable > 0 {
        return Err(Error::image(format!(
            "{unreadable} of {} images could not be read (named above); the other {written} are written",
            jobs.len()
        )));
    }
    Ok(())
}

/// The images named by `--image` (files, or folders read recursively), each with its output name:
/// a file's stem, or a folder's image's path under it without extension. Two images that would
/// write the same outputs are refused before anything runs.
fn jobs(paths: &[PathBuf], leave_out: &[PathBuf]) -> Result<Vec<Job>, Error> {
    let mut jobs = Vec::new();
    for path in paths {
        if path.is_dir() {
            let root = path
                .canonicalize()
                .map_err(|e| Error::io(format!("cannot read the folder {}: {e}", path.display())))?;
            for file in image_files(&root, leave_out)? {
                jobs.push(Job { image: path.join(&file), name: without_extension(&file) });
            }
        } else {
            let stem = path.file_stem().ok_or_else(|| Error::usage(format!("--image {} names no file", path.display())))?;
            jobs.push(Job { image: path.clone(), name: PathBuf::from(stem) });
        }
    }
    let mut seen: HashMap<&Path, &Path> = HashMap::new();
    for job in &jobs {
        if let Some(first) = seen.insert(&job.name, &job.image) {
            return Err(Error::usage(format!(
                "{} and {} would write the same outputs ({}): give them from different folders or rename one",
                first.display(),
                job.image.display(),
                job.name.display()
            )));
        }
    }
    Ok(jobs)
}

/// `a/b.v2.jpg` → `a/b.v2`.
fn without_extension(file: &str) -> PathBuf {
    let path = Path::new(file);
    path.with_file_name(path.file_stem().expect("an image file has a name"))
}

/// `name.ext`, keeping the dots already in `name` (`x.v2` → `x.v2.png`, where `with_extension`
/// would give `x.png`).
fn with_suffix(name: &Path, ext: &str) -> PathBuf {
    let mut file = name.as_os_str().to_owned();
    file.push(".");
    file.push(ext);
    file.into()
}

/// Segments one image and writes what was asked for: logits to `logits`, masks to `mask` (or
/// `mask`'s name with `_0`, `_1`… for several outputs).
fn write_outputs(
    segmenter: &Segmenter,
    prompts: &Prompts,
    query: Arc<image::RgbImage>,
    logits: Option<&Path>,
    mask: Option<&Path>,
    threshold: f32,
) -> Result<(), Error> {
    let encoded = segmenter.encode_image(query);
    let output = segmenter.segment(&encoded, prompts)?;
    let [count, side, _] = output.dims();
    let values = read_f32(output)?;
    if let Some(path) = logits {
        write_npy(path, &values, [count, side, side])?;
    }
    if let Some(path) = mask {
        let (w, h) = (encoded.width(), encoded.height());
        for (index, map) in values.chunks(side * side).enumerate() {
            let target = mask_path(path, index, count);
            image::GrayImage::from_raw(w, h, image_mask(map, side, w, h, threshold))
                .expect("mask has the image's size")
                .save(&target)
                .map_err(|e| Error::io(format!("cannot write {}: {e}", target.display())))?;
        }
    }
    Ok(())
}

/// A mask image (any format [`read_image`] reads): luma >= 128 is the object.
fn read_mask(path: &Path) -> Result<Region, Error> {
    let luma = image::DynamicImage::ImageRgb8(read_image(path)?).into_luma8();
    Ok(Region::from_luma(&luma))
}

/// `out.png` for one mask; `out_0.png`, `out_1.png`… for several, in prompt order (text first).
fn mask_path(path: &Path, index: usize, count: usize) -> PathBuf {
    if count == 1 {
        return path.to_path_buf();
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_else(|| "png".into());
    path.with_file_name(format!("{stem}_{index}.{ext}"))
}

fn write_npy(path: &Path, values: &[f32], shape: [usize; 3]) -> Result<(), Error> {
    let fail = |e: std::io::Error| Error::io(format!("cannot write {}: {e}", path.display()));
    let file = std::fs::File::create(path).map_err(fail)?;
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape.map(|d| d as u64))
        .writer(std::io::BufWriter::new(file))
        .begin_nd()
        .map_err(fail)?;
    writer.extend(values.iter().copied()).map_err(fail)?;
    writer.finish().map_err(fail)
}
