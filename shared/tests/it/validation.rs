//! Validation through the library: what the chart refuses, the library refuses too.

use kubectl_mlflow_test_support::values::problems;

#[test]
fn a_missing_backend_store_is_named_unless_the_quick_start_applies() {
    assert_eq!(
        problems(&[], false),
        vec![
            "mlflow.backendStoreUri: no backend store is set (set mlflow.backendStoreUri, or mlflow.backendStoreUriFrom to read it from a Secret)",
        ]
    );
    assert!(problems(&[], true).is_empty());
}

#[test]
fn workspaces_accept_every_sql_store() {
    for uri in ["sqlite:////mlflow/m.db", "postgresql+psycopg2://u@db/m", "mysql://u@db/m", "mssql+pyodbc://u@db/m"] {
        let set = format!("mlflow.backendStoreUri={uri}");
        let found = problems(
            &[
                &set,
                "server.flag_options={enable_workspaces}",
                "mlflow.defaultArtifactRoot=s3://b/p",
                "storage.enabled=true",
            ],
            false,
        );
        assert!(found.is_empty(), "{uri}: {found:?}");
    }
    let found = problems(
        &[
            "mlflow.backendStoreUri=file:///mlflow/store",
            "server.flag_options={enable_workspaces}",
            "mlflow.defaultArtifactRoot=s3://b/p",
            "storage.enabled=true",
        ],
        false,
    );
    assert_eq!(found, vec!["server.flag_options: enable_workspaces needs a SQL backend store (sqlite, postgresql, mysql or mssql), not \"file\""]);
}

#[test]
fn quantities_may_be_numbers() {
    assert!(problems(&["resources.limits.cpu=2", "resources.requests.memory=1073741824"], true).is_empty());
}

#[test]
fn store_uris_are_checked_with_the_password_masked() {
    let found = problems(
        &[
            "mlflow.backendStoreUri=postgres://u:hunter2@db/m",
            "mlflow.registryStoreUri=oracle://db/r",
            "storage.enabled=true",
        ],
        false,
    );
    assert_eq!(
        found,
        vec![
            "mlflow.backendStoreUri: \"postgres://u:***@db/m\": SQLAlchemy does not know the scheme \"postgres\" (write postgresql:// instead)",
            "mlflow.registryStoreUri: \"oracle://db/r\": MLflow has no store for the scheme \"oracle\" (use one of postgresql, mysql, mssql, sqlite, file, http, https, databricks, databricks-uc, uc, or a local path)",
        ]
    );
    assert!(problems(&["mlflow.backendStoreUri=/mlflow/mlruns", "storage.enabled=true"], false).is_empty());
}

#[test]
fn a_disruption_budget_takes_one_bound() {
    let both = problems(&["podDisruptionBudget.minAvailable=1", "podDisruptionBudget.maxUnavailable=50%"], true);
    assert_eq!(both, vec!["podDisruptionBudget.maxUnavailable: may not be set with podDisruptionBudget.minAvailable (keep one of them)"]);
    assert!(problems(
        &[
            "podDisruptionBudget.minAvailable=1",
            "podDisruptionBudget.maxUnavailable=50%",
            "podDisruptionBudget.enabled=false"
        ],
        true
    )
    .is_empty());
    assert!(problems(&["podDisruptionBudget.minAvailable=50%", "service.port=80", "revisionHistoryLimit=0"], true)
        .is_empty());
}

#[test]
fn an_http_route_needs_a_gateway() {
    assert_eq!(
        problems(&["httpRoute.enabled=true"], true),
        vec!["httpRoute.parentRefs: the HTTPRoute needs a Gateway to attach to (e.g. [{name: shared-gateway, namespace: gateway-system}])"]
    );
    assert!(problems(&["httpRoute.enabled=true", "httpRoute.parentRefs[0].name=gw"], true).is_empty());
}
