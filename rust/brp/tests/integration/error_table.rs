//! docs/protocol.md's table of error codes is the core's `ErrorCode` table.

use brp::ErrorCode;
use std::path::Path;

#[test]
fn the_table_of_docs_protocol_md_is_the_core_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocol.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let section = doc.split("## Error codes").nth(1).expect("the section");
    let rows: Vec<(i32, String)> = section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells.get(1)?.parse().ok()?;
            Some((code, cells.get(2)?.trim_matches('`').to_owned()))
        })
        .collect();
    let table: Vec<(i32, String)> = ErrorCode::ALL
        .iter()
        .map(|c| (c.code(), c.name().to_owned()))
        .collect();
    assert_eq!(rows, table);
}
