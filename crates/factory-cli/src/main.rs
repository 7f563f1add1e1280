//! The `factory` binary: everything is in the library.

/// mimalloc: the policy compiler and the diff make many small allocations, and a hook runs
/// for a few milliseconds, so the allocator shows (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    factory_cli::run(std::env::args_os())
}
