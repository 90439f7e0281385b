fn main() -> std::process::ExitCode {
    kubectl_mlflow_install::run(std::env::args_os())
}
