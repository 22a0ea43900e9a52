//! The IO shell's kernel side: each function maps to one kernel operation.

pub mod netlink;
