# upstream step "Lint": the native renderer's equivalent renders and validates (a refusal exits 2)
"$install" mlflow --dry-run -o json --set mlflow.backendStoreUri="sqlite:////tmp/mlflow.db" >/dev/null
