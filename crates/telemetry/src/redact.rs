/// Returns `url` with any password replaced by `***`, for logs and error messages.
///
/// Connection strings carry credentials (`postgres://user:secret@host/db`); they must never
/// reach a log line, a metric label or `--help` output. A string that is not a URL is returned
/// fully masked rather than risk leaking it.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                // set_password only fails for URLs that cannot have credentials.
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<unparseable url redacted>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn password_is_masked_and_the_rest_kept() {
        let r = redact_url("postgres://app:s3cr3t@db.internal:5432/events?sslmode=require");
        assert!(!r.contains("s3cr3t"), "{r}");
        assert!(r.contains("app:***@db.internal:5432/events"), "{r}");
    }

    #[test]
    fn urls_without_password_are_unchanged_and_garbage_is_masked() {
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert!(!redact_url("host=db password=hunter2").contains("hunter2"));
    }
}
