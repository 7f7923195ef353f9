//! `rockoon-ceph-exchange`: one container of the Rockoon controller suite. See the library for what it does.

use std::process::ExitCode;

use rockoon_runtime::settings::BinaryArgs;

#[tokio::main]
async fn main() -> ExitCode {
    rockoon_ceph_exchange::run(rockoon_ceph_exchange::Args::load()).await
}
