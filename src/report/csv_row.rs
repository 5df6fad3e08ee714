//! CSV rows formatted by hand into a caller's buffer, for the reset list
//! (written by an audit, and again by `credaudit merge`).
//!
//! A reset list can have millions of rows. Through the csv crate's writer,
//! each cell was a `Cow` (for the formula guard), a call through its
//! quoting state machine and a copy into its buffer, and every number a
//! `String` first; here a row is a few appends to a `Vec<u8>` the caller
//! reuses, so rows can also be formatted on every core and written in order.
//!
//! The bytes are the csv crate's default writer's (`QuoteStyle::Necessary`,
//! `,` between fields, `\n` after a row): a cell is quoted when it holds
//! `,`, `"`, `\r` or `\n`, and a `"` inside is doubled. The tests hold the
//! two to the same output. A cell a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'` (OWASP
//! CSV injection), inside the quotes when quoted.

/// One row being appended to a buffer; [`Row::end`] closes it.
pub struct Row<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Row<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Row<'a> {
        Row { out, first: true }
    }

    fn separate(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    /// A text cell: neutralised and quoted as needed.
    pub fn cell(&mut self, cell: &[u8]) -> &mut Self {
        self.separate();
        // Every byte looked at, without an early exit: the compiler can
        // then compare a vector of bytes at a time.
        let quoted = cell.iter().fold(false, |any, &b| {
            any | (b == b',') | (b == b'"') | (b == b'\r') | (b == b'\n')
        });
        if quoted {
            self.out.push(b'"');
        }
        if is_formula(cell) {
            self.out.push(b'\'');
        }
        if quoted {
            let mut rest = cell;
            while let Some(i) = memchr::memchr(b'"', rest) {
                self.out.extend_from_slice(&rest[..=i]);
                self.out.push(b'"');
                rest = &rest[i + 1..];
            }
            self.out.extend_from_slice(rest);
            self.out.push(b'"');
        } else {
            self.out.extend_from_slice(cell);
        }
        self
    }

    /// A cell of the program's own words (reason, status and severity
    /// names, `;` between them): nothing to quote or neutralise.
    pub fn word(&mut self, word: &[u8]) -> &mut Self {
        debug_assert!(word
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b == b'-' || b == b';'));
        self.separate();
        self.out.extend_from_slice(word);
        self
    }

    /// A number cell, or an empty one for `None`: digits need no quoting.
    pub fn number(&mut self, n: Option<u64>) -> &mut Self {
        self.separate();
        if let Some(n) = n {
            push_decimal(self.out, n);
        }
        self
    }

    /// Close the row.
    pub fn end(&mut self) {
        self.out.push(b'\n');
    }
}

/// Would a spreadsheet run this cell as a formula?
fn is_formula(cell: &[u8]) -> bool {
    matches!(
        cell.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// Append `n` in decimal.
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::SplitMix;

    /// What the csv crate's default writer makes of the same cells, each
    /// neutralised the way the reset list always has.
    fn by_csv_crate(cells: &[&[u8]]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        w.write_record(cells.iter().map(|c| {
            if is_formula(c) {
                [b"'".as_slice(), c].concat()
            } else {
                c.to_vec()
            }
        }))
        .unwrap();
        w.into_inner().unwrap()
    }

    fn by_hand(cells: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut row = Row::new(&mut out);
        for c in cells {
            row.cell(c);
        }
        row.end();
        out
    }

    #[test]
    fn quoting_and_neutralising_match_the_csv_crate() {
        let cells: &[&[u8]] = &[
            b"alice@example.com",
            b"",
            b"a,b",
            b"say \"hi\"",
            b"\"",
            b"\"\"",
            b"line\nbreak",
            b"cr\rhere",
            b"\r\n",
            b"=HYPERLINK(\"x\")",
            b"=1,2",
            b"+1+1",
            b"-2",
            b"@SUM(A1)",
            b"\tindented",
            b"\rleading cr",
            b"'already quoted",
            b" spaces ",
            b"semi;colon",
            b"CORP\\jdoe",
            b"\xff\xfe not utf-8",
            "ünïcödé".as_bytes(),
        ];
        // Each alone (but the empty cell: a row of one empty cell is the
        // csv crate's special case, `""`; reset-list rows have eleven cells).
        for c in cells.iter().filter(|c| !c.is_empty()) {
            assert_eq!(
                by_hand(&[c]),
                by_csv_crate(&[c]),
                "{:?}",
                String::from_utf8_lossy(c)
            );
        }
        assert_eq!(by_hand(cells), by_csv_crate(cells));
        assert_eq!(by_hand(&[b"=a,\"b\""]), b"\"'=a,\"\"b\"\"\"\n");
    }

    #[test]
    fn random_cells_match_the_csv_crate() {
        // Cells of the bytes that matter, at random.
        let alphabet = b"ab,\"\r\n=+-@\t' ;\xff";
        let mut rng = SplitMix(0x5EED);
        for _ in 0..2000 {
            let cells: Vec<Vec<u8>> = (0..1 + rng.below(10))
                .map(|_| {
                    (0..rng.below(8))
                        .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                        .collect()
                })
                .collect();
            // A row of one empty cell: the special case above.
            if cells.len() == 1 && cells[0].is_empty() {
                continue;
            }
            let cells: Vec<&[u8]> = cells.iter().map(Vec::as_slice).collect();
            assert_eq!(by_hand(&cells), by_csv_crate(&cells), "{cells:?}");
        }
    }

    #[test]
    fn formula_cells_are_quoted() {
        assert_eq!(
            by_hand(&[b"=HYPERLINK(\"x\")"]),
            b"\"'=HYPERLINK(\"\"x\"\")\"\n"
        );
        assert_eq!(by_hand(&[b"-1+2"]), b"'-1+2\n");
        assert_eq!(by_hand(&[b"@SUM"]), b"'@SUM\n");
        assert_eq!(by_hand(&[b"alice@example.com"]), b"alice@example.com\n");
        // Already neutralised (`credaudit merge` copies such cells): kept.
        assert_eq!(by_hand(&[b"'@SUM"]), b"'@SUM\n");
    }

    #[test]
    fn numbers() {
        let mut out = Vec::new();
        let mut row = Row::new(&mut out);
        row.number(Some(0))
            .number(None)
            .number(Some(u64::MAX))
            .number(Some(1_000_000))
            .word(b"pwned;shared")
            .word(b"")
            .cell(b"x");
        row.end();
        assert_eq!(out, b"0,,18446744073709551615,1000000,pwned;shared,,x\n");
    }
}
