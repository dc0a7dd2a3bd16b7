//! Values as answers write them, each kept with the change tick of the
//! component it was written from and reused while that tick stays the same,
//! so an answer about values that did not change since the last one copies
//! bytes instead of serializing (docs/limits.md, `value_cache_bytes`).
//!
//! An entry is trusted only while the component's change tick equals the
//! one it was written at, and only when that tick was older than the
//! world's at the time: every write after it (a request, a system, the
//! pose client, `with_world_mut`) stamps the component with a tick at least
//! the world's, so it can never match. Entries older than [`MAX_AGE`] ticks
//! are dropped before the 32-bit ticks could wrap around to match again.

use crate::error::{BrpError, BrpResult};
use crate::world::components::ComponentRef;
use crate::world::value::{self, Form};
use bevy_ecs::component::ComponentId;
use bevy_ecs::entity::{Entity, EntityHashMap};
use bevy_ecs::world::{EntityRef, World};
use bevy_platform::collections::hash_map::Entry as Slot;
use bevy_reflect::TypeRegistry;
use std::cell::RefMut;

/// Ticks after which an entry is dropped. Together with Bevy's own bound on
/// the age of component ticks (`MAX_CHANGE_AGE`), it keeps a later tick from
/// ever wrapping around to the one an entry was written at.
const MAX_AGE: u32 = 1 << 28;

/// What an entry costs besides its text (key, ticks, pointer, table slot,
/// allocation header), as counted against the cap.
const ENTRY_OVERHEAD: usize = 64;

/// The fewest entries taken in between two sweeps for gone values.
const MIN_SWEEP_INTERVAL: usize = 4096;

/// How full and how useful the value cache is ([`Host::cache_stats`](crate::Host::cache_stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Values held.
    pub entries: usize,
    /// Bytes they take, text and bookkeeping, as counted against
    /// `Config::value_cache_bytes`.
    pub bytes: usize,
    /// Values answered from the cache.
    pub hits: u64,
    /// Values serialized because the cache did not hold them (or they had
    /// changed).
    pub misses: u64,
}

/// One written value.
struct Entry {
    /// The component's change tick when it was written.
    changed: u32,
    /// The world's change tick when it was written.
    written: u32,
    /// The world's change tick when it was last answered, for eviction.
    used: u32,
    /// The value as answers write it.
    text: Box<str>,
}

impl Entry {
    /// An entry of `text`, the value of a component changed at `changed`,
    /// written with the world at `now`.
    fn new(changed: u32, now: u32, text: String) -> Self {
        Self {
            changed,
            written: now,
            used: now,
            text: text.into_boxed_str(),
        }
    }

    fn cost(&self) -> usize {
        self.text.len() + ENTRY_OVERHEAD
    }

    /// Whether the entry still stands for a component whose change tick is
    /// `changed`, with the world at `now`.
    fn fresh(&self, changed: u32, now: u32) -> bool {
        self.changed == changed && now.wrapping_sub(self.written) < MAX_AGE
    }
}

/// The cache: one table per (component, form), keyed by entity.
pub(crate) struct ValueCache {
    /// Indexed by [`column()`].
    columns: Vec<EntityHashMap<Entry>>,
    /// `Config::value_cache_bytes`; 0 turns the cache off.
    cap: usize,
    stats: CacheStats,
    /// Entries taken in since the last sweep.
    taken: usize,
    /// The world's change tick at the last sweep.
    swept: u32,
    /// The last value read that could not be kept.
    spare: Vec<u8>,
}

/// The index of the table of `component`'s values in `form`.
fn column(component: ComponentId, form: Form) -> usize {
    component.index() * 2 + form as usize
}

impl ValueCache {
    /// An empty cache holding at most about `cap` bytes.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            columns: Vec::new(),
            cap,
            stats: CacheStats::default(),
            taken: 0,
            swept: 0,
            spare: Vec::new(),
        }
    }

    /// Counts and size.
    pub(crate) fn stats(&self) -> CacheStats {
        self.stats
    }

    /// The value of `component` in `entity` as answers write it in `form`,
    /// from the cache when it has not changed; `None` when the entity does
    /// not have it.
    fn get(
        &mut self,
        entity: EntityRef,
        component: &ComponentRef,
        registry: &TypeRegistry,
        form: Form,
        now: u32,
    ) -> Option<BrpResult<&str>> {
        let changed = entity.get_change_ticks_by_id(component.id)?.changed.get();
        let write = |text: &mut Vec<u8>| {
            value::write(text, entity, component, registry, form).unwrap_or_else(|| {
                Err(BrpError::internal(format!(
                    "`{}` went while it was read",
                    component.path
                )))
            })
        };
        // A value written at the world's current tick may be written again
        // at the same tick: it is not kept.
        if self.cap == 0 || changed == now {
            self.stats.misses += 1;
            return Some(spare(&mut self.spare, write));
        }
        let index = column(component.id, form);
        if index >= self.columns.len() {
            self.columns.resize_with(index + 1, EntityHashMap::default);
        }
        let stats = &mut self.stats;
        let entry = match self.columns[index].entry(entity.id()) {
            Slot::Occupied(mut slot) => {
                if slot.get().fresh(changed, now) {
                    stats.hits += 1;
                    let entry = slot.into_mut();
                    entry.used = now;
                    return Some(Ok(&entry.text));
                }
                stats.misses += 1;
                // The new text goes where the old one was.
                let old = slot.get_mut();
                stats.bytes -= old.cost();
                let mut bytes = std::mem::take(&mut old.text).into_boxed_bytes().into_vec();
                bytes.clear();
                let text = write(&mut bytes).and_then(|()| text(bytes));
                let text = match text {
                    Ok(text) => text,
                    Err(error) => {
                        slot.remove();
                        stats.entries -= 1;
                        return Some(Err(error));
                    }
                };
                let entry = slot.into_mut();
                *entry = Entry::new(changed, now, text);
                entry
            }
            Slot::Vacant(_) if stats.bytes >= self.cap => {
                // Full: answered, not kept, until `maintain` makes room.
                stats.misses += 1;
                return Some(spare(&mut self.spare, write));
            }
            Slot::Vacant(slot) => {
                stats.misses += 1;
                let mut bytes = Vec::with_capacity(64);
                let text = match write(&mut bytes).and_then(|()| text(bytes)) {
                    Ok(text) => text,
                    Err(error) => return Some(Err(error)),
                };
                stats.entries += 1;
                self.taken += 1;
                slot.insert(Entry::new(changed, now, text))
            }
        };
        stats.bytes += entry.cost();
        Some(Ok(&entry.text))
    }

    /// Keeps the cache within its cap and rid of gone values: called before
    /// each read and after each change. Once the cache has taken in new
    /// entries numbering half of those it holds (at least
    /// [`MIN_SWEEP_INTERVAL`]), or is over its cap, drops the values of
    /// entities and components that went, values that changed since they
    /// were written and entries near [`MAX_AGE`]; then, if still over its
    /// cap, the least recently answered values.
    pub(crate) fn maintain(&mut self, world: &World) {
        let now = world.read_change_tick().get();
        let due = self.taken >= (self.stats.entries / 2).max(MIN_SWEEP_INTERVAL)
            || now.wrapping_sub(self.swept) >= MAX_AGE / 2;
        if due || self.stats.bytes > self.cap {
            self.sweep(world, now);
        }
        if self.stats.bytes > self.cap {
            self.evict(now);
        }
    }

    /// Drops what [`maintain`](Self::maintain) says, but the least recently
    /// answered values.
    fn sweep(&mut self, world: &World, now: u32) {
        let stats = &mut self.stats;
        for (index, column) in self.columns.iter_mut().enumerate() {
            let component = ComponentId::new(index / 2);
            column.retain(|&entity, entry| {
                let changed = (world.get_entity(entity).ok())
                    .and_then(|entity| entity.get_change_ticks_by_id(component))
                    .map(|ticks| ticks.changed.get());
                let keep = changed.is_some_and(|changed| entry.fresh(changed, now));
                if !keep {
                    stats.entries -= 1;
                    stats.bytes -= entry.cost();
                }
                keep
            });
        }
        self.taken = 0;
        self.swept = now;
    }

    /// Drops the least recently answered values until the cache holds at
    /// most three quarters of its cap.
    fn evict(&mut self, now: u32) {
        let target = self.cap / 4 * 3;
        let mut by_age: Vec<(u32, usize, Entity)> = (self.columns.iter().enumerate())
            .flat_map(|(index, column)| {
                (column.iter())
                    .map(move |(&entity, entry)| (now.wrapping_sub(entry.used), index, entity))
            })
            .collect();
        by_age.sort_unstable_by(|a, b| b.cmp(a));
        for (_, index, entity) in by_age {
            if self.stats.bytes <= target {
                break;
            }
            if let Some(entry) = self.columns[index].remove(&entity) {
                self.stats.entries -= 1;
                self.stats.bytes -= entry.cost();
            }
        }
    }
}

/// `bytes`, which serde_json wrote, as text.
fn text(bytes: Vec<u8>) -> BrpResult<String> {
    String::from_utf8(bytes).map_err(not_utf8)
}

/// A value written into `spare` by `write`, for an answer but not kept.
fn spare(
    spare: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> BrpResult<()>,
) -> BrpResult<&str> {
    spare.clear();
    write(spare)?;
    std::str::from_utf8(spare).map_err(not_utf8)
}

fn not_utf8(error: impl std::fmt::Display) -> BrpError {
    BrpError::internal(format!("a value is not UTF-8: {error}"))
}

/// Reads values through the cache for one answer.
pub(crate) struct Reader<'a> {
    cache: RefMut<'a, ValueCache>,
    registry: &'a TypeRegistry,
    form: Form,
    now: u32,
}

impl<'a> Reader<'a> {
    /// A reader of values in `form` from `world` at its current tick.
    pub(crate) fn new(
        mut cache: RefMut<'a, ValueCache>,
        world: &World,
        registry: &'a TypeRegistry,
        form: Form,
    ) -> Self {
        cache.maintain(world);
        Self {
            cache,
            registry,
            form,
            now: world.read_change_tick().get(),
        }
    }

    /// The value of `component` in `entity` as answers write it; `None`
    /// when the entity does not have it.
    pub(crate) fn get(
        &mut self,
        entity: EntityRef,
        component: &ComponentRef,
    ) -> Option<BrpResult<&str>> {
        (self.cache).get(entity, component, self.registry, self.form, self.now)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::world::Ecs;
    use crate::world::value::Form;
    use bevy_transform::components::Transform;

    /// `Transform`'s translation.x of `entity`, as a read through the cache
    /// answers it.
    fn x(host: &Ecs, entity: bevy_ecs::entity::Entity) -> String {
        let component = host.names.resolve("Transform").unwrap();
        let registry = host.registry.read();
        let mut reader = host.reader(&registry, Form::Plain);
        let text = reader.get(host.world.entity(entity), component);
        let value: serde_json::Value = serde_json::from_str(text.unwrap().unwrap()).unwrap();
        value["translation"][0].to_string()
    }

    #[test]
    fn a_value_written_at_the_current_tick_is_not_kept() {
        let mut host = Ecs::new(Config::default(), |_| {}).unwrap();
        let entity = host.world.spawn(Transform::default()).id();
        host.world.increment_change_tick();
        // Two writes at the world's tick, which does not move on between
        // them: the read between them must not hide the second.
        host.world
            .get_mut::<Transform>(entity)
            .unwrap()
            .translation
            .x = 1.0;
        assert_eq!(x(&host, entity), "1.0");
        host.world
            .get_mut::<Transform>(entity)
            .unwrap()
            .translation
            .x = 2.0;
        assert_eq!(x(&host, entity), "2.0");
        assert_eq!(host.values.borrow().stats().entries, 0);
        host.world.increment_change_tick();
        assert_eq!(x(&host, entity), "2.0");
        assert_eq!(x(&host, entity), "2.0");
        let stats = host.values.borrow().stats();
        assert_eq!((stats.entries, stats.hits), (1, 1));
    }
}
