//! The `gatehouse` command line. Thin: each subcommand lives in
//! `gatehouse::cli`.

fn main() -> std::process::ExitCode {
    gatehouse::cli::main()
}
