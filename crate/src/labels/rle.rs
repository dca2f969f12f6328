//! COCO run-length encoding, as pycocotools' `maskApi.c`: runs over the pixels in column-major
//! order (`index = y + h · x`), alternating background / foreground and starting with a
//! background run (0 when the first pixel is foreground); an empty mask is `[h · w]`. The
//! compressed `counts` string is `rleToString`'s, decoded as `rleFrString`.

use super::mask::Mask;
use super::{Result, error};

/// A COCO RLE: `size = [height, width]` and the run lengths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rle {
    pub height: u32,
    pub width: u32,
    pub counts: Vec<u32>,
}

impl Rle {
    /// Built by this crate's encoders, whose counts are already valid.
    pub(crate) fn from_parts(height: u32, width: u32, counts: Vec<u32>) -> Rle {
        Rle {
            height,
            width,
            counts,
        }
    }

    /// An RLE from counts read from a file. The counts may stop short of the last pixel (the
    /// rest is then background, as pycocotools decodes them) but must not run past it.
    pub fn from_counts(height: u32, width: u32, mut counts: Vec<u32>) -> Result<Rle> {
        let total = height as u64 * width as u64;
        let sum: u64 = counts.iter().map(|&c| c as u64).sum();
        if sum > total {
            return Err(error(format!(
                "invalid RLE: the counts cover {sum} pixels, a {height}×{width} image has {total}"
            )));
        }
        if sum < total {
            if counts.len() % 2 == 1 {
                *counts.last_mut().unwrap() += (total - sum) as u32;
            } else {
                counts.push((total - sum) as u32);
            }
        }
        if counts.is_empty() {
            counts.push(0);
        }
        Ok(Rle {
            height,
            width,
            counts,
        })
    }

    /// The RLE of an empty mask.
    pub fn empty(height: u32, width: u32) -> Rle {
        Rle {
            height,
            width,
            counts: vec![height * width],
        }
    }

    /// Encodes a mask (pycocotools' `encode` of the same mask as a Fortran-order array).
    pub fn encode(mask: &Mask) -> Rle {
        Rle::encode_placed(mask, 0, 0, mask.width(), mask.height()).expect("a mask fits itself")
    }

    /// Encodes `crop` placed at `(x, y)` on an otherwise empty `width × height` mask, without
    /// drawing that mask: the page keeps an instance as the crop of its box, and its RLE costs
    /// the crop's pixels, not the image's.
    pub fn encode_placed(crop: &Mask, x: u32, y: u32, width: u32, height: u32) -> Result<Rle> {
        if x as u64 + crop.width() as u64 > width as u64 || y as u64 + crop.height() as u64 > height as u64 {
            return Err(error(format!(
                "a {}×{} mask at ({x}, {y}) does not fit in {width}×{height}",
                crop.width(),
                crop.height()
            )));
        }
        let mut runs = Runs::default();
        let h = height as u64;
        runs.push(0, x as u64 * h);
        let column_major = crop.to_column_major();
        let side = crop.height() as usize;
        for column in 0..crop.width() as usize {
            runs.push(0, y as u64);
            for &v in &column_major[column * side..(column + 1) * side] {
                runs.push(v, 1);
            }
            runs.push(0, h - y as u64 - side as u64);
        }
        runs.push(0, (width - x - crop.width()) as u64 * h);
        Ok(Rle { height, width, counts: runs.finish() })
    }

    /// Decodes to a mask.
    pub fn decode(&self) -> Mask {
        let total = self.height as usize * self.width as usize;
        let mut cm = vec![0u8; total];
        let mut pos = 0usize;
        for (i, &c) in self.counts.iter().enumerate() {
            let end = (pos + c as usize).min(total);
            if i % 2 == 1 {
                cm[pos..end].fill(1);
            }
            pos = end;
        }
        Mask::from_column_major(self.width, self.height, &cm).expect("sizes match")
    }

    /// The foreground pixels `(x, y)`, column by column, straight from the runs: costs the area,
    /// not the image (no image-sized mask is drawn).
    pub fn pixels(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let h = self.height as usize;
        let mut start = 0usize;
        self.counts.iter().enumerate().flat_map(move |(i, &run)| {
            let from = start;
            start += run as usize;
            let run = if i % 2 == 1 { from..start } else { 0..0 };
            run.map(move |index| ((index / h) as u32, (index % h) as u32))
        })
    }

    /// The foreground cut to its box, with the box `[x, y, w, h]` (an empty mask: `0 × 0` at 0).
    pub fn cropped_mask(&self) -> (Mask, [u32; 4]) {
        let b = self.bbox();
        let mut crop = Mask::new(b[2], b[3]);
        for (x, y) in self.pixels() {
            crop.set(x - b[0], y - b[1], true);
        }
        (crop, b)
    }

    /// The number of foreground pixels (pycocotools' `area`).
    pub fn area(&self) -> u64 {
        self.counts
            .iter()
            .skip(1)
            .step_by(2)
            .map(|&c| c as u64)
            .sum()
    }

    /// The box `[x, y, w, h]` straight from the runs, as pycocotools' `toBbox` (`[0, 0, 0, 0]`
    /// when empty).
    pub fn bbox(&self) -> [u32; 4] {
        let h = self.height as u64;
        let m = self.counts.len() / 2 * 2;
        if m == 0 || h == 0 {
            return [0, 0, 0, 0];
        }
        let (mut xs, mut ys, mut xe, mut ye) = (u64::MAX, u64::MAX, 0u64, 0u64);
        let mut cc = 0u64;
        let mut any = false;
        for j in 0..m {
            cc += self.counts[j] as u64;
            if j % 2 == 0 || self.counts[j] == 0 {
                continue; // a background run, or an empty foreground run (no encoder makes one)
            }
            // The foreground run's first and last pixels; when it wraps a column it covers
            // whole rows.
            let (first, last) = (cc - self.counts[j] as u64, cc - 1);
            let (y0, x0, y1, x1) = (first % h, first / h, last % h, last / h);
            any = true;
            xs = xs.min(x0);
            xe = xe.max(x1);
            if x0 < x1 {
                ys = 0;
                ye = h - 1;
            } else {
                ys = ys.min(y0);
                ye = ye.max(y1);
            }
        }
        if !any {
            return [0, 0, 0, 0];
        }
        [
            xs as u32,
            ys as u32,
            (xe - xs + 1) as u32,
            (ye - ys + 1) as u32,
        ]
    }

    /// pycocotools' `rleToString`: the differences `counts[i] − counts[i − 2]` for `i > 2` (the
    /// first three as they are), each in 5-bit groups, least significant first, 0x20 set while
    /// more follow, the sign in 0x10 of the last group, plus 48.
    pub fn to_compressed(&self) -> String {
        let mut s = String::with_capacity(self.counts.len() * 2);
        for i in 0..self.counts.len() {
            let mut x = self.counts[i] as i64;
            if i > 2 {
                x -= self.counts[i - 2] as i64;
            }
            loop {
                let mut c = (x & 0x1f) as u8;
                x >>= 5;
                let more = if c & 0x10 != 0 { x != -1 } else { x != 0 };
                if more {
                    c |= 0x20;
                }
                s.push((c + 48) as char);
                if !more {
                    break;
                }
            }
        }
        s
    }

    /// pycocotools' `rleFrString`, with the checks a file from elsewhere needs.
    pub fn from_compressed(height: u32, width: u32, s: &str) -> Result<Rle> {
        let bytes = s.as_bytes();
        let mut counts: Vec<u32> = Vec::new();
        let mut p = 0;
        while p < bytes.len() {
            let mut x: i64 = 0;
            let mut k = 0;
            loop {
                let Some(&b) = bytes.get(p) else {
                    return Err(error("invalid RLE string: it ends inside a number"));
                };
                if !(48..48 + 64).contains(&b) || k > 12 {
                    return Err(error(format!(
                        "invalid RLE string: unexpected character {:?}",
                        b as char
                    )));
                }
                let c = (b - 48) as i64;
                x |= (c & 0x1f) << (5 * k);
                p += 1;
                k += 1;
                if c & 0x20 == 0 {
                    if c & 0x10 != 0 {
                        x |= -1i64 << (5 * k);
                    }
                    break;
                }
            }
            if counts.len() > 2 {
                x += counts[counts.len() - 2] as i64;
            }
            let Ok(v) = u32::try_from(x) else {
                return Err(error("invalid RLE string: a negative or huge run length"));
            };
            counts.push(v);
        }
        Rle::from_counts(height, width, counts)
    }

    /// The union of RLEs of one size (pycocotools' `merge`), e.g. an object's polygons.
    pub fn union(rles: &[Rle]) -> Result<Rle> {
        let Some(first) = rles.first() else {
            return Err(error("nothing to merge"));
        };
        if rles.len() == 1 {
            return Ok(first.clone());
        }
        let mut m = first.decode();
        for r in &rles[1..] {
            m.union_with(&r.decode())?;
        }
        Ok(Rle::encode(&m))
    }
}

/// Run lengths, alternating from a background run (which may be empty).
#[derive(Default)]
struct Runs {
    counts: Vec<u32>,
    value: u8,
    run: u64,
}

impl Runs {
    /// `n` more pixels of `value` (0 or 1).
    fn push(&mut self, value: u8, n: u64) {
        if n == 0 {
            return;
        }
        if value != self.value {
            self.counts.push(self.run as u32);
            self.run = 0;
            self.value = value;
        }
        self.run += n;
    }

    fn finish(mut self) -> Vec<u32> {
        self.counts.push(self.run as u32);
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placed_crop_encodes_as_the_whole_mask() {
        let mut seed = 11u32;
        let mut random = |n: u32| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 16) % n
        };
        for _ in 0..200 {
            let (width, height) = (1 + random(9), 1 + random(9));
            let (w, h) = (random(width + 1), random(height + 1));
            let (x, y) = (random(width - w + 1), random(height - h + 1));
            let crop = Mask::from_fn(w, h, |_, _| random(3) == 0);
            let inside = |px: u32, py: u32| px >= x && px < x + w && py >= y && py < y + h;
            let whole = Mask::from_fn(width, height, |px, py| inside(px, py) && crop.get(px - x, py - y));
            let placed = Rle::encode_placed(&crop, x, y, width, height).unwrap();
            assert_eq!(placed, Rle::encode(&whole), "{w}×{h} at ({x}, {y}) in {width}×{height}");
            assert_eq!(placed.decode(), whole);
        }
        assert!(Rle::encode_placed(&Mask::new(2, 2), 3, 0, 4, 4).is_err());
        assert_eq!(Rle::encode_placed(&Mask::new(0, 0), 0, 0, 3, 2).unwrap(), Rle::empty(2, 3));
    }

    #[test]
    fn column_major_counts() {
        // 2 rows × 3 columns; row-major [[0, 1, 1], [1, 1, 0]] → column-major 0 1 1 1 1 0.
        let m = Mask::from_bytes(3, 2, vec![0, 1, 1, 1, 1, 0]).unwrap();
        let r = Rle::encode(&m);
        assert_eq!(r.counts, vec![1, 4, 1]);
        assert_eq!((r.height, r.width), (2, 3));
        assert_eq!(r.decode(), m);
        assert_eq!(r.area(), 4);
        assert_eq!(r.bbox(), m.bbox());
        // Foreground first → a 0 background run; empty → [h·w].
        let full = Mask::from_bytes(2, 2, vec![1; 4]).unwrap();
        assert_eq!(Rle::encode(&full).counts, vec![0, 4]);
        assert_eq!(Rle::encode(&Mask::new(3, 2)).counts, vec![6]);
        assert_eq!(Rle::encode(&Mask::new(3, 2)).bbox(), [0, 0, 0, 0]);
    }

    #[test]
    fn pixels_and_crop_come_from_the_runs() {
        // Two parts, one wrapping from the bottom of column 2 to the top of column 3.
        let m = Mask::from_fn(7, 5, |x, y| {
            (x == 2 && y >= 3) || (x == 3 && y <= 1) || (x == 5 && y == 2)
        });
        let r = Rle::encode(&m);
        let mut drawn = Mask::new(7, 5);
        for (x, y) in r.pixels() {
            assert!(!drawn.get(x, y), "({x}, {y}) twice");
            drawn.set(x, y, true);
        }
        assert_eq!(drawn, m);
        let (crop, b) = r.cropped_mask();
        assert_eq!(b, m.bbox());
        assert_eq!(crop, m.crop(b[0], b[1], b[2], b[3]));
        let (empty, b) = Rle::empty(5, 7).cropped_mask();
        assert_eq!((empty.width(), empty.height(), b), (0, 0, [0, 0, 0, 0]));
    }

    #[test]
    fn compressed_strings() {
        // Values checked with pycocotools by hand: counts [6] → "6", [0, 4] → "04".
        let r = Rle::from_parts(2, 3, vec![6]);
        assert_eq!(r.to_compressed(), "6");
        assert_eq!(Rle::from_parts(2, 2, vec![0, 4]).to_compressed(), "04");
        // Large values and negative differences survive a round trip.
        let r = Rle::from_parts(1000, 1000, vec![5, 100_000, 3, 2, 800_000, 99_990]);
        let s = r.to_compressed();
        assert_eq!(Rle::from_compressed(1000, 1000, &s).unwrap(), r);
        assert!(Rle::from_compressed(2, 2, "0\u{7f}").is_err());
        assert!(Rle::from_compressed(2, 2, "9").is_err()); // 9 pixels in a 4-pixel image
        assert_eq!(Rle::from_compressed(2, 2, "1").unwrap().counts, vec![4]);
    }

    #[test]
    fn bbox_spanning_columns() {
        let m = Mask::from_fn(4, 3, |x, y| (x == 1 && y == 2) || (x == 2 && y == 0));
        let r = Rle::encode(&m);
        assert_eq!(r.bbox(), [1, 0, 2, 3]);
        assert_eq!(m.bbox(), [1, 0, 2, 3]);
    }
}
