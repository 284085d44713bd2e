//! Reads an audit history on stdin and writes the autonomy report as JSON
//! (the library alone, for the performance measurement in
//! docs/autonomy.md; `gatehouse autonomy` adds only the file reading).

fn main() {
    let stdin = std::io::stdin();
    let report =
        match gatehouse_autonomy::report_from(stdin.lock(), gatehouse_autonomy::Options::default())
        {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(3);
            }
        };
    let mut out = std::io::stdout();
    if gatehouse_autonomy::render::write_json(&mut out, &report).is_err() {
        std::process::exit(101);
    }
}
