//! Page components. They call server functions from [`crate::api`] and never see cookies.

pub mod account;
pub mod activity;
pub mod admin;
pub mod cluster;
pub mod compare;
pub mod dashboard;
pub mod devices;
pub mod form;
pub mod home;
pub mod layout;
pub mod login;
pub mod playground;
pub mod signup;
