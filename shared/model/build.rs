// include_str! of charts/values.yaml and values.schema.json: rebuild when the chart changes.
fn main() {
    println!("cargo:rerun-if-changed=../../charts/values.yaml");
    println!("cargo:rerun-if-changed=../../charts/values.schema.json");
}
