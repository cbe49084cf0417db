//! The rows one event becomes: one per route it matched, each already coerced to its table's
//! columns. All of an event's values share one buffer, so routing makes one allocation per
//! event rather than one per row plus one for the list of rows (the review event writes two
//! rows; the allocations showed in the `route_512b` profile).

use crate::coerce::Typed;
use smallvec::SmallVec;

/// An event's rows, in route order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    values: Vec<Typed>,
    /// Per row: its target and where its values end in `values`.
    ends: SmallVec<[(usize, usize); 4]>,
}

/// One row for one target, values in [`crate::Target::columns`] order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    /// Index into [`crate::Plan::targets`].
    pub target: usize,
    /// The coerced values.
    pub values: &'a [Typed],
}

impl Rows {
    /// Room for `values` values in all.
    pub(crate) fn with_capacity(values: usize) -> Self {
        Self {
            values: Vec::with_capacity(values),
            ends: SmallVec::new(),
        }
    }

    /// Adds a value to the row being built.
    pub(crate) fn push(&mut self, value: Typed) {
        self.values.push(value);
    }

    /// Ends the row being built: its values are those pushed since the last row ended.
    pub(crate) fn end_row(&mut self, target: usize) {
        self.ends.push((target, self.values.len()));
    }

    /// The rows, in route order.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&(target, end)| {
            let values = &self.values[start..end];
            start = end;
            Row { target, values }
        })
    }

    /// The same rows with each [`Typed::Span`] copied out of `message` as text: what routing
    /// the event without keeping its message gives (tests and the fuzz target compare both).
    pub fn copied_from(&self, message: &[u8]) -> Rows {
        let values = self
            .values
            .iter()
            .map(|v| match v {
                Typed::Span(range) => {
                    Typed::Text(String::from_utf8_lossy(&message[range.clone()]).into_owned())
                }
                other => other.clone(),
            })
            .collect();
        Rows {
            values,
            ends: self.ends.clone(),
        }
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl Drop for Rows {
    /// Most values own no memory, yet dropping the list calls `Typed`'s drop (out of line, as
    /// it recurses through arrays) once per value; deciding here, inline, what needs it took
    /// that cost off every routed event (`route_cost`).
    fn drop(&mut self) {
        for value in self.values.drain(..) {
            // Only the variants known to own nothing are skipped: one added later is dropped.
            match value {
                Typed::Null
                | Typed::Int(_)
                | Typed::Float(_)
                | Typed::Bool(_)
                | Typed::Uuid(_)
                | Typed::Timestamp(_)
                | Typed::Span(_) => std::mem::forget(value),
                _ => drop(value),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_own_values_and_targets() {
        let mut rows = Rows::with_capacity(3);
        assert!(rows.is_empty());
        rows.push(Typed::Int(1));
        rows.push(Typed::Null);
        rows.end_row(1);
        rows.end_row(2);
        rows.push(Typed::Bool(true));
        rows.end_row(0);
        assert_eq!(rows.len(), 3);
        let got: Vec<Row<'_>> = rows.iter().collect();
        assert_eq!(
            got,
            [
                Row {
                    target: 1,
                    values: &[Typed::Int(1), Typed::Null]
                },
                Row {
                    target: 2,
                    values: &[]
                },
                Row {
                    target: 0,
                    values: &[Typed::Bool(true)]
                },
            ]
        );
    }
}
