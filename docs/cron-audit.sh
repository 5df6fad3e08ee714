#!/bin/sh
# Scheduled credential audit (docs/ci.md, "cron"). Exits with credaudit's
# code: 0 nothing to reset, 1 accounts must reset, 2 error, 3 incomplete.
#
#   EXPORT            the credential export to audit (required)
#   PWNED_CORPUS_URL  a sorted Pwned Passwords file to build the store from
#                     when it is missing or older than 30 days (optional)
#   STORE             the compiled store [/var/lib/credaudit/pwned-sha1.cas]
#   REPORTS           where reset.csv and summary.json go [/var/lib/credaudit/reports]
#   FAIL_ON           what fails the run [high,unchecked,rejected]
set -u
: "${EXPORT:?set EXPORT to the export to audit}"
STORE=${STORE:-/var/lib/credaudit/pwned-sha1.cas}
REPORTS=${REPORTS:-/var/lib/credaudit/reports}
FAIL_ON=${FAIL_ON:-high,unchecked,rejected}
umask 077
mkdir -p "$REPORTS" || exit 2

# The store is the only thing kept between runs: never a range API cache,
# which records the hash prefixes of the audited passwords.
if [ -n "${PWNED_CORPUS_URL:-}" ] && [ -z "$(find "$STORE" -mtime -30 2>/dev/null)" ]; then
    # index build replaces the store atomically: a failed download keeps the old one.
    if ! curl -fsSL "$PWNED_CORPUS_URL" | credaudit index build --out "$STORE" - --quiet; then
        echo "credaudit: could not build $STORE from the corpus" >&2
        [ -s "$STORE" ] || exit 2
        echo "credaudit: auditing against the previous store" >&2
    fi
fi

credaudit audit "$EXPORT" --corpus "$STORE" --fail-on "$FAIL_ON" \
    -o "$REPORTS/reset.csv" --summary "$REPORTS/summary.json" --quiet
status=$?
case $status in
    0) ;;
    1) echo "credaudit: accounts must reset their password: $REPORTS/reset.csv" >&2 ;;
    3) echo "credaudit: the audit is incomplete (see $REPORTS/summary.json)" >&2 ;;
    *) echo "credaudit: the audit failed" >&2 ;;
esac
exit $status
