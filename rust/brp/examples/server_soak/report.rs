//! What the soak found, and its summary: counts by client kind, the
//! server's statistics, connections, entities and memory.

use crate::clients;
use crate::memory::{Summary, mib};
use crate::scene::Census;
use crate::settings::stats_line;
use crate::tally::Tally;
use brp::server::ServerStats;
use std::time::Duration;

/// Everything the soak found.
pub(crate) struct Report {
    pub(crate) elapsed: Duration,
    pub(crate) tally: Tally,
    /// `stats()` once the clients were gone and the server settled.
    pub(crate) stats: ServerStats,
    /// Connections the clients made.
    pub(crate) connects: u64,
    pub(crate) census: Census,
    /// `Owned` entities left at the end.
    pub(crate) owned_left: usize,
    pub(crate) memory: Option<Summary>,
    pub(crate) panics: u64,
    pub(crate) failures: Vec<String>,
}

impl Report {
    pub(crate) fn print(&self) {
        let t = &self.tally;
        println!("== result");
        println!("duration        {:.1} s", self.elapsed.as_secs_f64());
        let kinds = t.kinds();
        let (clients, abusers): (Vec<_>, Vec<_>) = (kinds.iter())
            .filter(|kind| **kind != "writer")
            .partition(|kind| clients::is_client(kind));
        println!("clients         well-behaved, every answer checked:");
        for kind in clients {
            println!("  {kind:<16} {}", t.line(kind));
        }
        println!("abusers         what the server did about each:");
        for kind in abusers {
            println!("  {kind:<16} {}", t.line(kind));
        }
        println!("writer          {}", t.line("writer"));
        println!("server stats    {}", stats_line(&self.stats));
        println!(
            "connections     {} made by the clients; the server counted {} accepted and {} refused",
            self.connects, self.stats.connections, self.stats.refused_connections
        );
        let c = &self.census;
        println!(
            "entities        bound {} spawned / {} indices; max {} / {}; {} Owned left at the end",
            c.bound, c.index_bound, c.max_spawned, c.max_allocated, self.owned_left
        );
        match &self.memory {
            Some(m) => println!(
                "memory          RSS {} first, {} after warm-up ({:.0} s), max {} in the 2nd quarter, max {} in the last (bound {}), {} last, {} max; {} samples",
                mib(m.first),
                mib(m.warm.0),
                m.warm.1.as_secs_f64(),
                mib(m.second_quarter_max),
                mib(m.last_quarter_max),
                mib(m.bound),
                mib(m.last),
                mib(m.max),
                m.count
            ),
            None => println!("memory          no samples"),
        }
        for (kind, count, shown) in t.problems() {
            println!("problems        {kind}: {count}");
            for problem in shown {
                println!("  {problem}");
            }
        }
        if self.failures.is_empty() {
            println!("result          OK");
        }
        for failure in &self.failures {
            println!("FAILED          {failure}");
        }
    }
}
