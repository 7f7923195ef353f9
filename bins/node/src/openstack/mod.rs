//! A small OpenStack API client for instance HA ([`crate::masakari`]).
//!
//! Flow: [`clouds`] reads the cloud from the suite's clouds.yaml → [`keystone`] logs in and
//! picks endpoints from the token's catalog → [`services`] makes the Nova, Neutron and
//! Masakari calls, over [`http`].

pub mod clouds;
pub mod http;
pub mod keystone;
pub mod services;
