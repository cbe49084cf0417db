//! Which array parameters a batch sends on the `unnest` path. Routes with the same topic and
//! `when` take the same events, so their targets' rows line up one to one: such targets share
//! one event-id and one order array, and a column filled from the same source with the same
//! values as an earlier one reuses its array. The reviews mapping sends 13 arrays instead of
//! 17; each array is encoded by the consumer and decoded by Postgres, batch after batch.

use crate::plan::Plan;
use std::collections::HashMap;

/// One array of a batch: a target's event ids, its rows' order in the batch, or a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// Target `t`'s event ids (joined with the ledger's fresh ids).
    Ids(usize),
    /// Target `t`'s rows' positions in the batch.
    Ords(usize),
    /// Column `c` of target `t`.
    Column(usize, usize),
}

/// The arrays sent, in parameter order after the ledger's four, and the parameter number
/// each slot reads.
#[derive(Debug, Clone)]
pub struct Layout {
    sent: Vec<Slot>,
    number: HashMap<Slot, usize>,
}

/// Parameters `$1..$4` are the ledger's arrays.
const FIRST: usize = 5;

impl Layout {
    /// The layout of `plan`'s statement.
    pub fn new(plan: &Plan) -> Self {
        let mut layout = Self {
            sent: Vec::new(),
            number: HashMap::new(),
        };
        for (t, target) in plan.targets.iter().enumerate() {
            let lead = plan.lead_of(t);
            layout.place(Slot::Ids(t), Slot::Ids(lead));
            layout.place(Slot::Ords(t), Slot::Ords(lead));
            for c in 0..target.columns.len() {
                let owner = plan
                    .same_values(t, c)
                    .map_or(Slot::Column(t, c), |(a, b)| Slot::Column(a, b));
                layout.place(Slot::Column(t, c), owner);
            }
        }
        layout
    }

    /// `slot` reads `owner`'s parameter; a slot that owns itself gets the next number.
    fn place(&mut self, slot: Slot, owner: Slot) {
        let number = match self.number.get(&owner) {
            Some(&n) if owner != slot => n,
            _ => {
                self.sent.push(slot);
                FIRST + self.sent.len() - 1
            }
        };
        self.number.insert(slot, number);
    }

    /// The arrays a batch sends after the ledger's, in order.
    pub fn sent(&self) -> &[Slot] {
        &self.sent
    }

    /// The parameter number (`$n`) `slot` reads.
    pub fn number(&self, slot: Slot) -> usize {
        self.number[&slot]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coerce::ColumnType;
    use crate::file::parse;
    use crate::plan::ColumnSpec;
    use std::collections::BTreeMap;

    /// Every column of `tables` as `ty`, except those named in `typed`.
    fn plan(text: &str, tables: &[(&str, &[&str])], typed: &[(&str, ColumnType)]) -> Plan {
        let catalog = tables
            .iter()
            .map(|(table, columns)| {
                let columns = columns
                    .iter()
                    .map(|c| {
                        let ty = typed
                            .iter()
                            .find(|(n, _)| n == c)
                            .map_or(ColumnType::Text, |(_, t)| t.clone());
                        let spec = ColumnSpec {
                            ty,
                            sql_type: "text".into(),
                            not_null: false,
                        };
                        (c.to_string(), spec)
                    })
                    .collect::<BTreeMap<_, _>>();
                (table.to_string(), columns)
            })
            .collect();
        Plan::new(&parse(text).unwrap(), &catalog).unwrap()
    }

    #[test]
    fn the_reviews_mapping_shares_ids_orders_and_equal_columns() {
        let plan = plan(
            crate::REVIEWS_MAPPING,
            &[
                (
                    "reviews",
                    &[
                        "review_id",
                        "event_id",
                        "user_key",
                        "rating",
                        "text",
                        "created_at",
                    ],
                ),
                ("user_stats", &["user_key", "review_count", "rating_sum"]),
            ],
            &[
                ("rating", ColumnType::Int2),
                ("rating_sum", ColumnType::Int8),
                ("review_count", ColumnType::Int8),
            ],
        );
        let layout = Layout::new(&plan);
        // reviews: ids, ords and six columns; user_stats only its constant review_count.
        assert_eq!(layout.sent().len(), 9, "{layout:?}");
        assert_eq!(layout.number(Slot::Ids(1)), layout.number(Slot::Ids(0)));
        assert_eq!(layout.number(Slot::Ords(1)), layout.number(Slot::Ords(0)));
        let column = |t: usize, name: &str| {
            let c = plan.targets[t]
                .columns
                .iter()
                .position(|(n, _)| n == name)
                .unwrap();
            layout.number(Slot::Column(t, c))
        };
        assert_eq!(column(1, "user_key"), column(0, "user_key"));
        assert_eq!(
            column(1, "rating_sum"),
            column(0, "rating"),
            "integers share"
        );
        assert_eq!(column(1, "review_count"), 13);
    }

    #[test]
    fn routes_that_take_different_events_share_nothing() {
        let two_filters = r#"
[[route]]
when = { "/t" = ["a"] }
table = "x"
mode = "insert"
[route.columns]
k = "/k"
[[route]]
when = { "/t" = ["b"] }
table = "y"
mode = "insert"
[route.columns]
k = "/k"
"#;
        let p = plan(two_filters, &[("x", &["k"]), ("y", &["k"])], &[]);
        assert_eq!(Layout::new(&p).sent().len(), 6);
        // Same filter, but y is written by two routes: its rows do not line up with x's.
        let shared_target = r#"
[[route]]
table = "x"
mode = "insert"
[route.columns]
k = "/k"
[[route]]
table = "y"
mode = "insert"
[route.columns]
k = "/k"
[[route]]
when = { "/t" = ["b"] }
table = "y"
mode = "insert"
[route.columns]
k = "/j"
"#;
        let p = plan(shared_target, &[("x", &["k"]), ("y", &["k"])], &[]);
        assert_eq!(Layout::new(&p).sent().len(), 6);
        // Numeric trims what text keeps: equal sources of different types do not share.
        let p = plan(
            "[[route]]\ntable = \"x\"\nmode = \"insert\"\n[route.columns]\na = \"/v\"\nb = \"/v\"",
            &[("x", &["a", "b"])],
            &[("b", ColumnType::Numeric)],
        );
        assert_eq!(Layout::new(&p).sent().len(), 4);
    }
}
