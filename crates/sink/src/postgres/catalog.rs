//! What the database says a mapping's tables look like: each column's type and the unique
//! keys, read from the catalog at start, and a route checked against them, so a mapping that
//! cannot work is refused with one message per problem before anything is consumed.

use crate::SinkError;
use std::collections::{BTreeMap, BTreeSet};
use streamsre_mapping::{ColumnSpec, ColumnType, Mapping, Mode, Plan, Route};

/// A table as the catalog describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableShape {
    /// Column name → its type, or the SQL name of a type no JSON value coerces to.
    pub columns: BTreeMap<String, Result<ColumnType, String>>,
    /// Column name → its SQL type as `format_type` prints it.
    pub sql_types: BTreeMap<String, String>,
    /// Columns declared `NOT NULL`.
    pub not_null: BTreeSet<String>,
    /// The column sets of its unique indexes (the primary key included).
    pub unique_keys: Vec<Vec<String>>,
}

impl TableShape {
    /// The columns values can be coerced to, as a plan needs them.
    pub fn specs(&self) -> BTreeMap<String, ColumnSpec> {
        self.columns
            .iter()
            .filter_map(|(name, ty)| {
                Some((
                    name.clone(),
                    ColumnSpec {
                        ty: ty.clone().ok()?,
                        sql_type: self.sql_types[name].clone(),
                        not_null: self.not_null.contains(name),
                    },
                ))
            })
            .collect()
    }
}

/// Why a mapping got no plan.
#[derive(Debug)]
pub enum PlanError {
    /// The catalog could not be read for a reason that may pass (the database restarting, a
    /// connection lost): the caller retries rather than call the mapping wrong.
    Unavailable(SinkError),
    /// The mapping does not fit the tables, or the catalog cannot be read for good (no
    /// permission): one message per problem.
    Rejected(Vec<String>),
}

impl From<SinkError> for PlanError {
    fn from(e: SinkError) -> Self {
        if e.is_retriable() {
            Self::Unavailable(e)
        } else {
            Self::Rejected(vec![format!("reading the catalog: {}", e.reason())])
        }
    }
}

/// Reads every table `mapping` writes, checks each route against it, and joins the two into
/// the plan the consumer runs; otherwise every problem, one message each.
pub async fn plan(client: &tokio_postgres::Client, mapping: &Mapping) -> Result<Plan, PlanError> {
    let mut problems = Vec::new();
    // Each table read once, however many routes write it.
    let mut shapes: BTreeMap<&str, Option<TableShape>> = BTreeMap::new();
    for route in &mapping.routes {
        if !shapes.contains_key(route.table.as_str()) {
            let shape = table_shape(client, &route.table).await?;
            shapes.insert(&route.table, shape);
        }
    }
    for (i, route) in mapping.routes.iter().enumerate() {
        problems.extend(
            check_route(route, shapes[route.table.as_str()].as_ref())
                .into_iter()
                .map(|p| format!("route {} ({}): {p}", i + 1, route.table)),
        );
    }
    let tables = shapes
        .iter()
        .filter_map(|(table, shape)| Some((table.to_string(), shape.as_ref()?.specs())))
        .collect();
    if !problems.is_empty() {
        return Err(PlanError::Rejected(problems));
    }
    Plan::new(mapping, &tables).map_err(|e| PlanError::Rejected(vec![e]))
}

/// Reads `table` (`name` or `schema.name`, as `to_regclass` resolves it); `None` if it does
/// not exist.
pub async fn table_shape(
    client: &tokio_postgres::Client,
    table: &str,
) -> Result<Option<TableShape>, SinkError> {
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let rows = client
        .query(
            "SELECT a.attname::text, t.typname::text, coalesce(e.typname::text, ''),
                    format_type(a.atttypid, a.atttypmod), a.attnotnull
             FROM pg_attribute a
             JOIN pg_type t ON t.oid = a.atttypid
             LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
            &[&table],
        )
        .await?;
    let sql_types = rows.iter().map(|r| (r.get(0), r.get(3))).collect();
    let not_null = rows
        .iter()
        .filter(|r| r.get::<_, bool>(4))
        .map(|r| r.get(0))
        .collect();
    let columns = rows
        .iter()
        .map(|r| {
            let (name, ty, element, shown): (String, String, String, String) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            let mapped = if element.is_empty() {
                scalar(&ty)
            } else {
                scalar(&element).map(|e| ColumnType::Array(Box::new(e)))
            };
            (name, mapped.ok_or(shown))
        })
        .collect();
    let unique_keys = client
        .query(
            "SELECT array_agg(a.attname::text ORDER BY k.ord)
             FROM pg_index i
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = to_regclass($1) AND i.indisunique
             GROUP BY i.indexrelid",
            &[&table],
        )
        .await?
        .iter()
        .map(|r| r.get::<_, Vec<String>>(0))
        .collect();
    Ok(Some(TableShape {
        columns,
        sql_types,
        not_null,
        unique_keys,
    }))
}

/// The column type for a catalog type name, if JSON values can be coerced to it.
fn scalar(typname: &str) -> Option<ColumnType> {
    Some(match typname {
        "text" | "varchar" | "bpchar" | "name" => ColumnType::Text,
        "int2" => ColumnType::Int2,
        "int4" => ColumnType::Int4,
        "int8" => ColumnType::Int8,
        "numeric" => ColumnType::Numeric,
        "float4" | "float8" => ColumnType::Float,
        "bool" => ColumnType::Bool,
        "uuid" => ColumnType::Uuid,
        "timestamptz" => ColumnType::Timestamptz,
        "jsonb" | "json" => ColumnType::Jsonb,
        _ => return None,
    })
}

/// Every problem with `route` against its table (`None`: the table does not exist).
pub fn check_route(route: &Route, shape: Option<&TableShape>) -> Vec<String> {
    let Some(shape) = shape else {
        return vec![format!("table {} does not exist", route.table)];
    };
    let mut problems = Vec::new();
    for (column, _) in &route.columns {
        match shape.columns.get(column) {
            None => problems.push(format!("{} has no column {column}", route.table)),
            Some(Err(sql_type)) => problems.push(format!(
                "{}.{column} is {sql_type}, which no JSON value can be coerced to",
                route.table
            )),
            Some(Ok(_)) => {}
        }
    }
    if route.mode != Mode::Insert {
        let mut key = route.key.clone();
        key.sort();
        let unique = shape.unique_keys.iter().any(|u| {
            let mut u = u.clone();
            u.sort();
            u == key
        });
        if !unique {
            problems.push(format!(
                "key {:?} is not a unique constraint of {} (unique keys: {:?})",
                route.key, route.table, shape.unique_keys
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection lost while reading the catalog is retried by the consumer; only a
    /// permanent failure (no permission) is reported as a problem with the mapping (exit 2).
    #[test]
    fn a_transient_catalog_failure_is_not_a_mapping_problem() {
        let lost = PlanError::from(SinkError::retriable("connection closed"));
        assert!(matches!(lost, PlanError::Unavailable(_)), "{lost:?}");
        let denied = PlanError::from(SinkError::permanent("42501: permission denied"));
        let PlanError::Rejected(problems) = denied else {
            panic!("{denied:?}")
        };
        assert_eq!(problems, ["reading the catalog: 42501: permission denied"]);
    }
}
