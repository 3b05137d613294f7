//! Range-based set reconciliation over (document id, heads).
//!
//! Each side holds its set sorted by document id. A range's fingerprint is BLAKE3 over the sum
//! modulo 2²⁵⁶ of its items' hashes and its count (the sum is order-independent and, unlike XOR,
//! cannot be forged by cancelling pairs). The querier sends fingerprints of ranges; the answerer
//! compares each with its own: equal ranges are done, small mismatched ranges are answered with
//! their documents (offered like feed entries), large ones are split into `branch` sub-ranges
//! whose fingerprints go back. One difference among n items costs about log_branch(n / leaf)
//! round trips and a few hundred bytes per round, never a listing of the set.

use crate::wire::{DocHeads, RangeFp};

/// An item's hash: its id and its sorted heads.
pub fn item_hash(doc: &DocHeads) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&(doc.doc.len() as u64).to_le_bytes());
    h.update(doc.doc.as_bytes());
    let mut heads = doc.heads.clone();
    heads.sort();
    for head in &heads {
        h.update(&head.0);
    }
    *h.finalize().as_bytes()
}

/// Adds `b` to `acc` modulo 2²⁵⁶ (both little-endian).
fn add256(acc: &mut [u8; 32], b: &[u8; 32]) {
    let mut carry = 0u16;
    for i in 0..32 {
        let s = u16::from(acc[i]) + u16::from(b[i]) + carry;
        acc[i] = (s & 0xff) as u8;
        carry = s >> 8;
    }
}

/// One side's set, sorted by document id, with each item's hash.
#[derive(Debug, Default)]
pub struct ReconSet {
    items: Vec<(DocHeads, [u8; 32])>,
}

/// A range's summary on one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub count: u64,
    pub fp: [u8; 16],
    start: usize,
    end: usize,
}

impl ReconSet {
    /// Builds the set; duplicates of a document id keep the first.
    pub fn new(mut docs: Vec<DocHeads>) -> ReconSet {
        docs.sort_by(|a, b| a.doc.cmp(&b.doc));
        docs.dedup_by(|a, b| a.doc == b.doc);
        ReconSet {
            items: docs
                .into_iter()
                .map(|d| {
                    let h = item_hash(&d);
                    (d, h)
                })
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn bounds(&self, lo: &str, hi: Option<&str>) -> (usize, usize) {
        let start = self.items.partition_point(|(d, _)| d.doc.as_str() < lo);
        let end = match hi {
            Some(h) => self.items.partition_point(|(d, _)| d.doc.as_str() < h),
            None => self.items.len(),
        };
        (start, end.max(start))
    }

    /// The count and fingerprint of `[lo, hi)`.
    pub fn summarize(&self, lo: &str, hi: Option<&str>) -> Summary {
        let (start, end) = self.bounds(lo, hi);
        let mut sum = [0u8; 32];
        for (_, h) in &self.items[start..end] {
            add256(&mut sum, h);
        }
        let count = (end - start) as u64;
        let mut h = blake3::Hasher::new();
        h.update(&sum);
        h.update(&count.to_le_bytes());
        let mut fp = [0u8; 16];
        fp.copy_from_slice(&h.finalize().as_bytes()[..16]);
        Summary { count, fp, start, end }
    }

    /// The range as a message element.
    pub fn range(&self, lo: &str, hi: Option<&str>) -> RangeFp {
        let s = self.summarize(lo, hi);
        RangeFp { lo: lo.to_string(), hi: hi.map(str::to_string), count: s.count, fp: s.fp }
    }

    /// The documents of a summarised range.
    pub fn docs(&self, s: &Summary) -> impl Iterator<Item = &DocHeads> {
        self.items[s.start..s.end].iter().map(|(d, _)| d)
    }

    /// Splits a summarised range into at most `branch` sub-ranges of about equal count, each
    /// with this side's fingerprint. The sub-ranges cover `[lo, hi)` exactly.
    pub fn split(&self, lo: &str, hi: Option<&str>, s: &Summary, branch: usize) -> Vec<RangeFp> {
        let n = s.end - s.start;
        let parts = branch.clamp(2, n.max(2));
        let mut bounds: Vec<String> = Vec::with_capacity(parts + 1);
        bounds.push(lo.to_string());
        for k in 1..parts {
            let at = s.start + n * k / parts;
            let id = &self.items[at].0.doc;
            if bounds.last().is_some_and(|b| b.as_str() < id.as_str()) {
                bounds.push(id.clone());
            }
        }
        let mut out = Vec::with_capacity(bounds.len());
        for (i, b) in bounds.iter().enumerate() {
            let next = bounds.get(i + 1).map(String::as_str).or(hi);
            out.push(self.range(b, next));
        }
        out
    }
}

/// The result of comparing a peer's range with ours.
#[derive(Debug, PartialEq, Eq)]
pub enum Compare {
    /// Same count and fingerprint: nothing to do.
    Equal,
    /// We hold nothing there.
    Empty,
    /// Different: our summary.
    Differs(Summary),
}

impl ReconSet {
    pub fn compare(&self, theirs: &RangeFp) -> Compare {
        let ours = self.summarize(&theirs.lo, theirs.hi.as_deref());
        if ours.count == theirs.count && ours.fp == theirs.fp {
            Compare::Equal
        } else if ours.count == 0 {
            Compare::Empty
        } else {
            Compare::Differs(ours)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Hash;

    fn doc(id: &str, v: u8) -> DocHeads {
        DocHeads { doc: id.to_string(), heads: vec![Hash([v; 32])], scope: None }
    }

    #[test]
    fn equal_sets_have_equal_fingerprints_whatever_the_input_order() {
        let a = ReconSet::new((0..100).map(|i| doc(&format!("d{i:03}"), 1)).collect());
        let b = ReconSet::new((0..100).rev().map(|i| doc(&format!("d{i:03}"), 1)).collect());
        assert_eq!(a.range("", None), b.range("", None));
        let mut c = (0..100).map(|i| doc(&format!("d{i:03}"), 1)).collect::<Vec<_>>();
        c[50].heads = vec![Hash([2; 32])];
        assert_ne!(a.range("", None), ReconSet::new(c).range("", None));
    }

    #[test]
    fn split_covers_the_range_exactly() {
        let a = ReconSet::new((0..1000).map(|i| doc(&format!("d{i:04}"), 1)).collect());
        let s = a.summarize("d0100", Some("d0900"));
        assert_eq!(s.count, 800);
        let parts = a.split("d0100", Some("d0900"), &s, 16);
        assert_eq!(parts.len(), 16);
        assert_eq!(parts[0].lo, "d0100");
        assert_eq!(parts[15].hi.as_deref(), Some("d0900"));
        for w in parts.windows(2) {
            assert_eq!(w[0].hi.as_deref(), Some(w[1].lo.as_str()));
        }
        assert_eq!(parts.iter().map(|p| p.count).sum::<u64>(), 800);
    }

    #[test]
    fn split_of_a_tiny_range_still_terminates() {
        let a = ReconSet::new(vec![doc("x", 1)]);
        let s = a.summarize("", None);
        let parts = a.split("", None, &s, 16);
        assert_eq!(parts.iter().map(|p| p.count).sum::<u64>(), 1);
    }
}
