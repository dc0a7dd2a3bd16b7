//! Tells the benchmark which bevy_remote it is built against, so that its
//! output names the peer that ran: `BEVY_REMOTE_VERSION`, the version this
//! crate's Cargo.lock resolved (0.19.1 here, 0.20.1 in bench/bevy-remote-0.20,
//! which builds these same sources), and `BENCH_RUSTC`, the compiler's
//! `rustc --version`.

use std::path::Path;
use std::process::Command;

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let lock = Path::new(&dir).join("Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", lock.display()));
    let version = text
        .split("[[package]]")
        .find_map(|package| {
            let field = |key: &str| {
                package.lines().find_map(|line| {
                    let value = line.trim().strip_prefix(key)?.trim_start();
                    Some(value.strip_prefix('=')?.trim().trim_matches('"').to_owned())
                })
            };
            (field("name")? == "bevy_remote").then(|| field("version"))?
        })
        .unwrap_or_else(|| panic!("no bevy_remote in {}", lock.display()));
    println!("cargo::rustc-env=BEVY_REMOTE_VERSION={version}");

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {rustc} --version: {e}"));
    let rustc_version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    println!("cargo::rustc-env=BENCH_RUSTC={rustc_version}");
}
