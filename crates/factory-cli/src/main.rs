fn main() -> std::process::ExitCode {
    factory_cli::run(std::env::args_os())
}
