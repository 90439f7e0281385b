# upstream step "Lint"
helm lint charts/ --set mlflow.backendStoreUri="sqlite:////tmp/mlflow.db"
