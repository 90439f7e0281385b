//! Merging values exactly as helm does.

use serde_json::Value;

/// Helm's `mergeMaps`, used between user sources (`-f` files in order): maps merge key by key,
/// anything else in `over` replaces what `base` had, `null` included.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => merge(existing, value),
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
    let mut out = defaults.clone();
    coalesce_into(&mut out, user);
    out
}

/// [`coalesce`] in place: the defaults become the merged values, without copying them. The
/// defaults keep their order; keys only the user has follow, in the user's order.
pub fn coalesce_into(defaults: &mut Value, user: &Value) {
    match (defaults, user) {
        (Value::Object(defaults), Value::Object(user)) => {
            for (key, value) in user {
                if value.is_null() {
                    defaults.shift_remove(key);
                    continue;
                }
                match defaults.get_mut(key) {
                    Some(default) => coalesce_into(default, value),
                    None => {
                        defaults.insert(key.clone(), strip_nulls(value));
                    }
                }
            }
        }
        (defaults, user) => *defaults = strip_nulls(user),
    }
}

fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), strip_nulls(v))).collect())
        }
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

    #[test]
    fn defaults_keep_their_order_and_new_keys_follow() {
        let defaults = json!({"z": 1, "a": {"y": 1, "b": 2}, "m": 3});
        let user = json!({"n": 1, "a": {"c": 1, "y": null}, "z": 2, "b": 0});
        let merged = coalesce(&defaults, &user);
        let keys: Vec<&str> = merged.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["z", "a", "m", "n", "b"]);
        let inner: Vec<&str> = merged["a"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(inner, ["b", "c"]);
    }
}
