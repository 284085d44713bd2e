//! The `gatehouse` command line. Thin: each subcommand lives in
//! `gatehouse_cli::cli`.

fn main() -> std::process::ExitCode {
    gatehouse_cli::cli::main()
}
