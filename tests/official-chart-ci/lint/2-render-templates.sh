# upstream step "Render templates"
helm template mlflow charts/ --set mlflow.backendStoreUri="sqlite:////tmp/mlflow.db"
