//! What an audit leaves behind: the reset list (CSV), the summary (JSON),
//! both written atomically with mode 0600 by [`crate::atomic_file`].

pub mod csv_row;
pub mod reset_list;
pub mod summary;
