//! Runs one path of `benches/route.rs` N times, for an instruction count that a shared,
//! noisy machine cannot blur (`valgrind --tool=callgrind` counts instructions, not seconds):
//!
//! ```text
//! cargo build --release -p streamsre-mapping --example route_cost
//! for path in review read doc; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/route_cost $path 20000 2>&1 | grep refs
//! done
//! ```
//!
//! Divide by the iterations (start-up is a few hundred thousand instructions, under 1% at
//! 20,000). `review` is the review decoder the generic path replaced; `read` is what the
//! consumer runs (the plan's one-pass reader, then routing); `doc` decodes the whole document
//! first and routes it by lookup.
#[path = "../benches/common/mod.rs"]
mod common;

use common::{review_bytes, review_meta, reviews_plan};
use std::hint::black_box;
use streamsre_event::{decode, decode_json, decode_json_with, DEFAULT_MAX_MESSAGE_BYTES};
use streamsre_mapping::Doc;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "read".into());
    let n: usize = args
        .next()
        .map_or(20_000, |n| n.parse().expect("iterations"));
    let bytes = review_bytes();
    let plan = reviews_plan();
    let meta = review_meta(&bytes);
    let max = DEFAULT_MAX_MESSAGE_BYTES;
    for _ in 0..n {
        let bytes = black_box(&bytes[..]);
        match path.as_str() {
            "review" => drop(black_box(decode(Some(bytes), max).unwrap())),
            "read" => {
                let fields = decode_json_with(Some(bytes), max, |d| plan.read(d)).unwrap();
                drop(black_box(plan.route_fields(&fields, &meta).unwrap()));
            }
            "doc" => {
                let doc: Doc<'_> = decode_json(Some(bytes), max).unwrap();
                drop(black_box(plan.route(&doc, &meta).unwrap()));
            }
            other => panic!("unknown path {other}: review, read or doc"),
        }
    }
}
