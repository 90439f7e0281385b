fn main() -> std::process::ExitCode {
    kubectl_mlflow_check::main(std::env::args_os())
}
