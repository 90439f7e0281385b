fn main() -> std::process::ExitCode {
    kubectl_mlflow_gc::run(std::env::args_os())
}
