fn main() -> std::process::ExitCode {
    masthead::cli::main()
}
