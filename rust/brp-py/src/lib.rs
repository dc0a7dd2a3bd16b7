//! `brp._native`, the native module of the `brp` wheel: the module of
//! `brp-python` with the built-in contents alone.

brp_python::module!(|_app| {});
