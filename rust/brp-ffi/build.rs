//! Gives `libbrp.so` the versioned SONAME `libbrp.so.<major>` on Linux, so
//! that programs linked against it load `libbrp.so.<major>` at run time and
//! an installed `libbrp.so.<major>.<minor>.<patch>` can be upgraded within a
//! major version (see scripts/install-libbrp and docs/c-api.md, "Installing
//! libbrp"). Other targets keep the linker's default.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        let major =
            env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libbrp.so.{major}");
    }
}
