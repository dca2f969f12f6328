//! `clipseg fetch` against a local stand-in for the Hugging Face hub (never the real one): the
//! download goes through the hub cache, is checked, and is converted; a cached checkpoint needs
//! no network; damaged downloads, unknown repositories and an unreachable hub get one clear line.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;

use common::*;
use safetensors::SafeTensors;
use sha2::{Digest, Sha256};

const REPO: &str = "CIDAS/clipseg-rd64-refined";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// A file as the hub serves it: its bytes and its etag (the sha256 for large LFS files, a git
/// blob id for small ones).
struct HubFile {
    name: &'static str,
    bytes: Vec<u8>,
    etag: String,
}

/// The tiny fixture's files; `damage` flips a byte of the weights after their etag is taken, as a
/// download broken in transit would.
fn fixture_files(damage: bool) -> Vec<HubFile> {
    let dir = fixtures().join("tiny-refined");
    let weights = std::fs::read(dir.join("model.safetensors")).unwrap();
    let etag = format!("{:x}", Sha256::digest(&weights));
    let mut served = weights;
    if damage {
        let middle = served.len() / 2;
        served[middle] ^= 0xff;
    }
    vec![
        HubFile {
            name: "config.json",
            bytes: std::fs::read(dir.join("config.json")).unwrap(),
            etag: "5f0b3c1d2e4a6b8c9d0e1f2a3b4c5d6e7f8a9b0c".into(),
        },
        HubFile { name: "model.safetensors", bytes: served, etag },
    ]
}

/// Serves `files` as `REPO` at revision `main` the way hf-hub reads the hub, and returns the
/// endpoint (for HF_ENDPOINT): `GET /api/models/{repo}/revision/{rev}` lists the files, and
/// `GET /{repo}/resolve/{rev}/{file}` answers a Range request (`bytes=0-0` for the metadata: etag,
/// x-repo-commit, and the size in Content-Range; `bytes=N-` for the download itself).
fn serve(files: Vec<HubFile>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            answer(stream, &files);
        }
    });
    endpoint
}

fn answer(mut stream: TcpStream, files: &[HubFile]) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut range_start = 0;
    let mut range_end = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((&line, ""));
        if let Some(range) = name.eq_ignore_ascii_case("range").then(|| value.trim().trim_start_matches("bytes=")) {
            let (start, end) = range.split_once('-').unwrap();
            range_start = start.parse().unwrap();
            range_end = end.parse::<usize>().ok();
        }
    }
    let listing = format!("/api/models/{REPO}/revision/main");
    let file = path
        .strip_prefix(&format!("/{REPO}/resolve/main/"))
        .and_then(|name| files.iter().find(|file| file.name == name));
    let (status, headers, body) = if path == listing {
        let siblings: Vec<_> = files.iter().map(|f| serde_json::json!({ "rfilename": f.name })).collect();
        let json = serde_json::json!({ "sha": COMMIT, "siblings": siblings }).to_string();
        ("200 OK", "Content-Type: application/json\r\n".to_string(), json.into_bytes())
    } else if let Some(file) = file {
        let size = file.bytes.len();
        let end = range_end.unwrap_or(size - 1).min(size - 1);
        let headers = format!(
            "ETag: \"{}\"\r\nX-Repo-Commit: {COMMIT}\r\nAccept-Ranges: bytes\r\nContent-Range: bytes {range_start}-{end}/{size}\r\n",
            file.etag
        );
        ("206 Partial Content", headers, file.bytes[range_start..=end].to_vec())
    } else {
        ("404 Not Found", String::new(), b"Repository not found".to_vec())
    };
    let head = format!("HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    // The client may hang up early (it reads only what it asked for); that is not the server's failure.
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
}

/// An endpoint where nothing listens.
fn unreachable_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

fn fetch(endpoint: &str, hf_home: &Path, args: &[&str]) -> Output {
    clipseg_command()
        .arg("fetch")
        .args(args)
        .env("HF_ENDPOINT", endpoint)
        .env("HF_HOME", hf_home)
        .output()
        .expect("clipseg runs")
}

fn succeeded(out: &Output) {
    assert!(out.status.success(), "clipseg fetch failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn fetch_downloads_checks_and_converts_through_the_hub_cache() {
    let temp = tempfile::tempdir().unwrap();
    let (hf_home, out) = (temp.path().join("hf"), temp.path().join("models/clipseg-rd64-refined"));
    let endpoint = serve(fixture_files(false));
    succeeded(&fetch(&endpoint, &hf_home, &[REPO, "--to", out.to_str().unwrap()]));

    // Exactly what `convert` makes of the same files.
    let expected = temp.path().join("expected");
    ok(&["convert", "--from", fixtures().join("tiny-refined").to_str().unwrap(), "--to", expected.to_str().unwrap()]);
    for file in ["config.json", "tokenizer.json"] {
        assert!(std::fs::read(out.join(file)).unwrap() == std::fs::read(expected.join(file)).unwrap(), "{file}");
    }
    assert_same_tensors(&out, &expected);
    // In the hub cache's own layout, where the Python tools look too.
    let snapshot = hf_home.join("hub/models--CIDAS--clipseg-rd64-refined/snapshots").join(COMMIT);
    assert!(snapshot.join("model.safetensors").is_file() && snapshot.join("config.json").is_file());

    // Readable by the web server's user, like every other file of the site.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("model.safetensors")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "{mode:o}");
    }

    // Cached now: no hub needed, and the copy already there is replaced.
    succeeded(&fetch(&unreachable_endpoint(), &hf_home, &[REPO, "--to", out.to_str().unwrap()]));
    assert_same_tensors(&out, &expected);
}

/// The same tensors (names, dtypes, shapes, bytes) in the `model.safetensors` of both
/// directories; the files' headers may list their metadata in another order.
fn assert_same_tensors(actual: &Path, expected: &Path) {
    let (actual, expected) =
        (std::fs::read(actual.join("model.safetensors")).unwrap(), std::fs::read(expected.join("model.safetensors")).unwrap());
    let (actual, expected) = (SafeTensors::deserialize(&actual).unwrap(), SafeTensors::deserialize(&expected).unwrap());
    let mut names = expected.names();
    names.sort();
    let mut actual_names = actual.names();
    actual_names.sort();
    assert_eq!(actual_names, names);
    for name in names {
        let (a, e) = (actual.tensor(name).unwrap(), expected.tensor(name).unwrap());
        assert!(a.dtype() == e.dtype() && a.shape() == e.shape() && a.data() == e.data(), "{name}");
    }
}

#[test]
fn a_damaged_download_is_refused_and_dropped_from_the_cache() {
    let temp = tempfile::tempdir().unwrap();
    let (hf_home, out) = (temp.path().join("hf"), temp.path().join("out"));
    let args = [REPO, "--to", out.to_str().unwrap()];
    failed_clearly(&fetch(&serve(fixture_files(true)), &hf_home, &args), &args, "damaged");
    assert!(!out.exists());
    // The next run downloads again rather than reusing the damaged file.
    succeeded(&fetch(&serve(fixture_files(false)), &hf_home, &args));
}

#[test]
fn an_unreachable_hub_or_an_unknown_repository_gets_one_line() {
    let temp = tempfile::tempdir().unwrap();
    let hf_home = temp.path().join("hf");
    let out = temp.path().join("out");
    let args = [REPO, "--to", out.to_str().unwrap()];
    failed_clearly(&fetch(&unreachable_endpoint(), &hf_home, &args), &args, "cannot reach the Hugging Face hub");
    let args = ["CIDAS/clipseg-rd65", "--to", out.to_str().unwrap()];
    failed_clearly(&fetch(&serve(fixture_files(false)), &hf_home, &args), &args, "no such repository");
    assert!(!out.exists());
}
