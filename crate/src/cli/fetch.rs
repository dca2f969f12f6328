//! `clipseg fetch`: a CLIPSeg checkpoint from the Hugging Face hub, downloaded through the hub's
//! own cache (a checkpoint already there is not downloaded again, and other hub tools share it),
//! checked, and converted into the compact format the page loads.

use std::path::{Path, PathBuf};

use clap::Args;
use clipseg::model_dir::{BUNDLED_TOKENIZER, ModelDir};
use clipseg::{Error, WeightsSource};
use hf_hub::api::sync::{ApiBuilder, ApiError};
use hf_hub::{Cache, Repo, RepoType};
use sha2::{Digest, Sha256};

use super::StorageType;

/// The checkpoint of the paper's best results: the refined decoder, reduce dimension 64.
pub const DEFAULT_REPO: &str = "CIDAS/clipseg-rd64-refined";

/// Where hf-hub downloads from unless HF_ENDPOINT names a mirror.
const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// The weights files a CLIPSeg repository may hold, preferred first (safetensors needs no
/// unpickling).
const WEIGHTS_FILES: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];

#[derive(Args)]
pub struct FetchArgs {
    /// The hub repository: CIDAS/clipseg-rd64-refined, CIDAS/clipseg-rd64, CIDAS/clipseg-rd16, or
    /// another CLIPSeg checkpoint.
    #[arg(default_value = DEFAULT_REPO)]
    repo_id: String,
    /// A branch, tag or commit of the repository.
    #[arg(long, default_value = "main")]
    revision: String,
    /// Where the compact copy goes [default: models/ and the repository's name].
    #[arg(long)]
    to: Option<PathBuf>,
    /// How the copy stores its weights (f16 halves the page's download, int8 quarters it; loaded as f32 either way).
    #[arg(long, value_enum, default_value_t = StorageType::F16)]
    dtype: StorageType,
}

pub fn fetch(args: FetchArgs) -> Result<(), Error> {
    let FetchArgs { repo_id, revision, to, dtype } = args;
    let to = to.unwrap_or_else(|| Path::new("models").join(repo_id.rsplit('/').next().unwrap_or(&repo_id)));
    let what = format!("{repo_id} at {revision}");
    // HF_HOME (the cache) and HF_ENDPOINT (a mirror), as every hub client reads them.
    let endpoint = std::env::var("HF_ENDPOINT").unwrap_or_else(|_| DEFAULT_ENDPOINT.into());
    let cache = Cache::from_env();
    let api = ApiBuilder::from_env()
        .build()
        .map_err(|e| Error::io(format!("cannot start the Hugging Face hub client: {e}")))?;
    let repo = Repo::with_revision(repo_id.clone(), RepoType::Model, revision.clone());
    let cached = cache.repo(repo.clone());
    let remote = api.repo(repo);

    // A checkpoint already in the cache needs no network at all; otherwise the repository's file
    // list says which weights it has.
    let weights_file = match WEIGHTS_FILES.into_iter().find(|file| cached.get(file).is_some()) {
        Some(file) => file,
        None => {
            let info = remote.info().map_err(|e| hub_error(&endpoint, &format!("cannot look up {what}"), e))?;
            WEIGHTS_FILES
                .into_iter()
                .find(|file| info.siblings.iter().any(|sibling| sibling.rfilename == *file))
                .ok_or_else(|| Error::weights(format!("{what} has no model.safetensors or pytorch_model.bin: not a CLIPSeg checkpoint")))?
        }
    };
    // `get` reads the cache first and downloads (with a progress bar on a terminal) what is missing.
    let download = |file: &str| {
        remote.get(file).map_err(|e| hub_error(&endpoint, &format!("cannot download {file} of {what}"), e))
    };
    let config = download("config.json")?;
    let weights = download(weights_file)?;
    check_sha256(&weights, weights_file)?;

    let config_json = std::fs::read_to_string(&config)
        .map_err(|e| Error::config(format!("cannot read config.json of {what}: {e}")))?;
    let weights_source = if weights_file == "model.safetensors" {
        WeightsSource::SafetensorsFile(weights.clone())
    } else {
        WeightsSource::PytorchFile(weights.clone())
    };
    // Every CLIPSeg checkpoint uses CLIP's tokenizer, which is bundled.
    let model = ModelDir { config_json, weights: weights_source, tokenizer_json: BUNDLED_TOKENIZER.to_vec() };
    // Loading the model checks the download: every tensor present, with the configuration's shapes.
    super::convert(model, &to, dtype).map_err(|e| e.context(&what))?;

    let commit = weights.parent().and_then(Path::file_name).map(|c| c.to_string_lossy().into_owned()).unwrap_or_default();
    let bytes = std::fs::metadata(to.join("model.safetensors")).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "wrote {} ({:.0} MB of weights) from {repo_id} at commit {}; the download stays in the hub cache {}",
        to.display(),
        bytes as f64 / 1e6,
        &commit[..commit.len().min(12)],
        cache.path().display()
    );
    Ok(())
}

/// One line that says whether the hub could not be reached or what it answered.
fn hub_error(endpoint: &str, action: &str, error: ApiError) -> Error {
    match error {
        ApiError::RequestError(request) => match *request {
            ureq::Error::StatusCode(404) => {
                Error::io(format!("{action}: the hub at {endpoint} has no such repository, revision or file"))
            }
            ureq::Error::StatusCode(status) => Error::io(format!("{action}: the hub at {endpoint} answered HTTP {status}")),
            other => Error::io(format!("{action}: cannot reach the Hugging Face hub at {endpoint} ({other})")),
        },
        other => Error::io(format!("{action} from {endpoint}: {other}")),
    }
}

/// The hub keeps large (LFS) files under their sha256, and hf-hub names the cached blob after it
/// (the file's etag), so a blob named by 64 hex digits must hash to them. hf-hub checks neither
/// the size nor the hash of what it downloaded.
fn check_sha256(file: &Path, name: &str) -> Result<(), Error> {
    let blob = file.canonicalize().map_err(|e| Error::io(format!("cannot read {}: {e}", file.display())))?;
    let Some(expected) = blob
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
    else {
        return Ok(());
    };
    let mut hasher = Sha256::new();
    std::fs::File::open(&blob)
        .and_then(|mut reader| std::io::copy(&mut reader, &mut hasher))
        .map_err(|e| Error::io(format!("cannot read {}: {e}", blob.display())))?;
    let actual = format!("{:x}", hasher.finalize());
    if actual == expected {
        return Ok(());
    }
    // Left in the cache, the damaged file would be reused by every later run. Removing it is best
    // effort: the error below is the news either way.
    let _ = std::fs::remove_file(&blob);
    let _ = std::fs::remove_file(file);
    Err(Error::weights(format!(
        "the downloaded {name} is damaged (sha256 {actual}, the hub's is {expected}); it was removed from the cache, run the command again"
    )))
}
