//! Floats that are not finite in a reflected value read from JSON. JSON has
//! no such number, so one can only be a number beyond its type's range that
//! a deserializer rounded to infinity (`1e39` read as an `f32` through
//! serde's buffering of `#[serde(flatten)]` or untagged types), which is
//! refused (docs/protocol.md, "Numbers, per field type"). Values are walked
//! without recursion.

use bevy_reflect::enums::VariantField;
use bevy_reflect::{PartialReflect, ReflectRef};
use std::fmt::Write as _;

/// A step from a value to one it holds.
enum Step<'a> {
    /// The value itself.
    Root,
    /// A named field.
    Field(&'a str),
    /// A field of a tuple or tuple struct, by position.
    Position(usize),
    /// An element of a list, array or set, by position.
    Element(usize),
    /// The value of a map's key.
    Key(&'a dyn PartialReflect),
}

/// Fails, naming where, when `value` holds an `f32` or `f64` that is not
/// finite.
pub(crate) fn check(value: &dyn PartialReflect) -> Result<(), String> {
    // Values still to visit, with the depth of their step in `path`.
    let mut pending = vec![(0, Step::Root, value)];
    let mut path: Vec<Step> = Vec::new();
    while let Some((depth, step, value)) = pending.pop() {
        path.truncate(depth);
        path.push(step);
        let first = pending.len();
        let inner = depth + 1;
        match value.reflect_ref() {
            ReflectRef::Struct(fields) => {
                pending.extend((0..fields.field_len()).filter_map(|n| {
                    Some((inner, Step::Field(fields.name_at(n)?), fields.field_at(n)?))
                }));
            }
            ReflectRef::TupleStruct(fields) => pending.extend(
                (fields.iter_fields().enumerate()).map(|(n, v)| (inner, Step::Position(n), v)),
            ),
            ReflectRef::Tuple(fields) => pending.extend(
                (fields.iter_fields().enumerate()).map(|(n, v)| (inner, Step::Position(n), v)),
            ),
            ReflectRef::List(list) => {
                pending.extend((list.iter().enumerate()).map(|(n, v)| (inner, Step::Element(n), v)))
            }
            ReflectRef::Array(array) => pending
                .extend((array.iter().enumerate()).map(|(n, v)| (inner, Step::Element(n), v))),
            ReflectRef::Set(set) => {
                pending.extend((set.iter().enumerate()).map(|(n, v)| (inner, Step::Element(n), v)))
            }
            ReflectRef::Map(map) => {
                pending.extend(map.iter().map(|(key, v)| (inner, Step::Key(key), v)));
            }
            ReflectRef::Enum(variant) => pending.extend(variant.iter_fields().enumerate().map(
                |(n, field)| match field {
                    VariantField::Struct(name, v) => (inner, Step::Field(name), v),
                    VariantField::Tuple(v) => (inner, Step::Position(n), v),
                },
            )),
            ReflectRef::Opaque(value) => {
                let range = match (value.try_downcast_ref::<f32>(), value.try_downcast_ref()) {
                    (Some(f), _) if !f.is_finite() => ("f32", format!("{:e}", f32::MAX)),
                    (_, Some(f)) if !f64::is_finite(*f) => ("f64", format!("{:e}", f64::MAX)),
                    _ => continue,
                };
                return Err(beyond(&path, range));
            }
            #[allow(unreachable_patterns, reason = "with bevy_reflect's `functions`")]
            _ => {}
        }
        // Visited in order, the first pushed first.
        pending[first..].reverse();
    }
    Ok(())
}

/// The message for a number at `path` beyond the range (`±max`) of the
/// float type `kind`.
fn beyond(path: &[Step], (kind, max): (&str, String)) -> String {
    let mut place = String::new();
    for step in path {
        // Writing to a `String` cannot fail.
        let _ = match step {
            Step::Root => Ok(()),
            Step::Field(name) => write!(place, ".{name}"),
            Step::Position(n) => write!(place, ".{n}"),
            Step::Element(n) => write!(place, "[{n}]"),
            Step::Key(key) => write!(place, "[{key:?}]"),
        };
    }
    let what = format!("a number beyond the range of `{kind}` (±{max})");
    match place.strip_prefix('.').unwrap_or(&place) {
        "" => what,
        place => format!("{place}: {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy_reflect::list::DynamicList;
    use bevy_reflect::structs::DynamicStruct;
    use bevy_reflect::tuple::DynamicTuple;

    #[test]
    fn a_float_that_is_not_finite_is_named_by_its_path() {
        let mut inner = DynamicStruct::default();
        inner.insert("x", 1.0_f32);
        inner.insert("y", f32::INFINITY);
        let mut list = DynamicList::default();
        list.push(DynamicTuple::from_iter([
            Box::new(0.5_f64) as Box<dyn PartialReflect>
        ]));
        list.push(inner);
        let mut outer = DynamicStruct::default();
        outer.insert("name", String::from("n"));
        outer.insert("items", list);
        assert_eq!(
            check(&outer).unwrap_err(),
            "items[1].y: a number beyond the range of `f32` (±3.4028235e38)"
        );
        assert_eq!(
            check(&f64::NEG_INFINITY).unwrap_err(),
            "a number beyond the range of `f64` (±1.7976931348623157e308)"
        );
    }

    #[test]
    fn finite_values_pass() {
        let mut value = DynamicStruct::default();
        value.insert("x", f32::MAX);
        value.insert("y", -0.0_f64);
        value.insert("z", 5_u8);
        assert_eq!(check(&value), Ok(()));
    }
}
