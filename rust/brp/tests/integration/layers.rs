//! The core's layers import only downward: a module may use `crate::<m>`
//! only for modules declared before it in `src/lib.rs`, whose order is the
//! layer order; and the workspace's crates depend only on lower layers
//! (docs/architecture.md).

use std::fs;
use std::path::{Path, PathBuf};

/// The modules of `src/lib.rs`, in declaration order.
fn layers(src: &Path) -> Vec<String> {
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    lib.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or(line.strip_prefix("mod "))?;
            Some(rest.trim_end_matches(';').to_owned())
        })
        .collect()
}

/// The Rust files of module `name` under `src`.
fn files(src: &Path, name: &str) -> Vec<PathBuf> {
    let single = src.join(format!("{name}.rs"));
    if single.exists() {
        return vec![single];
    }
    let mut found = Vec::new();
    let mut dirs = vec![src.join(name)];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found
}

/// The modules `code` names as `crate::<module>`, outside comments.
fn uses(code: &str) -> Vec<String> {
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .flat_map(|line| {
            line.match_indices("crate::")
                .map(move |(at, _)| &line[at + 7..])
        })
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .collect()
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layers = layers(&src);
    assert!(layers.len() > 5, "no layers read from lib.rs: {layers:?}");
    let mut upward = Vec::new();
    for (level, module) in layers.iter().enumerate() {
        let module_files = files(&src, module);
        assert!(!module_files.is_empty(), "no source for module {module}");
        for file in module_files {
            for used in uses(&fs::read_to_string(&file).unwrap()) {
                let Some(used_level) = layers.iter().position(|m| *m == used) else {
                    continue; // a re-export at the crate root, e.g. `crate::Host`
                };
                if used_level >= level && used != *module {
                    upward.push(format!("{} uses crate::{used}", file.display()));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    assert_eq!(
        uses("use crate::engine::Engine; // crate::app"),
        ["engine", "app"]
    );
    assert!(uses("    // crate::app").is_empty());
}

/// The workspace's crates by layer, lowest first (docs/architecture.md):
/// a crate may depend only on crates of lower layers.
const CRATES: &[(&str, u8)] = &[
    ("brp", 0),
    ("brp-capi", 1),
    ("brp-python", 1),
    ("brp-ffi", 2),
    ("brp-py", 2),
    ("dance-game", 1),
    ("dance-libbrp", 2),
    ("dance-python", 2),
];

/// The names of the workspace crates `manifest` (a Cargo.toml) depends on,
/// in any of its dependency tables.
fn crate_uses(manifest: &str) -> Vec<String> {
    let mut table = "";
    let mut used = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            table = line;
            continue;
        }
        if !table.ends_with("dependencies]") {
            continue;
        }
        let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
        if CRATES.iter().any(|(known, _)| *known == name) {
            used.push(name.to_owned());
        }
    }
    used
}

/// The workspace members' manifests, from the root Cargo.toml.
fn members(root: &Path) -> Vec<(String, String)> {
    let workspace = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let list = workspace
        .lines()
        .find_map(|line| line.trim().strip_prefix("members = ["))
        .expect("a members list on one line");
    list.trim_end_matches(']')
        .split(',')
        .map(|member| member.trim().trim_matches('"'))
        .filter(|member| !member.is_empty())
        .map(|member| {
            let manifest = fs::read_to_string(root.join(member).join("Cargo.toml")).unwrap();
            let name = (manifest.lines())
                .find_map(|line| line.trim().strip_prefix("name = \""))
                .map(|name| name.trim_end_matches('"').to_owned())
                .expect("a package name");
            (name, manifest)
        })
        .collect()
}

#[test]
fn every_crate_depends_only_on_the_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let level = |name: &str| {
        (CRATES.iter())
            .find(|(known, _)| *known == name)
            .map(|c| c.1)
    };
    let mut wrong = Vec::new();
    for (name, manifest) in members(&root) {
        let Some(own) = level(&name) else {
            wrong.push(format!("{name} is in no layer of CRATES"));
            continue;
        };
        for used in crate_uses(&manifest) {
            if level(&used).is_some_and(|theirs| theirs >= own) && used != name {
                wrong.push(format!("{name} depends on {used}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_crate_check_sees_an_upward_dependency() {
    let manifest = "[package]\nname = \"brp\"\n[dependencies]\nbrp-capi = { path = \"x\" }\n\
                    serde = \"1\"\n[dev-dependencies]\nbrp-ffi.workspace = true\n";
    assert_eq!(crate_uses(manifest), ["brp-capi", "brp-ffi"]);
}
