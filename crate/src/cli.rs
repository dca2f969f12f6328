//! Command-line interface: `segment`, `label`, `merge`, `tokenize`, `convert`, `fetch`, `bench`.

mod fetch;
mod files;
mod journal;
mod label;
mod progress;
mod segment;
mod shard;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::{Device, Tensor};
use clap::{Parser, Subcommand, ValueEnum};
use clipseg::imaging::decode_image;
use clipseg::model_dir::{ModelDir, Storage};
use clipseg::{Error, ErrorKind, Segmenter};

#[derive(Parser)]
#[command(
    name = "clipseg",
    version,
    about = "Image segmentation from text or image prompts (CLIPSeg)",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The exit statuses, by what went wrong: scripts branch on them (README.md lists them too).
const EXIT_CODES: &str = "\
Exit status:
  0    done
  2    wrong arguments or options (also for a command line clap rejects)
  3    the model: config.json, the weights or the tokenizer are invalid or do not match
  4    the input: an image that cannot be read, a bad prompt, box or mask, invalid annotations
         (for several images: some could not be read, the others are written)
  5    a file or folder cannot be read or written (a missing image or model folder too), or
         the Hugging Face hub cannot be reached
  6    the backend cannot start (no GPU driver) or the device failed
  101  an internal failure (a bug: please report it)

Get a model: clipseg fetch (CIDAS/clipseg-rd64-refined into models/); see clipseg help COMMAND.";

/// The exit status for a failure of this kind (see [`EXIT_CODES`]).
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Usage => 2,
        ErrorKind::Config | ErrorKind::Weights | ErrorKind::Tokenizer => 3,
        ErrorKind::Image | ErrorKind::UnsupportedImage | ErrorKind::Prompt | ErrorKind::Annotations => 4,
        ErrorKind::Io => 5,
        ErrorKind::Backend | ErrorKind::Device => 6,
    }
}

const SEGMENT_EXAMPLES: &str = "\
Examples:
  # Two prompts, decoded in one batch: mask_0.png (the cat), mask_1.png (the sofa)
  clipseg segment --model models/clipseg-rd64-refined --image photo.jpg \\
      --prompt \"a cat\" --prompt \"the sofa\" --mask mask.png
  # A folder of images (and one more file): masks/<name>.png for each, raw logits as .npy
  clipseg segment --model models/clipseg-rd64-refined --image photos/ --image extra.jpg \\
      --prompt \"a dog\" --mask masks/ --logits logits/
  # A visual prompt: the object boxed in an example image (X0,Y0,X1,Y1 in its pixels)
  clipseg segment --model models/clipseg-rd64-refined --image photo.jpg \\
      --visual-prompt example.jpg --box 40,30,200,180 --mask mask.png";

const LABEL_EXAMPLES: &str = "\
Examples:
  # COCO instances (compressed RLE) of two classes, one of two phrasings
  clipseg label --model models/clipseg-rd64-refined --images photos/ \\
      --class cat --class \"flag=a flag;the stars and stripes\" --out cats.json
  # YOLO-seg labels and data.yaml, a stricter threshold
  clipseg label --model models/clipseg-rd64-refined --images photos/ --class car \\
      --format yolo --threshold 0.6 --out dataset/
  # Four array-job tasks, then one file (byte-identical to an unsharded run)
  clipseg label ... --shard 2/4 --out part-2.json   (or under Slurm: sbatch --array=0-3)
  clipseg merge part-*.json --out all.json";

const FETCH_EXAMPLES: &str = "\
Examples:
  clipseg fetch                                   # CIDAS/clipseg-rd64-refined → models/clipseg-rd64-refined
  clipseg fetch CIDAS/clipseg-rd16 --dtype f32    # another checkpoint, full-precision copy
  HF_ENDPOINT=https://hf-mirror.example clipseg fetch --revision v1.0 --to models/rd64";

const CONVERT_EXAMPLES: &str = "\
Examples:
  # A transformers checkpoint (model.safetensors or pytorch_model.bin) → the page's f16 format
  clipseg convert --from ~/checkpoints/clipseg-rd64-refined --to models/my-clipseg";

const BENCH_EXAMPLES: &str = "\
Examples:
  clipseg bench --model models/clipseg-rd64-refined                 # a table, CPU
  clipseg bench --model models/clipseg-rd64-refined --backend wgpu --json";

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
    Int8,
}

#[derive(Subcommand)]
enum Command {
    /// Segment images with text and/or visual prompts.
    #[command(after_help = SEGMENT_EXAMPLES)]
    Segment(segment::SegmentArgs),
    /// Label a folder of images with text-prompted classes (COCO, YOLO or PNG masks).
    ///
    /// One instance per connected component of each class's mask; shardable across array-job
    /// tasks (then `merge`), and a stopped run resumes where it stopped.
    #[command(after_help = LABEL_EXAMPLES)]
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
    #[command(after_help = CONVERT_EXAMPLES)]
    Convert {
        /// The model directory to read (as for `segment`).
        #[arg(long)]
        from: PathBuf,
        /// The directory to write: config.json, model.safetensors, tokenizer.json.
        #[arg(long)]
        to: PathBuf,
        /// How the copy stores its weights (f16 halves the page's download, int8 quarters it; loaded as f32 either way).
        #[arg(long, value_enum, default_value_t = StorageType::F16)]
        dtype: StorageType,
    },
    /// Download a checkpoint from the Hugging Face hub (through its cache: HF_HOME, HF_ENDPOINT),
    /// check it, and write the compact copy under models/.
    #[command(after_help = FETCH_EXAMPLES)]
    Fetch(fetch::FetchArgs),
    /// Time loading, image encoding, text embedding and decoding.
    #[command(after_help = BENCH_EXAMPLES)]
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

pub fn run() -> Result<(), Error> {
    let cli = Cli::parse();
    match cli.command {
        Command::Segment(args) => segment::segment(args),
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
    let bar = progress::steps("convert");
    bar.set_message("reading and checking the weights");
    let segmenter = Segmenter::from_parts(&config_json, weights, &tokenizer_json, &Device::flex())?;
    let (storage, name) = match dtype {
        StorageType::F16 => (Storage::F16, "f16"),
        StorageType::F32 => (Storage::F32, "f32"),
        StorageType::Int8 => (Storage::Int8, "int8"),
    };
    bar.set_message(format!("writing the {name} copy to {}", to.display()));
    segmenter.save_dir(&config_json, &tokenizer_json, to, storage)?;
    bar.finish_and_clear();
    Ok(())
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

fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, Error> {
    tensor
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| Error::device(format!("cannot read the result: {e:?}")))
}

fn bench(model: &Path, backend: Backend, image: Option<&Path>, runs: usize, json: bool) -> Result<(), Error> {
    let device = device(backend)?;
    // The load, then four measurements of a warm-up and `runs` timed runs each.
    let bar = progress::items(1 + 4 * (runs as u64 + 1), 0, "bench", "runs");
    let sync = |device: &Device| device.sync().map_err(|e| Error::device(format!("{e:?}")));
    let started = Instant::now();
    let segmenter = Segmenter::from_dir(model, &device)?;
    sync(&device)?;
    let load_s = started.elapsed().as_secs_f64();
    bar.inc(1);
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
        bar.inc(1);
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            f();
            sync(&device)?;
            samples.push(t.elapsed().as_secs_f64());
            bar.inc(1);
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
    bar.finish_and_clear();
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
