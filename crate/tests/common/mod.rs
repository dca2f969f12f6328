//! Shared by the integration tests: fixture paths, reference tensors, devices, comparisons.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use burn::tensor::{Device, Tensor};
use safetensors::SafeTensors;
use serde_json::Value;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The `clipseg` binary, without the array-job variables `label` reads (the tests set them
/// themselves; a CI job that runs under Slurm must not shard them).
pub fn clipseg_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clipseg"));
    for name in ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_STEP", "JOB_COMPLETION_INDEX"] {
        command.env_remove(name);
    }
    command
}

pub fn clipseg(args: &[&str]) -> Output {
    clipseg_command().args(args).output().expect("clipseg runs")
}

/// Runs `clipseg` and returns its stdout; fails the test when it fails.
pub fn ok(args: &[&str]) -> String {
    let out = clipseg(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "clipseg {args:?} failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// Fails with one of the documented error statuses (2–6, `clipseg --help`) and exactly one line
/// on stderr, which mentions `needle`.
pub fn fails_clearly(args: &[&str], needle: &str) {
    failed_clearly(&clipseg(args), args, needle);
}

/// `out` (of `clipseg args`) is a documented error status (2–6) and exactly one line on stderr,
/// which mentions `needle`.
pub fn failed_clearly(out: &Output, args: &[&str], needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(2..=6)), "clipseg {args:?}: exit {:?}, stderr {stderr}", out.status);
    assert_eq!(stderr.trim_end().lines().count(), 1, "clipseg {args:?}: stderr is not one line:\n{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("internal failure"), "{stderr}");
    assert!(stderr.to_lowercase().contains(&needle.to_lowercase()), "clipseg {args:?}: {stderr:?} lacks {needle:?}");
}

/// The fixture model configurations (see fixtures/README.md).
pub const CONFIGS: [&str; 3] = ["tiny-refined", "tiny-plain", "tiny-patch32"];

/// The reference outputs and case list of one fixture model.
pub struct Reference {
    bytes: Vec<u8>,
    pub cases: Value,
    pub dir: PathBuf,
}

impl Reference {
    pub fn load(config: &str) -> Self {
        Self::load_dir(&fixtures().join(config))
    }

    pub fn load_dir(dir: &Path) -> Self {
        let dir = dir.to_path_buf();
        let bytes = std::fs::read(dir.join("reference.safetensors")).expect("reference.safetensors");
        let cases = serde_json::from_slice(&std::fs::read(dir.join("cases.json")).expect("cases.json"))
            .expect("cases.json parses");
        Self { bytes, cases, dir }
    }

    pub fn has(&self, name: &str) -> bool {
        SafeTensors::deserialize(&self.bytes).unwrap().tensor(name).is_ok()
    }

    /// A float32 tensor: (shape, values).
    pub fn f32(&self, name: &str) -> (Vec<usize>, Vec<f32>) {
        let tensors = SafeTensors::deserialize(&self.bytes).unwrap();
        let view = tensors.tensor(name).unwrap_or_else(|_| panic!("reference has no {name}"));
        assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
        let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
        (view.shape().to_vec(), values)
    }

    /// An int64 [rows, cols] tensor as rows of u32.
    pub fn ids(&self, name: &str) -> Vec<Vec<u32>> {
        let tensors = SafeTensors::deserialize(&self.bytes).unwrap();
        let view = tensors.tensor(name).unwrap();
        let cols = view.shape()[1];
        let values: Vec<u32> =
            view.data().chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap()) as u32).collect();
        values.chunks(cols).map(<[u32]>::to_vec).collect()
    }

    pub fn strings(&self, key: &str) -> Vec<String> {
        self.cases[key]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }

    pub fn image_path(&self, stem: &str) -> PathBuf {
        let file = self.cases["image_files"][stem].as_str().unwrap_or_else(|| panic!("no image {stem}"));
        fixtures().join("images").join(file)
    }

    /// The subsampling of stored maps: rows/columns start, start + step, …
    pub fn sample(&self) -> (usize, usize) {
        let sample = &self.cases["sample"];
        (sample["start"].as_u64().unwrap_or(0) as usize, sample["step"].as_u64().unwrap_or(1) as usize)
    }
}

/// Rows and columns `start, start + step, …` of each `height`×`width` plane in `values`.
pub fn subsample(values: &[f32], width: usize, height: usize, (start, step): (usize, usize)) -> Vec<f32> {
    values
        .chunks(width * height)
        .flat_map(|plane| {
            (start..height).step_by(step).flat_map(move |y| (start..width).step_by(step).map(move |x| plane[y * width + x]))
        })
        .collect()
}

/// ‖a − b‖ / ‖b‖.
pub fn relative_l2(actual: &[f32], expected: &[f32]) -> f64 {
    assert_eq!(actual.len(), expected.len(), "length");
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for (a, e) in actual.iter().zip(expected) {
        diff += (*a as f64 - *e as f64).powi(2);
        norm += (*e as f64).powi(2);
    }
    (diff / norm.max(f64::MIN_POSITIVE)).sqrt()
}

/// The tolerance of the parity checks on logits and embeddings.
pub const TOLERANCE: f64 = 1e-4;

pub fn read<const D: usize>(tensor: Tensor<D>) -> (Vec<usize>, Vec<f32>) {
    let dims = tensor.dims().to_vec();
    (dims, tensor.into_data().try_into_vec::<f32>().unwrap())
}

/// burn's CPU backend.
pub fn cpu() -> Device {
    Device::flex()
}

/// burn's wgpu backend, started once per test binary (lavapipe on machines without a GPU).
pub fn wgpu() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            Device::wgpu_options()
                .init()
                .expect("wgpu needs a GPU or a Vulkan driver (apt-get install mesa-vulkan-drivers)")
        })
        .clone()
}
