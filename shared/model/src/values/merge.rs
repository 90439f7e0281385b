//! Merging values exactly as helm does.

use serde_json::{Map, Value};

/// Helm's `mergeMaps`, used between user sources (`-f` files in order): maps merge key by key,
/// anything else in `over` replaces what `base` had, `null` included.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// Helm's coalescing of the user's values over the chart's defaults: maps merge key by key, a
/// user `null` deletes the default, anything else replaces it.
pub fn coalesce(defaults: &Value, user: &Value) -> Value {
    match (defaults, user) {
        (Value::Object(defaults), Value::Object(user)) => {
            let mut out = Map::new();
            for (key, default) in defaults {
                match user.get(key) {
                    None => {
                        out.insert(key.clone(), default.clone());
                    }
                    Some(Value::Null) => {}
                    Some(value) => {
                        out.insert(key.clone(), coalesce(default, value));
                    }
                }
            }
            for (key, value) in user {
                if !defaults.contains_key(key) && !value.is_null() {
                    out.insert(key.clone(), strip_nulls(value));
                }
            }
            Value::Object(out)
        }
        (_, user) => strip_nulls(user),
    }
}

fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_sources_win_and_maps_merge() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        merge(&mut base, json!({"a": {"c": 3}, "l": [9]}));
        assert_eq!(base, json!({"a": {"b": 1, "c": 3}, "l": [9]}));
    }

    #[test]
    fn null_deletes_a_default() {
        let defaults = json!({"a": {"b": 1, "c": 2}, "d": 4});
        let user = json!({"a": {"b": null}, "e": {"f": null, "g": 1}});
        assert_eq!(coalesce(&defaults, &user), json!({"a": {"c": 2}, "d": 4, "e": {"g": 1}}));
    }
}
