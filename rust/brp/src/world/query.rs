//! The `data` and `filter` of QUERY (and POLL): which entities match and
//! what each result row holds.

use crate::error::{BrpError, BrpResult};
use crate::params::{self, Params};
use crate::world::Ecs;
use crate::world::components::ComponentRef;
use crate::world::json;
use crate::world::value::Form;
use bevy_ecs::entity::Entity;
use bevy_ecs::query::{QueryBuilder, QueryState};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// A component as the client named it, and what the name resolved to.
#[derive(Clone)]
pub(crate) struct Selected {
    /// The name as the client spelled it; the key in result rows.
    pub key: String,
    /// The resolved component.
    pub component: ComponentRef,
}

/// A parsed QUERY or POLL selection.
pub(crate) struct QuerySpec {
    /// Required components whose values are returned.
    pub components: Vec<Selected>,
    /// Components returned when present.
    pub optional: Vec<Selected>,
    /// Components reported as `true`/`false`.
    pub has: Vec<Selected>,
    /// Components an entity must have.
    pub with: Vec<ComponentRef>,
    /// Components an entity must not have.
    pub without: Vec<ComponentRef>,
    /// POLL only: components whose change selects an entity.
    pub changed: Vec<ComponentRef>,
}

impl QuerySpec {
    /// Parses `params.data` and `params.filter`; `filter.changed` only when
    /// `allow_changed` (POLL).
    pub(crate) fn parse(params: &Params, host: &Ecs, allow_changed: bool) -> BrpResult<Self> {
        let names = &host.names;
        let empty = Map::new();
        let data = match params.get("data") {
            Some(data) => params::object(data, "params.data")?,
            None => &empty,
        };
        params::only(
            Some(data),
            "params.data",
            &["components", "optional", "option", "has"],
        )?;
        if data.contains_key("optional") && data.contains_key("option") {
            return Err(BrpError::invalid_params(
                "params.data has both `optional` and `option`; they are the same list, give one",
            ));
        }
        let filter = match params.get("filter") {
            Some(filter) => params::object(filter, "params.filter")?,
            None => &empty,
        };
        let filter_keys: &[&str] = if allow_changed {
            &["with", "without", "changed"]
        } else {
            &["with", "without"]
        };
        params::only(Some(filter), "params.filter", filter_keys)?;

        let selected = |key: &str| -> BrpResult<Vec<Selected>> {
            let at = format!("params.data.{key}");
            list(data.get(key), &at)?
                .into_iter()
                .map(|name| {
                    Ok(Selected {
                        key: name.to_owned(),
                        component: names.resolve(name)?.clone(),
                    })
                })
                .collect()
        };
        let refs = |key: &str| -> BrpResult<Vec<ComponentRef>> {
            list(filter.get(key), &format!("params.filter.{key}"))?
                .into_iter()
                .map(|name| names.resolve(name).cloned())
                .collect()
        };
        let optional_key = if data.contains_key("option") {
            "option"
        } else {
            "optional"
        };
        let spec = Self {
            components: selected("components")?,
            optional: selected(optional_key)?,
            has: selected("has")?,
            with: refs("with")?,
            without: refs("without")?,
            changed: refs("changed")?,
        };
        let lists = [&spec.components, &spec.optional, &spec.has];
        let refs = [&spec.with, &spec.without, &spec.changed];
        let count = lists.iter().map(|l| l.len()).sum::<usize>()
            + refs.iter().map(|l| l.len()).sum::<usize>();
        host.check_count(count, "params.data and params.filter")?;
        let mut keys = HashSet::new();
        let mut has_keys = HashSet::new();
        if let Some(twice) = (spec.components.iter().chain(&spec.optional))
            .find(|s| !keys.insert(s.key.as_str()))
            .or_else(|| spec.has.iter().find(|s| !has_keys.insert(s.key.as_str())))
        {
            return Err(BrpError::invalid_params(format!(
                "`{}` is selected twice in params.data",
                twice.key
            )));
        }
        if let Some(both) = spec.has.iter().find(|h| {
            spec.components
                .iter()
                .chain(&spec.optional)
                .any(|s| s.key == h.key)
        }) {
            return Err(BrpError::invalid_params(format!(
                "`{}` is in params.data.has and also selected for its value",
                both.key
            )));
        }
        Ok(spec)
    }

    /// The matching entities, ordered by id.
    pub(crate) fn matches(&self, host: &mut Ecs) -> Vec<Entity> {
        let mut query = self.query(host);
        Self::matches_of(&mut query, host)
    }

    /// The ECS query that selects the matching entities; keeping it saves
    /// rebuilding it for every evaluation (a parked POLL does).
    pub(crate) fn query(&self, host: &mut Ecs) -> QueryState<Entity> {
        let mut builder = QueryBuilder::<Entity>::new(&mut host.world);
        for component in self
            .components
            .iter()
            .map(|s| &s.component)
            .chain(&self.with)
        {
            builder.with_id(component.id);
        }
        for component in &self.without {
            builder.without_id(component.id);
        }
        for &hidden in &host.hidden {
            builder.without_id(hidden);
        }
        builder.build()
    }

    /// The entities `query` (from [`QuerySpec::query`]) matches, ordered by id.
    pub(crate) fn matches_of(query: &mut QueryState<Entity>, host: &Ecs) -> Vec<Entity> {
        let mut entities: Vec<Entity> = query.iter(&host.world).collect();
        entities.sort_unstable_by_key(|e| (e.index_u32(), e.generation().to_bits()));
        entities
    }

    /// The result rows of `entities`, which the query matched (so none is
    /// hidden).
    pub(crate) fn rows<'a>(&'a self, host: &'a Ecs, entities: &'a [Entity]) -> Rows<'a> {
        Rows {
            spec: self,
            host,
            entities,
        }
    }
}

/// The rows of a QUERY or POLL answer: for each entity its id, selected
/// values and `has` flags, written straight to the output.
pub(crate) struct Rows<'a> {
    spec: &'a QuerySpec,
    host: &'a Ecs,
    entities: &'a [Entity],
}

impl Rows<'_> {
    /// Appends the rows to `out` as a JSON list. The values come as
    /// written JSON from the value cache and each member's `,"key":` is
    /// written once up front, so writing a row is copying bytes.
    pub(crate) fn write(&self, out: &mut String) -> BrpResult<()> {
        let spec = self.spec;
        let member = |selected: &'_ Selected| {
            let mut member = String::from(",");
            json::string(&mut member, &selected.key);
            member.push(':');
            member
        };
        let values: Vec<(String, &ComponentRef)> = (spec.components.iter())
            .chain(&spec.optional)
            .map(|s| (member(s), &s.component))
            .collect();
        let has: Vec<(String, &ComponentRef)> =
            spec.has.iter().map(|s| (member(s), &s.component)).collect();
        let registry = self.host.registry.read();
        let mut reader = self.host.reader(&registry, Form::Wrapped);
        out.push('[');
        let mut first = true;
        for &entity in self.entities {
            let Ok(entity) = self.host.world.get_entity(entity) else {
                continue;
            };
            let open = if std::mem::take(&mut first) {
                "{"
            } else {
                ",{"
            };
            out.push_str(open);
            out.push_str(r#""id":"#);
            json::entity_id(out, entity.id());
            for (member, component) in &values {
                if let Some(value) = reader.get(entity, component) {
                    out.push_str(member);
                    out.push_str(value?);
                }
            }
            for (member, component) in &has {
                out.push_str(member);
                out.push_str(json::boolean(entity.contains_id(component.id)));
            }
            out.push('}');
        }
        out.push(']');
        Ok(())
    }
}

/// A filter or data list: absent, a list of names, or `{"components": [...]}`.
fn list<'a>(value: Option<&'a Value>, at: &str) -> BrpResult<Vec<&'a str>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(object)) => {
            params::only(Some(object), at, &["components"])?;
            match object.get("components") {
                Some(names) => params::names(names, &format!("{at}.components")),
                None => Ok(Vec::new()),
            }
        }
        Some(names) => params::names(names, at),
    }
}
