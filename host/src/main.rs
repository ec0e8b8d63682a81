//! `minichat`: the minichat protocol on a computer. See `minichat --help`.

fn main() -> std::process::ExitCode {
    host::main()
}
