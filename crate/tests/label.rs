//! `clipseg label` and `clipseg merge` as a user runs them, on the tiny fixture model: the COCO
//! output read back by pycocotools, instances that add up to `segment --mask`, shards that merge
//! into the unsharded run, resuming after a kill, the YOLO and PNG layouts, and clear errors.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clipseg::labels::{Dataset, Mask, polygon, yolo};
use common::*;

fn model() -> &'static str {
    static MODEL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| fixtures().join("tiny-refined").display().to_string())
}

fn fixture_image(name: &str) -> image::RgbImage {
    image::open(fixtures().join("images").join(name)).unwrap().into_rgb8()
}

/// A folder of small images: `a.png` (chelsea, 90×60), `sub/b.jpg` (the rocket, 80×53), a
/// broken `broken.png` and a `notes.txt`.
fn image_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let small = |name: &str, w, h| image::imageops::resize(&fixture_image(name), w, h, image::imageops::FilterType::Triangle);
    small("chelsea.png", 90, 60).save(dir.path().join("a.png")).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    small("rocket.jpg", 80, 53).save(dir.path().join("sub/b.jpg")).unwrap();
    std::fs::write(dir.path().join("broken.png"), b"not a picture").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not an image either").unwrap();
    dir
}

const CLASSES: [&str; 4] = ["--class", "cat=a photo of a cat", "--class", "dog"];

/// `clipseg label` on `images` with the two classes and `extra` arguments; returns stderr.
fn label(images: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["label", "--model", model(), "--images", images.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend(CLASSES);
    args.extend(extra);
    let output = clipseg(&args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "clipseg {args:?} failed: {stderr}");
    stderr
}

fn read_dataset(path: &Path) -> Dataset {
    Dataset::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The Python that runs scripts/check_coco.py: $CLIPSEG_PYTHON, else `python3`; it must have
/// pycocotools, which is the point of the check, so its absence fails the test.
fn python_with_pycocotools() -> String {
    let python = std::env::var("CLIPSEG_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python).args(["-c", "import pycocotools, numpy"]).output();
    if !found.is_ok_and(|o| o.status.success()) {
        panic!(
            "this test reads the COCO output with pycocotools, and {python:?} lacks it: run \
             `python3 -m venv .venv-labels && .venv-labels/bin/pip install pycocotools numpy` and set \
             CLIPSEG_PYTHON=$PWD/.venv-labels/bin/python (bash .ci/run does this)"
        );
    }
    python
}

#[test]
fn label_writes_coco_that_pycocotools_reads() {
    let images = image_folder();
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("labels.json");
    let stderr = label(images.path(), &json, &[]);
    let broken = images.path().join("broken.png");
    assert!(stderr.contains(&format!("skipped {}: ", broken.display())), "{stderr}");
    assert!(!stderr.contains("notes.txt"), "{stderr}");
    assert!(stderr.trim_end().ends_with(&format!("→ {}", json.display())), "summary: {stderr}");
    assert!(stderr.contains("labelled 2 images") && stderr.contains("skipped 1"), "{stderr}");
    assert!(!out.path().join("labels.json.partial").exists(), "the journal is deleted at the end");

    let dataset = read_dataset(&json);
    let files: Vec<(&str, u32, u32, u64)> = dataset.images.iter().map(|i| (i.file_name.as_str(), i.width, i.height, i.id)).collect();
    assert_eq!(files, [("a.png", 90, 60, 1), ("sub/b.jpg", 80, 53, 2)]);
    let categories: Vec<(u64, &str)> = dataset.categories.iter().map(|c| (c.id, c.name.as_str())).collect();
    assert_eq!(categories, [(1, "cat"), (2, "dog")]);
    assert!(!dataset.annotations.is_empty(), "the tiny model finds something at 0.5");

    // Our reading: each mask decoded, its area and box; instances of at least 16 pixels (the
    // default --min-area), ids 1, 2, … grouped by image.
    let mut ours = HashMap::new();
    for (index, a) in dataset.annotations.iter().enumerate() {
        assert_eq!(a.id, index as u64 + 1);
        assert_eq!(a.iscrowd, 0);
        let mask = dataset.annotation_mask(a).unwrap();
        assert!(mask.area() >= 16, "annotation {}: {} pixels", a.id, mask.area());
        assert_eq!(a.area, mask.area() as f64);
        assert_eq!(a.bbox, mask.bbox().map(f64::from));
        assert!(mask.components().count() == 1, "annotation {} is one connected component", a.id);
        let image = &dataset.images[a.image_id as usize - 1];
        let category = &dataset.categories[a.category_id as usize - 1].name;
        ours.insert(a.id, (image.file_name.clone(), category.clone(), mask.area(), mask.bbox(), [image.height, image.width]));
    }
    assert!(dataset.annotations.windows(2).all(|w| w[0].image_id <= w[1].image_id));

    // pycocotools' reading of the same file.
    let checked = Command::new(python_with_pycocotools())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/check_coco.py"))
        .arg(&json)
        .output()
        .unwrap();
    assert!(checked.status.success(), "check_coco.py: {}", String::from_utf8_lossy(&checked.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(checked.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), dataset.annotations.len());
    for line in &lines {
        let id = line["id"].as_u64().unwrap();
        let (file_name, category, area, bbox, shape) = &ours[&id];
        let u = |v: &serde_json::Value| v.as_f64().unwrap() as u64;
        assert_eq!(line["file_name"], file_name.as_str(), "annotation {id}");
        assert_eq!(line["category"], category.as_str(), "annotation {id}");
        assert_eq!(u(&line["iscrowd"]), 0);
        assert_eq!(u(&line["area"]), *area, "annotation {id}: pycocotools' area");
        assert_eq!(u(&line["pixels"]), *area, "annotation {id}: pycocotools' decoded mask");
        assert_eq!(u(&line["file_area"]), *area, "annotation {id}");
        let boxes: Vec<u64> = line["bbox"].as_array().unwrap().iter().map(u).collect();
        assert_eq!(boxes, bbox.map(u64::from), "annotation {id}: pycocotools' box");
        let file_box: Vec<u64> = line["file_bbox"].as_array().unwrap().iter().map(u).collect();
        assert_eq!(file_box, bbox.map(u64::from), "annotation {id}");
        let mask_shape: Vec<u64> = line["shape"].as_array().unwrap().iter().map(u).collect();
        assert_eq!(mask_shape, shape.map(u64::from), "annotation {id}: [height, width]");
    }
}

/// The masks `clipseg segment --mask` writes for the class prompts, in class order.
fn segment_masks(image: &Path, threshold: &str) -> Vec<Mask> {
    let out = tempfile::tempdir().unwrap();
    let mask = out.path().join("m.png");
    ok(&[
        "segment", "--model", model(), "--image", image.to_str().unwrap(), "--prompt", "a photo of a cat", "--prompt", "dog",
        "--mask", mask.to_str().unwrap(), "--threshold", threshold,
    ]);
    (0..2)
        .map(|k| {
            let png = image::open(out.path().join(format!("m_{k}.png"))).unwrap().into_luma8();
            let (w, h) = png.dimensions();
            Mask::from_bytes(w, h, png.into_raw()).unwrap()
        })
        .collect()
}

#[test]
fn instances_add_up_to_the_segment_mask() {
    let images = image_folder();
    let out = tempfile::tempdir().unwrap();
    for (min_area, threshold) in [("1", "0.5"), ("0", "0.52")] {
        let json = out.path().join(format!("labels-{min_area}.json"));
        label(images.path(), &json, &["--min-area", min_area, "--threshold", threshold]);
        let dataset = read_dataset(&json);
        for image in &dataset.images {
            let expected = segment_masks(&images.path().join(&image.file_name), threshold);
            for (class, expected) in expected.iter().enumerate() {
                let mut union = Mask::new(image.width, image.height);
                for a in dataset.annotations.iter().filter(|a| a.image_id == image.id && a.category_id == class as u64 + 1) {
                    union.union_with(&dataset.annotation_mask(a).unwrap()).unwrap();
                }
                assert!(!expected.is_empty(), "{}: class {class} finds something", image.file_name);
                assert_eq!(&union, expected, "{} class {class} at threshold {threshold}", image.file_name);
            }
        }
    }
}

#[test]
fn shards_merge_into_the_unsharded_run() {
    let images = image_folder();
    // Three more images, so that every shard of three has some.
    for k in 0..3 {
        let crop = image::imageops::crop_imm(&fixture_image("chelsea.png"), 40 * k, 30, 70, 50).to_image();
        crop.save(images.path().join(format!("sub/c{k}.png"))).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let at = |name: &str| out.path().join(name);
    label(images.path(), &at("all.json"), &[]);
    let all = std::fs::read(at("all.json")).unwrap();
    assert_eq!(read_dataset(&at("all.json")).images.len(), 5);

    label(images.path(), &at("half0.json"), &["--shard", "0/2"]);
    label(images.path(), &at("half1.json"), &["--shard", "1/2"]);
    let halves: Vec<usize> = ["half0.json", "half1.json"].iter().map(|f| read_dataset(&at(f)).images.len()).collect();
    assert_eq!(halves, [3, 2], "sorted positions 0, 2, 4 and 1, 3");
    ok(&["merge", at("half1.json").to_str().unwrap(), at("half0.json").to_str().unwrap(), "--out", at("merged2.json").to_str().unwrap()]);
    assert!(std::fs::read(at("merged2.json")).unwrap() == all, "two shards merged are byte for byte the unsharded run");

    // A Slurm array --array=1-3: task ids 1, 2, 3.
    let mut thirds = Vec::new();
    for id in ["1", "2", "3"] {
        let path = at(&format!("third{id}.json"));
        let mut args = vec!["label", "--model", model(), "--images", images.path().to_str().unwrap(), "--out", path.to_str().unwrap()];
        args.extend(CLASSES);
        let output = clipseg_command()
            .args(&args)
            .env("SLURM_ARRAY_TASK_ID", id)
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("SLURM_ARRAY_TASK_MIN", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        let index = id.parse::<usize>().unwrap() - 1;
        assert!(stderr.contains(&format!("(shard {index}/3)")), "{stderr}");
        thirds.push(path.display().to_string());
    }
    let merged = at("merged3.json").display().to_string();
    let mut args = vec!["merge"];
    args.extend(thirds.iter().map(String::as_str));
    args.extend(["--out", &merged]);
    ok(&args);
    assert!(std::fs::read(&merged).unwrap() == all, "three Slurm shards merged are the unsharded run");
}

/// Labels 30 images in a child process, kills it once the journal holds at least one image,
/// and checks that a rerun resumes: it says how many images it kept, and its output is byte for
/// byte a clean run's.
#[test]
fn a_killed_run_resumes_where_it_stopped() {
    let images = tempfile::tempdir().unwrap();
    let cat = fixture_image("chelsea.png");
    for k in 0..30u32 {
        let crop = image::imageops::crop_imm(&cat, 9 * k, 3 * k, 160, 120).to_image();
        crop.save(images.path().join(format!("img{k:02}.png"))).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let clean = out.path().join("clean.json");
    label(images.path(), &clean, &[]);

    let args = |json: &Path, threshold: &str| -> Vec<String> {
        let mut args: Vec<String> = ["label", "--model", model(), "--images", images.path().to_str().unwrap(), "--out", json.to_str().unwrap()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(CLASSES.iter().map(|s| s.to_string()));
        args.extend(["--threshold".into(), threshold.into()]);
        args
    };
    let journal_lines = |journal: &Path| std::fs::read(journal).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
    // The tiny model labels an image in milliseconds: if a run ends before it is stopped, try
    // again (a few times at most).
    let mut stopped: Option<(PathBuf, usize)> = None;
    for attempt in 0..5 {
        let json = out.path().join(format!("resumed{attempt}.json"));
        let journal = out.path().join(format!("resumed{attempt}.json.partial"));
        let mut child = clipseg_command().args(args(&json, "0.5")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        // Header + one image.
        while journal_lines(&journal) < 2 && child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let killed = child.try_wait().unwrap().is_none();
        child.kill().ok();
        child.wait().unwrap();
        if killed && journal.exists() && !json.exists() {
            stopped = Some((json, journal_lines(&journal) - 1));
            break;
        }
    }
    let (json, kept) = stopped.expect("no run could be stopped before it finished");
    assert!(kept >= 1, "the journal held an image when the run was killed");

    // Other arguments do not resume this journal: they would mix labels of two settings.
    let other = args(&json, "0.6");
    fails_clearly(&other.iter().map(String::as_str).collect::<Vec<_>>(), ".partial");

    let again = args(&json, "0.5");
    let output = clipseg_command().args(&again).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("resuming: {kept} images already labelled")), "{stderr}");
    assert!(stderr.contains(&format!("labelled 30 images ({kept} resumed)")), "{stderr}");
    assert!(std::fs::read(&json).unwrap() == std::fs::read(&clean).unwrap(), "the resumed run's output is a clean run's");
    assert!(!json.with_extension("json.partial").exists());
}

#[test]
fn yolo_and_png_write_their_layouts() {
    let images = image_folder();
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("labels.json");
    label(images.path(), &json, &[]);
    let dataset = read_dataset(&json);

    let yolo_dir = out.path().join("yolo");
    label(images.path(), &yolo_dir, &["--format", "yolo"]);
    let yaml = std::fs::read_to_string(yolo_dir.join("data.yaml")).unwrap();
    assert!(yaml.contains("names:\n  0: \"cat\"\n  1: \"dog\"\n"), "{yaml}");
    for image in &dataset.images {
        let stem = image.file_name.rsplit_once('.').unwrap().0;
        let text = std::fs::read_to_string(yolo_dir.join(format!("labels/{stem}.txt"))).unwrap();
        let objects: Vec<_> = dataset.annotations.iter().filter(|a| a.image_id == image.id).collect();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), objects.len(), "{}: one line per instance", image.file_name);
        for (line, a) in lines.iter().zip(&objects) {
            let (class, points) = yolo::parse_line(line, image.width, image.height).unwrap();
            assert_eq!(class as u64, a.category_id - 1, "classes from 0 in --class order");
            // The outline covers the instance (holes are filled, nothing is lost).
            let drawn = polygon::rasterize(&[points], image.width, image.height);
            let mask = dataset.annotation_mask(a).unwrap();
            let covered = mask.subtract(&drawn).unwrap().area() as f64 / mask.area() as f64;
            assert!(covered < 0.2, "{}: {:.0}% of an instance outside its YOLO polygon", image.file_name, covered * 100.0);
        }
    }

    let png_dir = out.path().join("png");
    label(images.path(), &png_dir, &["--format", "png"]);
    let labelmap = std::fs::read_to_string(png_dir.join("labelmap.txt")).unwrap();
    assert!(labelmap.contains("background:0,0,0::\ncat:128,0,0::\ndog:0,128,0::\n"), "{labelmap}");
    for image in &dataset.images {
        let stem = image.file_name.rsplit_once('.').unwrap().0;
        let classes = image::open(png_dir.join(format!("SegmentationClass/{stem}.png"))).unwrap().into_luma8();
        let objects = image::open(png_dir.join(format!("SegmentationObject/{stem}.png"))).unwrap().into_luma16();
        assert_eq!(classes.dimensions(), (image.width, image.height));
        assert_eq!(objects.dimensions(), (image.width, image.height));
        // Painted in annotation order, later instances over earlier ones.
        let (mut class_map, mut object_map) = (vec![0u16; classes.len()], vec![0u16; classes.len()]);
        for (k, a) in dataset.annotations.iter().filter(|a| a.image_id == image.id).enumerate() {
            for (i, &v) in dataset.annotation_mask(a).unwrap().as_bytes().iter().enumerate() {
                if v != 0 {
                    class_map[i] = a.category_id as u16;
                    object_map[i] = k as u16 + 1;
                }
            }
        }
        let class_values: Vec<u16> = classes.into_raw().into_iter().map(u16::from).collect();
        assert_eq!(class_values, class_map, "{}: class PNG", image.file_name);
        // 8-bit when the ids fit (read back here as 16-bit values).
        let object_values: Vec<u16> = objects.into_raw().into_iter().map(|v| if object_map.iter().all(|&o| o <= 255) { v / 257 } else { v }).collect();
        assert_eq!(object_values, object_map, "{}: instance PNG", image.file_name);
    }
}

#[test]
fn bad_arguments_get_one_clear_line() {
    let images = image_folder();
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("x.json").display().to_string();
    let dir = images.path().to_str().unwrap().to_string();
    let run = |extra: &[&str], needle: &str| {
        let mut args = vec!["label", "--model", model(), "--out", &json];
        args.extend(extra);
        fails_clearly(&args, needle);
    };
    run(&["--images", "/no/such/folder", "--class", "cat"], "/no/such/folder");
    run(&["--images", &dir, "--class", "=a cat"], "NAME=PROMPT");
    run(&["--images", &dir, "--class", "cat="], "NAME=PROMPT");
    run(&["--images", &dir, "--class", "cat", "--class", "cat=a cat"], "twice");
    run(&["--images", &dir, "--class", "cat", "--shard", "2/2"], "I/N");
    run(&["--images", &dir, "--class", "cat", "--shard", "one"], "I/N");
    run(&["--images", &dir, "--class", "cat", "--shards", "3"], "JOB_COMPLETION_INDEX");
    run(&["--images", &dir, "--class", "cat", "--format", "voc"], "coco, yolo or png");
    run(&["--images", &dir, "--class", "cat", "--threshold", "1.5"], "threshold");
    let file = images.path().join("a.png").display().to_string();
    run(&["--images", &file, "--class", "cat"], "not a folder");
    let output = clipseg_command()
        .args(["label", "--model", model(), "--out", &json, "--images", &dir, "--class", "cat"])
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert!(stderr.starts_with("error: ") && stderr.contains("--shards N"), "{stderr}");
    assert!(!Path::new(&json).exists() && !Path::new(&format!("{json}.partial")).exists(), "nothing written");
    // A model that does not load leaves no journal behind to hold the next run to its arguments.
    fails_clearly(&["label", "--model", "/no/such/model", "--out", &json, "--images", &dir, "--class", "cat"], "does not exist");
    assert!(!Path::new(&format!("{json}.partial")).exists(), "no journal");

    // a.png and a.jpg would both write labels/a.txt: refused before labelling.
    fixture_image("rocket.jpg").save(images.path().join("a.jpg")).unwrap();
    let yolo_dir = out.path().join("yolo").display().to_string();
    fails_clearly(&["label", "--model", model(), "--out", &yolo_dir, "--images", &dir, "--class", "cat", "--format", "yolo"], "a.jpg and a.png");
    assert!(!Path::new(&format!("{yolo_dir}.partial")).exists(), "no journal");

    let broken = out.path().join("broken.json");
    std::fs::write(&broken, "{\"images\": 3}").unwrap();
    fails_clearly(&["merge", broken.to_str().unwrap(), "--out", &json], "broken.json");
    fails_clearly(&["merge", "/no/such.json", "--out", &json], "/no/such.json");
}
