/**
 * An RFC 4180 reader (quoted cells, doubled quotes, CRLF line ends) for tests of obcap's CSV output,
 * written apart from the writers so a test does not trust the code it checks. Throws when the text
 * does not end with a line end (a cut row).
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(cell), (cell = "");
    else if (c === "\r" && text[i + 1] === "\n") row.push(cell), rows.push(row), (row = []), (cell = ""), i++;
    else cell += c;
  }
  if (cell !== "" || row.length > 0 || quoted) throw new Error("CSV text ends inside a row (no CRLF after the last row)");
  return rows;
}
