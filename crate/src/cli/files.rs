//! The image files of a folder, for `label` and `segment`.

use std::path::{Path, PathBuf};

use clipseg::Error;

/// The file extensions `label` and `segment` read from a folder (the formats [`decode_image`] decodes), lower case.
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "webp", "gif", "bmp"];

/// `path` made absolute through its nearest existing ancestor, symbolic links resolved, so it
/// compares with the paths found under the canonical images folder.
pub fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while let Some(parent) = existing.parent() {
        if let Ok(canonical) = existing.canonicalize() {
            return rest.iter().rev().fold(canonical, |p, name| p.join(name));
        }
        rest.extend(existing.file_name());
        existing = parent;
    }
    absolute
}

/// Every image under `root` by extension, as paths relative to it with `/` between folders,
/// sorted (the order shards are cut from). `leave_out` (this run's outputs) is not entered, so a
/// PNG export inside the images folder is not labelled by the next run. Symbolic links to files
/// are followed, to folders not (they could loop).
pub fn image_files(root: &Path, leave_out: &[PathBuf]) -> Result<Vec<String>, Error> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let fail = |e: std::io::Error| Error::io(format!("cannot read the folder {}: {e}", folder.display()));
        for entry in std::fs::read_dir(&folder).map_err(fail)? {
            let path = entry.map_err(fail)?.path();
            if leave_out.contains(&path) {
                continue;
            }
            let is_link = path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink());
            if path.is_dir() {
                if !is_link {
                    folders.push(path);
                }
                continue;
            }
            let is_image = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
            if !is_image {
                continue;
            }
            let relative = path.strip_prefix(root).expect("found under the root");
            let parts: Option<Vec<&str>> = relative.components().map(|c| c.as_os_str().to_str()).collect();
            match parts {
                Some(parts) => files.push(parts.join("/")),
                None => eprintln!("skipped {}: the file name is not UTF-8 (COCO file names are)", path.display()),
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_images_by_extension_sorted_and_leaves_the_output_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for file in ["b.PNG", "a/z.jpg", "a/notes.txt", "c.jpeg", "out/SegmentationClass/b.png", "noext"] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"").unwrap();
        }
        assert_eq!(image_files(&root, &[root.join("out")]).unwrap(), ["a/z.jpg", "b.PNG", "c.jpeg"]);
        assert_eq!(resolved(&root.join("out/new/x.json")), root.join("out/new/x.json"));
    }
}
