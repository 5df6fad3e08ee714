//! What an audit leaves behind: the reset list (CSV), the summary (JSON)
//! and the HTML report, each written atomically with mode 0600 by
//! [`crate::atomic_file`]; and `credaudit merge`, which puts the reports of
//! `--shard` runs together.

pub mod csv_row;
pub mod html;
pub mod merge;
pub mod reset_list;
pub mod summary;
