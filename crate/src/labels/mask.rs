//! A binary mask (row-major, one byte per pixel, 0 or 1), its area and box, 8-connected
//! components, and the set operations the editor's merge (Shift) and erase (Alt) clicks use.

use super::{Result, error};

/// A binary mask, `width × height`, row-major (`index = y · width + x`), one byte per pixel that
/// is 0 (background) or 1 (foreground).
#[derive(Clone, PartialEq, Eq)]
pub struct Mask {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl std::fmt::Debug for Mask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Mask({}×{}, area {})",
            self.width,
            self.height,
            self.area()
        )
    }
}

impl Mask {
    /// An empty (all background) mask.
    pub fn new(width: u32, height: u32) -> Mask {
        Mask {
            width,
            height,
            data: vec![0; width as usize * height as usize],
        }
    }

    /// A mask from row-major bytes; any non-zero byte is foreground.
    pub fn from_bytes(width: u32, height: u32, mut data: Vec<u8>) -> Result<Mask> {
        if data.len() != width as usize * height as usize {
            return Err(error(format!(
                "a {width}×{height} mask needs {} bytes, got {}",
                width as usize * height as usize,
                data.len()
            )));
        }
        for v in &mut data {
            *v = (*v != 0) as u8;
        }
        Ok(Mask {
            width,
            height,
            data,
        })
    }

    /// A mask whose pixel `(x, y)` is `f(x, y)`.
    pub fn from_fn(width: u32, height: u32, mut f: impl FnMut(u32, u32) -> bool) -> Mask {
        let mut data = Vec::with_capacity(width as usize * height as usize);
        for y in 0..height {
            for x in 0..width {
                data.push(f(x, y) as u8);
            }
        }
        Mask {
            width,
            height,
            data,
        }
    }

    /// Foreground where `values[i] > threshold` (e.g. probabilities), row-major.
    pub fn from_threshold(width: u32, height: u32, values: &[f32], threshold: f32) -> Result<Mask> {
        if values.len() != width as usize * height as usize {
            return Err(error(format!(
                "a {width}×{height} mask needs {} values, got {}",
                width as usize * height as usize,
                values.len()
            )));
        }
        let data = values.iter().map(|&v| (v > threshold) as u8).collect();
        Ok(Mask {
            width,
            height,
            data,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The row-major bytes, each 0 or 1.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        self.data[y as usize * self.width as usize + x as usize] != 0
    }

    pub fn set(&mut self, x: u32, y: u32, value: bool) {
        self.data[y as usize * self.width as usize + x as usize] = value as u8;
    }

    /// The number of foreground pixels.
    pub fn area(&self) -> u64 {
        // Bytes are 0 or 1: sum in chunks that cannot overflow a u32.
        self.data
            .chunks(1 << 20)
            .map(|c| c.iter().map(|&v| v as u32).sum::<u32>() as u64)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.data.iter().all(|&v| v == 0)
    }

    /// COCO's box `[x, y, w, h]` of the foreground (`w = x_max − x_min + 1`); `[0, 0, 0, 0]` for
    /// an empty mask, as pycocotools' `toBbox`.
    pub fn bbox(&self) -> [u32; 4] {
        let w = self.width as usize;
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for (y, row) in self.data.chunks(w.max(1)).enumerate() {
            let Some(first) = row.iter().position(|&v| v != 0) else {
                continue;
            };
            let last = row.iter().rposition(|&v| v != 0).unwrap();
            if y0 == usize::MAX {
                y0 = y;
            }
            y1 = y;
            x0 = x0.min(first);
            x1 = x1.max(last);
        }
        if y0 == usize::MAX {
            return [0, 0, 0, 0];
        }
        [
            x0 as u32,
            y0 as u32,
            (x1 - x0 + 1) as u32,
            (y1 - y0 + 1) as u32,
        ]
    }

    fn check_same_size(&self, other: &Mask) -> Result<()> {
        if (self.width, self.height) != (other.width, other.height) {
            return Err(error(format!(
                "masks of different sizes: {}×{} and {}×{}",
                self.width, self.height, other.width, other.height
            )));
        }
        Ok(())
    }

    /// Adds `other`'s foreground to this mask (a Shift-click merge).
    pub fn union_with(&mut self, other: &Mask) -> Result<()> {
        self.check_same_size(other)?;
        self.data
            .iter_mut()
            .zip(&other.data)
            .for_each(|(a, &b)| *a |= b);
        Ok(())
    }

    /// Removes `other`'s foreground from this mask (an Alt-click erase).
    pub fn subtract_with(&mut self, other: &Mask) -> Result<()> {
        self.check_same_size(other)?;
        self.data
            .iter_mut()
            .zip(&other.data)
            .for_each(|(a, &b)| *a &= !b & 1);
        Ok(())
    }

    /// Keeps only the foreground also in `other`.
    pub fn intersect_with(&mut self, other: &Mask) -> Result<()> {
        self.check_same_size(other)?;
        self.data
            .iter_mut()
            .zip(&other.data)
            .for_each(|(a, &b)| *a &= b);
        Ok(())
    }

    pub fn union(&self, other: &Mask) -> Result<Mask> {
        let mut m = self.clone();
        m.union_with(other)?;
        Ok(m)
    }

    pub fn subtract(&self, other: &Mask) -> Result<Mask> {
        let mut m = self.clone();
        m.subtract_with(other)?;
        Ok(m)
    }

    /// Intersection over union; 1 when both are empty.
    pub fn iou(&self, other: &Mask) -> Result<f64> {
        self.check_same_size(other)?;
        let (mut inter, mut union) = (0u64, 0u64);
        for (&a, &b) in self.data.iter().zip(&other.data) {
            inter += (a & b) as u64;
            union += (a | b) as u64;
        }
        Ok(if union == 0 {
            1.0
        } else {
            inter as f64 / union as f64
        })
    }

    /// The pixels in column-major order (`index = x · height + y`), as COCO's RLE counts them.
    pub fn to_column_major(&self) -> Vec<u8> {
        transpose(&self.data, self.width as usize, self.height as usize)
    }

    /// A mask from column-major bytes (any non-zero is foreground).
    pub fn from_column_major(width: u32, height: u32, data: &[u8]) -> Result<Mask> {
        if data.len() != width as usize * height as usize {
            return Err(error("column-major mask data of the wrong length"));
        }
        let mut t = transpose(data, height as usize, width as usize);
        t.iter_mut().for_each(|v| *v = (*v != 0) as u8);
        Ok(Mask {
            width,
            height,
            data: t,
        })
    }

    /// The `w × h` window at `(x, y)` (which must lie inside the mask).
    pub fn crop(&self, x: u32, y: u32, w: u32, h: u32) -> Mask {
        assert!(
            x + w <= self.width && y + h <= self.height,
            "crop outside the mask"
        );
        let mut data = Vec::with_capacity(w as usize * h as usize);
        for row in y..y + h {
            let start = row as usize * self.width as usize + x as usize;
            data.extend_from_slice(&self.data[start..start + w as usize]);
        }
        Mask {
            width: w,
            height: h,
            data,
        }
    }

    /// The 8-connected components of the foreground.
    pub fn components(&self) -> Components {
        Components::of(self)
    }

    /// The instances of this mask: its 8-connected components with at least `min_area` pixels,
    /// in raster order of their first pixel.
    pub fn instances(&self, min_area: u64) -> Vec<Mask> {
        let c = self.components().filter_min_area(min_area);
        (1..=c.count()).map(|l| c.mask(l)).collect()
    }
}

/// Transposes a row-major `rows × cols` array (`cols` wide) into a `cols × rows` one, in tiles so
/// large masks stay cache friendly.
pub(crate) fn transpose<T: Copy + Default>(src: &[T], cols: usize, rows: usize) -> Vec<T> {
    const TILE: usize = 64;
    let mut dst = vec![T::default(); src.len()];
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
    dst
}

/// The 8-connected components of a mask: a label per pixel (0 = background, components 1..=n in
/// raster order of their first pixel), with each component's area and box.
#[derive(Clone, Debug)]
pub struct Components {
    width: u32,
    height: u32,
    labels: Vec<u32>,
    areas: Vec<u64>,
    bboxes: Vec<[u32; 4]>,
}

impl Components {
    /// Run-based two-pass labelling: the foreground runs of each row are unioned with the runs of
    /// the row above that touch them (diagonals included), then every run is filled with its
    /// component's number.
    fn of(mask: &Mask) -> Components {
        let (w, h) = (mask.width as usize, mask.height as usize);
        // Runs: (row, start, end) with end exclusive; row_first[y] = index of row y's first run.
        let mut runs: Vec<(u32, u32, u32)> = Vec::new();
        let mut row_first = Vec::with_capacity(h + 1);
        for y in 0..h {
            row_first.push(runs.len());
            let row = &mask.data[y * w..(y + 1) * w];
            let mut x = 0;
            while x < w {
                if row[x] == 0 {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < w && row[x] != 0 {
                    x += 1;
                }
                runs.push((y as u32, start as u32, x as u32));
            }
        }
        row_first.push(runs.len());

        let mut parent: Vec<u32> = (0..runs.len() as u32).collect();
        fn find(parent: &mut [u32], mut i: u32) -> u32 {
            while parent[i as usize] != i {
                let p = parent[parent[i as usize] as usize];
                parent[i as usize] = p;
                i = p;
            }
            i
        }
        for y in 1..h {
            let (prev, cur) = (
                row_first[y - 1]..row_first[y],
                row_first[y]..row_first[y + 1],
            );
            let mut j = prev.start;
            for i in cur {
                let (_, s, e) = runs[i];
                // Runs above that touch [s − 1, e] (8-connectivity): start ≤ e and end ≥ s.
                while j < prev.end && runs[j].2 < s {
                    j += 1;
                }
                let mut k = j;
                while k < prev.end && runs[k].1 <= e {
                    let (a, b) = (find(&mut parent, i as u32), find(&mut parent, k as u32));
                    if a != b {
                        // The smaller index (earlier in raster order) becomes the root.
                        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                        parent[hi as usize] = lo;
                    }
                    k += 1;
                }
            }
        }

        // Number the roots in raster order; fill the labels.
        let mut label_of_root = vec![0u32; runs.len()];
        let mut areas: Vec<u64> = Vec::new();
        let mut bboxes: Vec<[u32; 4]> = Vec::new(); // x0, y0, x1, y1 (inclusive) while building
        let mut labels = vec![0u32; w * h];
        for (i, &(y, s, e)) in runs.iter().enumerate() {
            let root = find(&mut parent, i as u32) as usize;
            if label_of_root[root] == 0 {
                areas.push(0);
                bboxes.push([u32::MAX, u32::MAX, 0, 0]);
                label_of_root[root] = areas.len() as u32;
            }
            let l = label_of_root[root];
            labels[y as usize * w + s as usize..y as usize * w + e as usize].fill(l);
            areas[l as usize - 1] += (e - s) as u64;
            let b = &mut bboxes[l as usize - 1];
            *b = [b[0].min(s), b[1].min(y), b[2].max(e - 1), b[3].max(y)];
        }
        for b in &mut bboxes {
            *b = [b[0], b[1], b[2] - b[0] + 1, b[3] - b[1] + 1];
        }
        Components {
            width: mask.width,
            height: mask.height,
            labels,
            areas,
            bboxes,
        }
    }

    /// The number of components.
    pub fn count(&self) -> u32 {
        self.areas.len() as u32
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The label of each pixel, row-major: 0 for background, else the component's number.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The area of component `l` is `areas()[l − 1]`.
    pub fn areas(&self) -> &[u64] {
        &self.areas
    }

    /// COCO boxes `[x, y, w, h]`, component `l` at `bboxes()[l − 1]`.
    pub fn bboxes(&self) -> &[[u32; 4]] {
        &self.bboxes
    }

    /// The mask of component `label` (1-based).
    pub fn mask(&self, label: u32) -> Mask {
        let data = self.labels.iter().map(|&l| (l == label) as u8).collect();
        Mask {
            width: self.width,
            height: self.height,
            data,
        }
    }

    /// Component `label`'s mask cropped to its box, with the box: `(mask, [x, y, w, h])`.
    pub fn cropped_mask(&self, label: u32) -> (Mask, [u32; 4]) {
        let b = self.bboxes[label as usize - 1];
        let mut data = Vec::with_capacity(b[2] as usize * b[3] as usize);
        for row in b[1]..b[1] + b[3] {
            let start = row as usize * self.width as usize + b[0] as usize;
            data.extend(
                self.labels[start..start + b[2] as usize]
                    .iter()
                    .map(|&l| (l == label) as u8),
            );
        }
        (
            Mask {
                width: b[2],
                height: b[3],
                data,
            },
            b,
        )
    }

    /// Drops the components smaller than `min_area` pixels and renumbers the rest 1..=n, keeping
    /// their order.
    pub fn filter_min_area(mut self, min_area: u64) -> Components {
        if self.areas.iter().all(|&a| a >= min_area) {
            return self;
        }
        let mut map = vec![0u32; self.areas.len() + 1];
        let (mut areas, mut bboxes) = (Vec::new(), Vec::new());
        for (i, &a) in self.areas.iter().enumerate() {
            if a >= min_area {
                areas.push(a);
                bboxes.push(self.bboxes[i]);
                map[i + 1] = areas.len() as u32;
            }
        }
        self.labels.iter_mut().for_each(|l| *l = map[*l as usize]);
        self.areas = areas;
        self.bboxes = bboxes;
        self
    }

    /// The COCO RLE of every component (index `l − 1`), in one column-major pass.
    pub fn rles(&self) -> Vec<super::Rle> {
        let (w, h) = (self.width as usize, self.height as usize);
        let n = self.areas.len();
        let mut counts: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut end = vec![0usize; n]; // one past the last foreground pixel seen, per component
        let cm = transpose(&self.labels, w, h);
        for (idx, &l) in cm.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let k = l as usize - 1;
            let c = &mut counts[k];
            if end[k] == idx && !c.is_empty() {
                *c.last_mut().unwrap() += 1;
            } else {
                c.push((idx - end[k]) as u32);
                c.push(1);
            }
            end[k] = idx + 1;
        }
        counts
            .into_iter()
            .zip(end)
            .map(|(mut c, e)| {
                if e < w * h {
                    c.push((w * h - e) as u32);
                }
                super::Rle::from_parts(self.height, self.width, c)
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A mask drawn as text rows, `#` on the object (for the module's tests).
    pub(crate) fn parse(rows: &[&str]) -> Mask {
        let h = rows.len() as u32;
        let w = rows[0].len() as u32;
        Mask::from_fn(w, h, |x, y| rows[y as usize].as_bytes()[x as usize] == b'#')
    }

    #[test]
    fn area_and_bbox() {
        let m = parse(&["....", ".##.", "..#.", "...."]);
        assert_eq!(m.area(), 3);
        assert_eq!(m.bbox(), [1, 1, 2, 2]);
        assert_eq!(Mask::new(3, 2).bbox(), [0, 0, 0, 0]);
        assert_eq!(parse(&["#"]).bbox(), [0, 0, 1, 1]);
    }

    #[test]
    fn components_are_8_connected() {
        let m = parse(&[
            "#..##", //
            ".#..#", //
            "....#", //
            "##...", //
            "#..#.",
        ]);
        let c = m.components();
        assert_eq!(c.count(), 4);
        assert_eq!(c.areas(), &[2, 4, 3, 1]);
        assert_eq!(
            c.bboxes(),
            &[[0, 0, 2, 2], [3, 0, 2, 3], [0, 3, 2, 2], [3, 4, 1, 1]]
        );
        // The diagonal touch joins (0,0) and (1,1); a U shape merges late.
        let u = parse(&["#.#", "#.#", "###"]);
        assert_eq!(u.components().count(), 1);
        let v = parse(&["#...#", ".#.#.", "..#.."]);
        assert_eq!(v.components().count(), 1);
        let f = c.filter_min_area(2);
        assert_eq!(f.count(), 3);
        assert_eq!(f.areas(), &[2, 4, 3]);
        assert_eq!(
            f.mask(3),
            parse(&[".....", ".....", ".....", "##...", "#...."])
        );
        assert_eq!(m.instances(3).len(), 2);
        let (crop, b) = f.cropped_mask(2);
        assert_eq!(b, [3, 0, 2, 3]);
        assert_eq!(crop, parse(&["##", ".#", ".#"]));
        assert_eq!(f.mask(2).crop(3, 0, 2, 3), crop);
    }

    #[test]
    fn set_operations() {
        let a = parse(&["##.", "..."]);
        let b = parse(&[".##", "..."]);
        assert_eq!(a.union(&b).unwrap(), parse(&["###", "..."]));
        assert_eq!(a.subtract(&b).unwrap(), parse(&["#..", "..."]));
        assert!((a.iou(&b).unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert!(a.union(&Mask::new(2, 2)).is_err());
    }

    #[test]
    fn column_major_round_trip() {
        let m = parse(&["#..", ".##"]);
        assert_eq!(m.to_column_major(), vec![1, 0, 0, 1, 0, 1]);
        assert_eq!(
            Mask::from_column_major(3, 2, &m.to_column_major()).unwrap(),
            m
        );
    }
}
