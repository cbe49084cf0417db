//! The routes one event matched, as a set of route indices: a word of bits for the usual
//! handful of routes, so routing an event allocates nothing for it (`Plan::route`).

/// A set of route indices; a vector only past 64 routes.
pub(crate) enum Matching {
    Few { bits: u64, routes: usize },
    Many(Vec<bool>),
}

impl Matching {
    pub(crate) fn new(routes: usize) -> Self {
        if routes <= 64 {
            Self::Few { bits: 0, routes }
        } else {
            Self::Many(vec![false; routes])
        }
    }

    pub(crate) fn insert(&mut self, i: usize) {
        match self {
            Self::Few { bits, .. } => *bits |= 1 << i,
            Self::Many(v) => v[i] = true,
        }
    }

    pub(crate) fn contains(&self, i: usize) -> bool {
        match self {
            Self::Few { bits, .. } => bits & (1 << i) != 0,
            Self::Many(v) => v[i],
        }
    }

    /// The matched route indices, in route order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + Clone + '_ {
        let routes = match self {
            Self::Few { routes, .. } => *routes,
            Self::Many(v) => v.len(),
        };
        (0..routes).filter(|&i| self.contains(i))
    }
}
