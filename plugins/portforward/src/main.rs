fn main() -> std::process::ExitCode {
    kubectl_mlflow_portforward::run(std::env::args_os())
}
