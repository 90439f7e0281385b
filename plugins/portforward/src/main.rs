fn main() -> std::process::ExitCode {
    kubectl_mlflow_portforward::main(std::env::args_os())
}
