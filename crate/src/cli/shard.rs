//! Which images one process of a sharded `label` run takes: `--shard I/N`, or the index of an
//! array job (Slurm, or a Kubernetes indexed Job with `--shards N`).

use clipseg::Error;

/// Shard `index` of `count`: the images whose position in the sorted list is `index` modulo
/// `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn includes(self, position: usize) -> bool {
        position % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `I/N` with 0 <= I < N.
pub fn parse_shard(text: &str) -> Result<Shard, Error> {
    let bad = || Error::usage(format!("--shard takes I/N (shard I of N, I from 0 to N-1), got {text:?}"));
    let (index, count) = text.split_once('/').ok_or_else(bad)?;
    let index: usize = index.trim().parse().map_err(|_| bad())?;
    let count: usize = count.trim().parse().map_err(|_| bad())?;
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// The shard of this process: `--shard` if given; else a Slurm array task (its id minus
/// `SLURM_ARRAY_TASK_MIN`, divided by `SLURM_ARRAY_TASK_STEP`, of `SLURM_ARRAY_TASK_COUNT`); else
/// a Kubernetes indexed Job's `JOB_COMPLETION_INDEX` of `--shards N`; else everything. `env` reads
/// an environment variable.
pub fn resolve(shard: Option<&str>, shards: Option<usize>, env: impl Fn(&str) -> Option<String>) -> Result<Shard, Error> {
    if let Some(text) = shard {
        if shards.is_some() {
            return Err(Error::usage("give --shard I/N or --shards N, not both"));
        }
        return parse_shard(text);
    }
    let number = |name: &str| -> Result<Option<usize>, Error> {
        env(name)
            .map(|v| v.trim().parse::<usize>().map_err(|_| Error::usage(format!("{name} must be a whole number, got {v:?}"))))
            .transpose()
    };
    if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
        let count = number("SLURM_ARRAY_TASK_COUNT")?
            .ok_or_else(|| Error::usage("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: give --shard I/N"))?;
        if let Some(shards) = shards.filter(|&n| n != count) {
            return Err(Error::usage(format!(
                "--shards {shards} disagrees with SLURM_ARRAY_TASK_COUNT={count}: leave --shards out under Slurm"
            )));
        }
        // Task ids run from the array's first id (`--array=1-8` starts at 1) in steps (`1-15:2`).
        let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let index = id.checked_sub(min).filter(|offset| offset % step == 0).map(|offset| offset / step);
        return match index {
            Some(index) if index < count => Ok(Shard { index, count }),
            _ => Err(Error::usage(format!(
                "Slurm array task {id} is not one of {count} evenly spaced ids from {min} (step {step}); \
                 use a range such as --array=0-{} or give --shard I/N",
                count.saturating_sub(1)
            ))),
        };
    }
    if let Some(index) = number("JOB_COMPLETION_INDEX")? {
        let count = shards.ok_or_else(|| Error::usage("JOB_COMPLETION_INDEX is set: give --shards N (the Job's completions)"))?;
        if count == 0 || index >= count {
            return Err(Error::usage(format!("JOB_COMPLETION_INDEX={index} is not below --shards {count}")));
        }
        return Ok(Shard { index, count });
    }
    match shards {
        Some(_) => Err(Error::usage(
            "--shards N needs JOB_COMPLETION_INDEX (a Kubernetes indexed Job); elsewhere give --shard I/N",
        )),
        None => Ok(Shard::ALL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clipseg::ErrorKind;

    fn with<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    }

    fn usage_error(result: Result<Shard, Error>, needle: &str) {
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Usage);
        assert!(error.message().contains(needle), "{error} lacks {needle:?}");
    }

    #[test]
    fn shard_flag() {
        assert_eq!(parse_shard("2/5").unwrap(), Shard { index: 2, count: 5 });
        assert_eq!(parse_shard("0/1").unwrap(), Shard::ALL);
        for bad in ["5/5", "1/0", "-1/3", "1", "a/b", "1/2/3", ""] {
            usage_error(parse_shard(bad), "I/N");
        }
        let shard = Shard { index: 1, count: 3 };
        assert_eq!((0..7).filter(|&i| shard.includes(i)).collect::<Vec<_>>(), [1, 4]);
        // The flag wins over the environment.
        assert_eq!(resolve(Some("1/2"), None, with(&[("SLURM_ARRAY_TASK_ID", "0")])).unwrap(), Shard { index: 1, count: 2 });
        usage_error(resolve(Some("1/2"), Some(2), with(&[])), "not both");
        assert_eq!(resolve(None, None, with(&[])).unwrap(), Shard::ALL);
    }

    #[test]
    fn slurm_arrays() {
        let slurm = |id: &str, count: &str, min: Option<&str>, step: Option<&str>| {
            let mut vars = vec![("SLURM_ARRAY_TASK_ID", id.to_string()), ("SLURM_ARRAY_TASK_COUNT", count.to_string())];
            vars.extend(min.map(|m| ("SLURM_ARRAY_TASK_MIN", m.to_string())));
            vars.extend(step.map(|s| ("SLURM_ARRAY_TASK_STEP", s.to_string())));
            move |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
        };
        assert_eq!(resolve(None, None, slurm("3", "4", Some("0"), None)).unwrap(), Shard { index: 3, count: 4 });
        // --array=1-4: ids 1..=4.
        assert_eq!(resolve(None, None, slurm("1", "4", Some("1"), None)).unwrap(), Shard { index: 0, count: 4 });
        assert_eq!(resolve(None, None, slurm("4", "4", Some("1"), None)).unwrap(), Shard { index: 3, count: 4 });
        // --array=10-16:3: ids 10, 13, 16.
        assert_eq!(resolve(None, None, slurm("16", "3", Some("10"), Some("3"))).unwrap(), Shard { index: 2, count: 3 });
        assert_eq!(resolve(None, Some(3), slurm("13", "3", Some("10"), Some("3"))).unwrap(), Shard { index: 1, count: 3 });
        // Ids from 1 without SLURM_ARRAY_TASK_MIN, or a list such as --array=1,5,9: not a shard.
        usage_error(resolve(None, None, slurm("4", "4", None, None)), "--shard I/N");
        usage_error(resolve(None, None, slurm("9", "3", Some("1"), None)), "not one of 3");
        usage_error(resolve(None, None, slurm("x", "4", None, None)), "SLURM_ARRAY_TASK_ID must be a whole number");
        usage_error(resolve(None, None, with(&[("SLURM_ARRAY_TASK_ID", "0")])), "SLURM_ARRAY_TASK_COUNT is not");
        usage_error(resolve(None, Some(5), slurm("0", "4", None, None)), "disagrees");
    }

    #[test]
    fn kubernetes_indexed_jobs() {
        let k8s = with(&[("JOB_COMPLETION_INDEX", "2")]);
        assert_eq!(resolve(None, Some(3), &k8s).unwrap(), Shard { index: 2, count: 3 });
        usage_error(resolve(None, None, &k8s), "give --shards N");
        usage_error(resolve(None, Some(2), &k8s), "not below --shards 2");
        usage_error(resolve(None, Some(0), &k8s), "not below --shards 0");
        usage_error(resolve(None, Some(3), with(&[])), "needs JOB_COMPLETION_INDEX");
    }
}
