//! The `clipseg` command as other tools call it: outputs, naming, and clear errors on bad input.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn model(config: &str) -> String {
    fixtures().join(config).display().to_string()
}

fn image(file: &str) -> String {
    fixtures().join("images").join(file).display().to_string()
}

fn read_npy(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let npy = npyz::NpyFile::new(std::fs::File::open(path).unwrap()).unwrap();
    assert_eq!(npy.dtype(), npyz::DType::Plain("<f4".parse().unwrap()), "little-endian float32");
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec::<f32>().unwrap())
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn path_in(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).display().to_string()
}

#[test]
fn segment_writes_logits_and_masks() {
    let reference = Reference::load("tiny-refined");
    let prompts = reference.strings("prompts");
    let out = temp();
    let (logits, mask) = (path_in(&out, "logits.npy"), path_in(&out, "mask.png"));
    let mut args = vec!["segment", "--model", &reference.dir.to_str().unwrap(), "--image"];
    let query = image("astronaut_352.png");
    args.push(&query);
    for p in &prompts {
        args.extend(["--prompt", p.as_str()]);
    }
    args.extend(["--logits", &logits, "--mask", &mask, "--threshold", "0.5"]);
    ok(&args);

    let (shape, values) = read_npy(Path::new(&logits));
    assert_eq!(shape, [prompts.len() as u64, 352, 352]);
    let expected = reference.f32("text_logits.astronaut_352").1;
    let error = relative_l2(&subsample(&values, 352, 352, reference.sample()), &expected);
    assert!(error <= TOLERANCE, "relative L2 {error:e}");

    // One mask per prompt, named NAME_<index>, at the image's size, thresholding sigmoid(logits).
    for (index, map) in values.chunks(352 * 352).enumerate() {
        let file = out.path().join(format!("mask_{index}.png"));
        let mask = image::open(&file).unwrap().into_luma8();
        assert_eq!(mask.dimensions(), (352, 352));
        let expected: Vec<u8> = map.iter().map(|&l| if l > 0.0 { 255 } else { 0 }).collect();
        assert_eq!(mask.into_raw(), expected, "mask {index}");
    }
}

#[test]
fn text_and_visual_prompts_combine_text_first() {
    let reference = Reference::load("tiny-refined");
    let case = &reference.cases["visual_box"][0];
    let (query, prompt) = (case["query"].as_str().unwrap(), case["prompt_image"].as_str().unwrap());
    let b = case["box"].as_array().unwrap();
    let region = format!("{},{},{},{}", b[0], b[1], b[2], b[3]);
    let prompts = reference.strings("prompts");
    let out = temp();
    let logits = path_in(&out, "logits.npy");
    let (query_path, prompt_path) = (reference.image_path(query), reference.image_path(prompt));
    let mut args = vec!["segment", "--model", reference.dir.to_str().unwrap(), "--image", query_path.to_str().unwrap()];
    for p in &prompts {
        args.extend(["--prompt", p.as_str()]);
    }
    args.extend(["--visual-prompt", prompt_path.to_str().unwrap(), "--box", &region, "--logits", &logits]);
    ok(&args);
    let (shape, values) = read_npy(Path::new(&logits));
    assert_eq!(shape, [prompts.len() as u64 + 1, 352, 352]);
    let (text, visual) = values.split_at(prompts.len() * 352 * 352);
    if reference.has(&format!("text_logits.{query}")) {
        let expected = reference.f32(&format!("text_logits.{query}")).1;
        assert!(relative_l2(&subsample(text, 352, 352, reference.sample()), &expected) <= TOLERANCE);
    }
    let expected = reference.f32(&format!("visual_box_logits.{query}.{prompt}")).1;
    let error = relative_l2(&subsample(visual, 352, 352, reference.sample()), &expected);
    assert!(error <= TOLERANCE, "visual prompt: relative L2 {error:e}");
}

/// `clipseg segment --logits` with `extra` arguments: the logits' shape and values.
fn segment_logits(reference: &Reference, query: &str, extra: &[&str]) -> (Vec<u64>, Vec<f32>) {
    let out = temp();
    let logits = path_in(&out, "logits.npy");
    let query = reference.image_path(query);
    let mut args = vec!["segment", "--model", reference.dir.to_str().unwrap(), "--image", query.to_str().unwrap()];
    args.extend(extra);
    args.extend(["--logits", &logits]);
    ok(&args);
    read_npy(Path::new(&logits))
}

fn close_to(reference: &Reference, name: &str, values: &[f32]) {
    let expected = reference.f32(name).1;
    let error = relative_l2(&subsample(values, 352, 352, reference.sample()), &expected);
    assert!(error <= TOLERANCE, "{name}: relative L2 {error:e}");
}

#[test]
fn visual_mask_matches_the_reference() {
    // On another picture (chelsea, 451×300: the mask is sampled to the model's grid).
    let reference = Reference::load("tiny-refined");
    let case = &reference.cases["visual_mask"][0];
    let (query, prompt) = (case["query"].as_str().unwrap(), case["prompt_image"].as_str().unwrap());
    let (prompt_path, mask) = (reference.image_path(prompt), image(case["mask"].as_str().unwrap()));
    let (shape, values) = segment_logits(&reference, query, &["--visual-prompt", prompt_path.to_str().unwrap(), "--visual-mask", &mask]);
    assert_eq!(shape, [1, 352, 352]);
    close_to(&reference, &format!("visual_mask_logits.{query}.{prompt}"), &values);

    // Without --visual-prompt the mask is on the query image itself.
    let reference = Reference::load("tiny-plain");
    let case = &reference.cases["visual_mask"][0];
    let (query, prompt) = (case["query"].as_str().unwrap(), case["prompt_image"].as_str().unwrap());
    assert_eq!(query, prompt);
    let (_, values) = segment_logits(&reference, query, &["--visual-mask", &image(case["mask"].as_str().unwrap())]);
    close_to(&reference, &format!("visual_mask_logits.{query}.{prompt}"), &values);
}

#[test]
fn mix_matches_the_reference() {
    for (config, with_box) in [("tiny-refined", true), ("tiny-plain", false)] {
        let reference = Reference::load(config);
        let case = &reference.cases["mix"][0];
        let (query, prompt) = (case["query"].as_str().unwrap(), case["prompt_image"].as_str().unwrap());
        let prompts = reference.strings("prompts");
        let mut args: Vec<String> = prompts.iter().flat_map(|p| ["--prompt".to_string(), p.clone()]).collect();
        args.extend(["--visual-prompt".into(), reference.image_path(prompt).display().to_string()]);
        if with_box {
            let b = case["box"].as_array().unwrap();
            args.extend(["--box".into(), format!("{},{},{},{}", b[0], b[1], b[2], b[3])]);
        } else {
            args.extend(["--visual-mask".into(), image(case["mask"].as_str().unwrap())]);
        }
        let weight = case["weight"].as_f64().unwrap().to_string();
        args.extend(["--mix".into(), weight]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (shape, values) = segment_logits(&reference, query, &args);
        assert_eq!(shape, [prompts.len() as u64, 352, 352], "{config}: one output per text prompt");
        close_to(&reference, &format!("mix_logits.{query}.{prompt}"), &values);
    }
}

#[test]
fn masks_have_the_image_size() {
    let out = temp();
    let mask = path_in(&out, "m.png");
    ok(&["segment", "--model", &model("tiny-plain"), "--image", &image("rocket.jpg"), "--prompt", "a rocket", "--mask", &mask]);
    let decoded = image::open(&mask).unwrap().into_luma8();
    assert_eq!(decoded.dimensions(), (640, 427));
    assert!(decoded.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255), "binary mask");
}

#[test]
fn tokenize_prints_one_json_array_per_text() {
    let stdout = ok(&["tokenize", "--model", &model("tiny-refined"), "a photo of a cat", "x"]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, ["[49406,320,1125,539,320,2368,49407]", "[49406,343,49407]"]);
}

#[test]
fn convert_to_f16_halves_the_weights_and_still_segments() {
    let reference = Reference::load("tiny-refined");
    let out = temp();
    let compact = out.path().join("compact");
    ok(&["convert", "--from", reference.dir.to_str().unwrap(), "--to", compact.to_str().unwrap(), "--dtype", "f16"]);
    let size = |p: PathBuf| std::fs::metadata(p).unwrap().len() as f64;
    let ratio = size(compact.join("model.safetensors")) / size(reference.dir.join("model.safetensors"));
    assert!((0.45..0.55).contains(&ratio), "f16 copy is {ratio:.2} of the original");
    assert!(compact.join("config.json").is_file() && compact.join("tokenizer.json").is_file());

    let logits = path_in(&out, "logits.npy");
    ok(&["segment", "--model", compact.to_str().unwrap(), "--image", &image("astronaut_352.png"), "--prompt", "a cat", "--logits", &logits]);
    let (_, values) = read_npy(Path::new(&logits));
    let expected = reference.f32("text_logits.astronaut_352").1;
    let first = &expected[..expected.len() / reference.strings("prompts").len()];
    let error = relative_l2(&subsample(&values, 352, 352, reference.sample()), first);
    // f16 storage rounds every weight by up to 2^-11 relative.
    assert!(error <= 1e-2, "f16 copy: relative L2 {error:e}");
}

#[test]
fn bench_reports_every_timing() {
    let stdout = ok(&["bench", "--model", &model("tiny-plain"), "--runs", "2", "--json"]);
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    for key in ["load_s", "encode_image_s", "embed_text_s", "decode_1_s", "decode_8_s"] {
        let value = report[key].as_f64().unwrap_or_else(|| panic!("{key} missing in {stdout}"));
        assert!(value > 0.0 && value < 60.0, "{key} = {value}");
    }
    let table = ok(&["bench", "--model", &model("tiny-plain"), "--runs", "1"]);
    assert!(table.contains("| encode image |") && table.contains("| decode 8 prompts |"), "{table}");
}

#[test]
fn bad_input_gets_one_clear_line() {
    let m = model("tiny-refined");
    let img = image("astronaut_352.png");
    let chelsea = image("chelsea.png");
    let out = temp();
    let logits = path_in(&out, "l.npy");
    let seg = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["segment", "--logits", &logits].iter().map(|s| s.to_string()).collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let check = |extra: &[&str], needle: &str| {
        let args = seg(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        fails_clearly(&refs, needle);
    };
    check(&["--model", &m, "--image", "/no/such.png", "--prompt", "a"], "/no/such.png");
    let garbage = path_in(&out, "garbage.png");
    std::fs::write(&garbage, b"this is not a picture").unwrap();
    check(&["--model", &m, "--image", &garbage, "--prompt", "a"], "garbage.png");
    let truncated = path_in(&out, "truncated.png");
    let png = std::fs::read(&img).unwrap();
    std::fs::write(&truncated, &png[..png.len() / 2]).unwrap();
    check(&["--model", &m, "--image", &truncated, "--prompt", "a"], "truncated.png");
    check(&["--model", "/no/such/model", "--image", &img, "--prompt", "a"], "does not exist");
    check(&["--model", out.path().to_str().unwrap(), "--image", &img, "--prompt", "a"], "not a model directory");
    check(&["--model", &m, "--image", &img, "--prompt", ""], "empty");
    check(&["--model", &m, "--image", &img, "--prompt", "   "], "empty");
    check(&["--model", &m, "--image", &img, "--visual-prompt", &chelsea, "--box", "400,10,500,100"], "outside");
    check(&["--model", &m, "--image", &img, "--visual-prompt", &chelsea, "--box", "10,10,10,50"], "no area");
    check(&["--model", &m, "--image", &img], "prompt");
    let mask = image("chelsea_mask.png");
    check(&["--model", &m, "--image", &img, "--prompt", "a", "--mix", "0.3"], "mix");
    check(&["--model", &m, "--image", &img, "--visual-prompt", &chelsea, "--mix", "0.3"], "mix");
    check(&["--model", &m, "--image", &img, "--prompt", "a", "--visual-prompt", &chelsea, "--mix", "1.5"], "mix");
    check(&["--model", &m, "--image", &img, "--visual-prompt", &chelsea, "--visual-mask", &mask, "--box", "1,1,9,9"], "not both");
    // The mask is chelsea's size (451×300), the query image is 352×352.
    check(&["--model", &m, "--image", &img, "--visual-mask", &mask], "mask");
    check(&["--model", &m, "--image", &img, "--visual-mask", "/no/mask.png"], "/no/mask.png");

    // Broken model directories: truncated weights, and a config that does not match them.
    let broken = out.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    let source = fixtures().join("tiny-refined");
    std::fs::copy(source.join("config.json"), broken.join("config.json")).unwrap();
    let weights = std::fs::read(source.join("model.safetensors")).unwrap();
    std::fs::write(broken.join("model.safetensors"), &weights[..weights.len() / 2]).unwrap();
    check(&["--model", broken.to_str().unwrap(), "--image", &img, "--prompt", "a"], "model.safetensors");

    std::fs::write(broken.join("model.safetensors"), &weights).unwrap();
    let config = std::fs::read_to_string(source.join("config.json")).unwrap();
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    let mut wrong = config.clone();
    wrong["reduce_dim"] = serde_json::json!(24);
    std::fs::write(broken.join("config.json"), wrong.to_string()).unwrap();
    check(&["--model", broken.to_str().unwrap(), "--image", &img, "--prompt", "a"], "decoder.");
    let out_stderr = clipseg(&seg(&["--model", broken.to_str().unwrap(), "--image", &img, "--prompt", "a"]).iter().map(String::as_str).collect::<Vec<_>>()).stderr;
    let message = String::from_utf8_lossy(&out_stderr);
    assert!(message.contains("24") && message.contains("16"), "names expected and found shapes: {message}");

    std::fs::write(broken.join("config.json"), "{ not json").unwrap();
    check(&["--model", broken.to_str().unwrap(), "--image", &img, "--prompt", "a"], "config");
}

#[test]
fn segment_over_folders_writes_each_image_as_alone() {
    let m = model("tiny-refined");
    let dir = temp();
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(photos.join("cats")).unwrap();
    std::fs::copy(image("rocket.jpg"), photos.join("rocket.jpg")).unwrap();
    // A dot in the name stays in the output names; a subfolder is kept.
    std::fs::copy(image("chelsea.png"), photos.join("cats/chelsea.v2.png")).unwrap();
    std::fs::write(photos.join("notes.txt"), "not an image, not read").unwrap();
    let (masks, logits) = (path_in(&dir, "masks"), path_in(&dir, "logits"));
    let astronaut = image("astronaut_352.png");
    let photos = photos.display().to_string();
    let prompts = ["--prompt", "a cat", "--prompt", "a rocket"];
    let mut args = vec!["segment", "--model", &m, "--image", &photos, "--image", &astronaut, "--mask", &masks, "--logits", &logits];
    args.extend(prompts);
    ok(&args);

    for (source, name) in [(image("rocket.jpg"), "rocket"), (image("chelsea.png"), "cats/chelsea.v2"), (astronaut.clone(), "astronaut_352")] {
        let alone = path_in(&dir, "alone.npy");
        let alone_mask = path_in(&dir, "alone.png");
        let mut args = vec!["segment", "--model", &m, "--image", &source, "--logits", &alone, "--mask", &alone_mask];
        args.extend(prompts);
        ok(&args);
        assert_eq!(read_npy(Path::new(&format!("{logits}/{name}.npy"))), read_npy(Path::new(&alone)), "{name}: logits");
        for index in 0..2 {
            let batch = std::fs::read(format!("{masks}/{name}_{index}.png")).unwrap();
            assert_eq!(batch, std::fs::read(path_in(&dir, &format!("alone_{index}.png"))).unwrap(), "{name}: mask {index}");
        }
    }
    let written = std::fs::read_dir(&masks).unwrap().count();
    assert_eq!(written, 5, "rocket_0, rocket_1, astronaut_352_0, astronaut_352_1 and cats/");
}

#[test]
fn exit_codes_say_what_failed() {
    let m = model("tiny-refined");
    let img = image("astronaut_352.png");
    let dir = temp();
    let out = path_in(&dir, "l.npy");
    let status = |args: &[&str]| clipseg(args).status.code();
    // 2: the command line.
    assert_eq!(status(&["segment", "--model", &m, "--image", &img, "--prompt", "a"]), Some(2), "nothing to write");
    assert_eq!(status(&["segment", "--no-such-option"]), Some(2), "clap's own usage errors");
    // 3: the model.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::copy(fixtures().join("tiny-refined/model.safetensors"), broken.join("model.safetensors")).unwrap();
    std::fs::write(broken.join("config.json"), "{ not json").unwrap();
    assert_eq!(status(&["segment", "--model", broken.to_str().unwrap(), "--image", &img, "--prompt", "a", "--logits", &out]), Some(3));
    // 4: the input.
    let garbage = path_in(&dir, "garbage.png");
    std::fs::write(&garbage, b"not a picture").unwrap();
    assert_eq!(status(&["segment", "--model", &m, "--image", &garbage, "--prompt", "a", "--logits", &out]), Some(4));
    assert_eq!(status(&["segment", "--model", &m, "--image", &img, "--prompt", " ", "--logits", &out]), Some(4));
    // Several images, one unreadable: the others are written, and the status says some were not.
    let folder = dir.path().join("photos");
    std::fs::create_dir(&folder).unwrap();
    std::fs::copy(&img, folder.join("good.png")).unwrap();
    std::fs::copy(&garbage, folder.join("bad.png")).unwrap();
    let masks = path_in(&dir, "masks");
    let result = clipseg(&["segment", "--model", &m, "--image", folder.to_str().unwrap(), "--prompt", "a", "--mask", &masks]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("bad.png") && stderr.contains("1 of 2 images"), "{stderr}");
    assert!(Path::new(&masks).join("good.png").is_file(), "the readable image's mask is written");
    // 5: files.
    assert_eq!(status(&["segment", "--model", &m, "--image", "/no/such.png", "--prompt", "a", "--logits", &out]), Some(5));
    // Two images that would write the same outputs are refused before the model loads.
    let twin = dir.path().join("twin");
    std::fs::create_dir(&twin).unwrap();
    std::fs::copy(&img, twin.join("good.png")).unwrap();
    let twin_image = twin.join("good.png").display().to_string();
    let args = ["segment", "--model", "/no/model", "--image", folder.to_str().unwrap(), "--image", &twin_image, "--prompt", "a", "--mask", &masks];
    fails_clearly(&args, "same outputs");
    assert_eq!(status(&args), Some(2));
}
