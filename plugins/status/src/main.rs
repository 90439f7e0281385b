fn main() -> std::process::ExitCode {
    kubectl_mlflow_core::ui::main(std::env::args_os(), kubectl_mlflow_status::run)
}
