fn main() -> std::process::ExitCode {
    kubectl_mlflow_gc::main(std::env::args_os())
}
