//! Entity ids on the wire: `"<index>v<generation>"`, as `Entity` displays itself.

use crate::error::{BrpError, BrpResult};
use crate::params::echo;
use bevy_ecs::entity::{Entity, EntityGeneration, EntityIndex};

/// Formats `entity` as `"<index>v<generation>"`.
pub fn format(entity: Entity) -> String {
    format!("{}v{}", entity.index_u32(), entity.generation().to_bits())
}

/// Parses `"<index>v<generation>"` as [`format()`] writes it (no sign, no
/// leading zero); anything else is an invalid-params error.
pub fn parse(text: &str) -> BrpResult<Entity> {
    let malformed = || {
        BrpError::invalid_params(format!(
            "malformed entity id {:?}: expected \"<index>v<generation>\", e.g. \"3v0\"",
            echo(text)
        ))
    };
    let (index, generation) = text.split_once('v').ok_or_else(malformed)?;
    // Decimal digits as `format` writes them: no sign, no leading zero.
    let canonical = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    if !canonical(index) || !canonical(generation) {
        return Err(malformed());
    }
    let index: u32 = index.parse().map_err(|_| malformed())?;
    let generation: u32 = generation.parse().map_err(|_| malformed())?;
    let index = EntityIndex::from_raw_u32(index).ok_or_else(malformed)?;
    Ok(Entity::from_index_and_generation(
        index,
        EntityGeneration::from_bits(generation),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy_ecs::world::World;

    #[test]
    fn round_trips_and_matches_display() {
        let mut world = World::new();
        for _ in 0..3 {
            let entity = world.spawn_empty().id();
            assert_eq!(format(entity), entity.to_string());
            assert_eq!(parse(&format(entity)), Ok(entity));
        }
        let stale = world.spawn_empty().id();
        world.despawn(stale);
        let reused = world.spawn_empty().id();
        assert_eq!(format(reused), reused.to_string());
        assert_ne!(format(reused), format(stale));
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "v",
            "3",
            "3v",
            "v0",
            "3v0v0",
            "-1v0",
            "3 v0",
            "3v-1",
            "+3v0",
            "x3v0",
            "03v0",
            "3v00",
            "4294967295v0",
            "4294967296v0",
            "3v4294967296",
        ] {
            let err = parse(bad).expect_err(bad);
            assert_eq!(err.code, crate::ErrorCode::InvalidParams, "{bad}");
            assert!(err.message.contains("malformed entity id"), "{bad}");
        }
    }
}
