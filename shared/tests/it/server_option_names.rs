//! server.value_options and server.flag_options against `mlflow server`'s option table.

use kubectl_mlflow_test_support::values;

fn problems(sets: &[&str]) -> Vec<String> {
    values::problems(sets, true)
}

#[test]
fn unknown_names_are_refused_with_the_nearest() {
    assert_eq!(
        problems(&["server.value_options.worker=2"]),
        vec!["server.value_options.worker: mlflow server 3.17.2 has no option --worker (did you mean workers?)"]
    );
    assert_eq!(problems(&["server.flag_options={enable-workspace}"]), vec!["server.flag_options[0]: mlflow server 3.17.2 has no option --enable-workspace (did you mean enable_workspaces?)"]);
    assert_eq!(
        problems(&["server.value_options.zzz=1"]),
        vec!["server.value_options.zzz: mlflow server 3.17.2 has no option --zzz (see `mlflow server --help`)"]
    );
}

#[test]
fn flags_and_value_options_stay_in_their_lists() {
    assert_eq!(
        problems(&["server.value_options.dev=true"]),
        vec!["server.value_options.dev: --dev is a flag and takes no value (list dev in server.flag_options instead)"]
    );
    assert_eq!(problems(&["server.flag_options={gunicorn_opts}"]), vec!["server.flag_options[0]: --gunicorn-opts takes a value (set it in server.value_options, e.g. gunicorn_opts: VALUE)"]);
}

#[test]
fn typed_values_are_checked() {
    assert_eq!(
        problems(&["server.value_options.secrets_cache_ttl=5"]),
        vec!["server.value_options.secrets_cache_ttl: 5 is out of range (use a number from 10 to 300)"]
    );
    assert_eq!(problems(&["server.value_options.secrets_cache_max_size=many"]), vec!["server.value_options.secrets_cache_max_size: \"many\" is not an integer (mlflow server --secrets-cache-max-size takes a whole number)"]);
    assert_eq!(
        problems(&["server.value_options.app_name=oidc"]),
        vec!["server.value_options.app_name: \"oidc\" is not a choice of --app-name (use one of basic-auth)"]
    );
}

#[test]
fn known_names_in_every_spelling_pass() {
    let ok = [
        "server.flag_options={--no-serve-artifacts,disable_workspaces,dev}",
        "server.value_options.secrets_cache_ttl=60",
        "server.value_options.x_frame_options=DENY",
        "server.value_options.gunicorn_opts=",
    ];
    assert_eq!(problems(&ok), Vec::<String>::new());
}

#[test]
fn options_the_chart_sets_are_refused() {
    assert_eq!(
        problems(&["server.value_options.backend_store_uri=postgresql://u@db/m"]),
        vec!["server.value_options.backend_store_uri: --backend-store-uri is set by the chart from mlflow.backendStoreUri (set mlflow.backendStoreUri instead)"]
    );
    assert_eq!(
        problems(&["server.value_options.static_prefix=/x"]),
        vec!["server.value_options.static_prefix: --static-prefix is set by the chart from server.staticPrefix (set server.staticPrefix instead)"]
    );
}

#[test]
fn no_password_goes_into_the_servers_arguments() {
    let found = problems(&["server.value_options.read_replica_backend_store_uri=postgresql://u:hunter2@replica/m"]);
    assert_eq!(found, vec!["server.value_options.read_replica_backend_store_uri: holds a password, which would show in the server's process list (remove it here and set MLFLOW_READ_REPLICA_BACKEND_STORE_URI in env, from a Secret with valueFrom.secretKeyRef)"]);
    assert!(problems(&["server.value_options.read_replica_backend_store_uri=postgresql://u@replica/m"]).is_empty());
}
