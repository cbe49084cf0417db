//! Which array parameters a batch sends on the `unnest` path. When every routed event writes
//! one row into every target ([`Layout::uniform`]: the reviews mapping), the targets' rows
//! line up with the ledger's, so they read the ledger's event ids and one shared input;
//! otherwise routes with the same topic and `when` still line up with each other and share one
//! event-id array. A column filled from the same source with the same values as an earlier
//! one reuses its array; a column that always holds its row's ledger id reads the event ids;
//! a constant is written into the statement. A row's order in its batch is its position in its
//! arrays (`WITH ORDINALITY`), so it is never sent. The reviews mapping sends 9 arrays instead
//! of 17; each array is encoded by the consumer and decoded by Postgres, batch after batch.

use crate::plan::Plan;
use crate::sql::literal;
use std::collections::HashMap;

/// One array of a batch: a target's event ids or a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// Target `t`'s event ids (joined with the ledger's fresh ids).
    Ids(usize),
    /// Column `c` of target `t`.
    Column(usize, usize),
}

/// Where the statement reads a column's values from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feed {
    /// Array parameter `$n`.
    Array(usize),
    /// The row's event id: the ledger's, or its target's id array.
    EventId,
    /// One value for every row, written into the statement as this SQL literal.
    Constant(String),
}

/// The arrays sent, in parameter order after the ledger's four, and the parameter number
/// each slot reads.
#[derive(Debug, Clone)]
pub struct Layout {
    sent: Vec<Slot>,
    number: HashMap<Slot, usize>,
    constants: HashMap<(usize, usize), String>,
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
            constants: HashMap::new(),
            uniform: plan.uniform(),
        };
        for (t, target) in plan.targets.iter().enumerate() {
            if layout.uniform {
                layout.number.insert(Slot::Ids(t), LEDGER_IDS);
            } else {
                layout.place(Slot::Ids(t), Slot::Ids(plan.lead_of(t)));
            }
            for (c, (_, spec)) in target.columns.iter().enumerate() {
                let spelled = plan.constant(t, c).and_then(|v| literal(v, &spec.ty));
                if let Some(sql) = spelled {
                    layout.constants.insert((t, c), sql);
                    continue;
                }
                if plan.is_ledger_id(t, c) {
                    let ids = layout.number[&Slot::Ids(t)];
                    layout.number.insert(Slot::Column(t, c), ids);
                    continue;
                }
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

    /// The parameter number (`$n`) `slot` reads; a column's only when [`Layout::feed`] says
    /// it reads an array.
    pub fn number(&self, slot: Slot) -> usize {
        self.number[&slot]
    }

    /// Where column `c` of target `t` is read from.
    pub fn feed(&self, t: usize, c: usize) -> Feed {
        if let Some(sql) = self.constants.get(&(t, c)) {
            return Feed::Constant(sql.clone());
        }
        match self.number(Slot::Column(t, c)) {
            n if n == self.number(Slot::Ids(t)) => Feed::EventId,
            n => Feed::Array(n),
        }
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
                ("event_id", ColumnType::Uuid),
            ],
        );
        let layout = Layout::new(&plan);
        // Both tables read the ledger's ids; reviews sends five of its six columns (event_id
        // is the ledger id), user_stats none (its review_count is a constant).
        assert!(layout.uniform());
        assert_eq!(layout.sent().len(), 5, "{layout:?}");
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
        let feed = |t: usize, name: &str| {
            layout.feed(
                t,
                plan.targets[t]
                    .columns
                    .iter()
                    .position(|(n, _)| n == name)
                    .unwrap(),
            )
        };
        assert_eq!(feed(0, "event_id"), Feed::EventId);
        assert_eq!(feed(1, "review_count"), Feed::Constant("'1'::int8".into()));
        assert_eq!(feed(0, "rating"), Feed::Array(column(0, "rating")));
    }

    #[test]
    fn a_uuid_column_reads_the_event_ids_only_when_every_route_dedups_by_its_pointer() {
        let mapping = |second: &str| {
            format!(
                "[[route]]\ntable = \"x\"\nmode = \"insert\"\ndedup_id = \"/id\"\n\
                 [route.columns]\nk = \"/id\"\n\
                 [[route]]\nwhen = {{ \"/t\" = [\"b\"] }}\ntable = \"y\"\nmode = \"insert\"\n{second}\
                 [route.columns]\nk = \"/id\"\n"
            )
        };
        let uuid = [("k", ColumnType::Uuid)];
        let tables: &[(&str, &[&str])] = &[("x", &["k"]), ("y", &["k"])];
        let same = plan(&mapping("dedup_id = \"/id\"\n"), tables, &uuid);
        let layout = Layout::new(&same);
        assert_eq!(layout.feed(0, 0), Feed::EventId);
        assert_eq!(layout.feed(1, 0), Feed::EventId, "its own id array");
        assert_eq!(layout.sent(), [Slot::Ids(0), Slot::Ids(1)]);
        // y's events are deduplicated by /id when x takes them too, by their position when
        // not: its k is not always the ledger id, and neither is x's once pointers differ.
        let other = plan(&mapping("dedup_id = \"/other\"\n"), tables, &uuid);
        let layout = Layout::new(&other);
        assert!(matches!(layout.feed(0, 0), Feed::Array(_)));
        assert!(matches!(layout.feed(1, 0), Feed::Array(_)));
        let none = plan(&mapping(""), tables, &uuid);
        assert!(matches!(Layout::new(&none).feed(1, 0), Feed::Array(_)));
        // Text read from the dedup pointer is not parsed, so it is its own array.
        let text = plan(&mapping("dedup_id = \"/id\"\n"), tables, &[]);
        assert!(matches!(Layout::new(&text).feed(0, 0), Feed::Array(_)));
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
