//! Planning: a mapping joined with the column types the catalog reported, once at start.
//! Everything routing can decide without an event is decided here (each route's target and
//! column sources, constants coerced once, routes that share a verdict, the tree of wanted
//! fields and each pointer's slot in it), so the per-event path in `plan.rs` only looks up.

use super::{ColumnSpec, Fill, Plan, PlannedRoute, Target};
use crate::coerce::{coerce, ColumnType, Typed};
use crate::doc::Doc;
use crate::fields::Wanted;
use crate::file::{Mapping, Source};
use std::collections::BTreeMap;

impl Plan {
    /// Joins `mapping` with each table's columns (`columns[table][column]`); the caller has
    /// checked the routes against the catalog, so a missing entry is a bug reported as text.
    pub fn new(
        mapping: &Mapping,
        columns: &BTreeMap<String, BTreeMap<String, ColumnSpec>>,
    ) -> Result<Self, String> {
        let mut targets: Vec<Target> = Vec::new();
        let mut routes = Vec::new();
        for route in &mapping.routes {
            let table = columns
                .get(&route.table)
                .ok_or_else(|| format!("no catalog entry for table {}", route.table))?;
            let target = match targets.iter().position(|t| t.table == route.table) {
                Some(i) => i,
                None => {
                    // Key columns first: increment groups by them.
                    let mut names: Vec<&String> = route.key.iter().collect();
                    names.extend(
                        route
                            .columns
                            .iter()
                            .map(|(c, _)| c)
                            .filter(|c| !route.key.contains(c)),
                    );
                    let columns = names
                        .into_iter()
                        .map(|c| {
                            let spec = table.get(c).cloned().ok_or_else(|| {
                                format!("no catalog entry for {}.{c}", route.table)
                            })?;
                            Ok((c.clone(), spec))
                        })
                        .collect::<Result<_, String>>()?;
                    targets.push(Target {
                        table: route.table.clone(),
                        mode: route.mode,
                        key: route.key.clone(),
                        columns,
                    });
                    targets.len() - 1
                }
            };
            let sources: Vec<Source> = targets[target]
                .columns
                .iter()
                .map(|(c, _)| {
                    route
                        .columns
                        .iter()
                        .find(|(name, _)| name == c)
                        .map(|(_, s)| s.clone())
                        .ok_or_else(|| format!("route into {} lacks column {c}", route.table))
                })
                .collect::<Result<_, String>>()?;
            let constants: Vec<Option<Typed>> = targets[target]
                .columns
                .iter()
                .zip(&sources)
                .map(
                    |((_, spec), source): (&(String, ColumnSpec), &Source)| match source {
                        Source::Const(v) if !(v.is_null() && spec.not_null) => {
                            coerce(Some(&Doc::from(v)), &spec.ty).ok()
                        }
                        _ => None,
                    },
                )
                .collect();
            let is_dedup_uuid = targets[target]
                .columns
                .iter()
                .zip(&sources)
                .map(|((_, spec), source): (&(String, ColumnSpec), &Source)| {
                    spec.ty == ColumnType::Uuid
                        && matches!(source, Source::Field(p) if Some(p) == route.dedup_id.as_ref())
                })
                .collect();
            let judged_with = routes
                .iter()
                .position(|r: &PlannedRoute| r.topic == route.topic && r.when == route.when)
                .unwrap_or(routes.len());
            routes.push(PlannedRoute {
                judged_with,
                topic: route.topic.clone(),
                when: route.when.clone(),
                when_slots: Vec::new(),
                dedup_id: route.dedup_id.clone(),
                dedup_slot: None,
                target,
                sources,
                constants,
                is_dedup_uuid,
                fills: Vec::new(),
            });
        }
        let wanted = Wanted::new(routes.iter().flat_map(|r| {
            let columns = r.sources.iter().filter_map(|s| match s {
                Source::Field(p) => Some(p),
                _ => None,
            });
            r.when
                .iter()
                .map(|(p, _)| p)
                .chain(&r.dedup_id)
                .chain(columns)
        }));
        for r in &mut routes {
            r.when_slots = r.when.iter().map(|(p, _)| wanted.slot(p)).collect();
            r.dedup_slot = r.dedup_id.as_ref().map(|p| wanted.slot(p));
            r.fills = (r.sources.iter().zip(&r.constants).zip(&r.is_dedup_uuid))
                .map(
                    |((source, constant), &dedup_uuid)| match (source, constant) {
                        (_, Some(value)) => Fill::Constant(value.clone()),
                        (Source::Field(p), None) => Fill::Field {
                            slot: wanted.slot(p),
                            dedup_uuid,
                        },
                        _ => Fill::Source,
                    },
                )
                .collect();
        }
        Ok(Self {
            targets,
            routes,
            unrouted: mapping.unrouted,
            wanted,
        })
    }
}
