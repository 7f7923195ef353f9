//! Dev cluster harness and helpers for the integration tests.
//!
//! - [`devcluster`]: starts and stops a real control plane (etcd, kube-apiserver,
//!   kube-controller-manager, kube-scheduler, kwok) on loopback.
//! - [`suite`]: installs the CRDs and runs the five binaries as local processes against it.
//! - [`harness`]: one shared cluster per test run, a namespace per test.
//! - [`probe`]: a binary of the suite started for a test, checked through its admin endpoints.
//! - [`pod`]: the suite as its real pod (image import, helm install, its processes).
//! - [`openstack_apis`]: real Keystone and Masakari API servers for the instance-HA test.

pub mod conformance;
pub mod devcluster;
pub mod harness;
pub mod measure;
pub mod openstack_apis;
pub mod pod;
pub mod probe;
pub mod sample;
pub mod suite;
