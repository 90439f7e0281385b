//! Secret values a release makes once and keeps (the basic-auth admin password when
//! `auth.adminPasswordFrom` names none): the installed Secret's value when it has one, else a new
//! one from the operating system's random source. The chart does the same with `lookup`.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::cluster::describe;
use crate::random;
use crate::render::{Generated, Rendered};
use crate::Failure;

/// Fills every generated value: kept from the cluster, else new.
pub async fn keep_or_make(client: &Client, namespace: &str, rendered: &mut Rendered) -> Result<(), Failure> {
    for generated in rendered.generated.clone() {
        let value = match installed(client, namespace, &generated).await? {
            Some(value) => value,
            None => new_value(&generated)?,
        };
        rendered.fill(&generated, &value);
    }
    Ok(())
}

/// Fills every generated value with a new one (a rendering that reads no cluster, as `helm template`).
pub fn make(rendered: &mut Rendered) -> Result<(), Failure> {
    for generated in rendered.generated.clone() {
        let value = new_value(&generated)?;
        rendered.fill(&generated, &value);
    }
    Ok(())
}

fn new_value(generated: &Generated) -> Result<String, Failure> {
    random::password(generated.length).map_err(Failure::failed)
}

/// The value the installed Secret holds, if it holds a non-empty one.
async fn installed(client: &Client, namespace: &str, generated: &Generated) -> Result<Option<String>, Failure> {
    let secret =
        Api::<Secret>::namespaced(client.clone(), namespace).get_opt(&generated.secret).await.map_err(|err| {
            Failure::failed(format!(
                "cannot read Secret {} in namespace {namespace} (to keep its {}): {}",
                generated.secret,
                generated.key,
                describe(&err)
            ))
        })?;
    let value = secret.and_then(|s| s.data).and_then(|mut data| data.remove(&generated.key));
    Ok(value.and_then(|v| String::from_utf8(v.0).ok()).filter(|v| !v.is_empty()))
}
