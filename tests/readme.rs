//! The README's compatibility table is generated from the command table, not
#![allow(clippy::disallowed_methods)] // a black-box test reads and writes the README
//! typed by hand. This test fails when they differ; regenerate with
//! `COREKV_BLESS=1 cargo test --test readme`.

const BEGIN: &str = "<!-- BEGIN GENERATED COMMAND TABLE -->\n";
const END: &str = "<!-- END GENERATED COMMAND TABLE -->";

#[test]
fn readme_command_table_matches_the_command_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).expect("README.md exists");
    let (head, rest) = readme
        .split_once(BEGIN)
        .expect("README has the BEGIN marker");
    let (current, tail) = rest.split_once(END).expect("README has the END marker");
    let generated = corekv::commands::compatibility_markdown(&corekv::commands::Table::new());
    if std::env::var_os("COREKV_BLESS").is_some() {
        std::fs::write(path, format!("{head}{BEGIN}{generated}{END}{tail}"))
            .expect("README written");
        return;
    }
    assert_eq!(
        current, generated,
        "README's command table is stale: run `COREKV_BLESS=1 cargo test --test readme`"
    );
}
