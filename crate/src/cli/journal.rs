//! Resuming a stopped `label` run. Each labelled image is appended to `<out>.partial` as one line
//! of JSON and flushed to disk before the next image starts; the first line describes the run
//! (model, images, classes, threshold, minimum area, shard). A run that finds a journal with the
//! same first line skips the images it holds; the journal is deleted once the output is written.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind as IoErrorKind, Write};
use std::path::{Path, PathBuf};

use clipseg::Error;
use clipseg::labels::Annotation;
use serde::{Deserialize, Serialize};

/// One labelled image: its size and its annotations (ids local to it, image id 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Labelled {
    pub file_name: String,
    pub width: u32,
    pub height: u32,
    pub annotations: Vec<Annotation>,
}

pub struct Journal {
    path: PathBuf,
    header: String,
    /// Opened at the first image: a run that fails before labelling anything (a bad model
    /// folder) leaves no journal that would hold the next run to its arguments.
    file: Option<File>,
}

/// The journal of the run that writes `out`: `out` with `.partial` added to its name.
pub fn journal_path(out: &Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    out.with_file_name(format!("{name}.partial"))
}

impl Journal {
    /// Opens the journal at `path` for the run that `header` (one line, no newline) describes:
    /// the images an earlier run with the same header finished, or a new journal (written from
    /// the first [`Journal::append`]). A line cut short (the run was killed while writing it) is
    /// dropped; a journal of a run with another header is a usage error, so labels of different
    /// settings never mix.
    pub fn open(path: &Path, header: &str) -> Result<(Journal, Vec<Labelled>), Error> {
        let fail = |e: std::io::Error| Error::io(format!("cannot use the journal {}: {e}", path.display()));
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == IoErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(fail(e)),
        };
        // Only complete lines count: everything after the last newline is a cut-short write.
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |at| at + 1);
        let mut lines = bytes[..complete].split(|&b| b == b'\n');
        let records = match lines.next().filter(|line| !line.is_empty()) {
            None => None,
            Some(first) if first == header.as_bytes() => Some(
                lines
                    .filter(|line| !line.is_empty())
                    .enumerate()
                    .map(|(n, line)| {
                        serde_json::from_slice::<Labelled>(line).map_err(|e| {
                            Error::io(format!(
                                "line {} of the journal {} is not a labelled image ({e}): delete the file to start over",
                                n + 2,
                                path.display()
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, Error>>()?,
            ),
            Some(_) => {
                return Err(Error::usage(format!(
                    "{} was left by a stopped run with other arguments (model, images, classes, threshold, \
                     min-area or shard): rerun with those to resume it, or delete it to start over",
                    path.display()
                )));
            }
        };
        let file = match &records {
            Some(_) => {
                let file = OpenOptions::new().append(true).open(path).map_err(fail)?;
                file.set_len(complete as u64).map_err(fail)?;
                Some(file)
            }
            None => None,
        };
        let journal = Journal { path: path.to_path_buf(), header: header.to_string(), file };
        Ok((journal, records.unwrap_or_default()))
    }

    /// Appends one labelled image and waits until it is on disk.
    pub fn append(&mut self, record: &Labelled) -> Result<(), Error> {
        let fail = |e: std::io::Error| Error::io(format!("cannot write the journal {}: {e}", self.path.display()));
        let file = match &mut self.file {
            Some(file) => file,
            None => {
                let mut file = File::create(&self.path).map_err(fail)?;
                file.write_all(format!("{}\n", self.header).as_bytes()).map_err(fail)?;
                self.file.insert(file)
            }
        };
        let mut line = serde_json::to_string(record).expect("a labelled image serialises");
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(fail)?;
        file.sync_data().map_err(fail)
    }

    /// Deletes the journal: the output holds everything now.
    pub fn finish(self) -> Result<(), Error> {
        drop(self.file);
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != IoErrorKind::NotFound => {
                Err(Error::io(format!("cannot delete the journal {}: {e}", self.path.display())))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clipseg::ErrorKind;

    fn record(name: &str) -> Labelled {
        Labelled { file_name: name.into(), width: 3, height: 2, annotations: Vec::new() }
    }

    #[test]
    fn resumes_drops_a_cut_line_and_refuses_other_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json.partial");
        assert_eq!(journal_path(&dir.path().join("out.json")), path);
        assert_eq!(journal_path(Path::new("labels/")), Path::new("labels.partial"));

        let (mut journal, done) = Journal::open(&path, "{\"run\":1}").unwrap();
        assert!(done.is_empty());
        assert!(!path.exists(), "written from the first image on");
        journal.append(&record("a.png")).unwrap();
        journal.append(&record("b.png")).unwrap();
        drop(journal);
        // Killed in the middle of the third line.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"file_name\":\"c.p").unwrap();
        drop(file);

        let (mut journal, done) = Journal::open(&path, "{\"run\":1}").unwrap();
        assert_eq!(done, [record("a.png"), record("b.png")]);
        journal.append(&record("c.png")).unwrap();
        drop(journal);
        let (journal, done) = Journal::open(&path, "{\"run\":1}").unwrap();
        assert_eq!(done, [record("a.png"), record("b.png"), record("c.png")]);
        drop(journal);

        let error = Journal::open(&path, "{\"run\":2}").err().unwrap();
        assert_eq!(error.kind(), ErrorKind::Usage);
        assert!(error.message().contains("out.json.partial") && error.message().contains("delete it"), "{error}");

        Journal::open(&path, "{\"run\":1}").unwrap().0.finish().unwrap();
        assert!(!path.exists());

        // A header cut short: nothing was labelled yet, start again.
        std::fs::write(&path, b"{\"ru").unwrap();
        let (mut journal, done) = Journal::open(&path, "{\"run\":3}").unwrap();
        assert!(done.is_empty());
        journal.append(&record("a.png")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\"run\":3}\n{\"file_name\":\"a.png\""), "{text}");
        journal.finish().unwrap();
        // Nothing labelled, nothing written: finishing has nothing to delete.
        Journal::open(&path, "{\"run\":4}").unwrap().0.finish().unwrap();
    }
}
