//! Counts the statements sent to the database on behalf of one piece of work.
//!
//! The compare page and the dashboard say how many queries recognising a request took. Every
//! statement passes [`super::Db::pool`], which bumps the counter of the task running inside
//! [`counting_queries`]; statements outside any count go uncounted. A transaction is counted
//! once, when it begins.

use std::cell::Cell;

tokio::task_local! {
    static QUERIES: Cell<u32>;
}

/// Counts one statement against the count under way, if there is one.
pub(super) fn count_query() {
    let _ = QUERIES.try_with(|queries| queries.set(queries.get() + 1));
}

/// Runs `work` and returns its output with the number of statements it sent.
pub async fn counting_queries<F: Future>(work: F) -> (F::Output, u32) {
    QUERIES
        .scope(Cell::new(0), async {
            let output = work.await;
            (output, QUERIES.with(Cell::get))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn statements_are_counted_only_inside_a_count() {
        count_query();
        let ((), counted) = counting_queries(async {
            count_query();
            count_query();
        })
        .await;
        assert_eq!(counted, 2);
        let ((), nested_outside) = counting_queries(async {}).await;
        assert_eq!(nested_outside, 0);
    }
}
