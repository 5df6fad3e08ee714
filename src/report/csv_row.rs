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
        push_cell(self.out, cell);
        self
    }

    /// A cell formatted before by [`push_cell`], copied as it is: for a
    /// cell that many rows share.
    pub fn formatted(&mut self, cell: &[u8]) -> &mut Self {
        self.separate();
        self.out.extend_from_slice(cell);
        self
    }

    /// The text cell `prefix` followed by the decimal digits of `n`, as
    /// [`Row::cell`] would write it, with the prefix's quoting worked out
    /// once (an origin, `file:line`, in millions of rows).
    pub fn prefixed_number(&mut self, prefix: &CellPrefix, n: u64) -> &mut Self {
        self.separate();
        self.out.extend_from_slice(&prefix.open);
        push_decimal(self.out, n);
        if prefix.quoted {
            self.out.push(b'"');
        }
        self
    }

    /// A cell of the program's own words (reason, status and severity
    /// names, `;` between them): nothing to quote or neutralise.
    pub fn word(&mut self, word: &[u8]) -> &mut Self {
        self.separate();
        push_word(self.out, word);
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

/// Append a program's word: nothing to quote or neutralise.
fn push_word(out: &mut Vec<u8>, word: &[u8]) {
    debug_assert!(word
        .iter()
        .all(|&b| b.is_ascii_lowercase() || b == b'-' || b == b';'));
    out.extend_from_slice(word);
}

/// Append a text cell, neutralised and quoted as needed: what
/// [`Row::cell`] writes after its separator.
pub fn push_cell(out: &mut Vec<u8>, cell: &[u8]) {
    let quoted = needs_quotes(cell);
    if quoted {
        out.push(b'"');
    }
    if is_formula(cell) {
        out.push(b'\'');
    }
    if quoted {
        let mut rest = cell;
        while let Some(i) = memchr::memchr(b'"', rest) {
            out.extend_from_slice(&rest[..=i]);
            out.push(b'"');
            rest = &rest[i + 1..];
        }
        out.extend_from_slice(rest);
        out.push(b'"');
    } else {
        out.extend_from_slice(cell);
    }
}

/// Does the cell hold `,`, `"`, `\r` or `\n`? Eight bytes at a time:
/// account names are too short for the compiler's vector loop, and
/// looking at them a byte at a time was a third of a row's formatting.
fn needs_quotes(cell: &[u8]) -> bool {
    if cell.len() < 8 {
        return cell
            .iter()
            .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    }
    let mut words = cell.chunks_exact(8);
    let any = words.by_ref().fold(0, |any, w| any | specials(w));
    // The last eight bytes, overlapping words already looked at.
    any | specials(&cell[cell.len() - 8..]) != 0
}

/// Nonzero when one of the eight bytes of `w` is `,`, `"`, `\r` or `\n`.
fn specials(w: &[u8]) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = ONES << 7;
    // Nonzero exactly when a byte of `x` is zero: a borrow can mark a
    // wrong byte, but only above a byte that is zero.
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let w = u64::from_ne_bytes(w.try_into().expect("eight bytes"));
    zero_byte(w ^ (ONES * u64::from(b',')))
        | zero_byte(w ^ (ONES * u64::from(b'"')))
        | zero_byte(w ^ (ONES * u64::from(b'\r')))
        | zero_byte(w ^ (ONES * u64::from(b'\n')))
}

/// Would a spreadsheet run this cell as a formula?
fn is_formula(cell: &[u8]) -> bool {
    matches!(
        cell.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// A text cell's beginning, formatted once for cells that go on with
/// digits ([`Row::prefixed_number`]): digits change neither whether a cell
/// is quoted nor whether it reads as a formula, so only the closing quote
/// is left to write after them.
pub struct CellPrefix {
    /// The cell as [`push_cell`] writes it, less its closing quote.
    open: Vec<u8>,
    quoted: bool,
}

impl CellPrefix {
    pub fn new(text: &[u8]) -> CellPrefix {
        let mut open = Vec::new();
        push_cell(&mut open, text);
        let quoted = needs_quotes(text);
        if quoted {
            open.pop();
        }
        CellPrefix { open, quoted }
    }
}

/// Append `n` in decimal, two digits at a time. The digits go into room
/// of a constant size, cut to length after: a copy of the exact length
/// is a call to `memcpy`, which a short number does not repay (it was a
/// quarter of a row's formatting).
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let len = n.checked_ilog10().map_or(1, |l| l as usize + 1);
    let start = out.len();
    out.extend_from_slice(&[0; 20]);
    let digits = &mut out[start..start + len];
    let mut i = len;
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        digits[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        digits[..2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        digits[0] = b'0' + n as u8;
    }
    out.truncate(start + len);
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
        // Cells of the bytes that matter, at random, some longer than the
        // eight bytes `needs_quotes` looks at together.
        let alphabet = b"ab,\"\r\n=+-@\t' ;\xff";
        let mut rng = SplitMix(0x5EED);
        for _ in 0..2000 {
            let cells: Vec<Vec<u8>> = (0..1 + rng.below(10))
                .map(|_| {
                    (0..rng.below(24))
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
    fn decimals() {
        let mut n = 1u64;
        let mut out = Vec::new();
        for k in 0..20 {
            let more = [n.saturating_mul(9), n.saturating_mul(5).saturating_add(3)];
            for m in [n - 1, n, n + 1, more[0], more[1]] {
                out.clear();
                push_decimal(&mut out, m);
                assert_eq!(out, m.to_string().as_bytes(), "{k}");
            }
            n = n.saturating_mul(10);
        }
        out.clear();
        push_decimal(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string().as_bytes());
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

    #[test]
    fn specials_are_seen_at_every_position() {
        // Neighbours of the special bytes, and high bytes, around them: a
        // borrow between bytes must neither hide nor invent one.
        let fillers = [
            b'+', b'-', b'!', b'#', b'\x0b', b'\x0c', 0x80, 0xff, 0, b'a',
        ];
        for len in 1..=24 {
            for filler in fillers {
                let mut cell = vec![filler; len];
                assert!(!needs_quotes(&cell), "{len} {filler}");
                for at in 0..len {
                    for special in [b',', b'"', b'\r', b'\n'] {
                        cell[at] = special;
                        assert!(needs_quotes(&cell), "{len} {filler} {at} {special}");
                    }
                    cell[at] = filler;
                }
            }
        }
    }

    #[test]
    fn prefixed_numbers_are_the_whole_cell() {
        let prefixes: &[&[u8]] = &[
            b"export.csv:",
            b"a,b.csv:",
            b"say \"hi\".csv:",
            b"=x.csv:",
            b"-\"q\",.csv:",
            b":",
            b"",
        ];
        for prefix in prefixes {
            for n in [0, 7, 1_000_000, u64::MAX] {
                let mut whole = Vec::new();
                let mut row = Row::new(&mut whole);
                row.word(b"x")
                    .cell(&[*prefix, n.to_string().as_bytes()].concat());
                row.end();
                let mut parts = Vec::new();
                let mut row = Row::new(&mut parts);
                row.word(b"x").prefixed_number(&CellPrefix::new(prefix), n);
                row.end();
                assert_eq!(parts, whole, "{:?} {n}", String::from_utf8_lossy(prefix));
            }
        }
    }

    #[test]
    fn formatted_cells_are_copied() {
        let mut shared = Vec::new();
        push_cell(&mut shared, b"=a,b");
        let mut out = Vec::new();
        let mut row = Row::new(&mut out);
        row.formatted(&shared).formatted(b"").formatted(&shared);
        row.end();
        assert_eq!(out, b"\"'=a,b\",,\"'=a,b\"\n");
    }
}
