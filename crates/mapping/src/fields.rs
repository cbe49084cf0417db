//! The parts of an event a mapping reads, picked out while the event is parsed. Every pointer
//! a plan uses (`when` filters, dedup ids, columns) goes into one tree of wanted keys; the
//! parser keeps the values where a pointer ends and skips the rest without building it, the
//! way a derived `Deserialize` reads a known struct. Routing then takes each field by its slot
//! instead of searching the document once per pointer, which, with the tree of members the
//! document no longer needs, was a third of the generic path's cost over the review decoder
//! (`route_512b` in `benches/route.rs`).
//!
//! A document already in memory (a decoded Avro record, a test's value) gives the same fields
//! by lookup ([`Wanted::lookup`]); the fuzz target checks that both ways agree.

use crate::doc::Doc;
use crate::pointer::{array_index, Pointer};
use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// The tree of keys a plan reads, planned once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wanted {
    /// Node 0 is the whole document.
    nodes: Vec<Node>,
    slots: usize,
}

#[derive(Debug, Clone, Default)]
struct Node {
    children: Vec<Child>,
    /// Where this node's value is kept, when a pointer ends here.
    slot: Option<usize>,
    /// The slots of this node and of everything under it: slots number the tree in preorder,
    /// so they are contiguous.
    below: Range<usize>,
    /// A pointer ends here (slots are given once the tree is complete).
    wanted: bool,
}

#[derive(Debug, Clone)]
struct Child {
    token: String,
    /// The token as an array index, if it is one.
    index: Option<usize>,
    node: usize,
}

/// One event's fields: per slot, what its pointer found (`None`: nothing there).
#[derive(Debug, Clone, PartialEq)]
pub struct Fields<'a> {
    values: Vec<Option<Doc<'a>>>,
}

impl<'a> Fields<'a> {
    /// The value in `slot`.
    pub(crate) fn get(&self, slot: usize) -> Option<&Doc<'a>> {
        self.values.get(slot).and_then(Option::as_ref)
    }
}

impl Drop for Fields<'_> {
    /// Most fields are borrowed strings, numbers or nothing, which own no memory, yet dropping
    /// the list calls `Doc`'s drop (out of line, as it recurses) once per slot; deciding here,
    /// inline, what needs it took that cost off every read event (`route_cost`).
    fn drop(&mut self) {
        for value in self.values.drain(..) {
            match value {
                None | Some(Doc::Null | Doc::Bool(_) | Doc::String(Cow::Borrowed(_))) => {
                    std::mem::forget(value)
                }
                // A number owns text only with serde_json's `arbitrary_precision`.
                Some(Doc::Number(_)) if !std::mem::needs_drop::<serde_json::Number>() => {
                    std::mem::forget(value)
                }
                _ => drop(value),
            }
        }
    }
}

impl Wanted {
    /// The tree of `pointers`.
    pub(crate) fn new<'p>(pointers: impl IntoIterator<Item = &'p Pointer>) -> Self {
        let mut wanted = Self {
            nodes: vec![Node::default()],
            slots: 0,
        };
        for pointer in pointers {
            let mut at = 0;
            for token in pointer.tokens() {
                at = match wanted.nodes[at].children.iter().find(|c| c.token == *token) {
                    Some(child) => child.node,
                    None => {
                        wanted.nodes.push(Node::default());
                        let node = wanted.nodes.len() - 1;
                        wanted.nodes[at].children.push(Child {
                            token: token.clone(),
                            index: array_index(token),
                            node,
                        });
                        node
                    }
                };
            }
            wanted.nodes[at].wanted = true;
        }
        wanted.number(0);
        wanted
    }

    /// Gives slots to `n` and the nodes under it, in preorder.
    fn number(&mut self, n: usize) {
        let first = self.slots;
        if self.nodes[n].wanted {
            self.nodes[n].slot = Some(self.slots);
            self.slots += 1;
        }
        for i in 0..self.nodes[n].children.len() {
            self.number(self.nodes[n].children[i].node);
        }
        self.nodes[n].below = first..self.slots;
    }

    /// The slot `pointer` is kept in; it must be one the tree was made from.
    pub(crate) fn slot(&self, pointer: &Pointer) -> usize {
        let end = pointer.tokens().iter().fold(0, |at, token| {
            self.nodes[at]
                .children
                .iter()
                .find(|c| c.token == *token)
                .expect("a pointer of the plan")
                .node
        });
        self.nodes[end].slot.expect("a pointer of the plan")
    }

    /// One `None` per slot, each written as it is rather than cloned from a first one (as
    /// `vec![None; n]` does, which showed in the planned reader's profile).
    fn empty<'a>(&self) -> Vec<Option<Doc<'a>>> {
        let mut values = Vec::with_capacity(self.slots);
        values.resize_with(self.slots, || None);
        values
    }

    /// The fields of a document already in memory, found as [`Pointer::get`] finds them.
    pub(crate) fn lookup<'a>(&self, doc: &Doc<'a>) -> Fields<'a> {
        let mut values = self.empty();
        self.fill(0, doc, &mut values);
        Fields { values }
    }

    /// Fills the slots of node `n`, whose value is `doc`, and of the nodes under it.
    fn fill<'a>(&self, n: usize, doc: &Doc<'a>, out: &mut [Option<Doc<'a>>]) {
        self.fill_below(n, doc, out);
        if let Some(slot) = self.nodes[n].slot {
            out[slot] = Some(doc.clone());
        }
    }

    /// Fills the slots of the nodes under `n`, whose value is `doc`.
    fn fill_below<'a>(&self, n: usize, doc: &Doc<'a>, out: &mut [Option<Doc<'a>>]) {
        for child in &self.nodes[n].children {
            let found = match doc {
                Doc::Object(_) => doc.member(&child.token),
                Doc::Array(items) => child.index.and_then(|i| items.get(i)),
                _ => None,
            };
            if let Some(value) = found {
                self.fill(child.node, value, out);
            }
        }
    }

    /// Reads the fields straight from a deserializer (JSON text, a `serde_json::Value`).
    pub(crate) fn read<'de, D: Deserializer<'de>>(&self, d: D) -> Result<Fields<'de>, D::Error> {
        let mut values = self.empty();
        Read {
            wanted: self,
            node: 0,
            out: &mut values,
        }
        .deserialize(d)?;
        Ok(Fields { values })
    }
}

/// Visitor methods accepting every JSON scalar and keeping nothing: where a pointer goes on
/// below a scalar, it finds nothing, as [`Pointer::get`] does.
macro_rules! scalars_are_skipped {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_none<E>(self) -> Result<(), E> {
            Ok(())
        }
    };
}

/// Reads the value at one node of the tree into the slots under it.
struct Read<'w, 'o, 'a> {
    wanted: &'w Wanted,
    node: usize,
    out: &'o mut [Option<Doc<'a>>],
}

impl<'de> DeserializeSeed<'de> for Read<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let node = &self.wanted.nodes[self.node];
        if !node.children.is_empty() {
            // A key given twice counts by its last occurrence, as in a document: forget what
            // an earlier one left under this node. (A leaf's slot is simply overwritten.)
            self.out[node.below.clone()]
                .iter_mut()
                .for_each(|v| *v = None);
        }
        match node.slot {
            Some(slot) => {
                let doc = Doc::deserialize(d)?;
                if !node.children.is_empty() {
                    // Kept whole (a jsonb column, say); pointers below it read the copy.
                    self.wanted.fill_below(self.node, &doc, self.out);
                }
                self.out[slot] = Some(doc);
                Ok(())
            }
            None => d.deserialize_any(self),
        }
    }
}

/// A node no pointer ends at: only containers matter, and only their wanted members.
impl<'de> Visitor<'de> for Read<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    scalars_are_skipped!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let children = &self.wanted.nodes[self.node].children;
        for i in 0.. {
            let more = match children.iter().find(|c| c.index == Some(i)) {
                Some(child) => seq
                    .next_element_seed(Read {
                        wanted: self.wanted,
                        node: child.node,
                        out: &mut *self.out,
                    })?
                    .is_some(),
                None => seq.next_element_seed(Skip)?.is_some(),
            };
            if !more {
                break;
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let children = &self.wanted.nodes[self.node].children;
        while let Some(child) = map.next_key_seed(ChildKey(children))? {
            let Some(node) = child else {
                map.next_value_seed(Skip)?;
                continue;
            };
            match &self.wanted.nodes[node] {
                // A pointer ends here and none goes further: the value is kept whole, read
                // here rather than through another `Read` (most fields are such leaves).
                Node {
                    slot: Some(slot),
                    children,
                    ..
                } if children.is_empty() => self.out[*slot] = Some(map.next_value()?),
                _ => map.next_value_seed(Read {
                    wanted: self.wanted,
                    node,
                    out: &mut *self.out,
                })?,
            }
        }
        Ok(())
    }
}

/// A value no pointer reaches, parsed as strictly as a document would be (`IgnoredAny` lets
/// through what a document refuses, such as a lone surrogate `\ud800` or `1e400`) but not kept:
/// a borrowed string or a number costs no allocation.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    scalars_are_skipped!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

/// An object key, read as the child node it names (`None`: not wanted), without keeping it.
struct ChildKey<'w>(&'w [Child]);

impl<'de> DeserializeSeed<'de> for ChildKey<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for ChildKey<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        let key = key.as_bytes();
        Ok(self
            .0
            .iter()
            .find(|c| same_key(c.token.as_bytes(), key))
            .map(|c| c.node))
    }
}

/// `a == b`, without a call to `memcmp` for keys of up to 16 bytes (most object keys): two
/// overlapping loads from each end cover every byte. Every key of every event is compared
/// with the wanted ones, and the calls showed in the planned reader's profile.
#[inline]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap());
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap());
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests;
