// include_dir! embeds charts/ but does not tell cargo about the files it read: rebuild whenever
// anything under charts/ changes, so a binary always carries the chart of its commit.
fn main() {
    println!("cargo:rerun-if-changed=../charts");
}
