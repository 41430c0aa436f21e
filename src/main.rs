//! The `bazaar` command: see `bazaar --help`.

fn main() -> std::process::ExitCode {
    bazaar::cli::main()
}
