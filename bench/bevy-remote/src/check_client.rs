//! `--check-client`: a client this project did not write, against libbrp's
//! server. Starts `brp::server::Server` on 127.0.0.1:0 over a fresh
//! `brp::Host` and drives it only through bevy_remote's own types (0.19.1
//! here, 0.20.1 built as bench/bevy-remote-0.20; the `peer:` line says
//! which): every request is a `bevy_remote::BrpRequest` built from
//! bevy_remote's params structs and method constants and serialized by its
//! serde impl, POSTed with the benchmark's HTTP client; every answer is read
//! with `BrpResponse`'s deserializer and its result with bevy_remote's
//! response types (`BrpSpawnEntityResponse`, `BrpGetComponentsResponse`,
//! `BrpQueryRow`, ...; values with the serde impls of bevy_transform of the
//! same Bevy line), and checked. One `world.get_components+watch` is read
//! as server-sent events, each parsed with `BrpResponse`.
//!
//! Prints one line per method: `ok`, `FAIL` (counts; the exit status is 1
//! when any failed) or `DIFF` (bevy_remote's type cannot read what
//! libbrp answers, where libbrp answers as docs/protocol.md documents: the
//! check then asserts the documented answer, and the difference is printed,
//! not hidden).

use crate::http::Http;
use crate::{NAME, TRANSFORM};
use bevy_ecs::entity::Entity;
use bevy_remote::builtin_methods::{
    BRP_DESPAWN_COMPONENTS_METHOD, BRP_GET_COMPONENTS_AND_WATCH_METHOD, BRP_GET_COMPONENTS_METHOD,
    BRP_GET_RESOURCE_METHOD, BRP_INSERT_COMPONENTS_METHOD, BRP_LIST_COMPONENTS_METHOD,
    BRP_LIST_RESOURCES_METHOD, BRP_MUTATE_COMPONENTS_METHOD, BRP_QUERY_METHOD,
    BRP_REMOVE_COMPONENTS_METHOD, BRP_REPARENT_ENTITIES_METHOD, BRP_SPAWN_ENTITY_METHOD,
    BRP_TRIGGER_EVENT_METHOD, BrpDespawnEntityParams, BrpGetComponentsParams,
    BrpGetComponentsResponse, BrpGetComponentsWatchingResponse, BrpGetResourcesParams,
    BrpGetResourcesResponse, BrpInsertComponentsParams, BrpListComponentsParams,
    BrpListComponentsResponse, BrpListResourcesResponse, BrpMutateComponentsParams, BrpQuery,
    BrpQueryFilter, BrpQueryParams, BrpQueryResponse, BrpRemoveComponentsParams,
    BrpReparentEntitiesParams, BrpSpawnEntityParams, BrpSpawnEntityResponse, BrpTriggerEventParams,
    ComponentSelector, RPC_DISCOVER_METHOD,
};
use bevy_remote::schemas::open_rpc::OpenRpcDocument;
use bevy_remote::{BrpError, BrpPayload, BrpRequest, BrpResponse, error_codes};
use bevy_transform::components::Transform;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const CHILD_OF: &str = "bevy_ecs::hierarchy::ChildOf";

type Outcome = Result<String, String>;

macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(format!($($message)+));
        }
    };
}

struct Client {
    http: Http,
    next_id: u64,
    failures: usize,
    differences: Vec<String>,
}

/// `params` as `BrpRequest::params`, through its own serde impl.
fn params(params: impl Serialize) -> Option<Value> {
    Some(serde_json::to_value(params).expect("params serialize"))
}

/// A bevy_remote type read from `value` with its own deserializer.
fn read<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|e| {
        format!(
            "bevy_remote's {} cannot read {}: {e}",
            std::any::type_name::<T>(),
            clip(value)
        )
    })
}

fn clip(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 300 {
        format!("{}...", &text[..300])
    } else {
        text
    }
}

/// A `BrpResponse` read from the JSON text `text`, checked for `id`.
fn response(text: &str, id: u64) -> Result<BrpPayload, String> {
    let answer: BrpResponse =
        serde_json::from_str(text).map_err(|e| format!("BrpResponse cannot read {text:?}: {e}"))?;
    ensure!(
        answer.id == Some(Value::from(id)),
        "answer id {:?}, request id {id}",
        answer.id
    );
    Ok(answer.payload)
}

impl Client {
    /// The body of a `BrpRequest` of `method`, and its id.
    fn request(&mut self, method: &str, params: Option<Value>) -> (String, u64) {
        self.next_id += 1;
        let request = BrpRequest {
            method: method.to_owned(),
            id: Some(Value::from(self.next_id)),
            params,
        };
        let body = serde_json::to_string(&request).expect("BrpRequest serializes");
        (body, self.next_id)
    }

    /// POSTs a `BrpRequest` and reads the answer as a `BrpResponse`.
    fn call(&mut self, method: &str, params: Option<Value>) -> Result<BrpPayload, String> {
        let (body, id) = self.request(method, params);
        let text = self.http.post(&body);
        response(&text, id)
    }

    /// The result of `method`, read as `T`; an error answer is an error.
    fn result<T: DeserializeOwned>(
        &mut self,
        method: &str,
        params: Option<Value>,
    ) -> Result<T, String> {
        match self.call(method, params)? {
            BrpPayload::Result(value) => read(&value),
            BrpPayload::Error(error) => Err(format!(
                "{method} answered error {} {:?}",
                error.code, error.message
            )),
        }
    }

    /// The error `method` answers, which must be one.
    fn error(&mut self, method: &str, params: Option<Value>) -> Result<BrpError, String> {
        match self.call(method, params)? {
            BrpPayload::Error(error) => Ok(error),
            BrpPayload::Result(value) => Err(format!(
                "{method} answered {} where an error was expected",
                clip(&value)
            )),
        }
    }

    /// A method that answers `null`.
    fn null(&mut self, method: &str, params: Option<Value>) -> Result<(), String> {
        let value: Value = self.result(method, params)?;
        ensure!(
            value.is_null(),
            "{method} answered {}, not null",
            clip(&value)
        );
        Ok(())
    }

    /// The strict `world.get_components` of `components` on `entity`.
    fn get(&mut self, entity: Entity, components: &[&str]) -> Result<Vec<Value>, String> {
        let get = BrpGetComponentsParams {
            entity,
            components: components.iter().map(|&c| c.to_owned()).collect(),
            strict: true,
        };
        match self.result(BRP_GET_COMPONENTS_METHOD, params(get))? {
            BrpGetComponentsResponse::Strict(values) => components
                .iter()
                .map(|&c| {
                    values
                        .get(c)
                        .cloned()
                        .ok_or(format!("no {c} in the answer"))
                })
                .collect(),
            lenient => Err(format!("a strict GET read as {lenient:?}")),
        }
    }

    fn report(&mut self, label: &str, outcome: Outcome) {
        match outcome {
            Ok(detail) => println!("ok   {label:<34} {detail}"),
            Err(error) => {
                self.failures += 1;
                println!("FAIL {label:<34} {error}");
            }
        }
    }

    fn differ(&mut self, label: &str, what: String) {
        println!("DIFF {label:<34} {what}");
        self.differences.push(format!("{label}: {what}"));
    }
}

fn transform_of(value: &Value) -> Result<Transform, String> {
    read::<Transform>(value)
}

/// Runs the check; the process's exit status.
pub fn run() -> i32 {
    let host = brp::Host::new();
    let config = brp::server::ServerConfig {
        address: "127.0.0.1:0".to_owned(),
        ..brp::server::ServerConfig::default()
    };
    let mut server = brp::server::Server::start(&host, config).expect("libbrp server starts");
    let port = server.address().port();
    println!("{}", crate::peer_line());
    println!(
        "bevy_remote {}'s own types (BrpRequest, BrpResponse, builtin_methods) against libbrp's server on http://{}",
        crate::BEVY_REMOTE_VERSION,
        server.address()
    );
    let mut c = Client {
        http: Http::connect(port),
        next_id: 0,
        failures: 0,
        differences: Vec::new(),
    };

    // rpc.discover
    let outcome = (|| -> Outcome {
        let doc: Value = c.result(RPC_DISCOVER_METHOD, None)?;
        ensure!(doc["openrpc"] == "1.3.2", "openrpc is {}", doc["openrpc"]);
        let methods = doc["methods"].as_array().ok_or("no methods array")?;
        let names: Vec<&str> = methods.iter().filter_map(|m| m["name"].as_str()).collect();
        for method in [
            BRP_GET_COMPONENTS_METHOD,
            BRP_QUERY_METHOD,
            BRP_SPAWN_ENTITY_METHOD,
            BRP_GET_COMPONENTS_AND_WATCH_METHOD,
            RPC_DISCOVER_METHOD,
        ] {
            ensure!(names.contains(&method), "{method} missing from {names:?}");
        }
        match serde_json::from_value::<OpenRpcDocument>(doc.clone()) {
            Ok(parsed) => Ok(format!(
                "OpenRpcDocument {} with {} methods",
                parsed.openrpc,
                parsed.methods.len()
            )),
            Err(error) => {
                let first = &doc["methods"][0]["params"][0];
                c.differ(
                    RPC_DISCOVER_METHOD,
                    format!(
                        "bevy_remote's OpenRpcDocument cannot read libbrp's document ({error}): \
                         libbrp's params[].schema is a plain JSON Schema (the first, {} of {}: {}), \
                         {}'s Parameter.schema a JsonSchemaBevyType (shortPath, typePath, kind \
                         and a `type` of its own SchemaType, which has no \"integer\")",
                        first["name"],
                        doc["methods"][0]["name"],
                        first["schema"],
                        crate::BEVY_REMOTE_VERSION
                    ),
                );
                Ok(format!(
                    "OpenRPC {} document with {} methods (as docs/protocol.md documents)",
                    doc["openrpc"],
                    names.len()
                ))
            }
        }
    })();
    c.report(RPC_DISCOVER_METHOD, outcome);

    // world.spawn_entity: a child with a Transform, a parent with a Name.
    let transform = Transform::from_xyz(1.0, 2.0, 3.0);
    let spawned = (|| -> Result<(Entity, Entity), String> {
        let child = BrpSpawnEntityParams {
            components: [(
                TRANSFORM.to_owned(),
                serde_json::to_value(transform).expect("Transform serializes"),
            )]
            .into_iter()
            .collect(),
        };
        let BrpSpawnEntityResponse { entity: child } =
            c.result(BRP_SPAWN_ENTITY_METHOD, params(child))?;
        let parent = BrpSpawnEntityParams {
            components: [(NAME.to_owned(), json!("parent"))].into_iter().collect(),
        };
        let BrpSpawnEntityResponse { entity: parent } =
            c.result(BRP_SPAWN_ENTITY_METHOD, params(parent))?;
        ensure!(child != parent, "both spawns answered {child}");
        Ok((child, parent))
    })();
    let (child, parent) = match spawned {
        Ok((child, parent)) => {
            c.report(
                BRP_SPAWN_ENTITY_METHOD,
                Ok(format!(
                    "BrpSpawnEntityResponse: entities {} ({child}) and {} ({parent})",
                    child.to_bits(),
                    parent.to_bits()
                )),
            );
            (child, parent)
        }
        Err(error) => {
            c.report(BRP_SPAWN_ENTITY_METHOD, Err(error));
            println!("cannot go on without entities");
            return 1;
        }
    };

    // world.get_components, strict
    let outcome = (|| -> Outcome {
        let values = c.get(child, &[TRANSFORM])?;
        let got = transform_of(&values[0])?;
        ensure!(got == transform, "Transform {got:?}, spawned {transform:?}");
        Ok(format!(
            "BrpGetComponentsResponse::Strict, Transform {:?}",
            got.translation
        ))
    })();
    c.report("world.get_components (strict)", outcome);

    // world.get_components, lenient: the absent Name is reported in errors.
    let outcome = (|| -> Outcome {
        let get = BrpGetComponentsParams {
            entity: child,
            components: vec![TRANSFORM.to_owned(), NAME.to_owned()],
            strict: false,
        };
        match c.result(BRP_GET_COMPONENTS_METHOD, params(get))? {
            BrpGetComponentsResponse::Lenient { components, errors } => {
                let got = transform_of(components.get(TRANSFORM).ok_or("no Transform")?)?;
                ensure!(got == transform, "Transform {got:?}, spawned {transform:?}");
                ensure!(components.len() == 1, "components {components:?}");
                let error: BrpError = read(errors.get(NAME).ok_or("no error for Name")?)?;
                ensure!(
                    error.code == error_codes::COMPONENT_NOT_PRESENT,
                    "Name's error is {error:?}"
                );
                Ok(format!(
                    "BrpGetComponentsResponse::Lenient, Name: BrpError {} {:?}",
                    error.code, error.message
                ))
            }
            strict => Err(format!("a lenient GET read as {strict:?}")),
        }
    })();
    c.report("world.get_components (lenient)", outcome);

    // world.query: Transform required, Name optional and checked with has.
    let outcome = (|| -> Outcome {
        let query = BrpQueryParams {
            data: BrpQuery {
                components: vec![TRANSFORM.to_owned()],
                option: ComponentSelector::Paths(vec![NAME.to_owned()]),
                has: vec![NAME.to_owned()],
            },
            filter: BrpQueryFilter::default(),
            strict: false,
        };
        let rows: BrpQueryResponse = c.result(BRP_QUERY_METHOD, params(query))?;
        ensure!(rows.len() == 1, "{} rows: {rows:?}", rows.len());
        let row = &rows[0];
        ensure!(row.entity == child, "row of {}, not {child}", row.entity);
        ensure!(row.components.len() == 1, "components {:?}", row.components);
        let got = transform_of(row.components.get(TRANSFORM).ok_or("no Transform")?)?;
        ensure!(got == transform, "Transform {got:?}");
        ensure!(
            row.has.get(NAME) == Some(&json!(false)),
            "has {:?}",
            row.has
        );
        // option "all" and filter.with
        let query = BrpQueryParams {
            data: BrpQuery {
                components: Vec::new(),
                option: ComponentSelector::All,
                has: Vec::new(),
            },
            filter: BrpQueryFilter {
                with: vec![NAME.to_owned()],
                without: Vec::new(),
            },
            strict: false,
        };
        let rows: BrpQueryResponse = c.result(BRP_QUERY_METHOD, params(query))?;
        ensure!(
            rows.len() == 1 && rows[0].entity == parent,
            "with Name: {rows:?}"
        );
        ensure!(
            rows[0].components.get(NAME) == Some(&json!("parent")),
            "option all: {:?}",
            rows[0].components
        );
        ensure!(
            rows[0].has.is_empty(),
            "has without asking: {:?}",
            rows[0].has
        );
        Ok("Vec<BrpQueryRow>: option paths + has; option \"all\" + filter.with".to_owned())
    })();
    c.report(BRP_QUERY_METHOD, outcome);

    // world.insert_components
    let outcome = (|| -> Outcome {
        let insert = BrpInsertComponentsParams {
            entity: child,
            components: [(NAME.to_owned(), json!("child"))].into_iter().collect(),
        };
        c.null(BRP_INSERT_COMPONENTS_METHOD, params(insert))?;
        let values = c.get(child, &[NAME])?;
        ensure!(values[0] == json!("child"), "Name is {}", values[0]);
        Ok("null; Name reads \"child\"".to_owned())
    })();
    c.report(BRP_INSERT_COMPONENTS_METHOD, outcome);

    // world.mutate_components
    let outcome = (|| -> Outcome {
        let mutate = BrpMutateComponentsParams {
            entity: child,
            component: TRANSFORM.to_owned(),
            path: ".translation.x".to_owned(),
            value: json!(5.0),
        };
        c.null(BRP_MUTATE_COMPONENTS_METHOD, params(mutate))?;
        let got = transform_of(&c.get(child, &[TRANSFORM])?[0])?;
        ensure!(
            got.translation.x == 5.0,
            "translation {:?}",
            got.translation
        );
        Ok("null; .translation.x reads 5".to_owned())
    })();
    c.report(BRP_MUTATE_COMPONENTS_METHOD, outcome);

    // world.list_components, of the entity and of the world
    let outcome = (|| -> Outcome {
        let list = BrpListComponentsParams { entity: child };
        let names: BrpListComponentsResponse =
            c.result(BRP_LIST_COMPONENTS_METHOD, params(list))?;
        ensure!(
            names.iter().any(|n| n == TRANSFORM) && names.iter().any(|n| n == NAME),
            "the child lists {names:?}"
        );
        let all: BrpListComponentsResponse = c.result(BRP_LIST_COMPONENTS_METHOD, None)?;
        ensure!(
            [TRANSFORM, NAME, CHILD_OF]
                .iter()
                .all(|&path| all.iter().any(|n| n == path)),
            "the world lists {all:?}"
        );
        Ok(format!(
            "Vec<String>: the entity's {names:?}; {} in the world",
            all.len()
        ))
    })();
    c.report(BRP_LIST_COMPONENTS_METHOD, outcome);

    // world.list_resources, then world.get_resources of one held
    let resources = c.result::<BrpListResourcesResponse>(BRP_LIST_RESOURCES_METHOD, None);
    let outcome = match &resources {
        Ok(names) => Ok(format!("Vec<String>: {} resources: {names:?}", names.len())),
        Err(error) => Err(error.clone()),
    };
    c.report(BRP_LIST_RESOURCES_METHOD, outcome);
    let outcome = (|| -> Outcome {
        let names = resources?;
        // Time<()>, which TimePlugin keeps in every libbrp world (Time<Real>
        // holds an Instant, which does not serialize, in bevy_remote either).
        let resource = "bevy_time::time::Time<()>".to_owned();
        ensure!(names.contains(&resource), "no {resource} among {names:?}");
        let get = BrpGetResourcesParams {
            resource: resource.clone(),
        };
        let BrpGetResourcesResponse { value } = c.result(BRP_GET_RESOURCE_METHOD, params(get))?;
        ensure!(value.is_object(), "{resource} reads {}", clip(&value));
        let absent = BrpGetResourcesParams {
            resource: "bevy_brp_check::NoSuchResource".to_owned(),
        };
        let error = c.error(BRP_GET_RESOURCE_METHOD, params(absent))?;
        ensure!(
            error.code == error_codes::RESOURCE_ERROR,
            "an unknown resource answers {error:?}"
        );
        Ok(format!(
            "BrpGetResourcesResponse of {resource}: {}; unknown: {}",
            clip(&value),
            error.code
        ))
    })();
    c.report(BRP_GET_RESOURCE_METHOD, outcome);

    // world.remove_components
    let outcome = (|| -> Outcome {
        let remove = BrpRemoveComponentsParams {
            entity: child,
            components: vec![NAME.to_owned()],
        };
        c.null(BRP_REMOVE_COMPONENTS_METHOD, params(remove))?;
        let list = BrpListComponentsParams { entity: child };
        let names: BrpListComponentsResponse =
            c.result(BRP_LIST_COMPONENTS_METHOD, params(list))?;
        ensure!(!names.iter().any(|n| n == NAME), "still lists {names:?}");
        Ok("null; Name gone".to_owned())
    })();
    c.report(BRP_REMOVE_COMPONENTS_METHOD, outcome);

    // world.reparent_entities
    let outcome = (|| -> Outcome {
        let reparent = BrpReparentEntitiesParams {
            entities: vec![child],
            parent: Some(parent),
        };
        c.null(BRP_REPARENT_ENTITIES_METHOD, params(reparent))?;
        let of: Entity = read(&c.get(child, &[CHILD_OF])?[0])?;
        ensure!(of == parent, "ChildOf {of}, not {parent}");
        let loop_ = BrpReparentEntitiesParams {
            entities: vec![parent],
            parent: Some(child),
        };
        let error = c.error(BRP_REPARENT_ENTITIES_METHOD, params(loop_))?;
        ensure!(
            error.code == error_codes::SELF_REPARENT,
            "a cycle answers {error:?}"
        );
        Ok(format!(
            "null; ChildOf reads Entity {of}; a cycle: {}",
            error.code
        ))
    })();
    c.report(BRP_REPARENT_ENTITIES_METHOD, outcome);

    // world.get_components+watch over server-sent events, ended by the despawn
    let watch_http = Http::connect(port);
    let watch = BrpGetComponentsParams {
        entity: child,
        components: vec![TRANSFORM.to_owned()],
        strict: false,
    };
    let (body, watch_id) = c.request(BRP_GET_COMPONENTS_AND_WATCH_METHOD, params(watch));
    let mut events = watch_http.watch(&body);
    let mut next_watch = || -> Result<BrpGetComponentsWatchingResponse, String> {
        let text = events.next().ok_or("the event stream ended")?;
        match response(&text, watch_id)? {
            BrpPayload::Result(value) => read(&value),
            BrpPayload::Error(error) => Err(format!("watch error {error:?}")),
        }
    };
    let outcome = (|| -> Outcome {
        let translation_x = |answer: BrpGetComponentsWatchingResponse| match answer {
            BrpGetComponentsWatchingResponse::Lenient {
                components,
                removed,
                errors,
            } => {
                ensure!(
                    removed.is_empty() && errors.is_empty(),
                    "{removed:?} {errors:?}"
                );
                let got = transform_of(components.get(TRANSFORM).ok_or("no Transform")?)?;
                Ok(got.translation.x)
            }
            strict => Err(format!("a lenient watch read as {strict:?}")),
        };
        let first = translation_x(next_watch()?)?;
        ensure!(first == 5.0, "first event: translation.x {first}");
        let mutate = BrpMutateComponentsParams {
            entity: child,
            component: TRANSFORM.to_owned(),
            path: ".translation.x".to_owned(),
            value: json!(9.0),
        };
        c.null(BRP_MUTATE_COMPONENTS_METHOD, params(mutate))?;
        let second = translation_x(next_watch()?)?;
        ensure!(second == 9.0, "after a mutate: translation.x {second}");
        Ok("text/event-stream; BrpGetComponentsWatchingResponse::Lenient at once (x 5), then after a mutate (x 9)".to_owned())
    })();
    c.report("world.get_components+watch", outcome);

    // world.despawn_entity; the watch ends with -23401
    let outcome = (|| -> Outcome {
        let despawn = BrpDespawnEntityParams { entity: child };
        c.null(BRP_DESPAWN_COMPONENTS_METHOD, params(despawn))?;
        let get = BrpGetComponentsParams {
            entity: child,
            components: vec![TRANSFORM.to_owned()],
            strict: true,
        };
        let error = c.error(BRP_GET_COMPONENTS_METHOD, params(get))?;
        ensure!(
            error.code == error_codes::ENTITY_NOT_FOUND,
            "GET of the despawned entity answers {error:?}"
        );
        let text = events
            .next()
            .ok_or("the watch ended without a last answer")?;
        let last = match response(&text, watch_id)? {
            BrpPayload::Error(error) => error,
            BrpPayload::Result(value) => return Err(format!("watch answered {value}")),
        };
        ensure!(
            last.code == error_codes::ENTITY_NOT_FOUND,
            "the watch ended with {last:?}"
        );
        ensure!(events.next().is_none(), "the event stream goes on");
        Ok(format!(
            "null; GET then answers BrpError {}; the watch's last event BrpError {}, then the stream ends",
            error.code, last.code
        ))
    })();
    c.report(BRP_DESPAWN_COMPONENTS_METHOD, outcome);

    // A method libbrp does not answer: bevy_remote's METHOD_NOT_FOUND.
    let outcome = (|| -> Outcome {
        let trigger = BrpTriggerEventParams {
            event: "bevy_brp_check::Event".to_owned(),
            value: None,
        };
        let error = c.error(BRP_TRIGGER_EVENT_METHOD, params(trigger))?;
        ensure!(
            error.code == error_codes::METHOD_NOT_FOUND,
            "answers {error:?}"
        );
        Ok(format!("BrpError {} {:?}", error.code, error.message))
    })();
    c.report(BRP_TRIGGER_EVENT_METHOD, outcome);

    let stats = server.stats();
    server.stop();
    println!(
        "{} requests over {} connections; {} failed, {} differences from bevy_remote {}'s types",
        stats.requests,
        stats.connections,
        c.failures,
        c.differences.len(),
        crate::BEVY_REMOTE_VERSION
    );
    for difference in &c.differences {
        println!("  difference: {difference}");
    }
    i32::from(c.failures > 0)
}
