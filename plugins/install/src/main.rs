fn main() -> std::process::ExitCode {
    kubectl_mlflow_install::main(std::env::args_os())
}
