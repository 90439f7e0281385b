# upstream step "Render templates"
"$install" mlflow --dry-run -o yaml --set mlflow.backendStoreUri="sqlite:////tmp/mlflow.db"
