//! Which array parameters a batch sends on the `unnest` path. When every routed event writes
//! one row into every target ([`Layout::uniform`]: the reviews mapping), the targets' rows
//! line up with the ledger's, so they read the ledger's event ids and one shared input;
//! otherwise routes with the same topic and `when` still line up with each other and share one
//! event-id array. A column filled from the same source with the same values as an earlier
//! one reuses its array. A row's order in its batch is its position in its arrays (`WITH
//! ORDINALITY`), so it is never sent. The reviews mapping sends 11 arrays instead of 17; each
//! array is encoded by the consumer and decoded by Postgres, batch after batch.

use crate::plan::Plan;
use std::collections::HashMap;

/// One array of a batch: a target's event ids or a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// Target `t`'s event ids (joined with the ledger's fresh ids).
    Ids(usize),
    /// Column `c` of target `t`.
    Column(usize, usize),
}

/// The arrays sent, in parameter order after the ledger's four, and the parameter number
/// each slot reads.
#[derive(Debug, Clone)]
pub struct Layout {
    sent: Vec<Slot>,
    number: HashMap<Slot, usize>,
    uniform: bool,
}

/// Parameter `$1` is the ledger's event ids, `$2..$4` its topics, partitions and offsets.
const LEDGER_IDS: usize = 1;
const FIRST: usize = 5;

impl Layout {
    /// The layout of `plan`'s statement.
    pub fn new(plan: &Plan) -> Self {
        let mut layout = Self {
            sent: Vec::new(),
            number: HashMap::new(),
            uniform: plan.uniform(),
        };
        for (t, target) in plan.targets.iter().enumerate() {
            if layout.uniform {
                layout.number.insert(Slot::Ids(t), LEDGER_IDS);
            } else {
                layout.place(Slot::Ids(t), Slot::Ids(plan.lead_of(t)));
            }
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

    /// Every routed event writes one row into every target, in the ledger's order: all the
    /// arrays can be read as one input with the ledger's.
    pub fn uniform(&self) -> bool {
        self.uniform
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
        // Both tables read the ledger's ids; reviews sends its six columns, user_stats only
        // its constant review_count.
        assert!(layout.uniform());
        assert_eq!(layout.sent().len(), 7, "{layout:?}");
        assert_eq!(layout.number(Slot::Ids(0)), 1);
        assert_eq!(layout.number(Slot::Ids(1)), 1);
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
        assert_eq!(column(1, "review_count"), 11);
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
        let layout = Layout::new(&p);
        assert!(!layout.uniform());
        assert_eq!(layout.sent().len(), 4);
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
        let layout = Layout::new(&p);
        assert!(!layout.uniform());
        assert_eq!(layout.sent().len(), 4);
        // Numeric trims what text keeps: equal sources of different types do not share.
        let p = plan(
            "[[route]]\ntable = \"x\"\nmode = \"insert\"\n[route.columns]\na = \"/v\"\nb = \"/v\"",
            &[("x", &["a", "b"])],
            &[("b", ColumnType::Numeric)],
        );
        let layout = Layout::new(&p);
        assert!(layout.uniform(), "one route is uniform");
        assert_eq!(layout.sent().len(), 2);
    }
}
