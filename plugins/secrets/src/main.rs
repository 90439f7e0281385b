fn main() -> std::process::ExitCode {
    kubectl_mlflow_secrets::main(std::env::args_os())
}
