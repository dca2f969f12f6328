//! Command-line interface: `segment`, `label`, `merge`, `tokenize`, `convert`, `fetch`, `bench`.

mod fetch;
mod journal;
mod label;
mod shard;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::{DType, Device, Tensor};
use clap::{Parser, Subcommand, ValueEnum};
use npyz::WriterBuilder;
use clipseg::imaging::{decode_image, image_mask};
use clipseg::model_dir::ModelDir;
use clipseg::{Error, PromptImage, Prompts, Region, Segmenter, VisualPrompt};

#[derive(Parser)]
#[command(name = "clipseg", version, about = "Image segmentation from text or image prompts (CLIPSeg)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Probability above which a pixel is in a mask (`segment --mask`, `label`).
const DEFAULT_THRESHOLD: f32 = 0.5;

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    /// burn's CPU backend (Flex).
    Cpu,
    /// burn's wgpu backend (Vulkan, Metal, DX12 or WebGPU).
    Wgpu,
}

#[derive(Clone, Copy, ValueEnum)]
enum StorageType {
    F16,
    F32,
}

#[derive(Subcommand)]
enum Command {
    /// Segment an image with text and/or visual prompts.
    Segment {
        /// Model directory (config.json, model.safetensors or pytorch_model.bin, tokenizer.json).
        #[arg(long)]
        model: PathBuf,
        /// The image to segment.
        #[arg(long)]
        image: PathBuf,
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
        /// model's logits size, 352 for the published checkpoints).
        #[arg(long)]
        logits: Option<PathBuf>,
        /// Write binary PNG masks at the image's size; with several prompts, NAME_0.png, NAME_1.png…
        #[arg(long)]
        mask: Option<PathBuf>,
        /// Probability above which a pixel is in the mask.
        #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
        threshold: f32,
        #[arg(long, value_enum, default_value_t = Backend::Cpu)]
        backend: Backend,
    },
    /// Label a folder of images with text-prompted classes (COCO, YOLO or PNG masks).
    ///
    /// One instance per connected component of each class's mask; shardable across array-job
    /// tasks (then `merge`), and a stopped run resumes where it stopped.
    Label(label::LabelArgs),
    /// Merge COCO files (e.g. the shards of a `label` run) into one.
    Merge(label::MergeArgs),
    /// Print each text's token ids as a JSON array, one line per text.
    Tokenize {
        #[arg(long)]
        model: PathBuf,
        #[arg(required = true)]
        texts: Vec<String>,
    },
    /// Write a compact copy of a model (f16 storage: half the download, upcast at load).
    Convert {
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        to: PathBuf,
        #[arg(long, value_enum, default_value_t = StorageType::F16)]
        dtype: StorageType,
    },
    /// Download a checkpoint from the Hugging Face hub (through its cache: HF_HOME, HF_ENDPOINT),
    /// check it, and write the compact copy under models/.
    Fetch(fetch::FetchArgs),
    /// Time loading, image encoding, text embedding and decoding.
    Bench {
        #[arg(long)]
        model: PathBuf,
        #[arg(long, value_enum, default_value_t = Backend::Cpu)]
        backend: Backend,
        /// An image to encode (a synthetic one otherwise).
        #[arg(long)]
        image: Option<PathBuf>,
        /// Timed runs per measurement (after one warm-up run).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// One JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
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

pub fn run() -> Result<(), Error> {
    let cli = Cli::parse();
    match cli.command {
        Command::Segment {
            model,
            image,
            prompts,
            visual_prompt,
            region,
            visual_mask,
            mix,
            logits,
            mask,
            threshold,
            backend,
        } => {
            if logits.is_none() && mask.is_none() {
                return Err(Error::usage("nothing to write: give --logits and/or --mask"));
            }
            check_threshold(threshold)?;
            // Read and check every input before the slow model load, so mistakes show at once.
            let query = Arc::new(read_image(&image)?);
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
            let visual = (visual_prompt.is_some() || region.is_some())
                .then_some(VisualPrompt { image: picture, region });
            let prompts = Prompts { texts: prompts.into_iter().map(Into::into).collect(), visual, mix };
            prompts.validate(&query)?;
            let segmenter = Segmenter::from_dir(&model, &device(backend)?)?;
            let encoded = segmenter.encode_image(query);
            let output = segmenter.segment(&encoded, &prompts)?;
            let [count, side, _] = output.dims();
            let values = read_f32(output)?;
            if let Some(path) = &logits {
                write_npy(path, &values, [count, side, side])?;
            }
            if let Some(path) = &mask {
                for (index, map) in values.chunks(side * side).enumerate() {
                    let (w, h) = (encoded.width(), encoded.height());
                    let target = mask_path(path, index, count);
                    image::GrayImage::from_raw(w, h, image_mask(map, side, w, h, threshold))
                        .expect("mask has the image's size")
                        .save(&target)
                        .map_err(|e| Error::io(format!("cannot write {}: {e}", target.display())))?;
                }
            }
            Ok(())
        }
        Command::Label(args) => label::label(args),
        Command::Merge(args) => label::merge(args),
        Command::Tokenize { model, texts } => {
            let tokenizer = clipseg::tokenizer::ClipTokenizer::from_bytes(&ModelDir::read(&model)?.tokenizer_json)?;
            for text in &texts {
                let ids = tokenizer.encode(text)?;
                println!("{}", serde_json::to_string(&ids).expect("ids serialise"));
            }
            Ok(())
        }
        Command::Convert { from, to, dtype } => {
            if from.canonicalize().ok() == to.canonicalize().ok() && to.exists() {
                return Err(Error::usage("--to must differ from --from"));
            }
            convert(ModelDir::read(&from)?, &to, dtype)
        }
        Command::Fetch(args) => fetch::fetch(args),
        Command::Bench { model, backend, image, runs, json } => bench(&model, backend, image.as_deref(), runs.max(1), json),
    }
}

/// Loads a model (which checks every tensor against the configuration) and writes its compact copy.
fn convert(model: ModelDir, to: &Path, dtype: StorageType) -> Result<(), Error> {
    let ModelDir { config_json, weights, tokenizer_json } = model;
    let segmenter = Segmenter::from_parts(&config_json, weights, &tokenizer_json, &Device::flex())?;
    let dtype = match dtype {
        StorageType::F16 => DType::F16,
        StorageType::F32 => DType::F32,
    };
    segmenter.save_dir(&config_json, &tokenizer_json, to, dtype)
}

fn check_threshold(threshold: f32) -> Result<(), Error> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(Error::usage(format!("--threshold must be within 0 and 1, got {threshold}")));
    }
    Ok(())
}

fn device(backend: Backend) -> Result<Device, Error> {
    match backend {
        Backend::Cpu => Ok(Device::flex()),
        Backend::Wgpu => Device::wgpu_options()
            .init()
            .map_err(|e| Error::backend(format!("cannot start wgpu (is a GPU or Vulkan driver present?): {e}"))),
    }
}

fn read_image(path: &Path) -> Result<image::RgbImage, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(format!("cannot read {}: {e}", path.display())))?;
    decode_image(&bytes).map_err(|e| e.context(path.display()))
}

/// A mask image (any format [`read_image`] reads): luma >= 128 is the object.
fn read_mask(path: &Path) -> Result<Region, Error> {
    let luma = image::DynamicImage::ImageRgb8(read_image(path)?).into_luma8();
    Ok(Region::from_luma(&luma))
}

fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, Error> {
    tensor
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| Error::device(format!("cannot read the result: {e:?}")))
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

fn bench(model: &Path, backend: Backend, image: Option<&Path>, runs: usize, json: bool) -> Result<(), Error> {
    let device = device(backend)?;
    let sync = |device: &Device| device.sync().map_err(|e| Error::device(format!("{e:?}")));
    let started = Instant::now();
    let segmenter = Segmenter::from_dir(model, &device)?;
    sync(&device)?;
    let load_s = started.elapsed().as_secs_f64();
    let picture = Arc::new(match image {
        Some(path) => read_image(path)?,
        None => {
            let side = segmenter.input_size() as u32;
            image::RgbImage::from_fn(side, side, |x, y| image::Rgb([x as u8, y as u8, (x ^ y) as u8]))
        }
    });
    // Median of `runs` timings after one warm-up run.
    let time = |f: &mut dyn FnMut()| -> Result<f64, Error> {
        f();
        sync(&device)?;
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            f();
            sync(&device)?;
            samples.push(t.elapsed().as_secs_f64());
        }
        samples.sort_by(f64::total_cmp);
        Ok(samples[samples.len() / 2])
    };
    let encode_image_s = time(&mut || drop(segmenter.encode_image(picture.clone())))?;
    let encoded = segmenter.encode_image(picture.clone());
    let embed_text_s = time(&mut || drop(segmenter.embed_texts(&["a photo of a cat"]).expect("prompt")))?;
    let prompts: Vec<String> = (0..8).map(|i| format!("object number {i}")).collect();
    let prompts: Vec<&str> = prompts.iter().map(String::as_str).collect();
    let one = segmenter.embed_texts(&prompts[..1])?;
    let eight = segmenter.embed_texts(&prompts)?;
    let decode_1_s = time(&mut || drop(segmenter.decode(&encoded, one.clone())))?;
    let decode_8_s = time(&mut || drop(segmenter.decode(&encoded, eight.clone())))?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "load_s": load_s, "encode_image_s": encode_image_s, "embed_text_s": embed_text_s,
                "decode_1_s": decode_1_s, "decode_8_s": decode_8_s,
            })
        );
    } else {
        let extra = (embed_text_s + decode_1_s) / encode_image_s * 100.0;
        println!("| step | seconds (median of {runs}) |");
        println!("|---|---|");
        println!("| load model | {load_s:.3} |");
        println!("| encode image | {encode_image_s:.3} |");
        println!("| embed 1 text prompt | {embed_text_s:.4} |");
        println!("| decode 1 prompt | {decode_1_s:.4} |");
        println!("| decode 8 prompts | {decode_8_s:.4} |");
        println!("| one extra prompt / image encode | {extra:.1}% |");
    }
    Ok(())
}
